"""Staff accounts, server-side sessions, CSRF tokens and lockout.

Passwords: argon2id (argon2-cffi). Sessions: a random token in a cookie signed with the
secret key (HMAC-SHA256); the database keeps only the token's sha256, so a stolen
database gives no session, and deleting the row logs out on every instance.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.app.console.index import aware
from bot.app.console.models import ROLES, StaffSession, StaffUser
from bot.app.db import utcnow

MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)
USERNAME_MAX = 64
PASSWORD_MIN = 12

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both cases cost the same time."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(session: Session, username: str, password: str, role: str) -> StaffUser:
    username = username.strip()
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > USERNAME_MAX:
        raise ValueError(f"username must be 1-{USERNAME_MAX} characters")
    if len(password) < PASSWORD_MIN:
        raise ValueError(f"password must be at least {PASSWORD_MIN} characters")
    if session.scalar(select(StaffUser).where(StaffUser.username == username)):
        raise ValueError("a user with that name exists")
    user = StaffUser(
        username=username,
        password_hash=hash_password(password),
        role=role,
        active=True,
        failed_attempts=0,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(
    session: Session, username: str, password: str, now: dt.datetime | None = None
) -> StaffUser | None:
    """The user when name and password match and the account is not locked; else None.

    The caller shows one message for every failure, so nobody learns whether a name exists
    or is locked. Five failures within 15 minutes lock the account for 15 minutes.
    """
    now = now or utcnow()
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
    if user is None or not user.active:
        _verify(_dummy_hash(), password)
        return None
    if user.locked_until is not None and aware(user.locked_until) > now:
        _verify(_dummy_hash(), password)
        return None
    if _verify(user.password_hash, password):
        clear_lockout(user)
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return user
    if user.first_failed_at is None or now - aware(user.first_failed_at) > FAILURE_WINDOW:
        user.first_failed_at = now
        user.failed_attempts = 0
    user.failed_attempts += 1
    if user.failed_attempts >= MAX_FAILURES:
        user.locked_until = now + LOCKOUT
        user.failed_attempts = 0
        user.first_failed_at = None
        # A locked account loses its open sessions too.
        end_user_sessions(session, user.id)
    return None


def clear_lockout(user: StaffUser) -> None:
    """Forgets failed logins and lifts a lockout."""
    user.failed_attempts = 0
    user.first_failed_at = None
    user.locked_until = None


# ---- sessions ---------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _sign(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def start_session(
    session: Session, user: StaffUser, secret_key: str, lifetime: dt.timedelta
) -> str:
    """Store a new session; returns the cookie value (token.signature)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        StaffSession(
            id=_digest(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    # Expired sessions are cleared as new ones start; nothing else needs to sweep.
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
    return f"{token}.{_sign(secret_key, token)}"


@dataclass(frozen=True)
class Login:
    """Who is logged in, for one request."""

    session_id: str
    user_id: int
    username: str
    role: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def resolve_session(session: Session, cookie: str | None, secret_key: str) -> Login | None:
    if not cookie or "." not in cookie:
        return None
    token, signature = cookie.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(secret_key, token)):
        return None
    stored = session.get(StaffSession, _digest(token))
    if stored is None or aware(stored.expires_at) <= utcnow():
        return None
    user = stored.user
    if not user.active or (user.locked_until is not None and aware(user.locked_until) > utcnow()):
        return None
    return Login(stored.id, user.id, user.username, user.role, stored.csrf_token)


def end_session(session: Session, session_id: str) -> None:
    session.execute(delete(StaffSession).where(StaffSession.id == session_id))


def end_user_sessions(session: Session, user_id: int) -> int:
    """Ends every open session of one user (every instance checks the database); how many."""
    result = session.execute(
        delete(StaffSession)
        .where(StaffSession.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def csrf_ok(login: Login, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(login.csrf_token, submitted or "")
