"""ClickHouse sink (voc.sinks): DDL derived from the enriched columns, views, and a real server.

The server tests start Debian's clickhouse-server (18.16; .ci/run installs it) as a subprocess on a free port
with a temporary data folder, export small runs of the bundled sample, check row counts and a heatmap view,
re-export (counts unchanged), and stop it. They skip only where the clickhouse-server binary is absent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

import voc
from voc.cli import _mount, app
from voc.enriched import FINDING_COLUMNS, LIST_COLUMNS
from voc.sinks import SinkError, check_sink, export
from voc.sinks.clickhouse import ch_type, create_table_sql, redact_url, views_sql
from voc.sinks.local_server import LocalClickHouse, server_binary
from voc.sinks.tables import FinishedRun

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "datasets/sample"
KEY = "test-pseudonym-key-0123456789abcdef"
PHONE, EMAIL = "8 (916) 765-43-21", "petr.sidorov@example.ru"
RAW = ("765-43-21", "petr.sidorov")
TABLES = ("feedback", "evidence", "heatmap_cells", "priority", "trends", "trend_series", "runs")

_mount()


def _analyze(tmp: Path, rows: int, tickets: bool = False) -> Path:
    """A run of the first ``rows`` sample rows plus two with PII in the text (fast profile)."""
    src = pd.read_csv(SAMPLE / "feedback.csv", dtype=str, keep_default_na=False).head(rows)
    extra = src.head(2).copy()
    extra["номер"] = ["PII-1", "PII-2"]
    extra["текст"] = [f"Перезвоните мне {PHONE}, курьер опоздал на три часа",
                      f"Пишите на {EMAIL}, деньги за заказ так и не вернули"]
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "feedback.csv"
    pd.concat([src, extra]).to_csv(path, index=False)
    out = tmp / "out"
    voc.analyze(path, outdir=out, profile="fast", pseudonym_key=KEY, chunk_size=100,
                tickets=SAMPLE / "tickets.csv" if tickets else None,
                journey=SAMPLE / "journey.yaml" if tickets else None)
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return _analyze(tmp_path_factory.mktemp("run"), 300)


# -- no server needed -----------------------------------------------------------------------------------------
def test_ddl_is_derived_from_the_enriched_columns(run_dir):
    run = FinishedRun.open(run_dir)
    feedback = next(t for t in run.tables() if t.name == "feedback")
    ddl = create_table_sql("voc", "voc_feedback", feedback)
    for col in FINDING_COLUMNS:
        assert f"`{col}` " in ddl
    assert "`id` String," in ddl  # the sort key is never Nullable
    assert "`created_at` Nullable(DateTime('UTC'))" in ddl
    for col in LIST_COLUMNS:
        assert f"`{col}` Array(String)" in ddl
    assert "`продукт` Nullable(String)" in ddl  # an input column, kept as text
    assert "PARTITION BY `run_id` ORDER BY (`run_id`, `id`)" in ddl


def test_type_mapping():
    assert ch_type(pa.field("x", pa.bool_())) == "Nullable(UInt8)"
    assert ch_type(pa.field("x", pa.float64(), nullable=False)) == "Float64"
    assert ch_type(pa.field("x", pa.list_(pa.string()))) == "Array(String)"
    assert ch_type(pa.field("x", pa.timestamp("us", tz="UTC"))) == "Nullable(DateTime('UTC'))"
    assert ch_type(pa.field("x", pa.string()), key=True) == "String"
    with pytest.raises(SinkError, match="'x'.*no ClickHouse type"):
        ch_type(pa.field("x", pa.binary()))


def test_column_values_for_the_driver():
    from datetime import UTC, datetime

    from voc.sinks.clickhouse import column_values

    ts = pa.array([datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), None, datetime(1960, 1, 1, tzinfo=UTC),
                   datetime(2200, 1, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    values, nulled = column_values(ts, pa.field("t", ts.type))
    assert values == [int(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()), None, None, None]
    assert nulled == 2  # outside ClickHouse DateTime's range: NULL, and counted in the export report
    lists = pa.array([["a", None], None], pa.list_(pa.string()))
    assert column_values(lists, pa.field("l", lists.type))[0] == [["a", ""], []]
    flags = pa.array([True, None, False])
    assert column_values(flags, pa.field("b", pa.bool_()))[0] == [1, None, 0]
    assert column_values(pa.array([None, "x"]), pa.field("id", pa.string()), key=True)[0] == ["", "x"]


def test_datalens_views_file_is_generated():
    assert (ROOT / "datalens/views.sql").read_text(encoding="utf-8") == views_sql("voc", "voc_"), \
        "datalens/views.sql is stale: voc export clickhouse-views > datalens/views.sql"


def test_urls_are_checked_and_passwords_hidden():
    check_sink("clickhouse://user:pw@db.example:9000/voc")
    for bad in ("http://host/voc", "clickhouse:///voc", "clickhouse://h:port/voc", "clickhouse://h/bad-name"):
        with pytest.raises(SinkError):
            check_sink(bad)
    assert redact_url("clickhouse://u:secret@h:9000/voc") == "clickhouse://u:***@h:9000/voc"


def test_run_id_is_stable_and_checked(run_dir, tmp_path):
    assert FinishedRun.open(run_dir).run_id == FinishedRun.open(run_dir).run_id
    assert FinishedRun.open(run_dir, "daily-2026.01.31").run_id == "daily-2026.01.31"
    with pytest.raises(SinkError, match="run id"):
        FinishedRun.open(run_dir, "bad id; DROP")
    with pytest.raises(SinkError, match="not a finished voc run"):
        FinishedRun.open(tmp_path)


def test_bad_sink_fails_before_the_analysis(tmp_path):
    res = CliRunner().invoke(app, ["analyze", str(SAMPLE / "feedback.csv"), "-o", str(tmp_path / "o"),
                                   "--sink", "postgres://h/db"])
    assert res.exit_code == 2 and "--sink" in res.output
    assert not (tmp_path / "o").exists()


def test_unreachable_server_is_a_clear_error(run_dir):
    res = CliRunner().invoke(app, ["export", "clickhouse", str(run_dir), "--url", "clickhouse://127.0.0.1:1/voc"])
    assert res.exit_code == 2
    assert "ClickHouse at clickhouse://127.0.0.1:1/voc" in res.output and "Traceback" not in res.output


# -- a real server --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    if server_binary() is None:
        pytest.skip("clickhouse-server is not installed (apt-get install clickhouse-server)")
    with LocalClickHouse() as ch:
        yield ch


def _client(server):
    from clickhouse_driver import Client

    return Client("127.0.0.1", port=server.port)


def _counts(client, run_id: str, db: str = "voc") -> dict[str, int]:
    return {t: client.execute(f"SELECT count() FROM {db}.voc_{t} WHERE run_id = %(r)s", {"r": run_id})[0][0]
            for t in TABLES}


def _expected(run_dir: Path) -> dict[str, int]:
    run = FinishedRun.open(run_dir)
    frame = pd.read_parquet(run_dir / "enriched.parquet")
    agg = run.aggregates
    return {
        "feedback": len(frame),
        "evidence": int(frame["evidence"].map(len).sum()),
        "heatmap_cells": sum(len(h.row_labels) * len(h.col_labels) for h in agg.heatmaps.values()),
        "priority": len(agg.priority_topics) + len(agg.priority_causes),
        "trends": len(agg.trends.rows),
        "trend_series": sum(len(t.series) for t in agg.trends.rows),
        "runs": 1,
    }


def test_export_counts_views_and_reexport(server, run_dir):
    client = _client(server)
    report = export(server.url("voc"), run_dir)  # the database is created on first use
    assert not report.replaced
    expected = _expected(run_dir)
    assert report.rows == expected
    assert _counts(client, report.run_id) == expected
    assert client.execute("SELECT version()")[0][0]

    # a heatmap view answers with the run's own numbers and example ids
    hm = FinishedRun.open(run_dir).aggregates.heatmaps["stage_emotion"]
    i, j = next((i, j) for i in range(len(hm.row_labels)) for j in range(len(hm.col_labels)) if hm.examples[i][j])
    rows = client.execute("SELECT share, n, stage_total, example_ids, latest FROM voc.voc_v_stage_emotion "
                          "WHERE run_id = %(r)s AND stage = %(s)s AND emotion = %(e)s",
                          {"r": report.run_id, "s": hm.row_labels[i], "e": hm.col_labels[j]})
    assert rows == [(pytest.approx(hm.values[i][j]), hm.counts[i][j], hm.totals[i][j], ", ".join(hm.examples[i][j]), 1)]
    agg = FinishedRun.open(run_dir).aggregates
    per_view = {"stage_channel": len(agg.heatmaps["stage_channel"].row_labels) * len(agg.heatmaps["stage_channel"].col_labels),
                "topic_week": len(agg.heatmaps["topic_week"].row_labels) * len(agg.heatmaps["topic_week"].col_labels),
                "priority": expected["priority"], "trends": expected["trends"], "feedback": expected["feedback"]}
    for view, n in per_view.items():
        assert client.execute(f"SELECT count() FROM voc.voc_v_{view} WHERE run_id = %(r)s", {"r": report.run_id}) == [(n,)]
    top = client.execute("SELECT name, rank FROM voc.voc_v_priority WHERE run_id = %(r)s AND kind = 'topic' "
                         "ORDER BY rank LIMIT 1", {"r": report.run_id})
    assert top == [(FinishedRun.open(run_dir).aggregates.priority_topics[0].name, 1)]

    # re-export: the run is replaced, never duplicated
    again = export(server.url("voc"), run_dir)
    assert again.replaced and again.run_id == report.run_id
    assert _counts(client, report.run_id) == expected
    assert client.execute("SELECT count() FROM voc.voc_runs")[0][0] == 1


def test_only_masked_text_reaches_clickhouse(server, run_dir):
    client = _client(server)
    run_id = export(server.url("voc_pii"), run_dir).run_id
    texts = client.execute("SELECT text, evidence FROM voc_pii.voc_feedback WHERE id IN ('PII-1', 'PII-2') "
                           "AND run_id = %(r)s ORDER BY id", {"r": run_id})
    assert "[ТЕЛЕФОН]" in texts[0][0] and "[EMAIL]" in texts[1][0]
    dump = repr(client.execute("SELECT * FROM voc_pii.voc_feedback")) + repr(
        client.execute("SELECT * FROM voc_pii.voc_evidence")) + repr(client.execute("SELECT * FROM voc_pii.voc_priority"))
    for raw in RAW:
        assert raw not in dump


def test_a_broken_off_export_is_hidden_and_a_rerun_completes_it(server, run_dir, monkeypatch):
    import voc.sinks.clickhouse as ch

    client = _client(server)
    url = server.url("voc_broken")
    real = ch._insert

    def failing(client_, database, name, run_id, table, key):
        if name.endswith("priority"):
            raise ConnectionResetError("connection lost")
        return real(client_, database, name, run_id, table, key)

    monkeypatch.setattr(ch, "_insert", failing)
    with pytest.raises(SinkError, match="connection lost"):
        export(url, run_dir, run_id="r1")
    monkeypatch.setattr(ch, "_insert", real)
    ch.create_views(ch.connect(url)[0], "voc_broken", "voc_")  # the views exist, the run is not committed
    assert client.execute("SELECT count() FROM voc_broken.voc_feedback")[0][0] > 0
    assert client.execute("SELECT count() FROM voc_broken.voc_v_stage_emotion")[0][0] == 0
    report = export(url, run_dir, run_id="r1")
    assert _counts(client, "r1", "voc_broken") == _expected(run_dir)
    assert report.rows == _expected(run_dir)


def test_analyze_sink_adds_a_run_with_new_columns(server, run_dir, tmp_path, monkeypatch):
    """`voc analyze --sink`: a second run with tickets brings ticket columns; both runs stay, the newest is latest."""
    client = _client(server)
    url = server.url("voc_cli")
    first = export(url, run_dir)
    src = pd.read_csv(SAMPLE / "feedback.csv", dtype=str, keep_default_na=False).head(120)
    src = src.rename(columns={"продукт": "продукт или услуга"})
    path = tmp_path / "feedback.csv"
    src.to_csv(path, index=False)
    monkeypatch.setenv("VOC_PSEUDONYM_KEY", KEY)
    res = CliRunner().invoke(app, ["analyze", str(path), "-o", str(tmp_path / "out"), "--profile", "fast", "-q",
                                   "--workers", "1", "--tickets", str(SAMPLE / "tickets.csv"),
                                   "--journey", str(SAMPLE / "journey.yaml"), "--sink", url])
    assert res.exit_code == 0, res.output
    second = FinishedRun.open(tmp_path / "out").run_id
    assert _counts(client, second, "voc_cli") == _expected(tmp_path / "out")
    assert _counts(client, first.run_id, "voc_cli")["feedback"] == _expected(run_dir)["feedback"]
    cols = {r[0] for r in client.execute("SELECT name FROM system.columns WHERE database = 'voc_cli' "
                                         "AND table = 'voc_feedback'")}
    assert {"sla_breached", "fcr", "продукт или услуга", "продукт"} <= cols
    linked = client.execute("SELECT countIf(sla_breached IS NOT NULL) FROM voc_cli.voc_feedback "
                            "WHERE run_id = %(r)s", {"r": second})[0][0]
    assert linked > 0
    latest = client.execute("SELECT DISTINCT run_id FROM voc_cli.voc_v_priority WHERE latest = 1")
    assert latest == [(second,)]


def test_sql_runs_on_current_clickhouse(run_dir, tmp_path):
    """The same DDL, partition drop and views on a current ClickHouse (chDB, in-process; skipped without it)."""
    chdb_session = pytest.importorskip("chdb.session")
    import pyarrow.parquet as pq

    from voc.sinks.clickhouse import view_statements

    s = chdb_session.Session(str(tmp_path / "chdb"))
    s.query("CREATE DATABASE IF NOT EXISTS voc")
    run = FinishedRun.open(run_dir)
    for t in run.tables():
        s.query(create_table_sql("voc", "voc_" + t.name, t))
        batches = [b for b in t.batches() if b.num_rows]
        table = pa.concat_tables(batches) if batches else t.schema.empty_table()
        table = table.add_column(0, "run_id", pa.array(["r1"] * table.num_rows, pa.string()))
        pq.write_table(table, tmp_path / f"{t.name}.parquet")
        cols = ", ".join(f"`{c}`" for c in table.column_names)
        for _ in range(2):  # re-export: drop the run's partition, insert again
            s.query(f"ALTER TABLE voc.voc_{t.name} DROP PARTITION 'r1'")
            s.query(f"INSERT INTO voc.voc_{t.name} ({cols}) SELECT {cols} FROM file('{tmp_path / t.name}.parquet', Parquet)")
    for _name, sql in view_statements("voc", "voc_"):
        s.query(sql)
    got = str(s.query("SELECT count() FROM voc.voc_v_feedback", "CSV")).strip()
    assert got == str(_expected(run_dir)["feedback"])


def test_an_input_column_named_run_id_is_kept_under_another_name(tmp_path):
    src = pd.read_csv(SAMPLE / "feedback.csv", dtype=str, keep_default_na=False).head(20)
    src["run_id"] = "from-the-input"
    path = tmp_path / "feedback.csv"
    src.to_csv(path, index=False)
    voc.analyze(path, outdir=tmp_path / "out", profile="fast", pseudonym_key=KEY)
    run = FinishedRun.open(tmp_path / "out")
    feedback = next(t for t in run.tables() if t.name == "feedback")
    assert "input:run_id" in feedback.schema.names and "run_id" not in feedback.schema.names
    batch = next(feedback.batches())
    assert set(batch.column("input:run_id").to_pylist()) == {"from-the-input"}
