"""Two session realms: cardholders and bank staff, each with a cookie of its own.

A staff session lives in its own cookie and is marked as a staff session when
staff sign in. On a back-office URL (``STAFF_URL_PREFIX``) only that cookie is
read; everywhere else only the cardholder's. Both cookies have path / so that
production can give both the __Host- prefix (no other host can plant or
overwrite them); the URL, not the cookie's path, chooses the realm. A session
of one realm presented in the other's cookie (copied by hand, say) is not
loaded: it is treated as no session at all. So a cardholder signed in and a
staff member signed in in the same browser never share, see or end each
other's session (docs/backoffice.md). Every session saved under the
staff cookie is marked as such.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date

REALM_KEY = "kf.realm"
STAFF = "staff"
CARDHOLDER = "cardholder"


@dataclass(frozen=True)
class Realm:
    name: str
    cookie_name: str
    cookie_path: str
    url_prefix: str


def cardholder_realm() -> Realm:
    return Realm(CARDHOLDER, settings.SESSION_COOKIE_NAME, settings.SESSION_COOKIE_PATH, "/")


def staff_realm() -> Realm:
    return Realm(
        STAFF, settings.STAFF_SESSION_COOKIE_NAME, settings.STAFF_SESSION_COOKIE_PATH, settings.STAFF_URL_PREFIX
    )


def realm_for_path(path: str) -> Realm:
    staff = staff_realm()
    return staff if path.startswith(staff.url_prefix) else cardholder_realm()


def is_staff_realm(request: HttpRequest) -> bool:
    return getattr(request, "session_realm", None) == STAFF


class RealmSessionMiddleware(SessionMiddleware):
    """Django's SessionMiddleware with the cookie chosen by the URL's realm."""

    def process_request(self, request: HttpRequest) -> None:
        realm = realm_for_path(request.path_info)
        request.session_realm = realm.name  # type: ignore[attr-defined]
        session_key = request.COOKIES.get(realm.cookie_name)
        session: SessionBase = self.SessionStore(session_key)
        if session_key and not self._belongs(session, realm):
            session = self.SessionStore(None)
        request.session = session

    @staticmethod
    def _belongs(session: SessionBase, realm: Realm) -> bool:
        # A cardholder session carries no mark; a staff session always does.
        is_staff_session = session.get(REALM_KEY) == STAFF
        return is_staff_session == (realm.name == STAFF)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        # Django's own process_response, with the realm's cookie name and path.
        try:
            accessed = request.session.accessed
            modified = request.session.modified
            empty = request.session.is_empty()
        except AttributeError:
            return response
        realm = realm_for_path(request.path_info)
        if realm.name == STAFF and modified and not empty and request.session.get(REALM_KEY) != STAFF:
            # Every session saved under the staff cookie carries the staff mark.
            request.session[REALM_KEY] = STAFF
        if realm.cookie_name in request.COOKIES and empty:
            response.delete_cookie(
                realm.cookie_name,
                path=realm.cookie_path,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=settings.SESSION_COOKIE_SAMESITE,  # type: ignore[arg-type]
            )
            need_vary_cookie = True
        else:
            need_vary_cookie = accessed
            if (modified or settings.SESSION_SAVE_EVERY_REQUEST) and not empty:
                if request.session.get_expire_at_browser_close():
                    max_age = None
                    expires = None
                else:
                    max_age = request.session.get_expiry_age()
                    expires = http_date(time.time() + max_age)
                if response.status_code < 500:
                    try:
                        request.session.save()
                    except UpdateError:
                        raise SessionInterrupted(
                            "The request's session was deleted before the request completed."
                        ) from None
                    response.set_cookie(
                        realm.cookie_name,
                        request.session.session_key or "",
                        max_age=max_age,
                        expires=expires,
                        domain=settings.SESSION_COOKIE_DOMAIN,
                        path=realm.cookie_path,
                        secure=bool(settings.SESSION_COOKIE_SECURE),
                        httponly=bool(settings.SESSION_COOKIE_HTTPONLY),
                        samesite=settings.SESSION_COOKIE_SAMESITE,  # type: ignore[arg-type]
                    )
                    need_vary_cookie = True
        if need_vary_cookie:
            patch_vary_headers(response, ("Cookie",))
        return response
