"""Throughput of the taxonomy topic analyzer on ~300-character texts, in records per CPU-second.

    python -m voc_training.weak.bench_topics [--rows 20000]

Texts are built by joining in-house train texts to about 300 characters (each record different, so the
lemma cache sees a realistic vocabulary). CPU time of this process is measured, so the number stays
meaningful on a shared, busy machine.
"""

from __future__ import annotations

import argparse
import random
import time

from voc.analyzers.topics import TopicAnalyzer
from voc.schema import Feedback, Findings
from voc_datasets.inhouse import load_inhouse


def make_texts(rows: int, chars: int = 300, seed: int = 0) -> list[str]:
    """``rows`` texts of about ``chars`` characters, each a different mix of in-house train texts."""
    pool = list(load_inhouse("train").text)
    rng = random.Random(seed)
    texts = []
    for i in range(rows):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < chars:
            parts.append(rng.choice(pool))
        texts.append((" ".join(parts))[:chars] + f" #{i}")
    return texts


def bench(rows: int = 20_000) -> dict[str, float]:
    texts = make_texts(rows)
    records = [Feedback(id=str(i), text=t) for i, t in enumerate(texts)]
    findings = [Findings(feedback_id=r.id, sentiment="negative", sentiment_score=-0.5) for r in records]
    analyzer = TopicAnalyzer()
    analyzer(records[:500], [Findings(feedback_id=r.id) for r in records[:500]])  # warm the lemma cache a little
    cpu, wall = time.process_time(), time.perf_counter()
    analyzer(records, findings)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"rows": rows, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "records_per_cpu_s": round(rows / cpu)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    print(bench(parser.parse_args(argv).rows))


if __name__ == "__main__":
    main()
