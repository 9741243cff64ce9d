"""The Level 3 mode for cardholders (PORTAL_PASSKEY_REQUIRED) [ASVS 5.0 6.3.3, 6.6.1 at Level 3].

A cardholder signed in without a passkey (with the SMS code: the only way in before the first passkey) is sent to
the passkeys page before any other page, with the reason, until one is added. Only what adding one needs stays
open: the passkeys pages, their SMS confirmation, the session warning's endpoints, signing out, the language switch,
static files and the development SMS outbox (docs/passkeys.md).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from kartosfera.users.models import User
from kartosfera.users.passkeys import user_has_passkey


@cache
def _open_prefixes() -> tuple[str, ...]:
    return (
        reverse("profile:passkeys"),  # and its sub-pages: add, make, remove, passkey only
        "/confirm/",  # the step-up's SMS code page (kartosfera.sca)
        reverse("profile:session_status"),
        reverse("profile:session_extend"),
        reverse("users:logout"),
        "/i18n/",
        settings.STATIC_URL or "/static/",
        "/dev/",  # development only: the SMS outbox that shows the step-up code
        "/health/",
    )


class PasskeyRequiredMiddleware:
    """Sends a signed-in cardholder without a passkey to the passkeys page while PORTAL_PASSKEY_REQUIRED is on.

    After AuthenticationMiddleware, MessageMiddleware and the session timeout (an ended session goes to sign-in,
    not here). Staff are the back office's own rule (BACKOFFICE_PASSKEY_REQUIRED).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.PORTAL_PASSKEY_REQUIRED and self._must_add_one(request):
            messages.warning(
                request,
                _(
                    "Your bank requires a passkey for signing in to the portal: SMS codes can be intercepted or "
                    "phished, a passkey cannot. Add one now to continue."
                ),
                fail_silently=True,
            )
            return HttpResponseRedirect(reverse("profile:passkeys"))
        return self.get_response(request)

    @staticmethod
    def _must_add_one(request: HttpRequest) -> bool:
        user = getattr(request, "user", None)
        if not isinstance(user, User) or not user.is_authenticated or not user.is_cardholder:
            return False
        if request.path.startswith(_open_prefixes()):
            return False
        return not user_has_passkey(user=user)
