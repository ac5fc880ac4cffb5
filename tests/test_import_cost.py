"""Importing voc's batch path does not import torch (spaCy's thinc would, ~185 MB and ~2.5 s per process), and
torch still imports afterwards where training needs it."""

from __future__ import annotations

import subprocess
import sys


def test_the_batch_path_does_not_import_torch_and_torch_still_works():
    code = ("import sys, voc.batch, spacy; assert 'torch' not in sys.modules, 'torch imported'; "
            "nlp = spacy.blank('ru'); assert len(nlp('Курьер опоздал, ужасно.')) == 5; "
            "import torch; assert float(torch.ones(3).sum()) == 3.0; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
