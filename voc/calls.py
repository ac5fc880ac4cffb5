"""Timing metrics of a call from its transcript turns: duration, pauses, silence, talk ratio, overlaps.

The call is taken to run from the first utterance's start to the last one's end (a transcript does not
know the leading and trailing silence of the recording). Turns without both timestamps are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

from voc.schema import CallMetrics, DialogTurn


def _merged(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of intervals as a sorted list of disjoint intervals."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _length(intervals: list[tuple[float, float]]) -> float:
    return sum(end - start for start, end in intervals)


def compute_span_metrics(spans: Sequence[tuple[float | None, float | None, str | None]], min_overlap_s: float = 0.0,
                         ) -> CallMetrics | None:
    """Metrics from (start, end, role) spans; role None = unknown speaker (no talk ratio, no overlaps)."""
    timed = [(float(s), float(e), r) for s, e, r in spans if s is not None and e is not None and e >= s]
    if not timed:
        return None
    call_start = min(s for s, _, _ in timed)
    call_end = max(e for _, e, _ in timed)
    duration = call_end - call_start
    speech = _merged([(s, e) for s, e, _ in timed])
    gaps = [nxt[0] - cur[1] for cur, nxt in zip(speech, speech[1:], strict=False)]
    silence = max(0.0, duration - _length(speech))
    roles = sorted({r for _, _, r in timed if r is not None})
    per_role = {r: _length(_merged([(s, e) for s, e, rr in timed if rr == r])) for r in roles}
    talk_total = sum(per_role.values())
    talk_ratio = {r: (t / talk_total if talk_total > 0 else 0.0) for r, t in per_role.items()}

    # Sweep by start time: an utterance overlaps when another role's earlier utterance is still running.
    overlaps = 0
    interruptions = dict.fromkeys(roles, 0)
    running_end: dict[str, float] = {}
    for start, end, role in sorted(timed, key=lambda t: (t[0], t[1])):
        if role is None:
            continue
        if any(other != role and other_end - start > min_overlap_s and other_end > start
               for other, other_end in running_end.items()):
            overlaps += 1
            interruptions[role] += 1
        running_end[role] = max(running_end.get(role, end), end)
    return CallMetrics(
        duration_s=round(duration, 3),
        longest_pause_s=round(max(gaps, default=0.0), 3),
        silence_share=round(silence / duration, 4) if duration > 0 else 0.0,
        talk_ratio={r: round(v, 4) for r, v in talk_ratio.items()},
        overlaps=overlaps,
        interruptions=interruptions,
    )


def compute_call_metrics(turns: Sequence[DialogTurn], min_overlap_s: float = 0.0) -> CallMetrics | None:
    """Duration, longest pause, silence share, talk ratio per role, overlaps and interruptions per role.

    An overlap is an utterance that starts while an utterance of another role is still running (by more
    than ``min_overlap_s``); it counts as an interruption by the role that started it. Returns None when
    no turn has both timestamps. ``client_sentiment_start/end`` stay None (the sentiment analyzer fills them).
    """
    spans = [(t.start, t.end, t.speaker.value) for t in turns if t.start is not None and t.end is not None]
    return compute_span_metrics(spans, min_overlap_s)
