"""Analysts' label corrections: mark a label of one feedback record wrong and pick the right one.

Each correction is stored with who (key id + name), when, the model's label and the model version that made it
(from the batch's summary.json), and the masked text, so it can train the next model (``voc train TASK
--with-corrections FILE``) or go to Label Studio and back (``voc corrections export --format label-studio`` /
``voc corrections import``). Every write and export is audited. The endpoints are :mod:`voc_api.routers.corrections`.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from voc.aggregate.drill import DrillFilter
from voc.safe_csv import neutralize_cell
from voc.vocab import SENTIMENTS
from voc_api import drill
from voc_api.db import Correction, iso, utcnow

Task = Literal["sentiment", "emotions", "topics", "cause", "journey_stage"]
TASKS: tuple[str, ...] = ("sentiment", "emotions", "topics", "cause", "journey_stage")
LIST_TASKS = frozenset({"emotions", "topics"})
MAX_LABEL_CHARS = 200
EXPORT_COLUMNS = ("batch_id", "feedback_id", "task", "text", "label", "old_label", "model_version", "author",
                  "source", "created_at", "note")
LS_FROM, LS_TO = "label", "text"


class CorrectionError(ValueError):
    """A correction that cannot be stored; the message names the field."""


def normalise_value(task: str, value: Any) -> str | list[str]:
    """The right label in its stored shape: a string, or a list of strings for emotions/topics."""
    if task not in TASKS:
        raise CorrectionError(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
    if task in LIST_TASKS:
        items = value.split("|") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise CorrectionError(f"value: {task} takes a list of labels (or 'a|b'), got {value!r}")
        labels = list(dict.fromkeys(v.strip() for v in items if v.strip()))
        if len(labels) > 20 or any(len(v) > MAX_LABEL_CHARS for v in labels):
            raise CorrectionError(f"value: at most 20 labels of at most {MAX_LABEL_CHARS} characters")
        return labels
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_LABEL_CHARS:
        raise CorrectionError(f"value: {task} takes one non-empty label of at most {MAX_LABEL_CHARS} characters")
    label = value.strip()
    if task == "sentiment" and label not in SENTIMENTS:
        raise CorrectionError(f"value: sentiment is one of {', '.join(SENTIMENTS)}, got {label!r}")
    return label


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and value != value:
        return None
    return value


def feedback_row(outdir: Path, feedback_id: str) -> dict[str, Any] | None:
    """The enriched row of one feedback id of a finished batch (None when the batch has no such id)."""
    path = outdir / "enriched.parquet"
    if not path.is_file():
        return None
    positions = drill.matching_positions(path, DrillFilter(ids=[feedback_id]), "row")
    if not len(positions):
        return None
    return drill.take_table(path, positions[:1]).to_pylist()[0]


def model_version(outdir: Path, task: str) -> str | None:
    """The version of the model that labelled ``task`` in this batch (summary.json), if recorded."""
    try:
        summary = json.loads((outdir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    versions = summary.get("summary", {}).get("model_versions") or {}
    return versions.get(task)


def store(sessions: sessionmaker, *, batch_id: str, feedback_id: str, task: str, value: Any, old_value: Any,
          text: str, model_version: str | None, key_id: str | None, author: str, note: str | None = None,
          source: str = "web") -> Correction:
    """Validate and insert one correction."""
    row = Correction(id=secrets.token_hex(8), batch_id=batch_id, feedback_id=str(feedback_id), task=task,
                     old_value=_plain(old_value), new_value=normalise_value(task, value), text=text or "",
                     model_version=model_version, key_id=key_id, author=author[:200], note=note, source=source,
                     created_at=utcnow())
    with sessions.begin() as s:
        s.add(row)
    return row


def _label(value: Any) -> str:
    if value is None:
        return ""
    return "|".join(map(str, value)) if isinstance(value, list) else str(value)


def latest(rows: Iterable[Correction]) -> list[Correction]:
    """The newest correction per (batch, feedback id, task): the one that counts for training."""
    out: dict[tuple[str, str, str], Correction] = {}
    for r in sorted(rows, key=lambda r: (r.created_at, r.id)):
        out[(r.batch_id, r.feedback_id, r.task)] = r
    return list(out.values())


def query(sessions: sessionmaker, *, task: str | None = None, batch_id: str | None = None,
          key_id: str | None = None) -> list[Correction]:
    q = select(Correction).order_by(Correction.created_at, Correction.id)
    if task:
        q = q.where(Correction.task == task)
    if batch_id:
        q = q.where(Correction.batch_id == batch_id)
    if key_id:
        q = q.where(Correction.key_id == key_id)
    with sessions() as s:
        return list(s.scalars(q))


def as_dict(r: Correction) -> dict[str, Any]:
    return {"id": r.id, "batch_id": r.batch_id, "feedback_id": r.feedback_id, "task": r.task,
            "old_value": r.old_value, "new_value": r.new_value, "text": r.text, "model_version": r.model_version,
            "key_id": r.key_id, "author": r.author, "note": r.note, "source": r.source,
            "created_at": iso(r.created_at)}


def to_csv(rows: Iterable[Correction]) -> str:
    """One line per correction: text + label (pipe-joined for lists) — what ``voc train --with-corrections`` reads."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        values = [r.batch_id, r.feedback_id, r.task, r.text, _label(r.new_value), _label(r.old_value),
                  r.model_version or "", r.author, r.source, iso(r.created_at) or "", r.note or ""]
        writer.writerow([neutralize_cell(v) for v in values])
    return buf.getvalue()


def _choices(value: Any) -> dict[str, Any]:
    labels = value if isinstance(value, list) else ([] if value is None else [value])
    return {"from_name": LS_FROM, "to_name": LS_TO, "type": "choices", "value": {"choices": [str(v) for v in labels]}}


def to_label_studio(rows: Iterable[Correction]) -> list[dict[str, Any]]:
    """Label Studio tasks: the text, the model's label as a prediction, the analyst's as an annotation."""
    tasks = []
    for r in rows:
        data = {"text": r.text, "batch_id": r.batch_id, "feedback_id": r.feedback_id, "task": r.task,
                "model_version": r.model_version or ""}
        tasks.append({
            "data": data,
            "predictions": [{"model_version": r.model_version or "", "result": [_choices(r.old_value)]}],
            "annotations": [{"completed_by": r.author or r.key_id or "", "created_at": iso(r.created_at),
                             "result": [_choices(r.new_value)]}],
        })
    return tasks


def from_label_studio(sessions: sessionmaker, tasks: Any, author: str = "label-studio") -> tuple[int, list[str]]:
    """Store the annotations of Label Studio tasks as corrections; returns (stored, problems per task)."""
    if not isinstance(tasks, list):
        raise CorrectionError("a Label Studio export is a JSON list of tasks")
    stored, problems = 0, []
    for k, item in enumerate(tasks, start=1):
        try:
            data = item["data"]
            annotations = [a for a in item.get("annotations") or [] if not a.get("was_cancelled")]
            if not annotations:
                continue
            last = annotations[-1]
            choices = [c for res in last.get("result", []) if res.get("type") == "choices"
                       for c in res.get("value", {}).get("choices", [])]
            task = data["task"]
            value: Any = choices if task in LIST_TASKS else (choices[0] if choices else "")
            predicted = [c for p in item.get("predictions") or [] for res in p.get("result", [])
                         for c in res.get("value", {}).get("choices", [])]
            old: Any = predicted if task in LIST_TASKS else (predicted[0] if predicted else None)
            who = last.get("completed_by")
            store(sessions, batch_id=str(data["batch_id"]), feedback_id=str(data["feedback_id"]), task=task,
                  value=value, old_value=old, text=str(data.get("text", "")),
                  model_version=data.get("model_version") or None, key_id=None,
                  author=f"{author}:{who}" if who not in (None, "") else author, source="label-studio")
            stored += 1
        except (KeyError, TypeError, AttributeError) as exc:
            problems.append(f"task {k}: missing {exc}")
        except CorrectionError as exc:
            problems.append(f"task {k}: {exc}")
    return stored, problems
