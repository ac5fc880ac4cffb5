"""Outputs of a batch (analyst; own jobs, admin: all): enriched rows and the drill-down behind every number,
rejected rows, heatmaps, the report and summary.json. Every read is audited."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, Response, StreamingResponse

from voc.aggregate.drill import DrillFilter
from voc.render.report import NONCE_PLACEHOLDER
from voc_api import drill, jobs
from voc_api.audit import AuditDep
from voc_api.batches import HEATMAP_MEDIA, _csv_chunks, _page, read_page
from voc_api.outputs import SCRUBBED_MARK, display_names, iter_rejected
from voc_api.pii import mask_rejected
from voc_api.problems import ProblemError
from voc_api.routers.batches import BatchId, OwnJob, SucceededJob
from voc_api.schemas import ResultsPage, RowsPage
from voc_api.ui import HEATMAP_CSP, output_headers, report_csp

router = APIRouter(tags=["batches"])

Page = Annotated[int, Query(ge=1, le=10_000_000)]
PageSize = Annotated[int, Query(ge=1, le=1000)]


def _file_or_404(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ProblemError(404, f"{what} was not produced for this batch", [(["path"], f"expected {what} to exist")])
    return path


def drill_filter(
    stage: str | None = Query(None, max_length=200, description="journey stage («не определён»: rows without one)"),
    channel: str | None = Query(None, max_length=200, description="channel («unknown»: rows without one)"),
    emotion: str | None = Query(None, max_length=200, description="rows carrying this emotion"),
    topic: str | None = Query(None, max_length=200, description="rows mentioning this topic"),
    cause: str | None = Query(None, max_length=200, description="complaint cause"),
    week: str | None = Query(None, max_length=10, pattern=r"^\d{4}-W\d{2}$", description="ISO week, e.g. 2025-W13"),
    sentiment: Literal["negative", "neutral", "positive"] | None = Query(None),
    segment: str | None = Query(None, max_length=200, description="value of the product/segment column"),
    ids: str | None = Query(None, max_length=8000, description="comma-separated feedback ids"),
) -> DrillFilter:
    """The drill-down filter of a results query: every given field must match."""
    id_list = [i.strip() for i in (ids or "").split(",") if i.strip()]
    return DrillFilter(stage=stage, channel=channel, emotion=emotion, topic=topic, cause=cause, week=week,
                       sentiment=sentiment, segment=segment, ids=id_list)


@router.get("/v1/batches/{batch_id}/results", summary="Enriched rows: CSV, Parquet or paginated JSON, filterable",
            response_model=ResultsPage | RowsPage,
            responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}})
def get_results(job: SucceededJob, audit: AuditDep,
                filters: Annotated[DrillFilter, Depends(drill_filter)],
                format: Literal["json", "csv", "parquet"] = Query("json"),
                page: Page = 1, page_size: PageSize = 100,
                view: Literal["full", "compact"] = Query(
                    "full", description="compact: masked text, labels and evidence only (the drill-down)"),
                sort: Literal["row", "negative", "positive"] = Query(
                    "row", description="file order, most negative first or most positive first")) -> Any:
    """All rows, or with filters (stage, channel, emotion, topic, cause, week, sentiment, segment, ids) the
    rows behind one number of the report: a heatmap cell, a priority item, a trend. JSON is a ResultsPage;
    CSV and Parquet are files."""
    outdir = Path(job.outdir)
    audit.record(f"results.read.{format}", f"batch:{job.id}")
    path = _file_or_404(outdir / "enriched.parquet", "enriched.parquet")
    if filters.active():
        if format == "parquet":
            raise ProblemError(422, "filters apply to json and csv results, not to parquet",
                               [(["query", "format"], "expected json or csv with filters")])
        if format == "csv":
            return StreamingResponse(drill.csv_chunks(path, filters), media_type="text/csv",
                                     headers={**output_headers("text/csv"),
                                              "Content-Disposition": f'attachment; filename="{job.id}-filtered.csv"'})
        take = drill.compact_page if view == "compact" else drill.full_page
        total, rows = take(path, filters, sort, (page - 1) * page_size, page_size)
        return _page(rows, page, page_size, total, RowsPage if view == "compact" else ResultsPage)
    if format == "csv":
        return FileResponse(_file_or_404(outdir / "enriched.csv", "enriched.csv"), media_type="text/csv",
                            filename=f"{job.id}-enriched.csv", headers=output_headers("text/csv"))
    if format == "parquet":
        return FileResponse(path, media_type="application/vnd.apache.parquet", filename=f"{job.id}-enriched.parquet")
    if view == "compact" or sort != "row":
        take = drill.compact_page if view == "compact" else drill.full_page
        total, rows = take(path, filters, sort, (page - 1) * page_size, page_size)
        return _page(rows, page, page_size, total, RowsPage if view == "compact" else ResultsPage)
    total, rows = read_page(path, (page - 1) * page_size, page_size)
    return _page(rows, page, page_size, total)


@router.get("/v1/batches/{batch_id}/errors", summary="Rejected rows (file, row, field, reason, value)",
            response_model=RowsPage, responses={200: {"content": {"text/csv": {}}}})
def get_errors(job: OwnJob, audit: AuditDep, format: Literal["json", "csv"] = Query("json"),
               page: Page = 1, page_size: PageSize = 100) -> Any:
    """Streamed from the files (never read whole); values cut and masked, files named as uploaded."""
    outdir = Path(job.outdir)
    audit.record(f"errors.read.{format}", f"batch:{job.id}")
    final = outdir / "errors.csv"
    names = display_names(job.inputs or {}, job.input_name)
    if format == "csv" and final.is_file() and (outdir / SCRUBBED_MARK).is_file():
        return FileResponse(final, media_type="text/csv", filename=f"{job.id}-errors.csv")
    paths = [final] if final.is_file() else sorted((outdir / "parts").glob("rejected-*.csv"))
    if format == "csv":
        return StreamingResponse(_csv_chunks(paths, names), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="{job.id}-errors.csv"'})
    start = (page - 1) * page_size
    rows: list[dict[str, Any]] = []
    total = 0
    for row in iter_rejected(paths):
        if start <= total < start + page_size:
            rows.append(mask_rejected(row, names))
        total += 1
        if total >= start + page_size and final.is_file() and job.state in jobs.FINAL_STATES:
            total = max(total, job.rows_rejected)  # the final file holds exactly rows_rejected rows
            break
    return _page(rows, page, page_size, total, RowsPage)


@router.get("/v1/batches/{batch_id}/heatmap", summary="An emotional heatmap as JSON, PNG or HTML",
            response_class=FileResponse,
            responses={200: {"content": {"application/json": {}, "image/png": {}, "text/html": {}}}})
def get_heatmap(job: SucceededJob, audit: AuditDep,
                kind: Literal["stage_emotion", "stage_channel", "topic_week"] = Query("stage_emotion"),
                format: Literal["json", "png", "html"] = Query("json")) -> FileResponse:
    path = _file_or_404(Path(job.outdir) / "heatmaps" / f"{kind}.{format}", f"heatmap {kind}.{format}")
    audit.record(f"heatmap.read.{format}", f"batch:{job.id}/heatmap/{kind}")
    headers = output_headers(HEATMAP_MEDIA[format])
    if format == "html":
        headers["Content-Security-Policy"] = HEATMAP_CSP
    return FileResponse(path, media_type=HEATMAP_MEDIA[format], headers=headers)


@router.get("/v1/batches/{batch_id}/report", summary="The HTML report of a batch", response_class=Response,
            responses={200: {"content": {"text/html": {}}}})
def get_report(job: SucceededJob, audit: AuditDep) -> Response:
    path = _file_or_404(Path(job.outdir) / "report.html", "report.html")
    audit.record("report.read", f"batch:{job.id}/report")
    media = "text/html; charset=utf-8"
    nonce = secrets.token_urlsafe(16)
    html = path.read_text(encoding="utf-8").replace(f'nonce="{NONCE_PLACEHOLDER}"', f'nonce="{nonce}"')
    headers = output_headers(media)
    headers["Content-Security-Policy"] = report_csp(nonce)
    return Response(html, media_type=media, headers=headers)


@router.get("/v1/batches/{batch_id}/summary", summary="The numbers of the report (summary.json)",
            response_class=FileResponse, responses={200: {"content": {"application/json": {}}}})
def get_summary(job: SucceededJob, audit: AuditDep) -> FileResponse:
    """Run summary and every aggregate (heatmaps, priority, trends, scores, drivers) — what the page draws."""
    path = _file_or_404(Path(job.outdir) / "summary.json", "summary.json")
    audit.record("summary.read", f"batch:{job.id}/summary")
    return FileResponse(path, media_type="application/json", headers=output_headers("application/json"))


@router.get("/v1/batches/{batch_id}/plotly.min.js", include_in_schema=False)
def plotly_js(batch_id: BatchId) -> FileResponse:
    """The plotly library the HTML heatmaps load by relative path (public code, no batch data)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return FileResponse(_file_or_404(path, "plotly.min.js"), media_type="text/javascript",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=86400"})
