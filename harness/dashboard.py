"""The demo server's dashboard: one page at `/` showing what the mock holds.

The page and its script and stylesheet are plain files in `harness/dashboard_static/`,
with no build step and nothing loaded from another origin. The script reads the admin
API (`/__mock/state`, `/__mock/calls` and, when the data plane serves it,
`/__mock/ingest`) about once a second while the tab is visible, and writes every value
into the page as text, never as markup. The page's Content-Security-Policy allows
scripts, styles and requests from the server itself only.

Limitations: each poll fetches the whole state and journal, so a journal of many
thousands of calls makes the page slow; `POST /__mock/reset` keeps a long demo small.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, send_from_directory

logger = logging.getLogger(__name__)

STATIC_FOLDER = "dashboard_static"
STATIC_PATH = "/__dashboard"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

dashboard = Blueprint(
    "dashboard",
    __name__,
    static_folder=STATIC_FOLDER,
    static_url_path=STATIC_PATH,
)


@dashboard.get("/")
def page() -> Response:
    """The dashboard's HTML page."""
    return send_from_directory(dashboard.static_folder, "index.html")


@dashboard.after_request
def protect(response: Response) -> Response:
    """Same-origin content only, no sniffing, and no stale page after an upgrade."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response
