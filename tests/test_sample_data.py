"""The bundled sample data: deterministic generation, committed files up to date, shapes and counts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
GENERATOR = SAMPLE / "generate.py"


def _generate(out: Path) -> dict[str, bytes]:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True, capture_output=True)
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return _generate(tmp_path_factory.mktemp("sample_a"))


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(SAMPLE / name, dtype=str, keep_default_na=False)


def test_generator_is_deterministic(fresh: dict[str, bytes], tmp_path: Path) -> None:
    assert _generate(tmp_path) == fresh


def test_committed_files_equal_fresh_generation(fresh: dict[str, bytes]) -> None:
    for name, content in fresh.items():
        assert (SAMPLE / name).read_bytes() == content, f"{name} is stale: run python datasets/sample/generate.py"
    total = sum(len(c) for c in fresh.values())
    assert total < 2_000_000


def _parse_date(value: str) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            pass
    return None


def test_feedback_rows_and_bad_rows() -> None:
    fb = _csv("feedback.csv")
    assert list(fb.columns) == ["номер", "дата", "канал", "текст", "оценка", "NPS", "CSAT", "CES", "клиент",
                                "номер обращения", "этап", "точка контакта", "продукт"]
    assert 950 <= len(fb) <= 1100 and fb["номер"].is_unique
    known = {"отзыв", "review", "опрос", "survey", "email", "e-mail", "соцсети", "social"}
    empty = fb["текст"].str.strip() == ""
    bad_date = fb["дата"].map(_parse_date).isna()
    bad_channel = ~fb["канал"].isin(known)
    assert (empty.sum(), bad_date.sum(), bad_channel.sum()) == (2, 2, 1)
    assert (empty | bad_date | bad_channel).sum() == 5
    assert (fb["клиент"] != "").all()
    assert 0.3 < (fb["этап"] != "").mean() < 0.5 and 0.4 < (fb["номер обращения"] != "").mean() < 0.6


def test_scores_only_where_channel_has_them() -> None:
    fb = _csv("feedback.csv")
    fb = fb[fb["канал"] != "факс"]  # the unknown-channel bad row is a copy of an arbitrary row
    survey = fb["канал"].isin({"опрос", "survey"})
    review = fb["канал"].isin({"отзыв", "review"})
    assert (fb.loc[~review, "оценка"] == "").all() and fb.loc[review, "оценка"].isin(list("12345")).all()
    for col in ("NPS", "CSAT", "CES"):
        assert (fb.loc[~survey, col] == "").all()
    assert fb.loc[survey, "NPS"].astype(int).between(0, 10).all()


def test_delivery_spike_in_last_two_weeks() -> None:
    fb = _csv("feedback.csv")
    dates = fb["дата"].map(_parse_date)
    ok = dates.notna()
    late = fb["текст"].str.contains("урьер", case=False) & ok
    last = dates[ok].max() - pd.Timedelta(days=14)
    recent_share = late[ok & (dates >= last)].mean()
    before_share = late[ok & (dates < last)].mean()
    assert recent_share > 2.5 * before_share


def test_tickets_match_feedback_and_linking_cases() -> None:
    fb, tickets = _csv("feedback.csv"), _csv("tickets.csv")
    assert tickets["номер обращения"].is_unique
    assert set(tickets["просрочка SLA"]) <= {"да", "нет"}
    ids = set(tickets["номер обращения"])
    linked = fb[fb["номер обращения"] != ""]
    assert set(linked["номер обращения"]) <= ids
    by_id = tickets.set_index("номер обращения")
    assert (by_id.loc[linked["номер обращения"], "клиент"].to_numpy() == linked["клиент"].to_numpy()).all()
    # feedback without a ticket number, with a ticket of the same customer within 3 days before it
    created = tickets.assign(t=pd.to_datetime(tickets["создано"]))
    unlinked = fb[(fb["номер обращения"] == "")].assign(t=fb["дата"].map(_parse_date)).dropna(subset=["t"])
    pairs = unlinked.merge(created, on="клиент", suffixes=("_fb", "_t"))
    window = (pairs["t_fb"] >= pairs["t_t"]) & (pairs["t_fb"] - pairs["t_t"] <= pd.Timedelta(days=3))
    assert window.sum() >= 20
    assert (tickets["клиент"].value_counts() >= 3).sum() >= 5  # repeat contacts


def test_chats_shape() -> None:
    lines = (SAMPLE / "chats.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 30
    for line in lines:
        chat = json.loads(line)
        assert set(chat) == {"chat_id", "created_at", "customer_id", "ticket_id", "messages"}
        assert 4 <= len(chat["messages"]) <= 12
        assert chat["messages"][0]["author"] == "bot"
        for m in chat["messages"]:
            assert m["author"] in {"client", "operator", "bot"} and m["text"].strip()
            datetime.fromisoformat(m["time"])


def _seconds(value: str) -> float:
    assert value.endswith("s")
    return float(value[:-1])


def test_speechkit_calls_shape() -> None:
    manifest = pd.read_csv(SAMPLE / "calls" / "manifest.csv", dtype=str, keep_default_na=False)
    assert list(manifest.columns) == ["file", "call_id", "customer_id", "ticket_id", "created_at", "journey_stage"]
    assert len(manifest) >= 20
    long_holds = overlaps = 0
    for fname in manifest["file"]:
        data = json.loads((SAMPLE / "calls" / fname).read_text(encoding="utf-8"))
        assert set(data) == {"chunks"} and data["chunks"]
        assert {c["channelTag"] for c in data["chunks"]} == {"1", "2"}
        prev_end, prev_tag = 0.0, None
        for chunk in data["chunks"]:
            (alt,) = chunk["alternatives"]
            assert alt["text"] == " ".join(w["word"] for w in alt["words"])
            assert 0 < alt["confidence"] <= 1
            start, end = _seconds(alt["words"][0]["startTime"]), _seconds(alt["words"][-1]["endTime"])
            assert all(_seconds(w["startTime"]) < _seconds(w["endTime"]) for w in alt["words"])
            long_holds += start - prev_end > 20
            overlaps += prev_tag is not None and prev_tag != chunk["channelTag"] and start < prev_end
            prev_end, prev_tag = max(prev_end, end), chunk["channelTag"]
    assert long_holds >= 5 and overlaps >= 3


def test_journey_yaml_has_seven_stages() -> None:
    import yaml

    from voc.vocab import JOURNEY_STAGES

    stages = yaml.safe_load((SAMPLE / "journey.yaml").read_text(encoding="utf-8"))["stages"]
    assert [s["name"] for s in stages] == list(JOURNEY_STAGES)
    categories = set(_csv("tickets.csv")["категория"])
    assert categories <= {c for s in stages for c in s["ticket_categories"]}
    for s in stages:
        assert s["description"] and s["touchpoints"] and s["keywords"]


def test_sample_pii_is_found_by_redactor() -> None:
    from voc.redact import Redactor

    texts = [t for t in _csv("feedback.csv")["текст"] if t.strip()]
    totals: dict[str, int] = {}
    for _, counts in Redactor(name_engine="morph").redact_batch(texts):
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    assert totals.get("phone", 0) >= 2 and totals.get("email", 0) >= 2 and totals.get("card", 0) >= 1
    assert totals.get("name", 0) >= 3
