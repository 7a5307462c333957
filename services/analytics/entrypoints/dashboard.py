"""The supervisor dashboard page: ``GET /dashboard`` and its assets under ``/dashboard/static/``.

The page is public (it shows only a sign-in form without a key); its data comes from the live
feed WebSocket and the control endpoints, which check the key. Only the files named here are
served, so no request path reaches the file system. docs/dashboard.md has the contract.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse

STATIC = Path(__file__).with_name("static")
VENDOR = STATIC / "vendor"  # copied from node_modules by `make vendor` (git-ignored)
JS, CSS = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
ASSETS = {
    "dashboard.css": CSS,
    "dashboard.js": JS,
    "live_socket.js": JS,
    "calls_table.js": JS,
    "call_view.js": JS,
    "alerts.js": JS,
    "kpis.js": JS,
    "controls.js": JS,
    "page_util.js": JS,
}
VENDOR_ASSETS = {"uPlot.iife.min.js": JS, "uPlot.min.css": CSS}
# The files change only with a deploy and carry no hash in their names: the browser keeps them
# but asks each time (a 304 when the ETag still matches).
REVALIDATE = "no-cache"
# A Host header that can safely go into the policy; anything else gets 'self' alone.
SAFE_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def content_security_policy(host: str | None) -> str:
    """Scripts, styles and connections from this origin only; the live socket on its host."""
    connect = "'self'"
    if host and SAFE_HOST.match(host):
        # Older browsers do not count ws:/wss: of the same host as 'self'.
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"connect-src {connect}",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _headers(request: Request) -> dict[str, str]:
    return {
        "Cache-Control": REVALIDATE,
        "Content-Security-Policy": content_security_policy(request.headers.get("host")),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def _file(request: Request, path: Path, media_type: str) -> Response:
    try:
        stat = path.stat()
    except OSError:
        raise HTTPException(404, "not found") from None
    # With the stat given, the ETag is known before sending, so a match can answer 304.
    response = FileResponse(
        path, media_type=media_type, headers=_headers(request), stat_result=stat
    )
    etag = response.headers.get("etag")
    if etag and etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers={**_headers(request), "ETag": etag})
    return response


router = APIRouter(tags=["dashboard"])


@router.get("/dashboard", include_in_schema=False)
async def dashboard_page(request: Request) -> Response:
    return _file(request, STATIC / "dashboard.html", "text/html; charset=utf-8")


@router.get("/dashboard/static/{name}", include_in_schema=False)
async def dashboard_asset(request: Request, name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, "not found")
    return _file(request, STATIC / name, media_type)


@router.get("/dashboard/static/vendor/{name}", include_in_schema=False)
async def dashboard_vendor_asset(request: Request, name: str) -> Response:
    media_type = VENDOR_ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, "not found")
    # Missing until `make vendor` ran: a 404, and the page says its charts are unavailable.
    return _file(request, VENDOR / name, media_type)
