"""The «Новые темы» section of report.html: topic map, emerging topics with quotes, topics over time.

Self-contained HTML fragment: every value escaped, the map an inline SVG, the chart an inline base64 PNG,
no external URLs.
"""

from __future__ import annotations

import base64
import io
from html import escape

import numpy as np
import pandas as pd

from voc.topics.model import TopicModel
from voc.topics.trends import TOPIC_COL, emerging_topics, topic_sentiment, topics_over_time

QUOTE_CHARS = 200
MAX_TABLE_ROWS = 30


def with_topics(model: TopicModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``discovered_topic`` filled from ``model.assign`` where it is missing."""
    if TOPIC_COL in frame.columns and frame[TOPIC_COL].notna().any():
        return frame
    if "text" not in frame.columns:
        raise KeyError("enriched frame has neither 'discovered_topic' nor 'text'")
    out = frame.copy()
    out[TOPIC_COL] = [name for _, name, _ in model.assign(out["text"].astype(str).tolist())]
    return out


def topic_report_section(model: TopicModel, frame: pd.DataFrame) -> str:
    """HTML fragment: topic table + map, emerging topics with 2–3 example quotes, over-time chart."""
    frame = with_topics(model, frame)
    n = len(frame)
    unassigned = float(frame[TOPIC_COL].isna().mean()) if n else 0.0
    parts = [f'<section class="voc-topics"><p>Тем найдено: {len(model.topics)}; записей: {n}; '
             f"без темы: {unassigned:.1%}. Модель: {escape(model.version)}.</p>"]
    parts.append(_emerging_html(model, frame))
    parts.append(_map_svg(model))
    parts.append(_table_html(model, frame))
    parts.append(_over_time_png(frame))
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def _quotes(frame: pd.DataFrame, topic: str, k: int = 3) -> list[str]:
    if "text" not in frame.columns:
        return []
    texts = frame.loc[frame[TOPIC_COL] == topic, "text"].dropna().astype(str)
    texts = texts[texts.str.len() >= 20].head(k)
    return [t if len(t) <= QUOTE_CHARS else t[:QUOTE_CHARS].rsplit(" ", 1)[0] + "…" for t in texts]


def _emerging_html(model: TopicModel, frame: pd.DataFrame) -> str:
    items = emerging_topics(frame, model) if "created_at" in frame.columns else emerging_topics(
        frame.assign(created_at=pd.NaT), model)
    if not items:
        return "<h3>Новые и растущие темы</h3><p>Новых или резко растущих тем нет.</p>"
    rows = []
    for e in items[:10]:
        why = "новая тема" if e.reason == "new" else (
            f"рост доли {e.previous_share:.1%} → {e.share:.1%} (z = {e.z:.2f}, p = {e.p_value:.3g})")
        quotes = "".join(f"<blockquote>{escape(q)}</blockquote>" for q in _quotes(frame, e.topic))
        rows.append(f"<li><b>{escape(e.topic)}</b> — {escape(why)}, записей: {e.count}, неделя {escape(e.week)}"
                    f"{quotes}</li>")
    return "<h3>Новые и растущие темы</h3><ul>" + "".join(rows) + "</ul>"


def _table_html(model: TopicModel, frame: pd.DataFrame) -> str:
    sent = topic_sentiment(frame).set_index("topic") if len(frame) else pd.DataFrame()
    total = max(len(frame), 1)
    rows = []
    for t in sorted(model.topics, key=lambda t: -(sent["n"].get(t.name, 0) if len(sent) else t.size))[:MAX_TABLE_ROWS]:
        cnt = int(sent["n"].get(t.name, 0)) if len(sent) else 0
        mean = sent["sentiment_mean"].get(t.name) if len(sent) else None
        neg = sent["negative_share"].get(t.name) if len(sent) else None
        rows.append("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in (
            t.id, t.name, cnt, f"{cnt / total:.1%}",
            "—" if mean is None or pd.isna(mean) else f"{mean:+.2f}",
            "—" if neg is None or pd.isna(neg) else f"{neg:.0%}",
            ", ".join(t.keywords[:6]))) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("id", "тема", "записей", "доля", "тональность", "негатив", "ключевые фразы"))
    return f"<h3>Темы</h3><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _map_svg(model: TopicModel, size: int = 420) -> str:
    """Topic map: centroids projected to 2-D (PCA), bubble area ∝ topic size, inline SVG."""
    topics = model.topics
    if len(topics) < 2:
        return ""
    _, centroids, _ = model._curated()
    matrix = np.stack([centroids[t.id] for t in topics]).astype(float)
    matrix -= matrix.mean(axis=0)
    u, s, _ = np.linalg.svd(matrix, full_matrices=False)
    xy = u[:, :2] * s[:2] if u.shape[1] >= 2 else np.c_[u[:, 0] * s[0], np.zeros(len(topics))]
    span = np.ptp(xy, axis=0)
    span[span == 0] = 1.0
    xy = (xy - xy.min(axis=0)) / span * (size - 80) + 40
    sizes = np.array([max(t.size, 1) for t in topics], dtype=float)
    radii = 4 + 22 * np.sqrt(sizes / sizes.max())
    shapes = []
    for (x, y), r, t in zip(xy, radii, topics, strict=True):
        color = "#4c78a8" if not t.is_new else "#e45756"
        shapes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{color}" fill-opacity="0.45">'
                      f"<title>{escape(f'{t.id}: {t.name} ({t.size})')}</title></circle>"
                      f'<text x="{x:.1f}" y="{y:.1f}" font-size="9" text-anchor="middle">{t.id}</text>')
    return (f'<h3>Карта тем</h3><svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'role="img" aria-label="карта тем">{"".join(shapes)}</svg>')


def _over_time_png(frame: pd.DataFrame, top: int = 8) -> str:
    if "created_at" not in frame.columns:
        return ""
    series = topics_over_time(frame)
    if series["week"].nunique() < 2:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    leaders = series.groupby("topic")["count"].sum().nlargest(top).index
    pivot = series[series["topic"].isin(leaders)].pivot(index="week", columns="topic", values="share").fillna(0.0)
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=90)
    for name in pivot.columns:
        ax.plot(range(len(pivot)), pivot[name].values, marker="o", label=str(name)[:40])
    ax.set_xticks(range(len(pivot)), pivot.index, rotation=45, fontsize=7)
    ax.set_ylabel("доля недели")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<h3>Темы по неделям</h3><img alt="темы по неделям" src="data:image/png;base64,{data}">'
