"""Aggregates → flat tables for priority.csv, trends.csv, scores.csv and fcr.csv."""

from __future__ import annotations

import pandas as pd

from voc.aggregate.models import Aggregates


def priority_table(aggregates: Aggregates) -> pd.DataFrame:
    """Topics then causes, ranked, with the three factors, the score and example ids/quotes."""
    rows = []
    for item in [*aggregates.priority_topics, *aggregates.priority_causes]:
        row = item.model_dump(exclude={"examples", "flags"})
        row["flags"] = "|".join(item.flags)
        row["example_ids"] = "|".join(q.id for q in item.examples)
        row["example_quotes"] = " || ".join(q.text for q in item.examples)
        rows.append(row)
    columns = ["kind", "rank", "name", "n", "frequency", "frequency_norm", "negative_share", "pain_emotion_share",
               "mean_sentiment", "pain", "sla_breach_share", "detractor_share", "repeat_contact_share", "impact",
               "score", "effect_share", "effect", "flags", "example_ids", "example_quotes"]
    return pd.DataFrame(rows, columns=columns)


def trends_table(aggregates: Aggregates) -> pd.DataFrame:
    """One line per topic/cause trend (without the weekly series)."""
    rows = [t.model_dump(exclude={"series"}) for t in aggregates.trends.rows]
    columns = ["kind", "name", "week_prev", "week_last", "count_prev", "count_last", "count_change", "share_prev",
               "share_last", "share_change_pct", "z", "p_value", "test", "emerging"]
    return pd.DataFrame(rows, columns=columns)


def scores_table(aggregates: Aggregates) -> pd.DataFrame:
    """NPS/CSAT/CES rows of all dimensions, with a ``dimension`` column."""
    rows = [{"dimension": t.dimension, **r.model_dump()} for t in aggregates.scores for r in t.rows]
    return pd.DataFrame(rows)


def fcr_table(aggregates: Aggregates) -> pd.DataFrame:
    """FCR / repeat contacts per topic."""
    return pd.DataFrame([r.model_dump() for r in aggregates.fcr])


def drivers_table(aggregates: Aggregates) -> pd.DataFrame:
    """One line per score × topic/cause: OLS coefficient, 95 % CI, p, n, harm, measured."""
    rows = [{"target": t.target, "target_n": t.n, "r2": t.r2, **d.model_dump()} for t in aggregates.drivers
            for d in t.drivers]
    columns = ["target", "target_n", "r2", "kind", "name", "n", "coef", "ci_low", "ci_high", "p_value", "harm",
               "measured"]
    return pd.DataFrame(rows, columns=columns)
