"""The registry of a user's sessions: list them, end one or all the others [ASVS 5.0 7.5.2].

Django's session store (``cached_db``: Redis in front of the database) is keyed by the session key and cannot
list a user's sessions, so every sign-in also writes a ``UserSession`` row (docs/sessions.md):

- ``key_digest``: a keyed HMAC of the session key (``core.crypto.keyed_digest``), to find the current request's
  row without storing the key in the clear;
- ``key_encrypted``: the key under Fernet (``CARD_DATA_KEYS``), read only to delete that one session from the store
  when its owner ends it (``SessionStore(key).delete()`` removes it from the cache and the database);
- a public id (UUID), the only handle a page, a form or an audit row ever shows.

The row is not the truth about whether a session lives: the store is. A row is listed as active only while its
session is still in the store, belongs to the user with the user's current session auth hash (a new password or
phone ends the others) and is within the idle and absolute limits (``session_timeout``). Rows are also closed
where sessions end (sign-out, the timeout middleware, the owner ending them).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.crypto import decrypt, encrypt, keyed_digest
from kartosfera.core.middleware import client_ip
from kartosfera.users.models import SessionEndReason, User, UserSession

# The digest under which this session's row was recorded (kept in the session, which lives server-side): a request
# whose key differs (the key was cycled, e.g. by a password change) moves the row to the new key.
REGISTRY_KEY = "kf.session.registry"
DIGEST_PURPOSE = "session-key"
# At most this many sessions are shown (a person has a few; "end all others" ends every one, listed or not).
LIST_LIMIT = 50


def session_key_digest(session_key: str) -> str:
    return keyed_digest(DIGEST_PURPOSE, session_key)


def _session_store(session_key: str | None = None) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session_key)
    return store


# --- The user agent in words ------------------------------------------------------------------------------------

_BROWSERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"EdgA?/|Edg(iOS)?/"), "Edge"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"SamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"Chrome/|CriOS/|Chromium/"), "Chrome"),
    (re.compile(r"Safari/"), "Safari"),
)
_SYSTEMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"Android"), "Android"),
    (re.compile(r"iPhone|iPod"), "iOS"),
    (re.compile(r"iPad"), "iPadOS"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Mac OS X|Macintosh"), "macOS"),
    (re.compile(r"Linux"), "Linux"),
)


def user_agent_summary(user_agent: str) -> tuple[str, str]:
    """(browser, operating system) in words, or "" for either when not recognised; never the raw header."""
    text = user_agent[:512]
    browser = next((name for pattern, name in _BROWSERS if pattern.search(text)), "")
    system = next((name for pattern, name in _SYSTEMS if pattern.search(text)), "")
    return browser, system


# --- Recording ---------------------------------------------------------------------------------------------------


def _record(request: HttpRequest, user: User) -> None:
    session = request.session
    if session.session_key is None:
        # login() flushes a session that belonged to somebody else: it gets its key when saved.
        session.save()
    key = session.session_key
    if key is None:  # pragma: no cover - save() always gives a key
        return
    digest = session_key_digest(key)
    browser, system = user_agent_summary(request.META.get("HTTP_USER_AGENT", ""))
    UserSession.objects.update_or_create(
        key_digest=digest,
        defaults={
            "user": user,
            "key_encrypted": encrypt(key),
            "browser": browser,
            "os": system,
            "ip": client_ip(request),
            "created_at": timezone.now(),
            "last_seen_at": timezone.now(),
            "ended_at": None,
            "ended_reason": "",
        },
    )
    session[REGISTRY_KEY] = digest


@receiver(user_logged_in, dispatch_uid="kartosfera.session_registry.record")
def _record_on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session") and isinstance(user, User):
        _record(request, user)


def _end_rows(digests: list[str], reason: str) -> int:
    return UserSession.objects.filter(key_digest__in=digests, ended_at__isnull=True).update(
        ended_at=timezone.now(), ended_reason=reason
    )


def session_record_end(request: HttpRequest, reason: str) -> None:
    """Close the current session's row (before the session is flushed)."""
    digest = request.session.get(REGISTRY_KEY)
    if isinstance(digest, str):
        _end_rows([digest], reason)


@receiver(user_logged_out, dispatch_uid="kartosfera.session_registry.logout")
def _end_on_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # The timeout middleware closes the row with its own reason first; this closes what is left.
    if request is not None and hasattr(request, "session"):
        session_record_end(request, SessionEndReason.LOGOUT)


def session_registry_sync(request: HttpRequest, *, seen: float | None) -> None:
    """After a signed-in request: follow a cycled key, note the activity the timeout middleware just stamped.

    One UPDATE, and only when there is something to write (a new key, or a new activity stamp: at most every 10 s).
    A session signed in without the signal (one from before the registry, gone within its 5 idle minutes) has no
    row and is left alone.
    """
    session = request.session
    key = session.session_key
    recorded = session.get(REGISTRY_KEY)
    if key is None or not isinstance(recorded, str):
        return
    digest = session_key_digest(key)
    if recorded != digest:
        UserSession.objects.filter(key_digest=recorded, ended_at__isnull=True).update(
            key_digest=digest, key_encrypted=encrypt(key), last_seen_at=timezone.now()
        )
        session[REGISTRY_KEY] = digest
    elif seen is not None:
        seen_at = dt.datetime.fromtimestamp(seen, tz=dt.UTC)
        UserSession.objects.filter(key_digest=digest, ended_at__isnull=True).update(last_seen_at=seen_at)


# --- Listing -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveSession:
    public_id: str
    browser: str
    os: str
    ip: str | None
    signed_in_at: dt.datetime
    last_active_at: dt.datetime
    is_current: bool


def _auth_hash_matches(data: dict[str, Any], user: User) -> bool:
    stored = data.get(HASH_SESSION_KEY)
    if not isinstance(stored, str):
        return False
    if constant_time_compare(stored, user.get_session_auth_hash()):
        return True
    return any(constant_time_compare(stored, fallback) for fallback in user.get_session_auth_fallback_hash())


def _stored_session(row: UserSession) -> dict[str, Any] | None:
    """The session's data from the store, or None when it is gone (or its key cannot be read any more)."""
    try:
        key = decrypt(row.key_encrypted)
    except InvalidToken:
        return None
    data = _session_store(key).load()
    return data or None


def _is_live(data: dict[str, Any], user: User, now: float) -> tuple[bool, float]:
    # Imported here: session_timeout imports this module (the middleware keeps the registry up to date).
    from kartosfera.users.session_timeout import LAST_ACTIVITY_KEY, session_expiry_reason

    if str(data.get(SESSION_KEY)) != str(user.pk) or not _auth_hash_matches(data, user):
        return False, now
    if session_expiry_reason(data, user, now) is not None:
        return False, now
    return True, float(data.get(LAST_ACTIVITY_KEY, now))


def _candidates(user: User) -> list[UserSession]:
    from kartosfera.users.session_timeout import ACTIVITY_RESOLUTION, session_policy

    policy = session_policy(user)
    now = timezone.now()
    # The database rules out what is surely over (the row's last-seen is at most ACTIVITY_RESOLUTION old);
    # the store decides the rest.
    idle = dt.timedelta(seconds=policy.idle_seconds + ACTIVITY_RESOLUTION)
    return list(
        UserSession.objects.filter(
            user=user,
            ended_at__isnull=True,
            created_at__gt=now - dt.timedelta(seconds=policy.absolute_seconds),
            last_seen_at__gt=now - idle,
        ).order_by("-last_seen_at", "-id")[:LIST_LIMIT]
    )


def active_sessions_for_user(*, user: User, current_session_key: str | None) -> list[ActiveSession]:
    """The user's live sessions, the current one first; nothing from the store or the key leaves this function."""
    current = session_key_digest(current_session_key) if current_session_key else None
    now = time.time()
    sessions: list[ActiveSession] = []
    for row in _candidates(user):
        data = _stored_session(row)
        if data is None:
            continue
        live, last_activity = _is_live(data, user, now)
        if not live:
            continue
        sessions.append(
            ActiveSession(
                public_id=str(row.public_id),
                browser=row.browser,
                os=row.os,
                ip=row.ip,
                signed_in_at=row.created_at,
                last_active_at=dt.datetime.fromtimestamp(last_activity, tz=dt.UTC),
                is_current=row.key_digest == current,
            )
        )
    sessions.sort(key=lambda s: (not s.is_current, -s.last_active_at.timestamp()))
    return sessions


def other_active_session(*, user: User, public_id: str, current_session_key: str | None) -> ActiveSession | None:
    """One of the user's live sessions other than the current one, by its public id (None: not the user's, over)."""
    for item in active_sessions_for_user(user=user, current_session_key=current_session_key):
        if item.public_id == public_id and not item.is_current:
            return item
    return None


# --- Retention ---------------------------------------------------------------------------------------------------

# Longer than any session can live (12 hours for cardholders, 10 for staff): an older row names no live session.
RECORDS_KEPT = dt.timedelta(days=1)


def session_records_purge() -> int:
    """Delete the registry's rows of sign-ins more than a day old (the audit trail keeps the sign-ins)."""
    deleted, _ = UserSession.objects.filter(created_at__lt=timezone.now() - RECORDS_KEPT).delete()
    return deleted


# --- Ending ------------------------------------------------------------------------------------------------------


def _delete_from_store(row: UserSession) -> None:
    try:
        key = decrypt(row.key_encrypted)
    except InvalidToken:
        return  # a key no configured CARD_DATA_KEYS key reads: its session outlived no rotation (12 h at most)
    # cached_db: deletes the database row and the cache entry.
    _session_store(key).delete(key)


@transaction.atomic
def sessions_end(*, actor: Actor, user: User, current_session_key: str, public_id: str | None) -> int:
    """End one other session (``public_id``) or every other session of the user (None); returns how many.

    Each is deleted from the session store (its next request is signed out), its row closed, and one audit row
    says how many and which (public ids only).
    """
    current = session_key_digest(current_session_key)
    rows = UserSession.objects.select_for_update().filter(user=user, ended_at__isnull=True).exclude(key_digest=current)
    if public_id is not None:
        rows = rows.filter(public_id=public_id)
    ended = list(rows.order_by("id"))
    for row in ended:
        _delete_from_store(row)
    _end_rows([row.key_digest for row in ended], SessionEndReason.ENDED_BY_USER)
    if public_id is None:
        # "All the others" also ends the sessions the registry cannot reach: signed in before it existed, or
        # with a key no configured CARD_DATA_KEYS key reads. The epoch in the session auth hash ends them all;
        # the caller keeps its own session with update_session_auth_hash.
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.session_epoch += 1
        locked.save(update_fields=["session_epoch"])
        user.session_epoch = locked.session_epoch
    audit_record(
        actor=actor,
        action="users.session.ended",
        obj=user,
        customer_id=user.customer_id,
        after={
            "scope": "one" if public_id is not None else "others",
            "count": len(ended),
            "sessions": [str(row.public_id) for row in ended],
        },
    )
    return len(ended)
