"""The tables a sink receives from one finished run, as Arrow schemas and Arrow batches.

Schemas are derived, never listed twice: the feedback table's columns are those of ``enriched.parquet``, typed
by the one declaration of the enriched columns (voc.enriched.arrow_schema, input columns as strings); the
aggregate tables' columns are the
fields of the pydantic models in voc.aggregate.models (plus a few small row models below). Each sink maps
Arrow types to its own column types once (voc.sinks.clickhouse.ch_type).

Only the run's output folder is read (``enriched.parquet`` and ``summary.json``): the texts there are
already masked by the privacy gate, raw inputs are never opened.
"""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel

from voc.aggregate.models import Aggregates, PriorityItem, Trend, TrendPoint
from voc.enriched import arrow_schema
from voc.schema import RunSummary

RUN_KEY = "run_id"
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
BATCH_ROWS = 50_000


class SinkError(ValueError):
    """An export could not be done; the message says why and what to do."""


class HeatmapCell(BaseModel):
    """One cell of a heatmap (the long form of voc.aggregate.models.Heatmap)."""

    kind: str
    row_label: str
    col_label: str
    row_index: int
    col_index: int
    value: float | None
    n: int
    total: int
    example_ids: list[str]
    value_name: str


class EvidenceSpan(BaseModel):
    """One evidence phrase of a feedback record, with its offsets in the masked text when found there."""

    id: str
    n: int
    text: str
    start: int | None
    end: int | None


class TrendSeriesPoint(TrendPoint):
    """One week of a topic's or cause's trend series."""

    kind: str
    name: str


class RunRow(BaseModel):
    """One exported run: provenance and counts (summary.json's top part)."""

    run_label: str
    exported_at: datetime
    started_at: datetime | None
    voc_version: str
    input_files: list[str]
    rows_in: int
    rows_out: int
    rows_rejected: int
    records: int
    seconds: float
    model_versions: str
    summary_json: str


def arrow_type(annotation: object) -> tuple[pa.DataType, bool]:
    """The Arrow type of a pydantic field annotation and whether it may be None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union {annotation!r}")
        return arrow_type(args[0])[0], True
    if origin is typing.Literal:
        return pa.string(), False
    if origin is list:
        (inner,) = typing.get_args(annotation)
        return pa.list_(arrow_type(inner)[0]), False
    simple = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_(),
              datetime: pa.timestamp("us", tz="UTC")}
    if annotation in simple:
        return simple[annotation], False
    raise TypeError(f"no Arrow type for {annotation!r}")


def model_schema(model: type[BaseModel], exclude: tuple[str, ...] = (),
                 extra: tuple[pa.Field, ...] = ()) -> pa.Schema:
    """Arrow schema of a pydantic model's fields (in declaration order), without ``exclude``, plus ``extra``."""
    fields = []
    for name, info in model.model_fields.items():
        if name in exclude:
            continue
        typ, nullable = arrow_type(info.annotation)
        fields.append(pa.field(name, typ, nullable=nullable))
    return pa.schema([*fields, *extra])


#: Priority items with their example quotes split into two parallel arrays (ids, masked quote texts).
PRIORITY_SCHEMA = model_schema(PriorityItem, ("examples",), (
    pa.field("example_ids", pa.list_(pa.string()), nullable=False),
    pa.field("example_quotes", pa.list_(pa.string()), nullable=False)))


@dataclass
class SinkTable:
    """A table of one run: ``name`` (without prefix), its schema (without run_id), the sort key after run_id
    and a function producing its rows as Arrow tables of that schema."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    batches: Callable[[], Iterator[pa.Table]]


@dataclass
class FinishedRun:
    """The output folder of a finished ``voc analyze`` run."""

    outdir: Path
    run_id: str
    summary: RunSummary
    aggregates: Aggregates

    @property
    def enriched(self) -> Path:
        return self.outdir / "enriched.parquet"

    @classmethod
    def open(cls, outdir: str | Path, run_id: str | None = None) -> FinishedRun:
        """Read a run folder; ``run_id`` defaults to a content hash of enriched.parquet (stable on re-export)."""
        out = Path(outdir)
        missing = [n for n in ("enriched.parquet", "summary.json") if not (out / n).is_file()]
        if missing:
            raise SinkError(f"{out}: not a finished voc run (missing {', '.join(missing)}); "
                            "run `voc analyze ... -o DIR` first")
        try:
            doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            summary = RunSummary.model_validate(doc["summary"])
            aggregates = Aggregates.model_validate(doc["aggregates"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SinkError(f"{out / 'summary.json'}: not a voc run summary ({str(exc).splitlines()[0]})") from None
        if run_id is None:
            run_id = content_run_id(out / "enriched.parquet")
        elif not RUN_ID_PATTERN.match(run_id):
            raise SinkError(f"run id {run_id!r}: use 1-64 letters, digits, '_', '.', ':' or '-'")
        return cls(out, run_id, summary, aggregates)

    def tables(self) -> list[SinkTable]:
        """Every table of this run; ``runs`` comes last (written last, it marks the run complete)."""
        enriched_schema = _renamed(self._enriched_schema())
        return [
            SinkTable("feedback", enriched_schema, ("id",), self._feedback),
            SinkTable("evidence", model_schema(EvidenceSpan), ("id", "n"), self._evidence),
            SinkTable("heatmap_cells", model_schema(HeatmapCell), ("kind", "row_index", "col_index"),
                      self._heatmap_cells),
            SinkTable("priority", PRIORITY_SCHEMA, ("kind", "rank"), self._priority),
            SinkTable("trends", model_schema(Trend, ("series",)), ("kind", "name"), self._trends),
            SinkTable("trend_series", model_schema(TrendSeriesPoint), ("kind", "name", "week"), self._series),
            SinkTable("runs", model_schema(RunRow), (), self._runs),
        ]

    def _enriched_schema(self) -> pa.Schema:
        """enriched.parquet's columns in file order, typed as voc.enriched declares them."""
        return arrow_schema(pq.read_schema(self.enriched).names)

    # -- rows ------------------------------------------------------------------------------------------------
    def _enriched_batches(self, columns: list[str] | None = None) -> Iterator[pa.Table]:
        pf = pq.ParquetFile(self.enriched)
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            yield pa.Table.from_batches([batch])

    def _feedback(self) -> Iterator[pa.Table]:
        schema = self._enriched_schema()
        for table in self._enriched_batches():
            try:
                table = table.cast(schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
                raise SinkError(f"{self.enriched}: a column does not have its declared type ({exc}); "
                                "re-run `voc analyze` with this voc version") from None
            yield table.rename_columns(_renamed(table.schema).names)

    def _evidence(self) -> Iterator[pa.Table]:
        """One row per evidence phrase; offsets are those of its first occurrence in the (masked) text."""
        if "evidence" not in pq.read_schema(self.enriched).names:
            return
        schema = model_schema(EvidenceSpan)
        for table in self._enriched_batches(["id", "text", "evidence"]):
            ev = table.column("evidence").combine_chunks()
            parents = pc.list_parent_indices(ev).to_pylist()
            if not parents:
                continue
            ids, texts = table.column("id").to_pylist(), table.column("text").to_pylist()
            rows: dict[str, list] = {"id": [], "n": [], "text": [], "start": [], "end": []}
            last, n = -1, 0
            for parent, span in zip(parents, pc.list_flatten(ev).to_pylist(), strict=True):
                n = n + 1 if parent == last else 0
                last = parent
                span = span or ""
                at = (texts[parent] or "").find(span) if span else -1
                rows["id"].append(ids[parent] or "")
                rows["n"].append(n)
                rows["text"].append(span)
                rows["start"].append(at if at >= 0 else None)
                rows["end"].append(at + len(span) if at >= 0 else None)
            yield pa.Table.from_pydict(rows, schema=schema)

    def _heatmap_cells(self) -> Iterator[pa.Table]:
        rows = []
        for kind, hm in self.aggregates.heatmaps.items():
            for i, r in enumerate(hm.row_labels):
                for j, c in enumerate(hm.col_labels):
                    rows.append(HeatmapCell(kind=kind, row_label=r, col_label=c, row_index=i, col_index=j,
                                            value=hm.values[i][j], n=hm.counts[i][j], total=hm.totals[i][j],
                                            example_ids=hm.examples[i][j], value_name=hm.value_name).model_dump())
        yield pa.Table.from_pylist(rows, schema=model_schema(HeatmapCell))

    def _priority(self) -> Iterator[pa.Table]:
        rows = []
        for item in [*self.aggregates.priority_topics, *self.aggregates.priority_causes]:
            row = item.model_dump(exclude={"examples"})
            row["example_ids"] = [q.id for q in item.examples]
            row["example_quotes"] = [q.text for q in item.examples]
            rows.append(row)
        yield pa.Table.from_pylist(rows, schema=PRIORITY_SCHEMA)

    def _trends(self) -> Iterator[pa.Table]:
        rows = [t.model_dump(exclude={"series"}) for t in self.aggregates.trends.rows]
        yield pa.Table.from_pylist(rows, schema=model_schema(Trend, ("series",)))

    def _series(self) -> Iterator[pa.Table]:
        rows = [{"kind": t.kind, "name": t.name, **p.model_dump()} for t in self.aggregates.trends.rows
                for p in t.series]
        yield pa.Table.from_pylist(rows, schema=model_schema(TrendSeriesPoint))

    def _runs(self) -> Iterator[pa.Table]:
        s = self.summary
        row = RunRow(run_label=self.outdir.resolve().name, exported_at=datetime.now(UTC), started_at=s.started_at,
                     voc_version=s.voc_version, input_files=s.input_files, rows_in=s.rows_in, rows_out=s.rows_out,
                     rows_rejected=s.rows_rejected, records=s.records, seconds=s.seconds,
                     model_versions=json.dumps(s.model_versions, ensure_ascii=False, sort_keys=True),
                     summary_json=s.model_dump_json())
        yield pa.Table.from_pylist([row.model_dump()], schema=model_schema(RunRow))


def _renamed(schema: pa.Schema) -> pa.Schema:
    """An input column called ``run_id`` becomes ``input:run_id`` (the sinks' own run_id comes first)."""
    return pa.schema([f.with_name(f"input:{f.name}") if f.name == RUN_KEY else f for f in schema])


def content_run_id(path: Path) -> str:
    """A run id from the bytes of enriched.parquet: the same finished run always gets the same id."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
