"""``voc.analyze()``: the Python mirror of ``voc analyze``, for files or in-memory DataFrames.

It takes the same options as the CLI and the HTTP upload (every :class:`voc.runspec.RunSpec` field by name)
and runs the same function, ``voc.batch.run``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from voc.batch import run
from voc.ingest import ColumnMapping
from voc.runspec import DEFAULT_CHUNK_ROWS, RunSpec
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
    data: str | Path | list[str | Path] | pd.DataFrame,
    *,
    tickets: str | Path | None = None,
    columns: str | Path | ColumnMapping | None = None,
    text_col: str | None = None,
    channel: str | None = None,
    taxonomy: str | Path | None = None,
    journey: str | Path | None = None,
    causes: str | Path | None = None,
    pipeline_config: str | Path | None = None,
    preset: str | None = None,
    profile: str | None = None,
    topic_model: str | Path | None = None,
    redact: bool | None = None,
    redact_names: str | None = None,
    keep_pii_columns: list[str] | tuple[str, ...] = (),
    pseudonym_key: str | bytes | None = None,
    pseudonym_key_file: str | Path | None = None,
    link_window_days: float = 3.0,
    repeat_window_days: float = 7.0,
    outdir: str | Path | None = None,
    workers: int = 1,
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    engine: str = "local",
    ray_address: str | None = None,
    sink: str | None = None,
    write_csv: bool = True,
    mapping: ColumnMapping | None = None,
    quiet: bool = True,
) -> AnalysisResult:
    """Analyse feedback files or a DataFrame; writes the usual outputs to ``outdir`` (a temp dir if None).

    The options are ``voc analyze``'s (see voc.runspec.RunSpec): PII masked (``redact=False`` turns it off,
    not recommended), PII columns dropped unless named in ``keep_pii_columns``, customer keys pseudonymised
    with ``pseudonym_key`` / ``pseudonym_key_file`` (else ``VOC_PSEUDONYM_KEY`` or the user key file);
    ``columns``: a mapping YAML or a ColumnMapping (``mapping`` is the older name); ``profile``: "fast"
    (TF-IDF + lexicons), "default" or "accurate" (sentiment: encoder + TF-IDF ensemble, slower). A DataFrame is staged in a private temporary folder (never in
    ``outdir``) and deleted afterwards. ``sink``: also export the finished run (voc.sinks).
    """
    if mapping is not None and columns is not None:
        raise ValueError("columns and mapping name the same option: pass one")
    out = Path(outdir) if outdir is not None else Path(tempfile.mkdtemp(prefix="voc-"))
    out.mkdir(parents=True, exist_ok=True)
    if sink is not None:
        from voc.sinks import check_sink

        check_sink(sink)
    options = dict(
        tickets=tickets, columns=columns if columns is not None else mapping, text_col=text_col, channel=channel,
        taxonomy=taxonomy, journey=journey, causes=causes, pipeline_config=pipeline_config, preset=preset,
        profile=profile, topic_model=topic_model, redact=redact, redact_names=redact_names,
        keep_pii_columns=list(keep_pii_columns), pseudonym_key=pseudonym_key,
        pseudonym_key_file=pseudonym_key_file, link_window_days=link_window_days,
        repeat_window_days=repeat_window_days, outdir=out, workers=workers, chunk_size=chunk_size, engine=engine,
        ray_address=ray_address, sink=sink, write_csv=write_csv)
    with tempfile.TemporaryDirectory(prefix="voc-input-") as staging:
        if isinstance(data, pd.DataFrame):
            src = Path(staging) / "input.parquet"
            data.astype("string").to_parquet(src, index=False)
            data = src
        inputs = list(data) if isinstance(data, list | tuple) else [data]
        result = run(RunSpec.build(inputs=inputs, **options), quiet=quiet)
    if sink is not None:
        from voc.sinks import export

        export(sink, out)
    frame = pd.read_parquet(result.frame_path)
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    return AnalysisResult(frame=frame, aggregates=result.aggregates, summary=result.summary, outdir=out, errors=errors)
