"""Settings of Zijwijzer, read from environment variables in this one place.

Stdlib only, so that both runtimes (the Rasa engine in .venv-rasa and everything
else in .venv) read the same names with the same defaults.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bot.common.webhook_auth import derive_secret

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = PROJECT_ROOT / "var"

T = TypeVar("T")


def _int(name: str, default: int) -> int:
    return _parsed(name, default, int, "a whole number")


def _float(name: str, default: float) -> float:
    return _parsed(name, default, float, "a number")


def _parsed(name: str, default: T, parse: Callable[[str], T], kind: str) -> T:
    """The variable `name` read by `parse`, or `default` when unset or blank."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be {kind}, got {raw!r}") from exc


def _str(name: str, default: str) -> str:
    raw = os.environ.get(name)
    return default if raw is None or raw.strip() == "" else raw.strip()


def _list(name: str, default: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in _str(name, default).split(",") if part.strip())


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed` (any case); unset or empty gives the first."""
    value = _str(name, allowed[0]).lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


SECRET_FILE = VAR_DIR / "secret.key"


def _secret_key() -> str:
    """ZIJWIJZER_SECRET_KEY, or for a local `make run` a random key kept in var/secret.key.

    Both runtimes read the same file, so the engine's channels and the web app agree.
    Production sets the variable (a Secret); the file is only a development convenience.
    """
    raw = os.environ.get("ZIJWIJZER_SECRET_KEY", "").strip()
    if raw:
        return raw
    try:
        return SECRET_FILE.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: when two processes start at once, one writes and the other reads its key.
    try:
        fd = os.open(SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SECRET_FILE.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key)
    return key


REST_CHANNEL_OFF = "off"


def _rest_api_key() -> str:
    """ZIJWIJZER_REST_API_KEY; "off" switches the REST channel off; by default derived from
    the secret key, so `make chat` and the tests know it without being told."""
    raw = _str("ZIJWIJZER_REST_API_KEY", "")
    if raw.lower() == REST_CHANNEL_OFF:
        return ""
    return raw or derive_secret(_secret_key(), "rest-channel")


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
    # The web app (widget assets and demo page, advice pages, staff console) on loopback.
    web_port: int
    # Where browsers reach the web app and the engine's channels (links in messages, widget).
    public_url: str
    chat_url: str
    # Sites allowed to embed the widget and call the chat channel (CORS, frame-ancestors).
    allowed_origins: tuple[str, ...]
    # Recruiter channels (bot/engine/channels/): each is off while its token is empty.
    telegram_token: str
    # Telegram sends it in X-Telegram-Bot-Api-Secret-Token; derived from secret_key by default.
    telegram_webhook_secret: str
    # Registered with Telegram (setWebhook) at start; by default under chat_url.
    telegram_webhook_url: str
    # The Bot API server (a self-hosted one, or a test's fake).
    telegram_api_url: str
    slack_token: str
    slack_signing_secret: str
    # The Web API's base URL (a test's fake, or a gateway).
    slack_api_url: str
    # WhatsApp Business Platform (Cloud API): off while the access token is empty.
    whatsapp_access_token: str
    # The Meta app's secret: every webhook POST is signed with it (X-Hub-Signature-256).
    whatsapp_app_secret: str
    # Meta sends it back when the webhook is registered; derived from secret_key by default.
    whatsapp_verify_token: str
    # The business phone number the bot answers from (its Graph API id, not the number).
    whatsapp_phone_number_id: str
    # The Graph API's base URL with its version (a test's fake).
    whatsapp_api_url: str
    # Microsoft Teams over the Bot Framework: off while the app id is empty.
    teams_app_id: str
    # The app's client secret (Azure: "Certificates & secrets").
    teams_app_password: str
    # Where the OAuth client-credentials token for replies comes from.
    teams_token_url: str
    # The Bot Framework's OpenID metadata (signing keys of incoming tokens).
    teams_openid_metadata_url: str
    # The issuer incoming tokens must name.
    teams_issuer: str
    # Hosts replies may go to (the activity's serviceUrl): https://host, https://*.domain.
    teams_service_urls: tuple[str, ...]
    # The first wait before a recruiter-channel reply is sent again (doubling, at most 15 min).
    channel_retry_seconds: float
    # Signs widget conversation tokens, console sessions and CSRF tokens (HMAC).
    secret_key: str
    # Handoff requests are delivered here (POST, JSON); empty: they wait in the outbox.
    handoff_webhook_url: str
    # Working days within which an advisor usually answers a handoff; 0: not promised.
    handoff_response_days: int
    # Conversations older than this are purged by `python -m bot.app.retention purge`.
    retention_days: int
    # How long a "bewaar mijn advies" link works.
    advice_link_days: int
    # How long a widget conversation token works (the browser keeps it in localStorage).
    widget_token_days: int
    # Longer widget messages are refused before they reach the conversation.
    widget_max_message_chars: int
    # How long a staff console login lasts (server-side session), in hours.
    console_session_hours: int
    # Earlier secret keys, still accepted for widget tokens while they run out (rotation).
    previous_secret_keys: tuple[str, ...]
    # Bearer key of the REST channel (server to server: `make chat`, tests, bench); derived
    # from secret_key by default; empty: the channel is off (ZIJWIJZER_REST_API_KEY=off).
    rest_api_key: str
    # Rasa's HTTP API: off while empty; set, it is on and takes only HS256 JWTs signed with it.
    engine_api_jwt_secret: str
    # Largest request body the engine reads (Sanic's REQUEST_MAX_SIZE); larger: 413.
    engine_max_body_bytes: int
    # Widget limits (bot/engine/ratelimit.py): answered 429 with Retry-After beyond them.
    widget_messages_per_minute: int
    widget_messages_per_minute_per_address: int
    widget_conversations_per_hour_per_address: int
    # Shared state of several engine instances (rate-limit counters); empty: in-process.
    redis_url: str
    # Console audit log rows older than this are purged by `python -m bot.app.retention purge`;
    # longer than retention_days, so it still answers "who looked at my data" afterwards.
    audit_retention_days: int
    # Signs handoff webhook deliveries (X-Zijwijzer-Signature); derived from secret_key by default.
    handoff_webhook_secret: str
    # The deploying organisation's privacy statement (AVG art. 13): linked from the widget's
    # privacy notice when set. Empty: no link.
    privacy_url: str
    # How long the engine waits for the action server before it tells the user it failed
    # (bot/engine/engine_faults.py); Rasa's own wait is 300 s.
    action_timeout_seconds: float
    # Address the web app listens on: loopback by default; 0.0.0.0 in a container (deploy/k8s),
    # where the Service, the ingress and the kubelet's probes reach it on the pod's address.
    web_host: str
    # Log output of every process (bot/common/logs.py): "json" (one object per line, production)
    # or "text" (readable lines, the default for `make run`).
    log_format: str
    # The handoff worker's health and metrics endpoint (bot/app/handoff/worker.py); port 0: off.
    worker_health_host: str
    worker_health_port: int
    # Events of one session the engine loads per turn (bot/engine/tracker_store.py): beyond it, the
    # latest ones after the state the older ones left. 0: all (Rasa's own way).
    tracker_history_events: int


def _web_address(name: str) -> str:
    """An http(s) address from the environment, or empty; anything else is refused."""
    value = _str(name, "")
    if value and not value.lower().startswith(("https://", "http://")):
        raise ValueError(f"{name} must be an http(s) address, got {value!r}")
    return value


def load_settings() -> Settings:
    action_port = _int("ZIJWIJZER_ACTION_PORT", 5055)
    rasa_port = _int("ZIJWIJZER_RASA_PORT", 5005)
    web_port = _int("ZIJWIJZER_WEB_PORT", 8000)
    return Settings(
        database_url=_str("ZIJWIJZER_DATABASE_URL", f"sqlite:///{VAR_DIR / 'zijwijzer.db'}"),
        tracker_database_url=_str(
            "ZIJWIJZER_TRACKER_DATABASE_URL", f"sqlite:///{VAR_DIR / 'trackers.db'}"
        ),
        rasa_port=rasa_port,
        action_port=action_port,
        action_server_url=_str(
            "ZIJWIJZER_ACTION_SERVER_URL", f"http://127.0.0.1:{action_port}/webhook"
        ),
        log_level=_str("ZIJWIJZER_LOG_LEVEL", "INFO").upper(),
        catalogue_refresh_seconds=_float("ZIJWIJZER_CATALOGUE_REFRESH_SECONDS", 60.0),
        web_port=web_port,
        public_url=_str("ZIJWIJZER_PUBLIC_URL", f"http://127.0.0.1:{web_port}").rstrip("/"),
        chat_url=_str("ZIJWIJZER_CHAT_URL", f"http://127.0.0.1:{rasa_port}").rstrip("/"),
        allowed_origins=_list(
            "ZIJWIJZER_ALLOWED_ORIGINS", f"http://127.0.0.1:{web_port},http://localhost:{web_port}"
        ),
        telegram_token=_str("ZIJWIJZER_TELEGRAM_TOKEN", ""),
        telegram_webhook_secret=_str("ZIJWIJZER_TELEGRAM_WEBHOOK_SECRET", "")
        or derive_secret(_secret_key(), "telegram-webhook"),
        telegram_webhook_url=_str(
            "ZIJWIJZER_TELEGRAM_WEBHOOK_URL",
            _str("ZIJWIJZER_CHAT_URL", f"http://127.0.0.1:{rasa_port}").rstrip("/")
            + "/webhooks/telegram/webhook",
        ),
        telegram_api_url=_str("ZIJWIJZER_TELEGRAM_API_URL", "https://api.telegram.org"),
        slack_token=_str("ZIJWIJZER_SLACK_TOKEN", ""),
        slack_signing_secret=_str("ZIJWIJZER_SLACK_SIGNING_SECRET", ""),
        slack_api_url=_str("ZIJWIJZER_SLACK_API_URL", "https://slack.com/api/"),
        whatsapp_access_token=_str("ZIJWIJZER_WHATSAPP_ACCESS_TOKEN", ""),
        whatsapp_app_secret=_str("ZIJWIJZER_WHATSAPP_APP_SECRET", ""),
        whatsapp_verify_token=_str("ZIJWIJZER_WHATSAPP_VERIFY_TOKEN", "")
        or derive_secret(_secret_key(), "whatsapp-verify-token"),
        whatsapp_phone_number_id=_str("ZIJWIJZER_WHATSAPP_PHONE_NUMBER_ID", ""),
        whatsapp_api_url=_str("ZIJWIJZER_WHATSAPP_API_URL", "https://graph.facebook.com/v24.0"),
        teams_app_id=_str("ZIJWIJZER_TEAMS_APP_ID", ""),
        teams_app_password=_str("ZIJWIJZER_TEAMS_APP_PASSWORD", ""),
        teams_token_url=_str(
            "ZIJWIJZER_TEAMS_TOKEN_URL",
            "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token",
        ),
        teams_openid_metadata_url=_str(
            "ZIJWIJZER_TEAMS_OPENID_METADATA_URL",
            "https://login.botframework.com/v1/.well-known/openidconfiguration",
        ),
        teams_issuer=_str("ZIJWIJZER_TEAMS_ISSUER", "https://api.botframework.com"),
        teams_service_urls=_list("ZIJWIJZER_TEAMS_SERVICE_URLS", "https://smba.trafficmanager.net"),
        channel_retry_seconds=_float("ZIJWIJZER_CHANNEL_RETRY_SECONDS", 5.0),
        secret_key=_secret_key(),
        handoff_webhook_url=_str("ZIJWIJZER_HANDOFF_WEBHOOK_URL", ""),
        handoff_response_days=_int("ZIJWIJZER_HANDOFF_RESPONSE_DAYS", 0),
        retention_days=_int("ZIJWIJZER_RETENTION_DAYS", 180),
        advice_link_days=_int("ZIJWIJZER_ADVICE_LINK_DAYS", 30),
        widget_token_days=_int("ZIJWIJZER_WIDGET_TOKEN_DAYS", 30),
        widget_max_message_chars=_int("ZIJWIJZER_WIDGET_MAX_MESSAGE_CHARS", 1000),
        console_session_hours=_int("ZIJWIJZER_CONSOLE_SESSION_HOURS", 8),
        previous_secret_keys=_list("ZIJWIJZER_PREVIOUS_SECRET_KEYS", ""),
        rest_api_key=_rest_api_key(),
        engine_api_jwt_secret=_str("ZIJWIJZER_ENGINE_API_JWT_SECRET", ""),
        engine_max_body_bytes=_int("ZIJWIJZER_ENGINE_MAX_BODY_BYTES", 1_048_576),
        widget_messages_per_minute=_int("ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE", 20),
        widget_messages_per_minute_per_address=_int(
            "ZIJWIJZER_WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS", 60
        ),
        widget_conversations_per_hour_per_address=_int(
            "ZIJWIJZER_WIDGET_CONVERSATIONS_PER_HOUR_PER_ADDRESS", 30
        ),
        redis_url=_str("ZIJWIJZER_REDIS_URL", ""),
        audit_retention_days=_int("ZIJWIJZER_AUDIT_RETENTION_DAYS", 365),
        handoff_webhook_secret=_str("ZIJWIJZER_HANDOFF_WEBHOOK_SECRET", "")
        or derive_secret(_secret_key(), "handoff-webhook"),
        privacy_url=_web_address("ZIJWIJZER_PRIVACY_URL"),
        action_timeout_seconds=_float("ZIJWIJZER_ACTION_TIMEOUT_SECONDS", 5.0),
        web_host=_str("ZIJWIJZER_WEB_HOST", "127.0.0.1"),
        log_format=_choice("ZIJWIJZER_LOG_FORMAT", ("text", "json")),
        worker_health_host=_str("ZIJWIJZER_WORKER_HEALTH_HOST", "127.0.0.1"),
        worker_health_port=_int("ZIJWIJZER_WORKER_HEALTH_PORT", 5070),
        tracker_history_events=_int("ZIJWIJZER_TRACKER_HISTORY_EVENTS", 400),
    )
