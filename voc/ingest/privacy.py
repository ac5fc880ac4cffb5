"""The privacy gate: nothing leaves ingest unmasked (152-ФЗ). One rule, applied to every chunk in one place.

``PrivacyGate.protect(chunk)`` turns a raw :class:`~voc.ingest.chunk.IngestChunk` into one that may be
stored, shown or sent anywhere:

* **text** — the record's text and every dialog turn are masked by the redactor (``voc.redact.Redactor``);
  the raw text column is not kept (its masked form is the ``text`` column).
* **PII columns** — an input column whose NAME says it holds personal data (``voc.ingest.pii_columns``:
  телефон, e-mail, ФИО, паспорт, адрес, СНИЛС, ИНН, номер карты, счёт, дата рождения, …) is dropped from the
  input columns and from ``metadata``, unless the user keeps it by name (``keep_pii_columns``): a kept column
  is kept raw, by explicit choice, and recorded.
* **every other string** — kept input columns, ``metadata`` values, ``journey_stage``, ``touchpoint`` — is
  masked by the same redactor (each distinct value once per chunk).
* **identifiers** — ``customer_id`` becomes a keyed pseudonym (``voc.ingest.pseudonym``) when its column is a
  PII column or its value holds personal data (a phone, an e-mail, a name, …); ``id`` and ``ticket_id`` become
  pseudonyms when their value holds personal data. Input columns mapped to text, id, customer, ticket,
  conversation, speaker or message time are not kept: their protected values are voc's own columns.
* **rejected rows** — ``value`` is masked, then cut to 200 characters; ``file`` is the file name only (masked
  too: a recording named after a phone number).

Tickets go through :meth:`PrivacyGate.protect_tickets` (customer keys always pseudonymised, the same way), so
ticket linking and repeat contacts work on pseudonyms. ``voc.batch`` applies the gate to each chunk first
thing in its workers; ``read_feedback(..., privacy=gate)`` applies it while reading.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from voc.ingest.chunk import IngestChunk
from voc.ingest.errors import MAX_VALUE_CHARS
from voc.ingest.pii_columns import pii_column_kind
from voc.ingest.pseudonym import Pseudonymizer, is_pseudonym, load_key
from voc.ingest.values import normalize_key
from voc.schema import Feedback, RejectedRow, Ticket

#: Mapped fields whose input column is not kept: voc's own column holds the protected value.
REPLACED_FIELDS = frozenset({"text", "id", "customer_id", "ticket_id", "conversation_id", "speaker", "message_time"})

#: Identifier fields the user may keep raw by naming their column (no pseudonym then).
KEEPABLE_FIELDS = frozenset({"id", "customer_id", "ticket_id", "conversation_id"})

ColumnAction = Literal["drop", "keep", "mask"]

# What the redactor needs to find anything: two letters of a name (Cyrillic for the morph engine), an "@",
# or at least 6 digits (the shortest structured kind, a passport, has 10).
_CYRILLIC = re.compile(r"[а-яё]{2}", re.IGNORECASE)
_LETTERS = re.compile(r"[а-яёa-z]{2}", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_MIN_DIGITS = 6
#: the row number ingest appends to a file stem when a row has no id (``<file-stem>-<row>``)
_ROW_SUFFIX = re.compile(r"-\d+$")


@lru_cache(maxsize=1024)
def display_file(file: str | None) -> str:
    """The file name without the folders it was read from (server paths stay on the server)."""
    if not file:
        return file or ""
    return Path(str(file).replace("\\", "/")).name


def _without_folders(value: str | None, file: str) -> str | None:
    """A rejected value with the file's full path (a parser message may quote it) cut to the file name."""
    if not value or not file or file == display_file(file) or file not in value:
        return value
    return value.replace(file, display_file(file))


class PrivacyGate:
    """Masks, drops and pseudonymises everything personal in ingested chunks; see the module docstring.

    ``redactor`` is a ``voc.redact.Redactor`` (None: no masking, as with ``--no-redact``; PII columns are still
    dropped and customer keys still pseudonymised). ``keep_pii_columns`` are column names (case, spaces and
    punctuation ignored) the user keeps raw.
    """

    def __init__(self, redactor: Any | None, pseudonymizer: Pseudonymizer,
                 keep_pii_columns: Iterable[str] = (), key_source: str = "argument") -> None:
        self.redactor = redactor
        self.pseudonymize = pseudonymizer
        self.keep_pii_columns = sorted(set(keep_pii_columns))
        self._keep = {normalize_key(c) for c in self.keep_pii_columns}
        self.key_source = key_source

    @classmethod
    def create(cls, redactor: Any | None = None, *, keep_pii_columns: Iterable[str] = (),
               pseudonym_key: str | bytes | None = None, pseudonym_key_file: str | Path | None = None,
               ) -> PrivacyGate:
        """A gate with the pseudonym key from the argument, the environment or the key file (see
        voc.ingest.pseudonym); ``redactor`` None means the default ``Redactor(name_engine="morph")``."""
        if redactor is None:
            from voc.redact import Redactor

            redactor = Redactor(names=True, name_engine="morph")
        key, source = load_key(pseudonym_key, pseudonym_key_file)
        return cls(redactor, Pseudonymizer(key), keep_pii_columns, source)

    # ------------------------------------------------------------------------------------------ rules

    def column_action(self, column: str, field: str | None = None) -> tuple[ColumnAction, str | None]:
        """What happens to an input column: ``drop`` / ``keep`` (raw) / ``mask``, and its PII kind."""
        kind = pii_column_kind(str(column))
        kept = normalize_key(str(column)) in self._keep
        if field in REPLACED_FIELDS:
            return ("keep" if kept and field in KEEPABLE_FIELDS else "drop"), kind
        if kind is None:
            return "mask", None
        return ("keep" if kept else "drop"), kind

    def file_name(self, path: str | Path) -> str:
        """A file's name as outputs show it: no folders, personal data in the name masked."""
        return self._mask(display_file(str(path)), {}, Counter()) or ""

    def customer_key(self, value: str) -> str:
        """The key ticket linking compares customers by: the pseudonym of any customer id."""
        return self.pseudonymize(value)

    # --------------------------------------------------------------------------------------- masking

    def _mask_all(self, values: Iterable[Any], cache: dict[str, str], report: Counter) -> None:
        """Mask every distinct string of ``values`` not yet in ``cache`` (one redactor batch).

        Values that cannot hold anything the redactor finds (no letters of a name, no ``@``, fewer than 6
        digits) are not sent to it; values without letters only go through its structured rules.
        """
        todo = [v for v in dict.fromkeys(v for v in values if isinstance(v, str)) if v not in cache]
        if not todo:
            return
        if self.redactor is None:
            cache.update((v, v) for v in todo)
            return
        from voc.redact import redact_structured

        names = bool(getattr(self.redactor, "names", True))
        letters = _LETTERS if getattr(self.redactor, "name_engine", "") != "morph" else _CYRILLIC
        heavy: list[str] = []
        for value in todo:
            if names and letters.search(value):
                heavy.append(value)
            elif "@" in value or len(_DIGIT.findall(value)) >= _MIN_DIGITS:
                cache[value] = redact_structured(value)
            else:
                cache[value] = value
        for value, (masked, _) in zip(heavy, self.redactor.redact_batch(heavy) if heavy else [], strict=True):
            cache[value] = masked
        report["cells_masked"] += sum(cache[v] != v for v in todo)

    def _mask(self, value: str | None, cache: dict[str, str], report: Counter) -> str | None:
        if not value:
            return value
        if value not in cache:
            self._mask_all([value], cache, report)
        return cache[value]

    def _personal(self, value: str, cache: dict[str, str], report: Counter) -> bool:
        """Whether the redactor finds personal data in a value (structured rules even without a redactor)."""
        if self.redactor is None:
            from voc.redact import redact_structured

            return redact_structured(value) != value
        return self._mask(value, cache, report) != value

    def _identifier(self, value: str | None, field: str, pii_column: bool, cache: dict[str, str],
                    report: Counter) -> str | None:
        if not value or is_pseudonym(value):
            return value
        generated = _ROW_SUFFIX.sub("", value) if field == "id" else value  # «<file stem>-<row>»: the stem
        if pii_column or self._personal(value, cache, report) or (
                generated != value and self._personal(generated, cache, report)):
            report[f"pseudonymised:{field}"] += 1
            return self.pseudonymize(value)
        return value

    # ---------------------------------------------------------------------------------------- chunks

    def protect(self, chunk: IngestChunk) -> IngestChunk:
        """A protected copy of ``chunk`` (a chunk already protected is returned as it is)."""
        if chunk.protected:
            return chunk
        cache: dict[str, str] = {}
        report: Counter = Counter()
        columns = list(chunk.input_rows.columns) if len(chunk.input_rows.columns) else []
        meta_keys = {k for r in chunk.records for k in r.metadata}
        actions = {c: self.column_action(c, chunk.mapped_columns.get(c))
                   for c in dict.fromkeys([*map(str, columns), *meta_keys, *chunk.mapped_columns])}
        kept_fields = {chunk.mapped_columns[c] for c, (a, _) in actions.items()
                       if a == "keep" and c in chunk.mapped_columns}
        kept_fields |= {"id"} if "conversation_id" in kept_fields else set()
        customer_pii = "customer_id" not in kept_fields and any(
            actions[c][1] is not None for c, f in chunk.mapped_columns.items() if f == "customer_id")

        names = self._column_names(actions, columns, cache, report)
        records, counts = self._records(chunk.records, actions, names, customer_pii, kept_fields, cache, report)
        input_rows = self._input_rows(chunk.input_rows, actions, names, cache, report)
        rejected = self.protect_rejected(chunk.rejected, cache, report)
        privacy = {
            "dropped_pii_columns": {names[c]: k for c, (a, k) in actions.items() if a == "drop" and k is not None},
            "kept_pii_columns": {names[c]: k or chunk.mapped_columns.get(c, "") for c, (a, k) in actions.items()
                                 if a == "keep"},
            "pseudonymised": {k.split(":", 1)[1]: n for k, n in report.items() if k.startswith("pseudonymised:")},
            "cells_masked": report["cells_masked"],
        }
        mapped = {names.get(c, c): f for c, f in chunk.mapped_columns.items()}
        return IngestChunk(records, rejected, input_rows, chunk.rows_in, chunk.rows_out, mapped,
                           pii_counts=counts, privacy=privacy)

    def protect_records(self, records: Sequence[Feedback], *, texts: bool = True,
                        ) -> tuple[list[Feedback], list[dict[str, int]]]:
        """Records made in memory (``/v1/classify``, ``voc classify``): identifiers, ``metadata`` (PII-named keys
        dropped, other values and keys masked), journey stage and touchpoint protected as in :meth:`protect`;
        the text and turns too unless ``texts`` is False (the pipeline's redactor masks them then).
        Returns the records and the masked text spans per record (empty dicts when ``texts`` is False)."""
        cache: dict[str, str] = {}
        report: Counter = Counter()
        actions = {k: self.column_action(k) for k in dict.fromkeys(k for r in records for k in r.metadata)}
        names = self._column_names(actions, [], cache, report)
        return self._records(records, actions, names, False, set(), cache, report, texts=texts)

    def _column_names(self, actions: dict[str, tuple[ColumnAction, str | None]], frame_columns: Sequence[Any],
                      cache: dict[str, str], report: Counter) -> dict[str, str]:
        """Column name → the name outputs show: masked like a value (a header may hold a phone or a name),
        except a column kept raw by name; two names that mask alike get ``(2)``, ``(3)``, …"""
        self._mask_all((c for c, (a, _) in actions.items() if a != "keep"), cache, report)
        taken = {str(c) for c in frame_columns} | set(actions)
        names: dict[str, str] = {}
        for column, (action, _) in actions.items():
            shown = column if action == "keep" else self._mask(column, cache, report) or column
            if shown != column:
                base, n = shown, 1
                while shown in taken:
                    n += 1
                    shown = f"{base} ({n})"
                taken.add(shown)
            names[column] = shown
        return names

    def _records(self, records: Sequence[Feedback], actions: dict[str, tuple[ColumnAction, str | None]],
                 names: dict[str, str], customer_pii: bool, kept_fields: set[str], cache: dict[str, str],
                 report: Counter, texts: bool = True) -> tuple[list[Feedback], list[dict[str, int]]]:
        self._mask_all((v for r in records for k, v in r.metadata.items() if actions[k][0] == "mask"), cache, report)
        self._mask_all((v for r in records for v in (r.id, r.ticket_id, r.customer_id, r.journey_stage,
                                                     r.touchpoint) if v), cache, report)
        out: list[Feedback] = []
        counts: list[dict[str, int]] = []
        for record in records:
            protected, c = self._record(record, actions, names, customer_pii, kept_fields, cache, report, texts)
            out.append(protected)
            counts.append(c)
        return out, counts

    def mask_texts(self, record: Feedback) -> tuple[Feedback, dict[str, int]]:
        """The record with its text and turns masked, and the masked spans per kind."""
        if self.redactor is None:
            return record, {}
        return self.redactor.redact_record(record)

    def _record(self, record: Feedback, actions: dict[str, tuple[ColumnAction, str | None]], names: dict[str, str],
                customer_pii: bool, kept_fields: set[str], cache: dict[str, str], report: Counter,
                texts: bool = True) -> tuple[Feedback, dict[str, int]]:
        masked, counts = self.mask_texts(record) if texts else (record, {})
        metadata = {}
        for key, value in record.metadata.items():
            action = actions.get(key, ("mask", None))[0]
            if action == "keep":
                metadata[key] = value
            elif action == "mask":
                metadata[names.get(key, key)] = self._mask(value, cache, report) if isinstance(value, str) else value

        def identifier(field: str, value: str | None, pii_column: bool = False) -> str | None:
            return value if field in kept_fields else self._identifier(value, field, pii_column, cache, report)

        update = {
            "metadata": metadata,
            "customer_id": identifier("customer_id", record.customer_id, customer_pii),
            "id": identifier("id", record.id),
            "ticket_id": identifier("ticket_id", record.ticket_id),
            "journey_stage": self._mask(record.journey_stage, cache, report),
            "touchpoint": self._mask(record.touchpoint, cache, report),
            "source_file": display_file(record.source_file) or None,
        }
        return masked.model_copy(update=update), counts

    def _input_rows(self, frame: pd.DataFrame, actions: dict[str, tuple[ColumnAction, str | None]],
                    names: dict[str, str], cache: dict[str, str], report: Counter) -> pd.DataFrame:
        if not len(frame.columns):
            return frame
        kept = [c for c in frame.columns if actions.get(str(c), ("mask", None))[0] != "drop"]
        out = frame[kept].reset_index(drop=True).copy()
        for col in kept:
            if actions.get(str(col), ("mask", None))[0] == "keep":
                continue
            series = out[col]
            values = series.dropna().unique().tolist()
            self._mask_all(values, cache, report)
            out[col] = series.map(lambda v: cache.get(v, v) if isinstance(v, str) else v)
        out.columns = [names.get(str(c), c) for c in out.columns]
        return out

    # -------------------------------------------------------------------------------- rejected, tickets

    def protect_rejected(self, rows: Sequence[RejectedRow], cache: dict[str, str] | None = None,
                         report: Counter | None = None) -> list[RejectedRow]:
        """Rejected rows with the file name only and the value masked, then cut to 200 characters."""
        cache = {} if cache is None else cache
        report = Counter() if report is None else report
        values = [_without_folders(r.value, r.file) for r in rows]
        self._mask_all(values, cache, report)
        self._mask_all((display_file(r.file) for r in rows), cache, report)
        return [r.model_copy(update={"file": self._mask(display_file(r.file), cache, report),
                                     "value": None if v is None else cache[v][:MAX_VALUE_CHARS]})
                for r, v in zip(rows, values, strict=True)]

    def protect_tickets(self, tickets: Sequence[Ticket], rejected: Sequence[RejectedRow],
                        ) -> tuple[list[Ticket], list[RejectedRow]]:
        """Tickets with pseudonymised customer keys, ticket ids protected like feedback ids and the category
        masked; their rejected rows protected like any others."""
        cache: dict[str, str] = {}
        report: Counter = Counter()
        self._mask_all((t.category for t in tickets), cache, report)
        out = [t.model_copy(update={
            "customer_id": self.pseudonymize(t.customer_id) if t.customer_id else None,
            "ticket_id": self._identifier(t.ticket_id, "ticket_id", False, cache, report),
            "category": self._mask(t.category, cache, report),
        }) for t in tickets]
        return out, self.protect_rejected(rejected, cache, report)

    def describe(self) -> dict[str, Any]:
        """The gate's settings for summary.json (never the key itself)."""
        return {
            "redaction": self.redactor is not None,
            "name_engine": getattr(self.redactor, "name_engine", None) if getattr(self.redactor, "names", False)
            else None,
            "keep_pii_columns": list(self.keep_pii_columns),
            "pseudonym_key": self.key_source,
            "pseudonym_key_id": self.pseudonymize.key_id,
        }
