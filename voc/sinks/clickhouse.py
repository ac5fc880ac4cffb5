"""ClickHouse sink: a finished run's findings into ClickHouse tables plus DataLens-ready views.

Tables (``voc_`` prefix by default): ``feedback`` (one row per record, the enriched table's columns, label
lists as ``Array(String)``), ``evidence`` (one row per evidence phrase), ``heatmap_cells`` (with example ids),
``priority``, ``trends``, ``trend_series`` and ``runs``. Column types come from one mapping, Arrow → ClickHouse
(:func:`ch_type`), applied to the schemas of voc.sinks.tables; a column a later run brings (another input
file's columns, ticket columns) is added with ``ALTER TABLE … ADD COLUMN``.

Idempotent by run id: every table is a MergeTree partitioned by ``run_id``; an export first drops the run's
row in ``runs``, then the run's partition of every other table, inserts, and writes the ``runs`` row last.
The views join ``runs``, so a run that is being (re-)exported or whose export broke off is not shown, and
re-exporting a run replaces its rows instead of adding to them. One export of a run at a time.

Compatible with ClickHouse 18.16 (Debian 12's package) and current versions: only MergeTree with custom
partitioning, ``DROP PARTITION``, ``Nullable``, ``Array``, ``DateTime('UTC')`` (dates outside 1970–2106
become NULL), ``UInt8`` for booleans; no ``IF NOT EXISTS`` on columns, no ``Bool``/``DateTime64``/``Map``.
The native protocol (clickhouse-driver) is used: the HTTP client clickhouse-connect does not work with 18.16.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.compute as pc

from voc.aggregate.models import Trend
from voc.enriched import FINDING_COLUMNS, LIST_COLUMNS
from voc.sinks.tables import PRIORITY_SCHEMA, RUN_KEY, FinishedRun, SinkError, SinkTable, model_schema

logging.getLogger("clickhouse_driver").addHandler(logging.NullHandler())  # its failed-connect tracebacks
SCHEMES = ("clickhouse", "clickhouses")
DEFAULT_PREFIX = "voc_"
DATETIME_MAX = 2**32  # ClickHouse DateTime is seconds since 1970 in a UInt32
_INTS = {pa.int8(): "Int8", pa.int16(): "Int16", pa.int32(): "Int32", pa.int64(): "Int64", pa.uint8(): "UInt8",
         pa.uint16(): "UInt16", pa.uint32(): "UInt32", pa.uint64(): "UInt64"}
_SCALARS = {pa.string(): "String", pa.large_string(): "String", pa.bool_(): "UInt8", pa.float64(): "Float64",
            pa.float32(): "Float32", pa.date32(): "Date", **_INTS}


def ch_type(f: pa.Field, key: bool = False) -> str:
    """The ClickHouse type of an Arrow field: the one mapping every table's DDL is derived from.

    Lists become ``Array(T)`` (never Nullable; a missing list is ``[]``), timestamps ``DateTime('UTC')``,
    booleans ``UInt8``; a nullable field becomes ``Nullable(T)`` unless it is part of the sort key.
    """
    t = f.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"Array({ch_type(pa.field(f.name, t.value_type, nullable=False))})"
    if pa.types.is_dictionary(t):
        return ch_type(pa.field(f.name, t.value_type, nullable=f.nullable), key)
    if pa.types.is_timestamp(t):
        base = "DateTime('UTC')"
    elif t in _SCALARS:
        base = _SCALARS[t]
    else:
        raise SinkError(f"column {f.name!r}: no ClickHouse type for Arrow type {t}")
    return f"Nullable({base})" if f.nullable and not key else base


def ident(name: str) -> str:
    """A back-quoted ClickHouse identifier (input columns may hold spaces, Cyrillic, ':')."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def create_table_sql(database: str, name: str, table: SinkTable) -> str:
    """CREATE TABLE for one sink table: run_id first, partitioned by run, sorted by run_id + the table's key."""
    cols = [f"  {ident(RUN_KEY)} String"]
    cols += [f"  {ident(f.name)} {ch_type(f, f.name in table.key)}" for f in table.schema]
    order = ", ".join(ident(c) for c in (RUN_KEY, *table.key))
    return (f"CREATE TABLE IF NOT EXISTS {ident(database)}.{ident(name)} (\n" + ",\n".join(cols) + "\n)\n"
            f"ENGINE = MergeTree PARTITION BY {ident(RUN_KEY)} ORDER BY ({order})")


# -- views for DataLens ----------------------------------------------------------------------------------------
_HEATMAP_VIEWS = {  # kind → (view suffix, row name, column name, value name, total name)
    "stage_emotion": ("stage_emotion", "stage", "emotion", "share", "stage_total"),
    "stage_channel": ("stage_channel", "stage", "channel", "mean_sentiment", "cell_total"),
    "topic_week": ("topic_week", "topic", "week", "negative_share", "mentions"),
}


def _run_columns(database: str, prefix: str) -> tuple[str, str]:
    """The run columns every view starts with, and the join that keeps only completely exported runs."""
    runs = f"{ident(database)}.{ident(prefix + 'runs')}"
    select = (f"run_id, run_label, exported_at, "
              f"run_id = (SELECT argMax(run_id, exported_at) FROM {runs}) AS latest")
    join = f"ALL INNER JOIN (SELECT run_id, run_label, exported_at FROM {runs}) AS r USING run_id"
    return select, join


def _columns(schema: pa.Schema, sep: str = ", ") -> str:
    """Select-list of a schema's columns; arrays as one string (DataLens shows strings best)."""
    out = []
    for f in schema:
        if pa.types.is_list(f.type):
            out.append(f"arrayStringConcat({ident(f.name)}, '{sep}') AS {ident(f.name)}")
        else:
            out.append(ident(f.name))
    return ", ".join(out)


def view_statements(database: str = "voc", prefix: str = DEFAULT_PREFIX) -> list[tuple[str, str]]:
    """(view name, CREATE VIEW statement) for the three heatmaps, the priority list, trends and feedback."""
    head, join = _run_columns(database, prefix)
    table = lambda name: f"{ident(database)}.{ident(prefix + name)}"  # noqa: E731
    views = []
    for kind, (suffix, row, col, value, total) in _HEATMAP_VIEWS.items():
        views.append((f"{prefix}v_{suffix}",
                      f"SELECT {head}, row_label AS {row}, col_label AS {col}, value AS {value}, n, "
                      f"total AS {total}, row_index AS {row}_order, col_index AS {col}_order, "
                      f"arrayStringConcat(example_ids, ', ') AS example_ids, value_name\n"
                      f"FROM {table('heatmap_cells')}\n{join}\nWHERE kind = '{kind}'"))
    views.append((f"{prefix}v_priority",
                  f"SELECT {head}, {_columns(pa.schema([f for f in PRIORITY_SCHEMA if f.name != 'example_quotes']))}, "
                  f"arrayStringConcat(example_quotes, ' || ') AS example_quotes\n"
                  f"FROM {table('priority')}\n{join}"))
    views.append((f"{prefix}v_trends", f"SELECT {head}, {_columns(model_schema(Trend, ('series',)))}"
                                       f"\nFROM {table('trends')}\n{join}"))
    feedback_cols = ", ".join(
        f"arrayStringConcat({ident(c)}, ' | ') AS {ident(c)}" if c in LIST_COLUMNS else ident(c)
        for c in FINDING_COLUMNS)
    week = ("concat(toString(toISOYear(created_at)), '-W', substring(toString(100 + toISOWeek(created_at)), 2, 2))"
            " AS week")
    views.append((f"{prefix}v_feedback", f"SELECT {head}, {feedback_cols}, {week}\nFROM {table('feedback')}\n{join}"))
    return [(name, f"CREATE VIEW {ident(database)}.{ident(name)} AS\n{sql}") for name, sql in views]


def views_sql(database: str = "voc", prefix: str = DEFAULT_PREFIX) -> str:
    """All views as one SQL script (datalens/views.sql is this for database ``voc``)."""
    parts = ["-- voc: DataLens-ready views over the tables of `voc export clickhouse`.",
             "-- Generated by `voc export clickhouse-views` (database voc, prefix voc_); `voc export clickhouse`",
             "-- creates them itself. Every view shows only completely exported runs; `latest` = 1 marks the",
             "-- run exported last.", ""]
    for name, sql in view_statements(database, prefix):
        parts += [f"DROP TABLE IF EXISTS {ident(database)}.{ident(name)};", sql + ";", ""]
    return "\n".join(parts)


# -- connection --------------------------------------------------------------------------------------------------
def redact_url(url: str) -> str:
    """The URL without its password (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def check_url(url: str) -> str:
    """The database name of a ``clickhouse://[user[:password]@]HOST[:PORT]/DB`` URL; SinkError if malformed."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise SinkError(f"sink URL {redact_url(url)!r}: expected clickhouse://HOST:PORT/DB "
                        "(clickhouses:// for TLS; the native protocol port, 9000 by default)")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise SinkError(f"sink URL {redact_url(url)!r}: the port is not a number") from None
    database = parts.path.strip("/") or "default"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):
        raise SinkError(f"sink URL {redact_url(url)!r}: database name {database!r} must be letters, digits, '_'")
    return database


@contextmanager
def _errors(url: str) -> Iterator[None]:
    """Driver and network errors → SinkError naming the server (without the password)."""
    from clickhouse_driver import errors

    try:
        yield
    except (errors.Error, OSError, EOFError) as exc:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise SinkError(f"ClickHouse at {redact_url(url)}: {message.strip().splitlines()[0]}") from None


def connect(url: str):
    """A clickhouse-driver Client for the URL's database, creating the database if it does not exist."""
    database = check_url(url)
    try:
        from clickhouse_driver import Client
    except ImportError:
        raise SinkError("the ClickHouse sink needs clickhouse-driver: pip install 'voc[clickhouse]'") from None
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("connect_timeout", "10")
    query.setdefault("send_receive_timeout", "600")
    full = urlunsplit(parts._replace(query=urlencode(query)))
    with _errors(url):
        client = Client.from_url(full)
        try:
            client.execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - only an unknown database is handled here
            if getattr(exc, "code", None) != 81:  # UNKNOWN_DATABASE
                raise
            client = Client.from_url(urlunsplit(parts._replace(path="/default", query=urlencode(query))))
            client.execute(f"CREATE DATABASE IF NOT EXISTS {ident(database)}")
            client = Client.from_url(full)
            client.execute("SELECT 1")
    return client, database


# -- export ------------------------------------------------------------------------------------------------------
@dataclass
class ExportReport:
    """What one export wrote."""

    run_id: str
    database: str
    url: str
    rows: dict[str, int] = field(default_factory=dict)
    replaced: bool = False
    dates_out_of_range: int = 0
    seconds: float = 0.0


def _same_type(a: str, b: str) -> bool:
    norm = lambda s: re.sub(r"[\s'\"\\]", "", s)  # noqa: E731 - servers quote DateTime('UTC') differently
    return norm(a) == norm(b)


def ensure_table(client, database: str, name: str, table: SinkTable) -> None:
    """Create the table, or add the columns this run has and the table lacks; a type clash is an error."""
    existing = dict(client.execute("SELECT name, type FROM system.columns WHERE database = %(db)s AND table = %(t)s",
                                   {"db": database, "t": name}))
    if not existing:
        client.execute(create_table_sql(database, name, table))
        return
    for f in table.schema:
        want = ch_type(f, f.name in table.key)
        have = existing.get(f.name)
        if have is None:
            client.execute(f"ALTER TABLE {ident(database)}.{ident(name)} ADD COLUMN {ident(f.name)} {want}")
        elif not _same_type(have, want):
            raise SinkError(f"table {database}.{name}: column {f.name!r} is {have} in ClickHouse but {want} in this "
                            "run; rename the column in the input or export into another database")


def column_values(arr: pa.ChunkedArray | pa.Array, f: pa.Field, key: bool = False) -> tuple[list, int]:
    """Python values of one Arrow column as clickhouse-driver writes them (columnar), and how many dates were
    out of DateTime's range (written as NULL)."""
    t, nulled = f.type, 0
    if pa.types.is_timestamp(t):
        secs = pc.cast(pc.cast(arr, pa.timestamp("s", tz=t.tz), safe=False), pa.int64())
        ok = pc.and_(pc.greater_equal(secs, 0), pc.less(secs, DATETIME_MAX))
        nulled = int(pc.sum(pc.invert(ok.fill_null(True))).as_py() or 0)
        values = pc.if_else(ok, secs, pa.scalar(None, pa.int64())).to_pylist()
    elif pa.types.is_boolean(t):
        values = pc.cast(arr, pa.uint8()).to_pylist()
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        return [[x if x is not None else "" for x in v] if v is not None else [] for v in arr.to_pylist()], 0
    else:
        values = arr.to_pylist()
    if key or not f.nullable:
        default = "" if pa.types.is_string(t) or pa.types.is_large_string(t) else 0
        values = [default if v is None else v for v in values]
    return values, nulled


def _insert(client, database: str, name: str, run_id: str, table: pa.Table, key: tuple[str, ...]) -> int:
    """Insert one Arrow table into a ClickHouse table; returns the dates written as NULL."""
    columns, nulled = [[run_id] * table.num_rows], 0
    for f in table.schema:
        values, n = column_values(table.column(f.name), f, f.name in key)
        columns.append(values)
        nulled += n
    names = ", ".join(ident(c) for c in (RUN_KEY, *table.column_names))
    client.execute(f"INSERT INTO {ident(database)}.{ident(name)} ({names}) VALUES", columns, columnar=True,
                   types_check=False)
    return nulled


def create_views(client, database: str, prefix: str) -> list[str]:
    """(Re)create the DataLens views; returns their names."""
    names = []
    for name, sql in view_statements(database, prefix):
        client.execute(f"DROP TABLE IF EXISTS {ident(database)}.{ident(name)}")
        client.execute(sql)
        names.append(name)
    return names


def export_run(url: str, outdir: str | Path, *, run_id: str | None = None, prefix: str = DEFAULT_PREFIX,
               views: bool = True) -> ExportReport:
    """Export the finished run in ``outdir`` to ClickHouse; re-exporting the same run replaces its rows."""
    started = time.perf_counter()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix or "_"):
        raise SinkError(f"table prefix {prefix!r} must be letters, digits, '_'")
    run = FinishedRun.open(outdir, run_id)
    client, database = connect(url)
    report = ExportReport(run_id=run.run_id, database=database, url=redact_url(url))
    tables = run.tables()
    with _errors(url):
        for t in tables:
            ensure_table(client, database, prefix + t.name, t)
        runs_table = ident(database) + "." + ident(prefix + "runs")
        report.replaced = bool(client.execute(f"SELECT count() FROM {runs_table} WHERE run_id = %(r)s",
                                              {"r": run.run_id})[0][0])
        # un-commit first (the runs row), then clear the run's rows everywhere else
        for t in sorted(tables, key=lambda t: t.name != "runs"):
            client.execute(f"ALTER TABLE {ident(database)}.{ident(prefix + t.name)} DROP PARTITION %(r)s",
                           {"r": run.run_id})
        for t in tables:  # runs is last: the commit point
            report.rows[t.name] = 0
            for batch in t.batches():
                if batch.num_rows:
                    report.dates_out_of_range += _insert(client, database, prefix + t.name, run.run_id, batch, t.key)
                    report.rows[t.name] += batch.num_rows
        if views:
            create_views(client, database, prefix)
    client.disconnect()
    report.seconds = round(time.perf_counter() - started, 3)
    return report
