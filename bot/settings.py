"""Settings of Zijwijzer, read from environment variables in this one place.

Stdlib only, so that both runtimes (the Rasa engine in .venv-rasa and everything
else in .venv) read the same names with the same defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _str(name: str, default: str) -> str:
    raw = os.environ.get(name)
    return default if raw is None or raw.strip() == "" else raw.strip()


@dataclass(frozen=True)
class Settings:
    # The catalogue's database (SQLAlchemy URL). SQLite file by default.
    database_url: str
    # Rasa's tracker store; a SQLAlchemy URL as well (SQLite file by default).
    tracker_database_url: str
    rasa_port: int
    action_port: int
    action_server_url: str
    log_level: str
    # How often a running process looks for a newer catalogue version, in seconds.
    catalogue_refresh_seconds: float


def load_settings() -> Settings:
    action_port = _int("ZIJWIJZER_ACTION_PORT", 5055)
    return Settings(
        database_url=_str("ZIJWIJZER_DATABASE_URL", f"sqlite:///{VAR_DIR / 'zijwijzer.db'}"),
        tracker_database_url=_str(
            "ZIJWIJZER_TRACKER_DATABASE_URL", f"sqlite:///{VAR_DIR / 'trackers.db'}"
        ),
        rasa_port=_int("ZIJWIJZER_RASA_PORT", 5005),
        action_port=action_port,
        action_server_url=_str(
            "ZIJWIJZER_ACTION_SERVER_URL", f"http://127.0.0.1:{action_port}/webhook"
        ),
        log_level=_str("ZIJWIJZER_LOG_LEVEL", "INFO").upper(),
        catalogue_refresh_seconds=_float("ZIJWIJZER_CATALOGUE_REFRESH_SECONDS", 60.0),
    )
