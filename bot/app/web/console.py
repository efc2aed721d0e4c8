"""The staff console under /console (pages and actions live in bot/app/console/web.py)."""

from __future__ import annotations

from bot.app.console.web import router

__all__ = ["router"]
