"""``python -m voc_datasets.pii``: rebuild corpus.jsonl from corpus_src.txt."""

import sys

from voc_datasets.pii import CORPUS, build_corpus, write_corpus

cases = build_corpus()
write_corpus(cases)
print(f"{len(cases)} cases ({sum(c['negative'] for c in cases)} hard negatives) -> {CORPUS}", file=sys.stderr)
