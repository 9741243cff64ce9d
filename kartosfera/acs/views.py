"""The challenge pages at the acsURL (docs/3d-secure.md, "The challenge"): framed by the merchant's site.

These views are csrf_exempt on purpose. The page lives in an iframe on the merchant's site, a third-party
context where browsers do not send our cookies, so neither a session nor a CSRF cookie can reach them. What
binds a form to its challenge is the unguessable per-challenge token in a hidden field (challenge.py), whose
keyed digest is on the record: a form without it is answered 404. The first POST carries the CReq, which names
a challenge only the directory server and the 3DS server know.

The pages may be framed by any https site ('self' too: the development shop is on our origin); every other
page keeps frame-ancestors 'none' and X-Frame-Options DENY. The end page's form posts to the notificationURL,
whose origin alone joins form-action.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from csp.constants import SELF
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from kartosfera.acs import challenge as flow
from kartosfera.acs.challenge import ChallengeNotFound, ChallengeRequestInvalid, ChallengeStep, Page
from kartosfera.acs.forms import ChallengeAnswerForm
from kartosfera.acs.services import ChallengeClosed

# Who may frame the challenge pages: merchants' sites (https) and our own origin.
FRAME_ANCESTORS = [SELF, "https:"]
# Pages whose end form posts itself (the holder has nothing more to read); the others wait for the button.
AUTO_SUBMIT = frozenset({Page.AUTHENTICATED, Page.CANCELLED, Page.TIMED_OUT})


def _frameable(response: HttpResponse, *, form_action_origin: str = "") -> HttpResponse:
    policy: dict[str, list[str]] = {"frame-ancestors": FRAME_ANCESTORS}
    if form_action_origin:
        policy["form-action"] = [SELF, form_action_origin]
    response._csp_replace = policy  # type: ignore[attr-defined]  # read by django-csp's middleware
    response.xframe_options_exempt = True  # read by XFrameOptionsMiddleware
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def _error(request: HttpRequest, *, status: int, heading: str, message: str) -> HttpResponse:
    response = render(
        request, "acs/error.html", {"status": status, "heading": heading, "message": message}, status=status
    )
    return _frameable(response)


def _refused(request: HttpRequest, exc: Exception) -> HttpResponse:
    if isinstance(exc, ChallengeRequestInvalid):
        return _error(request, status=400, heading=_("Invalid request"), message=str(exc))
    if isinstance(exc, ChallengeClosed):
        return _error(request, status=409, heading=_("Confirmation ended"), message=str(exc))
    return _error(
        request, status=404, heading=_("Confirmation not found"), message=str(ChallengeNotFound.default_message)
    )


def _context(step: ChallengeStep, session_data: str) -> dict[str, Any]:
    record = step.record
    return {
        "step": step,
        "record": record,
        "bank": flow.record_bank(record),
        "amount": flow.record_amount_text(record),
        "session_data": session_data,
    }


def _render_step(
    request: HttpRequest, step: ChallengeStep, session_data: str, form: ChallengeAnswerForm | None = None
) -> HttpResponse:
    context = _context(step, session_data)
    if not step.ended:
        context["form"] = form or ChallengeAnswerForm()
        return _frameable(render(request, "acs/challenge.html", context))
    notification_url = str(step.record.areq.get("notificationURL") or "")
    origin = _origin(notification_url)
    context |= {
        "notification_url": notification_url if origin else "",
        "cres": flow.cres_encode(step.record.cres),
        "auto_submit": step.page in AUTO_SUBMIT and bool(origin),
        "pin_url": request.build_absolute_uri(reverse("secure3d:pin")),
    }
    return _frameable(render(request, "acs/end.html", context), form_action_origin=origin)


@csrf_exempt
@never_cache
@require_POST
def challenge(request: HttpRequest) -> HttpResponse:
    """The acsURL: the 3DS requestor's iframe posts ``creq`` (and ``threeDSSessionData``) here."""
    try:
        session_data = flow.session_data_clean(request.POST.get("threeDSSessionData"))
        step = flow.challenge_begin(creq=request.POST.get("creq", ""))
    except (ChallengeRequestInvalid, ChallengeNotFound, ChallengeClosed) as exc:
        return _refused(request, exc)
    return _render_step(request, step, session_data)


@csrf_exempt
@sensitive_post_parameters("pin", "code", "token")
@never_cache
@require_POST
def challenge_step(request: HttpRequest, acs_trans_id: uuid.UUID) -> HttpResponse:
    """The challenge's forms (csrf_exempt: the token binds them, see the module's docstring)."""
    token = request.POST.get("token", "")
    action = request.POST.get("action", "submit")
    try:
        session_data = flow.session_data_clean(request.POST.get("threeDSSessionData"))
        if action == "cancel":
            step = flow.challenge_cancel(acs_trans_id=acs_trans_id, token=token)
        elif action == "resend":
            step = flow.challenge_code_resend(acs_trans_id=acs_trans_id, token=token)
        elif action == "submit":
            form = ChallengeAnswerForm(request.POST)
            if not form.is_valid():
                # Not a try: a typo in the format is no guess. The token is checked all the same.
                step = flow.challenge_get(acs_trans_id=acs_trans_id, token=token)
                return _render_step(request, step, session_data, form)
            step = flow.challenge_answer(
                acs_trans_id=acs_trans_id,
                token=token,
                pin=form.cleaned_data["pin"],
                code=form.cleaned_data["code"],
            )
        else:
            raise ChallengeRequestInvalid()
    except (ChallengeRequestInvalid, ChallengeNotFound, ChallengeClosed) as exc:
        return _refused(request, exc)
    return _render_step(request, step, session_data)
