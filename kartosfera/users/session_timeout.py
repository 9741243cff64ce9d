"""Session rules enforced by the server: idle timeout, absolute lifetime, one-click extension.

PSD2 RTS art. 4(3)(d): a session ends after at most 5 minutes without
activity (SESSION_IDLE_TIMEOUT). The browser only warns (static/js/
session-timeout.js); the decision is taken here, on every request, so a closed
laptop or a disabled script changes nothing. See docs/sessions.md.

What counts as activity (refreshes the idle clock):
- any request a person makes: a page load, a form post, a boosted htmx
  navigation, an htmx POST (a button);
- the "extend" endpoint, which the warning's button posts to.
What does not:
- htmx GETs that are not boosted (polling, lazy loading): a page left open on
  a polling view must not stay signed in for ever;
- the session status endpoint the warning script reads (``session_activity_exempt``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.middleware import clear_site_data
from kartosfera.users.models import SessionEndReason
from kartosfera.users.session_registry import session_record_end, session_registry_sync

LAST_ACTIVITY_KEY = "kf.session.last_activity"
STARTED_KEY = "kf.session.started"
# Activity is written to the session at most this often (or a 30th of the
# idle timeout, if shorter): every page would otherwise cost a session UPDATE.
# It errs on the safe side: the recorded activity is at most this much older
# than the real one, so a session can end up to 10 s early, never late.
ACTIVITY_RESOLUTION = 10.0


@dataclass(frozen=True)
class SessionPolicy:
    idle_seconds: int
    warning_seconds: int
    absolute_seconds: int

    @property
    def idle_minutes(self) -> int:
        return max(1, math.ceil(self.idle_seconds / 60))


def session_policy(user: Any = None) -> SessionPolicy:
    """The limits in force for ``user``, read on each request so that tests can shorten them.

    Bank staff have their own (STAFF_SESSION_*: 15 idle minutes, one shift).
    """
    if getattr(user, "is_bank_staff", False):
        idle = int(settings.STAFF_SESSION_IDLE_TIMEOUT)
        absolute = int(settings.STAFF_SESSION_ABSOLUTE_LIFETIME)
    else:
        idle = int(getattr(settings, "SESSION_IDLE_TIMEOUT", 300))
        absolute = int(getattr(settings, "SESSION_ABSOLUTE_LIFETIME", 12 * 60 * 60))
    return SessionPolicy(
        idle_seconds=idle,
        # The warning can never start before the session does.
        warning_seconds=min(int(getattr(settings, "SESSION_WARNING_LEAD", 60)), idle),
        absolute_seconds=absolute,
    )


def _login_url(user: Any) -> str:
    return reverse("backoffice:login") if getattr(user, "is_bank_staff", False) else reverse(settings.LOGIN_URL)


def _now() -> float:
    return time.time()


def session_activity_exempt(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view whose requests do not count as the user's activity."""
    view.session_activity_exempt = True  # type: ignore[attr-defined]
    return view


def session_extending(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view whose requests always record activity, however recent the last record."""
    view.session_extends = True  # type: ignore[attr-defined]
    return view


def session_remaining(request: HttpRequest) -> float:
    """Seconds until the session ends for inactivity (or reaches its absolute lifetime)."""
    policy = session_policy(request.user)
    now = _now()
    last = float(request.session.get(LAST_ACTIVITY_KEY, now))
    started = float(request.session.get(STARTED_KEY, now))
    return max(0.0, min(last + policy.idle_seconds - now, started + policy.absolute_seconds - now))


def session_expiry_reason(data: Any, user: Any, now: float) -> str | None:
    """Why a session with these data is over for ``user`` at ``now`` ("absolute", "idle"), or None while it lives."""
    policy = session_policy(user)
    started = data.get(STARTED_KEY)
    last = data.get(LAST_ACTIVITY_KEY)
    if started is not None and now - float(started) >= policy.absolute_seconds:
        return "absolute"
    if last is not None and now - float(last) >= policy.idle_seconds:
        return "idle"
    return None


def _stamp_start(request: HttpRequest) -> None:
    now = _now()
    request.session[STARTED_KEY] = now
    request.session[LAST_ACTIVITY_KEY] = now


@receiver(user_logged_in, dispatch_uid="kartosfera.session_timeout.stamp")
def _stamp_on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # Sign-in starts both clocks: the absolute lifetime counts from here.
    if request is not None and hasattr(request, "session"):
        _stamp_start(request)


@transaction.atomic
def session_expired_record(*, user: Any, reason: str) -> None:
    """Audit that the server ended a session (idle or absolute lifetime)."""
    audit_record(
        actor=Actor.for_user(user),
        action="users.session.expired",
        obj=user,
        customer_id=getattr(user, "customer_id", None),
        after={"reason": reason},
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _counts_as_activity(request: HttpRequest, view: Callable[..., Any]) -> bool:
    if getattr(view, "session_activity_exempt", False):
        return False
    is_htmx = request.headers.get("HX-Request") == "true"
    is_boosted = request.headers.get("HX-Boosted") == "true"
    return not (is_htmx and request.method in {"GET", "HEAD"} and not is_boosted)


class SessionTimeoutMiddleware:
    """Ends idle and over-age sessions before the view runs; records activity for the rest.

    Goes after AuthenticationMiddleware (it needs request.user) and
    MessageMiddleware (it tells the user why they were signed out).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            reason = self._expired(request)
            if reason is not None:
                return self._end(request, reason)
        response = self.get_response(request)
        if request.user.is_authenticated:
            if STARTED_KEY not in request.session:
                # A session signed in without the signal (none today) still gets its clocks.
                _stamp_start(request)
            # The user's list of sessions follows a cycled key and the activity just stamped (users.UserSession).
            session_registry_sync(request, seen=getattr(request, "_kf_activity_stamped", None))
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        if not request.user.is_authenticated or not _counts_as_activity(request, view):
            return
        now = _now()
        last = request.session.get(LAST_ACTIVITY_KEY)
        explicit = getattr(view, "session_extends", False)
        resolution = min(ACTIVITY_RESOLUTION, session_policy(request.user).idle_seconds / 30)
        if explicit or last is None or now - float(last) >= resolution:
            request.session[LAST_ACTIVITY_KEY] = now
            request.session.setdefault(STARTED_KEY, now)
            request._kf_activity_stamped = now  # type: ignore[attr-defined]

    @staticmethod
    def _expired(request: HttpRequest) -> str | None:
        return session_expiry_reason(request.session, request.user, _now())

    @staticmethod
    def _end(request: HttpRequest, reason: str) -> HttpResponse:
        user = request.user
        session_expired_record(user=user, reason=reason)
        session_record_end(request, SessionEndReason.IDLE if reason == "idle" else SessionEndReason.ABSOLUTE)
        # logout() flushes the session: its data and its key are gone server-side.
        auth_logout(request)
        if reason == "idle":
            minutes = session_policy(user).idle_minutes
            text = ngettext(
                "You have been signed out after %(minutes)d minute without activity. Sign in again.",
                "You have been signed out after %(minutes)d minutes without activity. Sign in again.",
                minutes,
            ) % {"minutes": minutes}
        else:
            text = _("Your session has reached its maximum length. Sign in again.")
        # The message lives in the messages cookie, which survives the flush.
        messages.info(request, text, fail_silently=True)
        login_url = _login_url(user)
        response: HttpResponse
        if _wants_json(request):
            response = JsonResponse({"expired": True, "login_url": login_url}, status=401)
        elif request.headers.get("HX-Request") == "true":
            response = HttpResponseClientRedirect(login_url)
        elif request.method in {"GET", "HEAD"}:
            response = redirect_to_login(request.get_full_path(), login_url)
        else:
            # A form posted after the timeout is not replayed after signing in again.
            response = HttpResponseRedirect(login_url)
        add_never_cache_headers(response)
        return clear_site_data(response)


def _unauthenticated(request: HttpRequest) -> JsonResponse:
    staff_realm = getattr(request, "session_realm", None) == "staff"
    login_url = reverse("backoffice:login") if staff_realm else reverse(settings.LOGIN_URL)
    return JsonResponse({"expired": True, "login_url": login_url}, status=401)


@session_activity_exempt
@never_cache
@require_GET
def session_status(request: HttpRequest) -> JsonResponse:
    """How long the session has left; asking does not extend it (the warning script polls this)."""
    if not request.user.is_authenticated:
        return _unauthenticated(request)
    policy = session_policy(request.user)
    return JsonResponse(
        {"expired": False, "remaining": round(session_remaining(request), 1), "warning": policy.warning_seconds}
    )


@session_extending
@never_cache
@require_POST
def session_extend(request: HttpRequest) -> HttpResponse:
    """The warning's "extend" button: the request itself is the activity (the middleware records it)."""
    if not request.user.is_authenticated:
        return _unauthenticated(request)
    if _wants_json(request):
        return JsonResponse({"expired": False, "remaining": round(session_remaining(request), 1)})
    # Without JavaScript the button is a plain form: go back to the page it was on.
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("backoffice:home") if getattr(request.user, "is_bank_staff", False) else reverse("portal:home")
    return HttpResponseRedirect(back)
