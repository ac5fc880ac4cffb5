"""The analysts' web page and its assets (no data, no auth; see :mod:`voc_api.ui`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from voc_api.problems import ProblemError
from voc_api.ui import ASSETS, LIBRARY_ASSETS, PAGE, SECURITY_HEADERS, STATIC_DIR

router = APIRouter(tags=["ui"], include_in_schema=False)


@router.get("/", summary="Web page for analysts")
@router.get("/ui", summary="Web page for analysts")
def page() -> FileResponse:
    """The upload page (HTML); it needs no key to load, every data call it makes sends one."""
    return FileResponse(STATIC_DIR / PAGE, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


@router.get("/ui/static/ru.json", summary="The Russian labels the page shows (channels, reasons, flags, …)")
def russian_labels(response: Response) -> dict[str, Any]:
    from voc.render.ru import dictionary

    response.headers.update(SECURITY_HEADERS)
    return dictionary()


@router.get("/ui/static/{name}", summary="A script or style sheet of the web page")
def asset(name: Annotated[str, PathParam(max_length=40)]) -> FileResponse:
    media = ASSETS.get(name)
    if media is None:
        raise ProblemError(404, f"no web page asset named {name!r}",
                           [(["path", "name"], f"expected one of {', '.join(sorted(ASSETS))}")])
    return FileResponse(LIBRARY_ASSETS.get(name, STATIC_DIR / name), media_type=media, headers=SECURITY_HEADERS)
