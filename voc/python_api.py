"""``voc.analyze()``: the Python mirror of ``voc analyze``, for files or in-memory DataFrames."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from voc.batch import BatchResult, run_batch
from voc.ingest import ColumnMapping
from voc.schema import RunSummary


@dataclass
class AnalysisResult:
    """What ``voc.analyze`` returns: the enriched table, the aggregates and the run summary."""

    frame: pd.DataFrame
    aggregates: object
    summary: RunSummary
    outdir: Path
    errors: pd.DataFrame


def analyze(
    data: str | Path | pd.DataFrame,
    *,
    tickets: str | Path | None = None,
    journey: str | Path | None = None,
    taxonomy: str | Path | None = None,
    causes: str | Path | None = None,
    text_col: str | None = None,
    mapping: ColumnMapping | None = None,
    outdir: str | Path | None = None,
    topic_model: str | Path | None = None,
    chunk_size: int = 20_000,
    quiet: bool = True,
    keep_pii_columns: list[str] | tuple[str, ...] = (),
    pseudonym_key: str | bytes | None = None,
    profile: str | None = None,
) -> AnalysisResult:
    """Analyse a feedback file or DataFrame; writes the usual outputs to ``outdir`` (a temp dir if None).

    Like ``voc analyze``: PII masked, PII columns dropped unless named in ``keep_pii_columns``, customer keys
    pseudonymised with ``pseudonym_key`` (else ``VOC_PSEUDONYM_KEY`` or the user key file). A DataFrame is
    staged in a private temporary folder (never in ``outdir``) and deleted afterwards. ``profile``:
    "fast" (TF-IDF + lexicons) or "default" (the encoder once shipped/promoted; see models.registry).
    """
    out = Path(outdir) if outdir is not None else Path(tempfile.mkdtemp(prefix="voc-"))
    out.mkdir(parents=True, exist_ok=True)
    if text_col is not None:
        mapping = (mapping or ColumnMapping()).model_copy(update={"text": text_col})
    pipeline = None
    if profile is not None:
        from voc.pipeline import Pipeline

        pipeline = Pipeline.load(taxonomy=taxonomy, journey=journey, causes=causes, topic_model=topic_model,
                                 profile=profile)
    with tempfile.TemporaryDirectory(prefix="voc-input-") as staging:
        if isinstance(data, pd.DataFrame):
            src = Path(staging) / "input.parquet"
            data.astype("string").to_parquet(src, index=False)
            data = src
        result: BatchResult = run_batch(
            data, out, tickets=tickets, journey=journey, taxonomy=taxonomy, causes=causes, mapping=mapping,
            chunk_size=chunk_size, topic_model=topic_model, quiet=quiet, keep_pii_columns=keep_pii_columns,
            pseudonym_key=pseudonym_key, pipeline=pipeline,
        )
    frame = pd.read_parquet(result.frame_path)
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    return AnalysisResult(frame=frame, aggregates=result.aggregates, summary=result.summary, outdir=out, errors=errors)
