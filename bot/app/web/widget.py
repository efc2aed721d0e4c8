"""The widget's assets and the demo page: `/` (a page about care work with the widget on it)
and `/static/widget.js`, `/static/widget.css` (mounted in bot/app/web/app.py).

The widget itself talks to the engine's widget channel (bot/engine/channels/widget.py) at
settings.chat_url; this app only serves files and the page that shows how to embed them.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.common.settings import Settings

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES = Jinja2Templates(directory=str(WEB_DIR / "templates"))
LANGUAGES = ("nl", "en")

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def demo_page(request: Request, lang: str = "nl") -> HTMLResponse:
    settings: Settings = request.app.state.settings
    language = lang if lang in LANGUAGES else "nl"
    return TEMPLATES.TemplateResponse(
        request,
        "widget_demo.html",
        {
            "language": language,
            "widget_src": f"{settings.public_url}/static/widget.js",
            "chat_url": settings.chat_url,
            "retention_days": settings.retention_days,
            "max_chars": settings.widget_max_message_chars,
            "privacy_url": settings.privacy_url,
        },
    )
