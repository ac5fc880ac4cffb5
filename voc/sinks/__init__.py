"""Sinks: export a finished run's findings to a database that CX teams already run (ClickHouse first).

``export(url, outdir)`` picks the sink by the URL's scheme. Only the run's output folder is read: its texts
are already masked by the privacy gate (voc.ingest.privacy), raw inputs are never opened.
"""

from __future__ import annotations

from pathlib import Path

from voc.sinks.tables import FinishedRun, SinkError

SINK_SCHEMES = {"clickhouse": "ClickHouse", "clickhouses": "ClickHouse (TLS)"}


def check_sink(url: str) -> None:
    """SinkError unless ``url`` names a supported sink (checked before a long analysis starts)."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SINK_SCHEMES:
        raise SinkError(f"sink {url.split('@')[-1]!r}: expected clickhouse://HOST:PORT/DB")
    from voc.sinks.clickhouse import check_url

    check_url(url)


def export(url: str, outdir: str | Path, *, run_id: str | None = None, prefix: str | None = None):
    """Export the finished run in ``outdir`` to the sink at ``url``; returns the sink's report."""
    check_sink(url)
    from voc.sinks.clickhouse import DEFAULT_PREFIX, export_run

    return export_run(url, outdir, run_id=run_id, prefix=DEFAULT_PREFIX if prefix is None else prefix)


__all__ = ["FinishedRun", "SinkError", "check_sink", "export"]
