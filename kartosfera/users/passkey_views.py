"""Confirming a step-up with the passkey instead of an SMS code (/confirm/<id>/passkey/).

For a cardholder whose second step is the passkey alone ("passkey only", or the deployment's Level 3 mode), a
confirmation sends no SMS: this page asks the passkey for a challenge that carries a digest of the operation
itself (what the page shows), so the signature is specific to what runs [PSD2 RTS art. 5, dynamic linking;
ASVS 5.0 6.6.1]. It lives here, not in sca, because sca sits below the users app that keeps passkeys; sca's
own confirmation page sends such a confirmation here.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from kartosfera.core.audit import Actor
from kartosfera.core.decorators import cardholder_required
from kartosfera.customers.identity import mask_phone
from kartosfera.sca.forms import ConfirmForm
from kartosfera.sca.models import ChallengeState, ConfirmWith, SmsChallenge
from kartosfera.sca.services import ChallengeError, challenge_passkey_result
from kartosfera.sca.stepup import (
    stepup_back_url,
    stepup_cancel,
    stepup_forget,
    stepup_passkey_challenge,
    stepup_verify,
)
from kartosfera.sca.views import confirmation_ended_message, confirmation_finish, confirmation_load
from kartosfera.users.models import User
from kartosfera.users.passkeys import (
    PasskeyRefused,
    challenge_remember,
    challenge_take,
    passkey_authentication_options,
    passkey_verify,
    relying_party,
)


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, get_user_model()):  # unreachable behind cardholder_required
        raise PermissionDenied
    return user


def _purpose(challenge: SmsChallenge) -> str:
    return f"stepup:{challenge.public_id}"


def _pending_phone(item: SmsChallenge | None) -> str | None:
    return mask_phone(item.phone) if item is not None and item.state == ChallengeState.PENDING else None


@sensitive_post_parameters("verification_code", "credential")
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@cardholder_required
def stepup_passkey(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = _user(request)
    challenge, linked = confirmation_load(request, public_id)
    if challenge.confirm_with != ConfirmWith.PASSKEY:
        return HttpResponseRedirect(stepup_back_url(request, challenge))
    back_url = stepup_back_url(request, challenge)
    ended = confirmation_ended_message(challenge, linked)
    verification_phone = _pending_phone(linked)
    form = ConfirmForm(
        request.POST if request.method == "POST" and not ended else None,
        code_phone=None,
        verification_phone=verification_phone,
    )
    error = ""
    if request.method == "POST" and not ended and form.is_valid():
        actor = Actor.for_user(user)
        bound = challenge_take(request.session, purpose=_purpose(challenge), user_id=user.pk)
        rp = relying_party(host=request.get_host(), secure=request.is_secure())
        try:
            if challenge.state == ChallengeState.PENDING:
                proven = False
                if bound is not None:
                    try:
                        passkey_verify(user=user, rp=rp, challenge=bound, response=request.POST.get("credential", ""))
                        proven = True
                    except PasskeyRefused:
                        proven = False
                challenge_passkey_result(actor=actor, challenge=challenge, proven=proven)
                challenge.refresh_from_db()
            # The code to a new number (a phone change) is checked only once the passkey has confirmed.
            outcome = stepup_verify(actor=actor, challenge=challenge, linked=linked, codes=form.cleaned_data)
        except ChallengeError as exc:
            if exc.code in {"too_many_attempts", "challenge_closed", "code_expired"}:
                stepup_cancel(actor=actor, challenge=challenge)
                stepup_forget(request, challenge)
                messages.error(request, exc.message)
                return HttpResponseRedirect(back_url)
            error = exc.message
        else:
            if outcome.ended:
                stepup_forget(request, challenge)
                messages.error(request, next(iter(outcome.errors.values())))
                return HttpResponseRedirect(back_url)
            if outcome.confirmed:
                return confirmation_finish(request, user=user, challenge=challenge)
            form = ConfirmForm(code_phone=None, verification_phone=verification_phone)
            form.show_errors(outcome.errors)
        challenge.refresh_from_db()
        if linked is not None:
            linked.refresh_from_db()
            form = ConfirmForm(code_phone=None, verification_phone=_pending_phone(linked))
    options = None
    if not ended and challenge.state == ChallengeState.PENDING:
        rp = relying_party(host=request.get_host(), secure=request.is_secure())
        options, bound = passkey_authentication_options(user=user, rp=rp, challenge=stepup_passkey_challenge(challenge))
        challenge_remember(request.session, purpose=_purpose(challenge), user_id=user.pk, challenge=bound)
    context = {
        "challenge": challenge,
        "linked": linked,
        "form": form,
        "ended": ended,
        "error": error,
        "options": options,
        "passkey_pending": challenge.state == ChallengeState.PENDING,
        "back_url": back_url,
    }
    return render(request, "users/stepup_passkey.html", context)
