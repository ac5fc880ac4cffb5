"""The analysts' web page: one static, self-contained page (no data, no auth) that calls the HTTP API with
the key the analyst types in. Files live in ``api/static/``; only the names listed here are served."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from api.problems import ProblemError

router = APIRouter(tags=["ui"], include_in_schema=False)

STATIC_DIR = Path(__file__).parent / "static"
PAGE = "index.html"
#: the page's assets → media type; nothing else under api/static is reachable
ASSETS = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
#: the page holds no data, but keep it out of frames and shared caches, and never leak the URL
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/", summary="Web page for analysts")
@router.get("/ui", summary="Web page for analysts")
def page() -> FileResponse:
    """The upload page (HTML); it needs no key to load, every data call it makes sends one."""
    return FileResponse(STATIC_DIR / PAGE, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


@router.get("/ui/static/{name}", summary="A script or style sheet of the web page")
def asset(name: str = PathParam(max_length=40)) -> FileResponse:
    media = ASSETS.get(name)
    if media is None:
        raise ProblemError(404, f"no web page asset named {name!r}",
                           [(["path", "name"], f"expected one of {', '.join(sorted(ASSETS))}")])
    return FileResponse(STATIC_DIR / name, media_type=media, headers=SECURITY_HEADERS)
