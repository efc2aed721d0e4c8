"""`python -m bot.web`: the web app on loopback, port from ZIJWIJZER_WEB_PORT."""

from __future__ import annotations

import uvicorn

from bot.settings import load_settings
from bot.web.app import create_app


def main() -> None:
    settings = load_settings()
    app = create_app(settings)
    app.state.database.create_all()
    # No access log: its request lines would hold advice-link tokens (/advies/<token>) and
    # the console's search words, which are personal data.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=settings.web_port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
