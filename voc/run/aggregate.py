"""Stage 3: the aggregates of the run frame (heatmaps, priority, scores, trends, drivers) and the report's
discovered-topics section, from the topic model the pipeline already holds (not loaded a second time)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from voc.run.assemble import release_memory


def pipeline_topic_model(pipeline: Any) -> Any | None:
    """The fitted topic model the pipeline's discovered-topics analyzer loaded, if it has one."""
    for analyzer in getattr(pipeline, "analyzers", ()):
        model = getattr(analyzer, "model", None)
        if getattr(analyzer, "name", None) == "discovered_topics" and model is not None:
            return model
    return None


def aggregate(frame: pd.DataFrame, stages: Sequence[str], pipeline: Any = None,
              topic_model: str | Path | None = None) -> tuple[Any, list[tuple[str, str]]]:
    """The run's aggregates and extra report sections (title, HTML)."""
    from voc.aggregate import compute_aggregates

    aggregates = compute_aggregates(frame, stages=list(stages))
    release_memory()
    sections: list[tuple[str, str]] = []
    if topic_model is not None:
        from voc.topics.report import topic_report_section

        model = pipeline_topic_model(pipeline)
        if model is None:  # a caller-built pipeline without the analyzer: load it for the report only
            from voc.topics import load_topic_model

            model = load_topic_model(topic_model)
        sections.append(("Новые темы", topic_report_section(model, frame)))
    return aggregates, sections
