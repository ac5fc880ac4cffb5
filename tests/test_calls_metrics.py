"""Call timing metrics from dialog turns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voc.calls import compute_call_metrics
from voc.schema import DialogTurn, SpeakerRole

CL, OP = SpeakerRole.client, SpeakerRole.operator


def _turn(role: SpeakerRole, start: float | None, end: float | None) -> DialogTurn:
    return DialogTurn(speaker=role, text="x", start=start, end=end)


def test_metrics_of_a_small_call() -> None:
    turns = [_turn(OP, 0, 4), _turn(CL, 3, 6), _turn(OP, 10, 12), _turn(CL, 11, 11.5), _turn(OP, 12, 14)]
    m = compute_call_metrics(turns)
    assert m is not None
    assert m.duration_s == 14 and m.longest_pause_s == 4
    assert m.silence_share == pytest.approx(4 / 14, abs=1e-4)
    assert m.talk_ratio == pytest.approx({"client": 3.5 / 11.5, "operator": 8 / 11.5}, abs=1e-4)
    assert m.overlaps == 2 and m.interruptions == {"client": 2, "operator": 0}
    assert m.client_sentiment_start is None and m.client_sentiment_end is None


def test_touching_turns_do_not_overlap_and_untimed_turns_are_ignored() -> None:
    m = compute_call_metrics([_turn(CL, 0, 2), _turn(OP, 2, 3), _turn(CL, None, None)])
    assert m is not None and m.overlaps == 0 and m.longest_pause_s == 0 and m.silence_share == 0
    assert compute_call_metrics([_turn(CL, None, None)]) is None
    assert compute_call_metrics([]) is None


def test_min_overlap_ignores_tiny_asr_overlaps() -> None:
    turns = [_turn(CL, 0, 2.1), _turn(OP, 2.0, 4)]
    assert compute_call_metrics(turns).overlaps == 1
    assert compute_call_metrics(turns, min_overlap_s=0.2).overlaps == 0


spans = st.lists(st.tuples(st.sampled_from([CL, OP, SpeakerRole.bot]), st.floats(0, 600), st.floats(0, 60)),
                 min_size=1, max_size=30)


@given(spans)
def test_metric_invariants(items) -> None:
    turns = [_turn(role, start, start + length) for role, start, length in items]
    m = compute_call_metrics(turns)
    assert m is not None
    assert 0 <= m.silence_share <= 1
    assert 0 <= m.longest_pause_s <= m.duration_s + 1e-6
    assert m.talk_ratio.keys() == {t.speaker.value for t in turns}
    if sum(t.end - t.start for t in turns) > 1e-9:
        assert sum(m.talk_ratio.values()) == pytest.approx(1, abs=1e-3)
    assert m.overlaps == sum(m.interruptions.values()) <= len(turns) - 1
