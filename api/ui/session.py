"""The pages' session: a signed cookie naming the API key, and CSRF tokens for the forms.

The cookie holds the key's id (never the key), when it was issued, and an HMAC over both; it is
HttpOnly and SameSite=Strict. Each request loads the key's aggregate again, so a revoked key
stops working on its next page, as in the API. The signing secret comes from
FUNDLEDGER_UI_SECRET, or is drawn at start-up (sessions then end when the process restarts).

CSRF: the session's forms carry a token derived from the session cookie (an attacker's page can
read neither); the login form uses a double-submit token (a random cookie echoed in the form).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from typing import Final

SESSION_COOKIE: Final = "fundledger_session"
LOGIN_CSRF_COOKIE: Final = "fundledger_login_csrf"
LANGUAGE_COOKIE: Final = "fundledger_lang"
SESSION_AGE_S: Final = 8 * 3600  # a working day
SECRET_VARIABLE: Final = "FUNDLEDGER_UI_SECRET"
_SECRET_BYTES_MIN: Final = 32


def _load_secret() -> bytes:
    configured = os.environ.get(SECRET_VARIABLE, "")
    if configured:
        secret = configured.encode()
        if len(secret) < _SECRET_BYTES_MIN:
            raise ValueError(f"{SECRET_VARIABLE} must be at least {_SECRET_BYTES_MIN} characters")
        return secret
    return secrets.token_bytes(_SECRET_BYTES_MIN)


_SECRET: Final = _load_secret()


@dataclass(frozen=True)
class Session:
    key_id: str
    issued_at_s: int
    cookie: str


def _mac(*parts: str) -> str:
    digest = hmac.new(_SECRET, "|".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_session(key_id: str, now_s: float | None = None) -> str:
    issued_at_s = int(time.time() if now_s is None else now_s)
    body = f"{key_id}|{issued_at_s}"
    return f"{body}|{_mac('session', body)}"


def read_session(cookie: str | None, now_s: float | None = None) -> Session | None:
    """The session the cookie names, or None when it is missing, forged or too old."""
    if not cookie or len(cookie) > 300:
        return None
    key_id, _, rest = cookie.partition("|")
    issued_text, _, mac = rest.partition("|")
    if not hmac.compare_digest(mac, _mac("session", f"{key_id}|{issued_text}")):
        return None
    if not issued_text.isdigit():
        return None
    issued_at_s = int(issued_text)
    age_s = (time.time() if now_s is None else now_s) - issued_at_s
    if not 0 <= age_s <= SESSION_AGE_S:
        return None
    return Session(key_id, issued_at_s, cookie)


def session_csrf_token(session: Session) -> str:
    return _mac("csrf", session.cookie)


def session_csrf_holds(session: Session, token: str) -> bool:
    return hmac.compare_digest(token, session_csrf_token(session))


def new_login_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def login_csrf_holds(cookie_token: str | None, form_token: str) -> bool:
    if not cookie_token or not form_token:
        return False
    return hmac.compare_digest(cookie_token, form_token)
