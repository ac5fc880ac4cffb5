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
from collections.abc import Iterable
from importlib.metadata import EntryPoint
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
    inputs: Annotated[list[Path], typer.Argument(
        metavar="FEEDBACK...",
        help="feedback files (CSV/XLSX/JSONL/Parquet/JSON chats) or folders of call transcripts")],
    outdir: Annotated[Path, typer.Option("-o", "--out", help="output directory")],
    tickets: Annotated[Path | None, typer.Option(help="ticket export to link (CSV/XLSX/JSONL)")] = None,
    journey: Annotated[Path | None, typer.Option(help="journey config YAML (stages, ticket categories)")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="topic taxonomy YAML")] = None,
    causes: Annotated[Path | None, typer.Option(help="complaint causes YAML")] = None,
    preset: Annotated[str | None, typer.Option(help="domain preset for taxonomy/journey/causes: banking, telecom, retail, or auto (suggested from a sample of the input); --taxonomy/--journey/--causes win")] = None,
    text_col: Annotated[str | None, typer.Option(help="name of the text column (else auto-detected)")] = None,
    columns: Annotated[Path | None, typer.Option(help="column mapping YAML ('columns: {text: Отзыв, ...}')")] = None,
    channel: Annotated[str | None, typer.Option(help="channel for rows that have none (review, survey, chat, call, email, social)")] = None,
    topic_model: Annotated[Path | None, typer.Option(help="fitted topic model dir (voc topics fit) for discovered topics")] = None,
    pipeline_config: Annotated[Path | None, typer.Option("--pipeline", help="pipeline.yaml naming the analyzers and their config")] = None,
    profile: Annotated[str | None, typer.Option(help="models: default (promoted, else TF-IDF), fast (TF-IDF + lexicons) or accurate (sentiment: e5 student + TF-IDF ensemble, ~20× slower)")] = None,
    chunk_size: Annotated[int, typer.Option(min=100, help="rows per chunk (bounds memory)")] = 5_000,  # RunSpec's
    workers: Annotated[int, typer.Option(min=1, help="analysis processes (default: up to 2 cores)")] = min(2, os.cpu_count() or 1),
    redact_names: Annotated[str | None, typer.Option(help="person-name masking engine: morph (default, fast), natasha (NER, slower), auto, off")] = None,
    redact: Annotated[bool, typer.Option("--redact/--no-redact", help="mask PII (--no-redact: not recommended, 152-ФЗ)")] = True,
    keep_pii_columns: Annotated[list[str] | None, typer.Option(
        "--keep-pii-column", metavar="NAME",
        help="keep this PII column (phone, e-mail, ФИО, …) raw instead of dropping it; repeatable; "
             "recorded in summary.json")] = None,
    pseudonym_key_file: Annotated[Path | None, typer.Option(
        help="file holding the key for customer-key pseudonyms (else $VOC_PSEUDONYM_KEY, else "
             "~/.config/voc/pseudonym.key, created on first use)")] = None,
    link_window_days: Annotated[float, typer.Option(min=0, help="link feedback to a ticket within this many days")] = 3.0,
    repeat_window_days: Annotated[float, typer.Option(min=0, help="a contact within this many days of the last is a repeat")] = 7.0,
    write_csv: Annotated[bool, typer.Option("--csv/--no-csv", help="also write enriched.csv")] = True,
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
    from voc.batch import run
    from voc.pipeline import Pipeline
    from voc.runspec import RunSpec

    for path in inputs:
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
    flags = {"pipeline_config": "pipeline", "topic_model": "topic-model"}
    try:
        spec = RunSpec.build(
            inputs=inputs, outdir=outdir, tickets=tickets, columns=columns, text_col=text_col, channel=channel,
            taxonomy=taxonomy, journey=journey, causes=causes, pipeline_config=pipeline_config, preset=preset,
            profile=profile, topic_model=topic_model, redact=None if redact else False, redact_names=redact_names,
            keep_pii_columns=keep_pii_columns or [], pseudonym_key_file=pseudonym_key_file,
            link_window_days=link_window_days, repeat_window_days=repeat_window_days, workers=workers,
            chunk_size=chunk_size, engine=engine, ray_address=ray_address or os.environ.get("RAY_ADDRESS"),
            sink=sink, write_csv=write_csv)
    except ValueError as exc:
        field, _, msg = str(exc).partition(": ")
        _fail(f"--{flags.get(field, field.replace('_', '-'))}: {msg}")
    for field, path in spec.missing_files():
        _fail(f"--{flags.get(field, field)}: file not found: {path}")
    try:
        pipe = Pipeline.from_spec(spec)
        if pipe.preset is not None and not quiet:
            typer.echo(f"preset: {pipe.preset.label}")
        result = run(spec, pipeline=pipe, quiet=quiet)
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
            typer.echo(f"rejected rows: {outdir / 'errors.csv'}")
        typer.echo(f"report: {(outdir / 'report.html').resolve()}")
    if s.records == 0:
        _fail(_no_rows_reason(s, outdir / "errors.csv"), EXIT_NO_ROWS)
    if sink is not None:
        _export(sink, outdir, quiet)


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


#: Entry-point group through which the shells (the HTTP service, training) add their command groups.
COMMAND_GROUP = "voc.commands"
_mounted = False


def declared_command_groups() -> list[EntryPoint]:
    """The ``voc.commands`` entry points: the installed package's, else (a source checkout whose install
    predates them) those the checkout's pyproject.toml declares — one declaration, read either way."""
    from importlib.metadata import entry_points

    found = list(entry_points(group=COMMAND_GROUP))
    if found:
        return found
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if not pyproject.is_file():
        return []
    import tomllib

    table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("entry-points", {})
    return [EntryPoint(name, value, COMMAND_GROUP) for name, value in table.get(COMMAND_GROUP, {}).items()]


def mount_command_groups(target: typer.Typer, points: Iterable[EntryPoint]) -> list[str]:
    """Add each entry point's Typer app to ``target`` (its commands at the top level); returns the names
    mounted. A shell that cannot be imported (an optional part not installed) is skipped with a warning."""
    mounted = []
    for point in sorted(points, key=lambda p: p.name):
        try:
            group = point.load()
        except ImportError as exc:
            typer.secho(f"voc: warning: commands {point.name!r} ({point.value}) unavailable: {exc}", err=True)
            continue
        if not isinstance(group, typer.Typer):
            raise TypeError(f"entry point {point.name} = {point.value}: expected a typer.Typer")
        target.add_typer(group)
        mounted.append(point.name)
    return mounted


def _mount() -> None:
    """Attach the core's own command groups, then the shells' (entry points ``voc.commands``)."""
    global _mounted
    if _mounted:
        return
    _mounted = True
    from voc.sinks.cli import app as export_app
    from voc.topics.cli import app as topics_app

    app.add_typer(topics_app, name="topics", help="topic discovery: fit, show, assign, merge, rename, promote")
    app.add_typer(export_app, name="export")  # clickhouse, clickhouse-views
    mount_command_groups(app, declared_command_groups())  # serve, keys … (api); train, evaluate, models …


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
