"""The passkey pages of signing in and of confirming: the sign-in's second step and a step-up's confirmation.

Signing in (/login/passkey/): a cardholder who has a passkey gets it asked for after the right password instead of
an SMS code (docs/passkeys.md); it ends like the code step, with views._sign_in, or hands over to the code step when
the user asks for an SMS code and may still have one.

Confirming a step-up with the passkey instead of an SMS code (/confirm/<id>/passkey/): for a cardholder whose
second step is the passkey alone ("passkey only", or the deployment's Level 3 mode), a confirmation sends no SMS:
this page asks the passkey for a challenge that carries a digest of the operation itself (what the page shows), so
the signature is specific to what runs [PSD2 RTS art. 5, dynamic linking; ASVS 5.0 6.6.1]. It lives here, not in
sca, because sca sits below the users app that keeps passkeys; sca's own confirmation page sends such a
confirmation here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from kartosfera.core.audit import Actor
from kartosfera.core.decorators import cardholder_required
from kartosfera.core.middleware import permissions_policy_allow_self
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
from kartosfera.users import ratelimits
from kartosfera.users.models import User
from kartosfera.users.passkeys import (
    PasskeyRefused,
    challenge_remember,
    challenge_take,
    other_second_step_allowed,
    passkey_authentication_options,
    passkey_verify,
    relying_party,
)
from kartosfera.users.services import LoginRefused, user_lock_refusal, user_login_code_issue, user_login_passkey_verify
from kartosfera.users.session_keys import LOGIN_PASSKEY_PENDING, LOGIN_PENDING
from kartosfera.users.views import _login_restart, _sign_in


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
                if bound is None:
                    # No prompt waiting (it expired, or this page was answered already): nothing was checked, so
                    # no try is used; the page asks again with a fresh challenge.
                    raise ChallengeError(
                        _("The passkey's prompt has expired. Confirm again."), code="passkey_prompt_expired"
                    )
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
    # The page's script asks the browser's authenticator: WebAuthn is denied to every other page.
    return permissions_policy_allow_self(
        render(request, "users/stepup_passkey.html", context), "publickey-credentials-get"
    )


# --- Signing in -----------------------------------------------------------------------------------------------------


def _pending_passkey_login(request: HttpRequest) -> tuple[dict[str, Any], User] | None:
    pending = request.session.get(LOGIN_PASSKEY_PENDING)
    if not isinstance(pending, dict):
        return None
    try:
        expires = dt.datetime.fromisoformat(str(pending.get("expires")))
    except ValueError:
        return None
    if timezone.now() >= expires:
        return None
    user = User.objects.filter(pk=pending.get("user_id", 0), is_active=True).first()
    return (pending, user) if user is not None and user.is_cardholder else None


@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(group="users.login_passkey.ip", key="ip", rate=ratelimits.LOGIN_CODE_PER_IP, method="POST")
def login_passkey(request: HttpRequest) -> HttpResponse:
    """Step 2 with a passkey: the authenticator signs this site's challenge; then the user is signed in.

    A refused answer counts towards the lock like a wrong SMS code (user_login_passkey_verify). "Send me an SMS
    code instead" only while other_second_step_allowed: not once the user chose "passkey only" or the
    deployment requires passkeys (PORTAL_PASSKEY_REQUIRED) [ASVS 5.0 6.6.1 at Level 3].
    """
    found = _pending_passkey_login(request)
    if found is None:
        if request.session.pop(LOGIN_PASSKEY_PENDING, None) is not None:
            messages.error(request, _("Signing in took too long. Please sign in again."))
        return redirect("users:login")
    pending, user = found
    sms_allowed = other_second_step_allowed(user=user, has_passkey=True)
    rp = relying_party(host=request.get_host(), secure=request.is_secure())
    if request.method == "POST":
        action = request.POST.get("action", "verify")
        if action == "cancel":
            request.session.pop(LOGIN_PASSKEY_PENDING, None)
            messages.info(request, _("Signing in was cancelled."))
            return redirect("users:login")
        if action == "sms":
            return _passkey_step_to_sms(request, pending=pending, user=user, allowed=sms_allowed)
        challenge = challenge_take(request.session, purpose="login", user_id=user.pk)
        credential = request.POST.get("credential", "")
        if challenge is None or not credential:
            # Nothing was signed (no prompt answered, or it came too late): a fresh prompt, nothing counted.
            messages.error(request, str(PasskeyRefused().message))
            return redirect("users:login_passkey")
        try:
            completed = user_login_passkey_verify(user=user, rp=rp, challenge=challenge, response=credential)
        except PasskeyRefused as exc:
            user.refresh_from_db(fields=["locked_until", "failed_login_count"])
            if lock := user_lock_refusal(user=user):
                # AccessLocked's own words blame wrong passwords; this lock came from refused passkeys.
                until = date_format(timezone.localtime(lock.until), "DATETIME_FORMAT")
                return _login_restart(
                    request,
                    _(
                        "Too many failed attempts: access to the portal is locked until %(until)s. It unlocks by "
                        "itself then. To unlock it today, call your bank's helpline or visit a branch."
                    )
                    % {"until": until},
                )
            messages.error(request, exc.message)
            return redirect("users:login_passkey")
        except LoginRefused as exc:
            return _login_restart(request, exc.message)
        _sign_in(request, completed)
        return HttpResponseRedirect(pending.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL))
    options, challenge = passkey_authentication_options(user=user, rp=rp)
    challenge_remember(request.session, purpose="login", user_id=user.pk, challenge=challenge)
    response = render(request, "users/login_passkey.html", {"options": options, "sms_allowed": sms_allowed})
    return permissions_policy_allow_self(response, "publickey-credentials-get")


def _passkey_step_to_sms(request: HttpRequest, *, pending: dict[str, Any], user: User, allowed: bool) -> HttpResponse:
    """The user asked for the SMS code instead of the passkey: the code page takes over (when still allowed)."""
    if not allowed:
        # The page offers no such button then; a forged request sends no SMS.
        messages.error(request, _("Your account signs in with a passkey only; no SMS code is sent."))
        return redirect("users:login_passkey")
    try:
        code_challenge = user_login_code_issue(user=user)
    except LoginRefused as exc:
        request.session.pop(LOGIN_PASSKEY_PENDING, None)
        return _login_restart(request, exc.message)
    request.session.pop(LOGIN_PASSKEY_PENDING, None)
    request.session[LOGIN_PENDING] = {
        "user_id": user.pk,
        "challenge": str(code_challenge.public_id),
        "next": pending.get("next", ""),
    }
    return redirect("users:login_code")
