"""Units of the issue-#9 guards: webhook address policy (SSRF), timestamped signatures and replay, JSON
nesting, the XLSX zip-bomb check, upload retention, job attempt cap, bounded classify queue, masked values."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voc.schema import Feedback, Findings
from voc_api import jobs
from voc_api.db import Job, init_db, make_engine, session_factory, utcnow
from voc_api.jsondepth import max_depth, too_deep
from voc_api.microbatch import MicroBatcher, QueueFull
from voc_api.netguard import AddressNotAllowed, allow_networks, check_url, parse_ipv4_loose
from voc_api.outputs import display_names, first_errors, replace_paths, scrub_outputs
from voc_api.pii import display_file, mask_rejected, mask_value
from voc_api.retention import delete_inputs, job_ended, purge_expired, remove_orphans
from voc_api.settings import Settings
from voc_api.uploads import display_name, xlsx_problem
from voc_api.webhook_sender import sign, verify_signature
from voc_api.worker import reap_stale

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"


@pytest.fixture()
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    init_db(engine)
    yield session_factory(engine)
    engine.dispose()


# ------------------------------------------------------------------------------------------- SSRF

HOSTS = {  # the resolver stub: name → addresses
    "hooks.example.ru": ["93.184.216.34"],
    "v6.example.ru": ["2606:2800:220:1:248:1893:25c8:1946"],
    "metadata.internal": ["169.254.169.254"],
    "rebind.example.ru": ["93.184.216.34", "127.0.0.1"],  # one bad answer spoils the name
    "intranet.corp": ["10.20.30.40"],
    "mapped.example.ru": ["::ffff:192.168.0.10"],
}


def stub_resolver(host: str, port: int) -> list[str]:
    if host not in HOSTS:
        raise OSError("no such host")
    return HOSTS[host]


REFUSED = [
    ("http://127.0.0.1/h", "loopback"),
    ("http://localhost.:8000/h", None),  # not in the stub: does not resolve
    ("http://2130706433/h", "loopback"),  # decimal 127.0.0.1
    ("http://0x7f000001/h", "loopback"),  # hex
    ("http://0177.0.0.1/h", "loopback"),  # octal
    ("http://127.1/h", "loopback"),  # short form
    ("http://[::1]/h", "loopback"),
    ("http://[::ffff:127.0.0.1]/h", "loopback"),  # IPv4-mapped IPv6
    ("http://0.0.0.0/h", "unspecified"),
    ("http://0/h", "unspecified"),
    ("http://[::]/h", "unspecified"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://2852039166/", "metadata"),  # 169.254.169.254 as one number
    ("http://169.254.10.1/h", "link-local"),
    ("http://[fe80::1]/h", "link-local"),
    ("http://224.0.0.1/h", "multicast"),
    ("http://[ff02::1]/h", "multicast"),
    ("http://10.0.0.1/h", "private"),
    ("http://172.16.5.4/h", "private"),
    ("http://192.168.1.1/h", "private"),
    ("http://[fc00::1]/h", "private"),
    ("http://100.64.0.1/h", "non-public"),  # carrier-grade NAT
    ("http://metadata.internal/h", "metadata"),
    ("http://rebind.example.ru/h", "loopback"),
    ("http://intranet.corp/h", "private"),
    ("http://mapped.example.ru/h", "private"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_webhook_destinations_refused(url, why):
    with pytest.raises(AddressNotAllowed) as err:
        check_url(url, (), stub_resolver)
    assert (why or "does not resolve") in str(err.value)


@pytest.mark.parametrize("url", ["https://hooks.example.ru/voc", "http://93.184.216.34:8080/x?y=1",
                                 "https://v6.example.ru/h", "http://[2606:2800:220:1:248:1893:25c8:1946]/h"])
def test_public_destinations_allowed_and_pinned(url):
    dest = check_url(url, (), stub_resolver)
    assert dest.address.is_global
    pinned = dest.pinned_url()
    assert str(dest.address) in pinned and "hooks.example.ru" not in pinned  # no second DNS lookup at connect
    if "hooks" in url:
        assert dest.host_header() == "hooks.example.ru"


def test_allow_list_opens_private_ranges_but_never_metadata():
    allow = allow_networks(["10.0.0.0/8", "169.254.0.0/16", "127.0.0.1/32"])
    assert check_url("http://intranet.corp/h", allow, stub_resolver).address.exploded == "10.20.30.40"
    assert check_url("http://127.0.0.1:9000/h", allow, stub_resolver).port == 9000
    for url in ("http://169.254.169.254/", "http://metadata.internal/", "http://0.0.0.0/", "http://224.0.0.1/"):
        with pytest.raises(AddressNotAllowed):
            check_url(url, allow, stub_resolver)
    with pytest.raises(AddressNotAllowed):
        check_url("http://127.0.0.2/h", allow, stub_resolver)  # only the listed address


@pytest.mark.parametrize("url", ["ftp://hooks.example.ru/x", "http://user:pw@hooks.example.ru/", "http:///x",
                                 "http://hooks.example.ru:99999/"])
def test_malformed_webhook_urls(url):
    with pytest.raises(ValueError):
        check_url(url, (), stub_resolver)


@given(st.integers(0, 2**32 - 1))
def test_loose_ipv4_forms_match_inet_aton(n):
    import socket

    dotted = socket.inet_ntoa(n.to_bytes(4, "big"))
    for form in (str(n), hex(n), f"0{n:o}", dotted):
        assert str(parse_ipv4_loose(form)) == dotted
        assert socket.inet_ntoa(socket.inet_aton(form)) == dotted  # the system reads it the same way


# -------------------------------------------------------------------------------- signatures, replay


def _receiver_check():
    """The receiver's check exactly as docs/api.md shows it."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"Verify a delivery.*?```python\n(.*?)```", text, re.S)
    assert block, "docs/api.md must show the receiver's check"
    namespace: dict = {}
    exec(block.group(1), namespace)  # noqa: S102 - our own documentation
    return namespace["voc_delivery_is_valid"]


def test_signature_covers_timestamp_and_body_and_docs_check_rejects_replays():
    check = _receiver_check()
    secret, body = "s" * 24, b'{"event": "batch.finished"}'
    now = int(time.time())
    headers = {"X-Voc-Timestamp": str(now), "X-Voc-Signature": sign(secret, body, now)}
    assert check(secret, body, headers) and verify_signature(secret, body, str(now), headers["X-Voc-Signature"])
    # a captured delivery replayed later: the old timestamp is stale
    old = now - 3600
    stale = {"X-Voc-Timestamp": str(old), "X-Voc-Signature": sign(secret, body, old)}
    assert not check(secret, body, stale) and not verify_signature(secret, body, str(old), stale["X-Voc-Signature"])
    # the replayer refreshes the timestamp header but cannot re-sign: the signature is over the old one
    forged = {"X-Voc-Timestamp": str(now), "X-Voc-Signature": sign(secret, body, old)}
    assert not check(secret, body, forged) and not verify_signature(secret, body, str(now), forged["X-Voc-Signature"])
    assert not check(secret, body + b" ", headers)  # body changed
    assert not check("t" * 24, body, headers)  # another secret
    assert not check(secret, body, {"X-Voc-Signature": headers["X-Voc-Signature"]})  # no timestamp
    assert not verify_signature(secret, body, "soon", headers["X-Voc-Signature"])


# ------------------------------------------------------------------------------------- JSON nesting


def test_nesting_is_measured_outside_strings_and_named():
    deep = b'{"text": "ok", "metadata": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}"
    path = too_deep(deep, 32)
    assert path is not None and path[:2] == ["metadata", "a"] and len(path) == 32
    assert too_deep(json.dumps({"text": "[[[[" * 50 + '\\"{{{{' * 20}).encode(), 32) is None
    items = {"items": [{"text": "a"}, {"text": "b", "metadata": {"k": [[[[[[]]]]]]}}]}
    assert too_deep(json.dumps(items).encode(), 6) == ["items", 1, "metadata", "k", 0, 0]
    assert too_deep(b"[" * 50, 32) == []  # too deep and not JSON: cannot be named further than the body
    assert max_depth(b'{"a": [1, {"b": "]]]"}]}') == 3


@settings(max_examples=60)
@given(st.recursive(st.none() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=6),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\a', max_size=3), c,
                                                                        max_size=3), max_leaves=30))
def test_depth_agrees_with_the_parsed_value(value):
    def depth(v) -> int:
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        return 0

    raw = json.dumps(value).encode()
    assert max_depth(raw) == depth(value)
    limit = max(depth(value) - 1, 0)
    if depth(value) > limit and limit >= 1:
        assert too_deep(raw, limit) is not None
    assert too_deep(raw, depth(value)) is None


# ------------------------------------------------------------------------------------ XLSX bombs


def _xlsx(path: Path, shared_strings: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/sharedStrings.xml", shared_strings)
    return path


def test_xlsx_bomb_is_refused_from_the_zip_directory(tmp_path):
    bomb = _xlsx(tmp_path / "bomb.xlsx", b"<si><t>" + b"A" * (50 * 2**20) + b"</t></si>")
    assert bomb.stat().st_size < 200_000
    why = xlsx_problem(bomb, 200 * 2**20, 100)
    assert why and "zip bomb" in why
    assert "MB" in xlsx_problem(bomb, 10 * 2**20, 10_000)  # over the uncompressed limit
    ok = _xlsx(tmp_path / "ok.xlsx", "".join(f"<si><t>отзыв {i}</t></si>" for i in range(2000)).encode())
    assert xlsx_problem(ok, 200 * 2**20, 100) is None
    (tmp_path / "x.xlsx").write_bytes(b"PK\x03\x04broken")
    assert "zip" in xlsx_problem(tmp_path / "x.xlsx", 2**30, 100)
    with zipfile.ZipFile(tmp_path / "nowb.xlsx", "w") as z:
        z.writestr("a.txt", "x")
    assert "workbook" in xlsx_problem(tmp_path / "nowb.xlsx", 2**30, 100)


# ------------------------------------------------------------------------------- retention, orphans


def _job(sessions, root: Path, job_id: str, state: str = "queued", **values) -> Job:
    (root / job_id / "input").mkdir(parents=True)
    (root / job_id / "input" / "file.csv").write_text("text\nx\n", encoding="utf-8")
    jobs.create_job(sessions, key_id="k", input_name="a.csv", job_id=job_id,
                          inputs={"feedback": str(root / job_id / "input" / "file.csv")}, outdir=str(root / job_id / "out"))
    if state != "queued" or values:
        with sessions.begin() as s:
            row = s.get(Job, job_id)
            row.state = state
            for k, v in values.items():
                setattr(row, k, v)
    return jobs.get_job(sessions, job_id)


def test_inputs_go_when_a_job_ends_or_after_retention_and_orphans_go(sessions, tmp_path):
    root = tmp_path / "batches"
    done = _job(sessions, root, "done", "succeeded", finished_at=utcnow())
    job_ended(done, 0)
    assert not (root / "done" / "input").exists()
    kept = _job(sessions, root, "kept", "failed", finished_at=utcnow() - timedelta(days=2))
    job_ended(kept, 7)
    assert (root / "kept" / "input").exists()  # 7 days of retention
    assert purge_expired(sessions, 7) == [] and purge_expired(sessions, 1) == ["kept"]
    assert not (root / "kept" / "input").exists()
    _job(sessions, root, "queued")
    assert purge_expired(sessions, 0) == [] and (root / "queued" / "input").exists()  # not ended: kept
    (root / "orphan" / "input").mkdir(parents=True)
    (root / "fresh" / "input").mkdir(parents=True)
    old = time.time() - 3600
    os.utime(root / "orphan", (old, old))
    assert remove_orphans(sessions, root, 600) == ["orphan"]
    assert (root / "fresh").exists() and (root / "queued").exists() and not (root / "orphan").exists()
    assert remove_orphans(sessions, root, 0) == ["fresh"]
    assert delete_inputs(done) is False


# --------------------------------------------------------------------------------- attempts cap


def test_a_job_whose_worker_keeps_dying_fails_after_the_cap(sessions, tmp_path):
    settings = Settings(data_dir=tmp_path, stale_after_s=60, job_max_attempts=3)
    _job(sessions, tmp_path / "batches", "crashy")
    for attempt in range(1, 4):
        job, _token = jobs.claim_next(sessions, f"w{attempt}")
        assert job.attempts == attempt
        with sessions.begin() as s:  # the worker died: its heartbeat goes stale
            s.get(Job, "crashy").heartbeat_at = utcnow() - timedelta(seconds=120)
        moved = reap_stale(sessions, settings)
        assert moved == (["crashy"] if attempt < 3 else [])
    job = jobs.get_job(sessions, "crashy")
    assert job.state == "failed" and "3 times" in job.error and job.finished_at is not None
    assert jobs.claim_next(sessions, "w9") is None
    assert not (tmp_path / "batches" / "crashy" / "input").exists()  # inputs go with the failed job


# ---------------------------------------------------------------------------------- bounded queue


def test_microbatch_queue_is_bounded():
    import threading

    release = threading.Event()

    def analyze(records):
        release.wait(5)
        return list(records), [Findings(feedback_id=r.id) for r in records]

    async def scenario():
        batcher = MicroBatcher(analyze, consumers=1, max_items=4, max_pending=6)
        batcher.start()
        first = asyncio.ensure_future(batcher.submit([Feedback(id="a", text="x")]))
        await asyncio.sleep(0.1)  # taken by the consumer, which now blocks
        waiting = [asyncio.ensure_future(batcher.submit([Feedback(id=f"{i}-{j}", text="x") for j in range(3)]))
                   for i in range(2)]
        await asyncio.sleep(0.05)
        assert batcher.pending_items == 6
        with pytest.raises(QueueFull):
            await batcher.submit([Feedback(id="over", text="x")])
        release.set()
        done = await asyncio.gather(first, *waiting)
        batcher.stop()
        return done, batcher.pending_items

    done, left = asyncio.run(scenario())
    assert [len(d[1]) for d in done] == [1, 3, 3] and left == 0


# ------------------------------------------------------------------------- display names, masking


def test_display_names_never_show_server_paths(tmp_path):
    assert display_name("C:\\Users\\ivan\\отзывы.csv") == "отзывы.csv"
    assert display_name("../../etc/passwd") == "passwd" and display_name("\x00\n") == "upload"
    inputs = {"feedback": str(tmp_path / "b1" / "input" / "file.csv"),
              "tickets": str(tmp_path / "b1" / "input" / "tickets.csv"), "tickets_name": "заявки.csv"}
    names = display_names(inputs, "отзывы <b>.csv")
    assert display_file(inputs["feedback"], names) == "отзывы <b>.csv"
    assert display_file("/elsewhere/x/unknown.csv", names) == "unknown.csv"
    text = f"{inputs['feedback']}: cannot decode near data row 3"
    assert replace_paths(text, names) == "отзывы <b>.csv: cannot decode near data row 3"
    assert replace_paths(f"файлы: {inputs['tickets']}", names, html=True) == "файлы: заявки.csv"


def test_values_are_cut_and_masked():
    raw = "пишите на ivan.petrov@mail.ru или звоните +7 912 345-67-89 " + "я" * 500
    masked = mask_value(raw)
    assert len(masked) <= 200 and "ivan.petrov" not in masked and "912" not in masked
    row = mask_rejected({"file": "/srv/voc/batches/x/input/file.csv", "row": "3", "field": "text",
                         "reason": "text longer than 20000 characters", "value": raw})
    assert row["file"] == "file.csv" and row["value"] == masked


def test_outputs_are_scrubbed(tmp_path):
    out = tmp_path / "b" / "out"
    (out / "parts").mkdir(parents=True)
    feedback = str(tmp_path / "b" / "input" / "file.csv")
    names = display_names({"feedback": feedback}, "май <отзывы>.csv")
    (out / "errors.csv").write_text(
        "file,row,field,reason,value\n"
        f"{feedback},1,text,empty text,\n"
        f'{feedback},2,created_at,unparseable date,"звоните +7 912 345-67-89, {"x" * 300}"\n', encoding="utf-8")
    (out / "report.html").write_text(f"<p>файлы: {feedback}</p>", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps({"summary": {"input_files": [feedback]}}), encoding="utf-8")
    scrub_outputs(out, names)
    assert "май &lt;отзывы&gt;.csv" in (out / "report.html").read_text(encoding="utf-8")
    assert str(tmp_path) not in (out / "report.html").read_text(encoding="utf-8")
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["summary"]["input_files"] == [
        "май <отзывы>.csv"]
    errors = first_errors(out, names)
    assert [e["file"] for e in errors] == ["май <отзывы>.csv"] * 2 and errors[0]["value"] is None
    assert "912" not in errors[1]["value"] and len(errors[1]["value"]) <= 200
    assert str(tmp_path) not in (out / "errors.csv").read_text(encoding="utf-8")
    assert (out / ".scrubbed").exists()
