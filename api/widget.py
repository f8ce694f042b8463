"""The web widget's files and the demo page at ``/``.

The widget is plain JavaScript and CSS served from this package (no build step, no CDN).
Any page embeds it with ``<script src="https://HOST/widget.js" data-merchant="ID" defer>``.
"""

from __future__ import annotations

import html
import re
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import SettingsDep

router = APIRouter(include_in_schema=False)
STATIC = resources.files("api") / "static"
_LANG = re.compile(r"^[a-z]{2,3}$")
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'self'"
)
_CACHE = "public, max-age=300"


def _asset(name: str, media_type: str) -> Response:
    return Response(
        (STATIC / name).read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": _CACHE, "X-Content-Type-Options": "nosniff"},
    )


@router.get("/widget.js")
def widget_js() -> Response:
    return _asset("widget.js", "text/javascript; charset=utf-8")


@router.get("/widget.css")
def widget_css() -> Response:
    return _asset("widget.css", "text/css; charset=utf-8")


@router.get("/", response_class=HTMLResponse)
def demo_page(
    settings: SettingsDep, lang: Annotated[str | None, Query(max_length=64)] = None
) -> HTMLResponse:
    """The demo store page with the widget open; ``?lang=ar`` starts it in another language."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    chosen = lang if lang and _LANG.match(lang) else ""
    page = page.replace("{{merchant}}", html.escape(settings.merchant, quote=True)).replace(
        "{{lang}}", chosen
    )
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": PAGE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )
