"""The staff console under /console (pages and actions live in bot/console/web.py)."""

from __future__ import annotations

from bot.console.web import router

__all__ = ["router"]
