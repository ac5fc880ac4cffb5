"""The ``voc`` command line. Every command is a thin shell over the library.

Exit codes (documented in docs/cli.md):
  0  done (rejected rows, if any, are listed in OUTDIR/errors.csv)
  1  unexpected internal error
  2  bad arguments, unreadable or unsupported input, invalid config
  3  no valid rows: every input row was rejected
  130 interrupted (Ctrl-C); committed chunks stay in OUTDIR and a re-run resumes
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_NO_ROWS, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

app = typer.Typer(
    name="voc",
    help="voc — Voice-of-Customer text mining for Russian-language feedback.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    typer.secho(f"voc: error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@app.command()
def analyze(
    feedback: Annotated[list[Path], typer.Argument(help="feedback files (CSV/XLSX/JSONL/Parquet/JSON chats) or folders of call transcripts")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output directory")],
    tickets: Annotated[Path | None, typer.Option(help="ticket export to link (CSV/XLSX/JSONL)")] = None,
    journey: Annotated[Path | None, typer.Option(help="journey config YAML (stages, ticket categories)")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="topic taxonomy YAML")] = None,
    causes: Annotated[Path | None, typer.Option(help="complaint causes YAML")] = None,
    preset: Annotated[str | None, typer.Option(help="domain preset for taxonomy/journey/causes: banking, telecom, retail, or auto (suggested from a sample of the input); --taxonomy/--journey/--causes win")] = None,
    text_col: Annotated[str | None, typer.Option(help="name of the text column (else auto-detected)")] = None,
    columns: Annotated[Path | None, typer.Option(help="column mapping YAML ('columns: {text: Отзыв, ...}')")] = None,
    channel: Annotated[str | None, typer.Option(help="channel for rows that have none (review, survey, chat, call, email, social)")] = None,
    topic_model: Annotated[Path | None, typer.Option(help="fitted topic model dir (voc topics fit) for discovered topics")] = None,
    pipeline: Annotated[Path | None, typer.Option(help="pipeline.yaml naming the analyzers and their config")] = None,
    profile: Annotated[str | None, typer.Option(help="models: default (the encoder once shipped/promoted) or fast (TF-IDF + lexicons)")] = None,
    chunk_size: Annotated[int, typer.Option(min=100, help="rows per chunk (bounds memory)")] = 20_000,
    workers: Annotated[int, typer.Option(min=1, help="analysis processes (default: up to 2 cores)")] = min(2, os.cpu_count() or 1),
    redact_names: Annotated[str | None, typer.Option(help="person-name masking engine: morph (default, fast), natasha (NER, slower), auto, off")] = None,
    no_redact: Annotated[bool, typer.Option("--no-redact", help="do not mask PII (not recommended, 152-ФЗ)")] = False,
    keep_pii_column: Annotated[list[str] | None, typer.Option(
        "--keep-pii-column", metavar="NAME",
        help="keep this PII column (phone, e-mail, ФИО, …) raw instead of dropping it; repeatable; "
             "recorded in summary.json")] = None,
    pseudonym_key_file: Annotated[Path | None, typer.Option(
        help="file holding the key for customer-key pseudonyms (else $VOC_PSEUDONYM_KEY, else "
             "~/.config/voc/pseudonym.key, created on first use)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar, only errors")] = False,
    sink: Annotated[str | None, typer.Option(
        help="also export the finished run to clickhouse://HOST:PORT/DB (docs/scale.md)")] = None,
    engine: Annotated[str, typer.Option(
        help="where chunks are analysed: local (this machine) or ray (a Ray Data actor pool of --workers actors; "
             "pip install 'voc[ray]', docs/scale.md)")] = "local",
    ray_address: Annotated[str | None, typer.Option(
        help="with --engine ray: address of a running Ray cluster (ray://HOST:10001 or HOST:6379; "
             "default: $RAY_ADDRESS, else a local Ray)")] = None,
) -> None:
    """Analyse a feedback batch: enriched table, heatmaps, priority list, trends, report.html, summary.json."""
    from voc.batch import run_batch
    from voc.ingest import ColumnMapping
    from voc.pipeline import Pipeline

    for path in feedback:
        if not path.exists():
            _fail(f"input not found: {path}")
    if engine not in ("local", "ray"):
        _fail(f"--engine: expected local or ray, got {engine!r}")
    if sink is not None:
        from voc.sinks import SinkError, check_sink

        try:
            check_sink(sink)
        except SinkError as exc:
            _fail(f"--sink: {exc}")
    for label, path in (("tickets", tickets), ("journey", journey), ("taxonomy", taxonomy), ("causes", causes),
                        ("columns", columns), ("topic-model", topic_model), ("pipeline", pipeline)):
        if path is not None and not path.exists():
            _fail(f"--{label}: file not found: {path}")
    try:
        mapping = ColumnMapping.from_yaml(columns) if columns else ColumnMapping()
        updates = {k: v for k, v in (("text", text_col), ("default_channel", channel)) if v}
        mapping = mapping.model_copy(update=updates)
        from voc.presets import resolve_preset

        choice, taxonomy, journey, causes = resolve_preset(preset, feedback, mapping, taxonomy=taxonomy,
                                                           journey=journey, causes=causes)
        if choice is not None and not quiet:
            typer.echo(f"preset: {choice.label}")
        pipe = Pipeline.load(taxonomy=taxonomy, journey=journey, causes=causes, config=pipeline,
                             redact=False if no_redact else None, redact_names=redact_names,
                             topic_model=topic_model, profile=profile)
        pipe.preset = choice  # type: ignore[attr-defined]  # read by the batch summary (docs/presets.md)
        result = run_batch(feedback, out, tickets=tickets, mapping=mapping, chunk_size=chunk_size, pipeline=pipe,
                           topic_model=topic_model, quiet=quiet, workers=workers,
                           keep_pii_columns=keep_pii_column or [], pseudonym_key_file=pseudonym_key_file,
                           engine=engine, ray_address=ray_address or os.environ.get("RAY_ADDRESS"))
    except KeyboardInterrupt:
        typer.secho("voc: interrupted; committed chunks are kept, re-run the same command to resume", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (ValueError, FileNotFoundError, UnicodeDecodeError) as exc:
        _fail(str(exc))
    s = result.summary
    if not quiet:
        typer.echo(
            f"rows in {s.rows_in} = out {s.rows_out} + rejected {s.rows_rejected}; records analysed {s.records}"
            f"{'; PII masked ' + str(sum(s.pii_masked.values())) if s.pii_masked else ''}"
        )
        if s.rows_rejected:
            typer.echo(f"rejected rows: {out / 'errors.csv'}")
        typer.echo(f"report: {(out / 'report.html').resolve()}")
    if s.records == 0:
        _fail(_no_rows_reason(s, out / "errors.csv"), EXIT_NO_ROWS)
    if sink is not None:
        _export(sink, out, quiet)


def _export(sink: str, out: Path, quiet: bool) -> None:
    """voc analyze --sink: export the finished run; a failure keeps the run and says how to retry."""
    from voc.sinks import SinkError, export
    from voc.sinks.cli import report_line

    try:
        report = export(sink, out)
    except SinkError as exc:
        _fail(f"the analysis is done ({out}), the export failed: {exc}; "
              f"retry with: voc export clickhouse --url URL {out}")
    if not quiet:
        typer.echo(report_line(report))


def _no_rows_reason(summary, errors_csv: Path) -> str:
    """One line saying why a batch has nothing to analyse."""
    if summary.rows_in == 0:
        return "no valid rows: the input has no data rows"
    reasons = sorted(summary.rejected_by_reason.items(), key=lambda kv: -kv[1])
    listed = ", ".join(f"{reason}: {n}" for reason, n in reasons[:5]) + (", …" if len(reasons) > 5 else "")
    return (f"no valid rows: all {summary.rows_rejected} of {summary.rows_in} rows were rejected ({listed}); "
            f"see {errors_csv}")


@app.command()
def classify(
    text: Annotated[list[str], typer.Argument(help="one or more texts (or '-' to read lines from stdin)")],
    channel: Annotated[str, typer.Option(help="channel of the texts")] = "review",
) -> None:
    """Classify texts and print the findings as JSON lines."""
    from voc.pipeline import Pipeline
    from voc.schema import Feedback

    texts = [line.strip() for line in sys.stdin if line.strip()] if text == ["-"] else text
    try:
        records = [Feedback(id=str(i + 1), text=t, channel=channel) for i, t in enumerate(texts)]
    except ValueError as exc:
        _fail(str(exc).splitlines()[0] if str(exc) else "invalid input")
    pipe = Pipeline.load(redact_names="morph")
    _, findings = pipe.analyze(records)
    for f in findings:
        typer.echo(json.dumps(f.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False))


def _mount() -> None:
    """Attach the sub-command groups owned by the other packages."""
    from api.cli import app as api_app
    from training.cli import app as training_app
    from voc.sinks.cli import app as export_app
    from voc.topics.cli import app as topics_app

    app.add_typer(training_app)  # train, evaluate, models …
    app.add_typer(topics_app, name="topics", help="topic discovery: fit, show, assign, merge, rename, promote")
    app.add_typer(api_app)  # serve, keys …
    app.add_typer(export_app, name="export")  # clickhouse, clickhouse-views


def main() -> None:
    """Console entry point: no tracebacks for users (set VOC_DEBUG=1 to see one)."""
    _mount()
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - last-resort guard, the message names the error
        if os.environ.get("VOC_DEBUG"):
            raise
        typer.secho(f"voc: internal error: {type(exc).__name__}: {exc} (re-run with VOC_DEBUG=1 for details)",
                    err=True, fg=typer.colors.RED)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    main()
