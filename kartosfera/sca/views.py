"""The generic confirmation page every step-up operation goes through (/confirm/<id>/)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.contrib import messages
from django.contrib.auth import HASH_SESSION_KEY, get_user_model, update_session_auth_hash
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from kartosfera.core.audit import Actor
from kartosfera.core.decorators import cardholder_required
from kartosfera.core.errors import DomainError
from kartosfera.customers.identity import mask_phone
from kartosfera.sca.forms import ConfirmForm
from kartosfera.sca.models import ChallengeState, ConfirmWith, SmsChallenge
from kartosfera.sca.selectors import stepup_challenge_get
from kartosfera.sca.services import ChallengeError
from kartosfera.sca.stepup import (
    SESSION_KEY,
    stepup_back_url,
    stepup_cancel,
    stepup_complete,
    stepup_confirm_url,
    stepup_done_url,
    stepup_forget,
    stepup_linked,
    stepup_resend,
    stepup_verify,
)

if TYPE_CHECKING:
    # Only the type: sca is below users (docs/architecture.md).
    from kartosfera.users.models import User


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, get_user_model()):  # unreachable behind cardholder_required
        raise PermissionDenied
    return user


def confirmation_load(request: HttpRequest, public_id: UUID) -> tuple[SmsChallenge, SmsChallenge | None]:
    """The user's confirmation started in this session (else 404) and its linked new-number check, if any."""
    return _load(request, public_id)


def _load(request: HttpRequest, public_id: UUID) -> tuple[SmsChallenge, SmsChallenge | None]:
    challenge = stepup_challenge_get(
        user=_user(request), public_id=public_id, session_ids=request.session.get(SESSION_KEY, {})
    )
    return challenge, stepup_linked(challenge)


def confirmation_ended_message(challenge: SmsChallenge, linked: SmsChallenge | None) -> str | None:
    """Why this confirmation can take no more codes (or passkey answers), or None while it can."""
    states = {challenge.state} | ({linked.state} if linked is not None else set())
    if ChallengeState.FAILED in states:
        if challenge.state == ChallengeState.FAILED and challenge.confirm_with == ConfirmWith.PASSKEY:
            return _("The passkey was not confirmed three times. Start again.")
        return _("The code was wrong three times. Start again.")
    if ChallengeState.CANCELLED in states:
        return _("This confirmation was cancelled. Start again.")
    if challenge.completed_at is not None:
        return _("This operation has already been confirmed.")
    if challenge.state == ChallengeState.CONFIRMED and (linked is None or linked.state == ChallengeState.CONFIRMED):
        # Confirmed but not run: the operation was refused when it ran.
        return _("This confirmation has ended. Start again.")
    return None


def _pending_phone(item: SmsChallenge | None) -> str | None:
    return mask_phone(item.phone) if item is not None and item.state == ChallengeState.PENDING else None


def _keep_this_session(request: HttpRequest, user: User) -> None:
    # An operation that changed the password (or anything else in the session
    # auth hash) ends every session of the user, which is the point; the
    # session that confirmed it with the code stays signed in, with a new key.
    user.refresh_from_db()
    if request.session.get(HASH_SESSION_KEY) != user.get_session_auth_hash():
        update_session_auth_hash(request, user)


@sensitive_post_parameters("code", "verification_code")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@cardholder_required
def confirm(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    challenge, linked = _load(request, public_id)
    if challenge.confirm_with == ConfirmWith.PASSKEY:
        return HttpResponseRedirect(stepup_confirm_url(challenge))
    back_url = stepup_back_url(request, challenge)
    ended = confirmation_ended_message(challenge, linked)
    form = ConfirmForm(
        request.POST if request.method == "POST" and not ended else None,
        code_phone=_pending_phone(challenge),
        verification_phone=_pending_phone(linked),
    )
    if request.method == "POST" and not ended and form.is_valid():
        actor = Actor.for_user(user)
        outcome = stepup_verify(actor=actor, challenge=challenge, linked=linked, codes=form.cleaned_data)
        if outcome.ended:
            stepup_forget(request, challenge)
            messages.error(request, next(iter(outcome.errors.values())))
            return HttpResponseRedirect(back_url)
        if outcome.confirmed:
            return confirmation_finish(request, user=user, challenge=challenge)
        # Some code was wrong or expired: ask again for the codes still pending.
        challenge.refresh_from_db()
        if linked is not None:
            linked.refresh_from_db()
        form = ConfirmForm(code_phone=_pending_phone(challenge), verification_phone=_pending_phone(linked))
        form.show_errors(outcome.errors)
    pending = [item for item in (challenge, linked) if item is not None and item.state == ChallengeState.PENDING]
    context = {
        "challenge": challenge,
        "linked": linked,
        "form": form,
        "ended": ended,
        "expired": bool(pending) and all(item.is_expired() for item in pending),
        "expires_at": min((item.expires_at for item in pending), default=None),
        "back_url": back_url,
    }
    return render(request, "sca/confirm.html", context)


def confirmation_finish(request: HttpRequest, *, user: User, challenge: SmsChallenge) -> HttpResponse:
    """Everything is confirmed: run the operation once, keep this session, and go where the operation leads."""
    try:
        result = stepup_complete(actor=Actor.for_user(user), user=user, challenge=challenge)
    except DomainError as exc:
        back_url = stepup_back_url(request, challenge)
        stepup_forget(request, challenge)
        messages.error(request, exc.message)
        return HttpResponseRedirect(back_url)
    done_url = stepup_done_url(request, challenge, result)
    _keep_this_session(request, user)
    stepup_forget(request, challenge)
    messages.success(request, result.message)
    return HttpResponseRedirect(done_url)


@never_cache
@require_POST
@cardholder_required
def resend(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Send new codes for the challenges still waiting for one."""
    user = _user(request)
    challenge, linked = _load(request, public_id)
    actor = Actor.for_user(user)
    try:
        stepup_resend(actor=actor, challenge=challenge, linked=linked)
    except ChallengeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("A new code has been sent."))
    return HttpResponseRedirect(stepup_confirm_url(challenge))


@never_cache
@require_POST
@cardholder_required
def cancel(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Abandon the confirmation: its codes stop working and nothing runs."""
    user = _user(request)
    challenge, _linked = _load(request, public_id)
    back_url = stepup_back_url(request, challenge)
    stepup_cancel(actor=Actor.for_user(user), challenge=challenge)
    stepup_forget(request, challenge)
    messages.info(request, _("The operation was cancelled; nothing has been changed."))
    return HttpResponseRedirect(back_url)
