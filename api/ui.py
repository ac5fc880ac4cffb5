"""The analysts' web page: one static, self-contained page (no data, no auth) that calls the HTTP API with
the key the analyst types in. Files live in ``api/static/``; only the names listed here are served (by
:mod:`voc_api.routers.ui`). The security headers of the page and of batch outputs are declared here."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
PAGE = "index.html"
#: the page's assets → media type; nothing else under api/static is reachable
ASSETS = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8",
          "drill.js": "text/javascript; charset=utf-8"}
#: assets that live in the library (shared with report.html), not under api/static
LIBRARY_ASSETS = {"drill.js": Path(__file__).resolve().parents[1] / "voc" / "render" / "static" / "drill.js"}
#: The page's policy. Reports and heatmaps the page opens in a new tab are blob: documents, which inherit
#: this policy: so their inline styles are allowed here, and app.js turns their inline scripts into blob:
#: scripts (script-src has no 'unsafe-inline'). Data calls go to this origin only.
PAGE_CSP = ("default-src 'none'; script-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' blob: data:; font-src 'self' data:; connect-src 'self'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'; object-src 'none'")
#: report.html: static HTML and CSS plus its own drill-down script, allowed by a nonce made per response (the
#: file carries a placeholder, :func:`report_csp` swaps it); sandboxed without same-origin (an opaque origin: the
#: script can read neither the API nor the page's storage), no network, no forms; downloads (the CSV export) allowed
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'; sandbox")


def report_csp(nonce: str) -> str:
    """The report's policy: only scripts carrying ``nonce`` run, in a sandbox that allows scripts and downloads."""
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src data:; "
            "connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
            "sandbox allow-scripts allow-downloads")


#: heatmap html: plotly (loaded from this origin) and its inline set-up; sandboxed without same-origin, so
#: it can neither read the API nor the page's storage
HEATMAP_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; "
               "img-src data: blob:; font-src data:; connect-src 'none'; base-uri 'self'; form-action 'none'; "
               "frame-ancestors 'none'; sandbox allow-scripts")
#: the page holds no data, but keep it out of frames and shared caches, and never leak the URL
SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
#: batch outputs served as documents (report, heatmaps): their own policy, never framed, never cached shared
OUTPUT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}


def output_headers(media: str) -> dict[str, str]:
    """Security headers of a batch output: a CSP + sandbox for HTML, nosniff and no-store for all."""
    headers = dict(OUTPUT_HEADERS)
    if media.startswith("text/html"):
        headers["Content-Security-Policy"] = REPORT_CSP
    return headers
