"""`python -m bot.app.web`: the web app on ZIJWIJZER_WEB_HOST (loopback by default), port from
ZIJWIJZER_WEB_PORT."""

from __future__ import annotations

import uvicorn

from bot.app.web.app import create_app
from bot.common import logs
from bot.common.settings import load_settings


def main() -> None:
    settings = load_settings()
    logs.configure(logs.WEB, settings.log_level, settings.log_format)
    app = create_app(settings)
    app.state.database.create_all()
    # No access log: its request lines would hold advice-link tokens (/advies/<token>) and
    # the console's search words, which are personal data.
    uvicorn.run(
        app,
        host=settings.web_host,
        port=settings.web_port,
        log_level=settings.log_level.lower(),
        # JSON lines or readable text, redacted, with request ids (bot/common/logs.py).
        log_config=logs.dict_config(logs.WEB, settings.log_level, settings.log_format),
        access_log=False,
    )


if __name__ == "__main__":
    main()
