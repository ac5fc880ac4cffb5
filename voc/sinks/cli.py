"""``voc export …``: send a finished run's findings to a sink (ClickHouse)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="export a finished run to a database (ClickHouse) for dashboards (DataLens)",
                  no_args_is_help=True)


def report_line(report) -> str:
    """One line saying what an export wrote."""
    rows = ", ".join(f"{name} {n}" for name, n in report.rows.items())
    verb = "replaced" if report.replaced else "exported"
    extra = f"; {report.dates_out_of_range} dates outside 1970–2106 written as NULL" if report.dates_out_of_range else ""
    return f"{verb} run {report.run_id} to {report.url} in {report.seconds:.1f} s: {rows}{extra}"


@app.command("clickhouse")
def clickhouse(
    outdir: Annotated[Path, typer.Argument(help="output folder of a finished `voc analyze` run")],
    url: Annotated[str, typer.Option(help="clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DB (native protocol, "
                                          "port 9000 by default; clickhouses:// for TLS)")],
    run_id: Annotated[str | None, typer.Option(help="id of the run in ClickHouse (default: a hash of "
                                                    "enriched.parquet, the same on every re-export)")] = None,
    table_prefix: Annotated[str, typer.Option(help="prefix of the table and view names")] = "voc_",
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Export a run: findings, evidence, heatmap cells, priority, trends; re-exporting replaces the run."""
    from voc.sinks import SinkError, export

    try:
        report = export(url, outdir, run_id=run_id, prefix=table_prefix)
    except SinkError as exc:
        typer.secho(f"voc: error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    if not quiet:
        typer.echo(report_line(report))


@app.command("clickhouse-views")
def clickhouse_views(
    database: Annotated[str, typer.Option(help="database the tables are in")] = "voc",
    table_prefix: Annotated[str, typer.Option(help="prefix of the table and view names")] = "voc_",
) -> None:
    """Print the DataLens views as SQL (`voc export clickhouse` creates them itself)."""
    from voc.sinks.clickhouse import views_sql

    typer.echo(views_sql(database, table_prefix), nl=False)
