"""Sign-in (password, then the passkey or the SMS code), registration, sign-out and the security history.

Between the steps the session holds only ids (the pending user or customer and
the challenge's public id), never a code or password; the challenge itself is
the truth about what has been confirmed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from kartosfera.core.decorators import answers_no_sooner_than, cardholder_required
from kartosfera.core.middleware import clear_site_data
from kartosfera.customers.identity import mask_phone
from kartosfera.sca.models import ChallengePurpose, ChallengeState, SmsChallenge
from kartosfera.sca.services import CODE_LIFETIME, ChallengeError
from kartosfera.users import ratelimits
from kartosfera.users.forms import (
    ActivationPasswordForm,
    LoginCodeForm,
    LoginForm,
    RegistrationIdentifierForm,
    SetPasswordForm,
)
from kartosfera.users.models import User
from kartosfera.users.passkeys import (
    user_has_passkey,
)
from kartosfera.users.registration import (
    PASSWORD_STEP_WINDOW,
    DecoyActivation,
    PasswordRejected,
    PendingActivation,
    RegistrationRefused,
    registration_activate,
    registration_complete,
    registration_identify,
    registration_password_step_open,
    registration_resend,
    registration_start,
)
from kartosfera.users.selectors import (
    login_challenge_get,
    portal_user_for_customer,
    registration_challenge_get,
    security_events_for_user,
)
from kartosfera.users.services import (
    InvalidCredentials,
    LoginCompleted,
    LoginRefused,
    user_lock_refusal,
    user_login_after_registration,
    user_login_code_cancel,
    user_login_code_issue,
    user_login_code_resend,
    user_login_code_verify,
    user_login_password,
    user_logout_record,
)
from kartosfera.users.session_keys import LOGIN_PASSKEY_PENDING, LOGIN_PENDING, LOGIN_SUMMARY, REGISTRATION

BACKEND = "kartosfera.users.backends.CustomerIdentifierBackend"
REGISTRATION_SESSION_AGE = int((CODE_LIFETIME[ChallengePurpose.REGISTRATION] + PASSWORD_STEP_WINDOW).total_seconds())
# Challenge errors after which the step cannot go on: back to the start.
_CHALLENGE_ENDED = {"too_many_attempts", "challenge_closed", "code_used", "resend_limit"}
# How long the passkey step waits after the right password (two SMS codes' lives: room for a prompt or two);
# each passkey prompt has its own shorter challenge (passkeys.CEREMONY_TIMEOUT).
LOGIN_PASSKEY_WINDOW = dt.timedelta(minutes=10)


def _safe_next(request: HttpRequest) -> str:
    """Where to go after signing in: ``next`` when it stays on this site (no open redirect)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _sign_in(request: HttpRequest, completed: LoginCompleted) -> None:
    # Django's login() cycles the session key, so a session id planted before
    # sign-in is worthless afterwards (session fixation).
    auth_login(request, completed.user, backend=BACKEND)
    request.session.pop(LOGIN_PASSKEY_PENDING, None)
    request.session.pop(LOGIN_PENDING, None)
    request.session.set_expiry(None)  # the registration's longer age does not carry over
    request.session[LOGIN_SUMMARY] = {
        "previous_login": completed.previous_login.isoformat() if completed.previous_login else None,
        "failures": completed.failures_since_previous,
    }


# --- Sign-in ------------------------------------------------------------------------


def _pending_login(request: HttpRequest) -> tuple[dict[str, Any], SmsChallenge] | None:
    pending = request.session.get(LOGIN_PENDING)
    if not isinstance(pending, dict):
        return None
    challenge = login_challenge_get(user_id=pending.get("user_id", 0), public_id=pending.get("challenge", ""))
    return (pending, challenge) if challenge is not None else None


def _drop_pending_login(request: HttpRequest) -> None:
    """Forget the sign-in waiting for its code and end its challenge (a new one, or a cancel)."""
    found = _pending_login(request)
    if found is not None:
        user_login_code_cancel(challenge=found[1])
    request.session.pop(LOGIN_PENDING, None)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(group="users.login.ip", key="ip", rate=ratelimits.LOGIN_PER_IP, method="POST")
@ratelimit(
    group="users.login.identifier", key=ratelimits.identifier_key, rate=ratelimits.LOGIN_PER_IDENTIFIER, method="POST"
)
def login(request: HttpRequest) -> HttpResponse:
    """Step 1: identifier and password; then the passkey step, or an SMS code goes to the portal phone.

    A cardholder with a passkey is asked for it and gets no SMS [ASVS 5.0 6.6.1]: an SMS code they did not ask
    for would only be one more thing to intercept or phish. The passkey page offers the code on request.
    """
    if request.user.is_authenticated and request.method != "POST":
        return redirect(settings.LOGIN_REDIRECT_URL)
    next_url = _safe_next(request)
    form = LoginForm(request.POST or None)
    credentials_refused = False
    if request.method == "POST" and form.is_valid():
        try:
            user = user_login_password(
                identifier=form.cleaned_data["identifier"], password=form.cleaned_data["password"]
            )
            # Ending an earlier round that had wrong codes counts as a failed
            # attempt and may lock access: then no new code is sent.
            _drop_pending_login(request)
            request.session.pop(LOGIN_PASSKEY_PENDING, None)
            if user_has_passkey(user=user):
                _passkey_step_open(request, user=user, next_url=next_url)
                return redirect("users:login_passkey")
            challenge = user_login_code_issue(user=user)
        except LoginRefused as exc:
            form.add_error(None, exc.message)
            # The one answer for an unknown identifier, a wrong password and a locked access
            # explains the lock to everybody, so that it reveals nothing and still helps.
            credentials_refused = isinstance(exc, InvalidCredentials)
        else:
            request.session[LOGIN_PENDING] = {
                "user_id": user.pk,
                "challenge": str(challenge.public_id),
                "next": next_url,
            }
            return redirect("users:login_code")
    return render(
        request, "users/login.html", {"form": form, "next": next_url, "credentials_refused": credentials_refused}
    )


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(group="users.login_code.ip", key="ip", rate=ratelimits.LOGIN_CODE_PER_IP, method="POST")
def login_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the 6-digit SMS code (single use, 5 minutes, 3 tries); then the user is signed in."""
    found = _pending_login(request)
    if found is None:
        request.session.pop(LOGIN_PENDING, None)
        return redirect("users:login")
    pending, challenge = found
    form = LoginCodeForm()
    if request.method == "POST":
        action = request.POST.get("action", "verify")
        if action == "cancel":
            _drop_pending_login(request)
            messages.info(request, _("Signing in was cancelled."))
            return redirect("users:login")
        if action == "resend":
            try:
                user_login_code_resend(challenge=challenge)
            except ChallengeError as exc:
                return _login_restart(request, exc.message)
            messages.success(request, _("We have sent you a new code. The previous one no longer works."))
            return redirect("users:login_code")
        form = LoginCodeForm(request.POST)
        if form.is_valid():
            try:
                completed = user_login_code_verify(challenge=challenge, code=form.cleaned_data["code"])
            except ChallengeError as exc:
                if exc.code == "too_many_attempts":
                    return _login_restart(request, _("The SMS code was wrong three times. Please sign in again."))
                if exc.code in _CHALLENGE_ENDED:
                    return _login_restart(request, exc.message)
                form.add_error("code", exc.message)
            except LoginRefused as exc:
                return _login_restart(request, exc.message)
            else:
                request.session.pop(LOGIN_PENDING, None)
                _sign_in(request, completed)
                return HttpResponseRedirect(pending.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL))
    return render(
        request,
        "users/login_code.html",
        {
            "form": form,
            "phone": mask_phone(challenge.phone),
            "expired": challenge.is_expired(),
        },
    )


def _passkey_step_open(request: HttpRequest, *, user: User, next_url: str) -> None:
    """After the right password: the passkey step waits for this user (the ended SMS round may have locked them)."""
    user.refresh_from_db(fields=["locked_until", "failed_login_count"])
    if user.is_locked(timezone.now()):
        # The same generic answer as a wrong password while locked (user_login_code_issue gives it too).
        raise InvalidCredentials()
    request.session[LOGIN_PASSKEY_PENDING] = {
        "user_id": user.pk,
        "next": next_url,
        "expires": (timezone.now() + LOGIN_PASSKEY_WINDOW).isoformat(),
    }


def _login_restart(request: HttpRequest, message: str) -> HttpResponse:
    request.session.pop(LOGIN_PENDING, None)
    request.session.pop(LOGIN_PASSKEY_PENDING, None)
    messages.error(request, message)
    return redirect("users:login")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    # POST only (with the CSRF check): a GET logout could be triggered by any
    # page that embeds an image pointing here.
    user = request.user
    if isinstance(user, User) and user.is_authenticated:
        user_logout_record(user=user)
        auth_logout(request)
        messages.success(request, _("You have been signed out."))
    return clear_site_data(redirect(settings.LOGOUT_REDIRECT_URL))


# --- Registration -------------------------------------------------------------------


def _registration_state(request: HttpRequest) -> dict[str, Any]:
    """{"identifier" (its digest), "customer_id" (or None), then "challenge" (public id) or "decoy"}.

    Whether the identifier names a customer stays on the server: the pages never depend on it.
    """
    state = request.session.get(REGISTRATION)
    return state if isinstance(state, dict) and state.get("identifier") else {}


def _registration_challenge(request: HttpRequest) -> SmsChallenge | None:
    state = _registration_state(request)
    if not state.get("customer_id") or not state.get("challenge"):
        return None
    return registration_challenge_get(customer_id=state["customer_id"], public_id=state["challenge"])


def _registration_pending(request: HttpRequest) -> PendingActivation | None:
    """What step 3 waits for: the activation password sent, or the decoy (docs/access.md)."""
    state = _registration_state(request)
    if "decoy" in state:
        return DecoyActivation.from_session(state["decoy"])
    return _registration_challenge(request)


def _registration_pending_keep(request: HttpRequest, pending: PendingActivation) -> None:
    """A decoy counts its tries and sends in the session (a challenge in its row).

    The session is saved for a challenge too: a saved session sends its cookie again, and the cookies
    of an answer must not tell a decoy from a challenge.
    """
    state = _registration_state(request)
    if isinstance(pending, DecoyActivation):
        state = {**state, "decoy": pending.as_session()}
    request.session[REGISTRATION] = state


def _keep_registration_session(request: HttpRequest) -> None:
    # The activation password is valid for 10 minutes and the new password may
    # follow within 30 more; the anonymous session that holds the registration
    # must outlive both, whatever the default session age (the signed-in
    # session gets the default back at sign-in).
    request.session.set_expiry(REGISTRATION_SESSION_AGE)


def _registration_restart(request: HttpRequest, message: str) -> HttpResponse:
    request.session.pop(REGISTRATION, None)
    messages.error(request, message)
    return redirect("users:register")


@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(group="users.register.ip", key="ip", rate=ratelimits.REGISTER_PER_IP, method="POST")
@ratelimit(
    group="users.register.identifier",
    key=ratelimits.identifier_key,
    rate=ratelimits.REGISTER_PER_IDENTIFIER,
    method="POST",
)
def register(request: HttpRequest) -> HttpResponse:
    """Step 1 of 4: PESEL or the bank-assigned identification number (its format only)."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = RegistrationIdentifierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            identified = registration_identify(identifier=form.cleaned_data["identifier"])
        except ValidationError as exc:
            form.add_error("identifier", exc)
        else:
            previous = _registration_challenge(request)
            request.session[REGISTRATION] = {
                "identifier": identified.identifier_digest,
                "customer_id": identified.customer_id,
                # Kept only to cancel its activation password when a new one is sent.
                "previous_challenge": str(previous.public_id) if previous else "",
            }
            return redirect("users:register_send")
    return render(request, "users/register.html", {"form": form, "step": 1})


@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(group="users.register_send.ip", key="ip", rate=ratelimits.REGISTER_SEND_PER_IP, method="POST")
@ratelimit(
    group="users.register_send.identifier",
    key=ratelimits.registering_identifier_key,
    rate=ratelimits.REGISTER_SEND_PER_IDENTIFIER,
    method="POST",
)
@ratelimit(
    group="users.register_send.identifier_daily",
    key=ratelimits.registering_identifier_key,
    rate=ratelimits.REGISTER_SEND_PER_IDENTIFIER_DAILY,
    method="POST",
)
@answers_no_sooner_than("REGISTRATION_ANSWER_FLOOR_SECONDS")
def register_send(request: HttpRequest) -> HttpResponse:
    """Step 2 of 4: the activation password goes to the phone on file, on request; the number is not shown."""
    state = _registration_state(request)
    if not state:
        request.session.pop(REGISTRATION, None)
        return redirect("users:register")
    if request.method == "POST":
        customer_id = state.get("customer_id")
        previous = (
            registration_challenge_get(customer_id=customer_id, public_id=state.get("previous_challenge", ""))
            if customer_id and state.get("previous_challenge")
            else None
        )
        pending = registration_start(customer_id=customer_id, previous_challenge=previous)
        if isinstance(pending, DecoyActivation):
            request.session[REGISTRATION] = {"identifier": state["identifier"], "decoy": pending.as_session()}
        else:
            request.session[REGISTRATION] = {
                "identifier": state["identifier"],
                "customer_id": pending.customer_id,
                "challenge": str(pending.public_id),
            }
        _keep_registration_session(request)
        return redirect("users:register_activate")
    return render(request, "users/register_send.html", {"step": 2})


@sensitive_post_parameters("activation_password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(group="users.register_activate.ip", key="ip", rate=ratelimits.REGISTER_ACTIVATE_PER_IP, method="POST")
@ratelimit(
    group="users.register_activate.identifier_daily",
    key=ratelimits.registering_identifier_key,
    rate=ratelimits.REGISTER_ACTIVATE_PER_IDENTIFIER_DAILY,
    method="POST",
)
@answers_no_sooner_than("REGISTRATION_ANSWER_FLOOR_SECONDS")
def register_activate(request: HttpRequest) -> HttpResponse:
    """Step 3 of 4: the activation password from the SMS (valid 10 minutes, 3 tries); a decoy answers alike."""
    pending = _registration_pending(request)
    if pending is None:
        request.session.pop(REGISTRATION, None)
        return redirect("users:register")
    if isinstance(pending, SmsChallenge) and pending.state == ChallengeState.CONFIRMED:
        return redirect("users:register_password")
    form = ActivationPasswordForm()
    if request.method == "POST":
        if request.POST.get("action") == "resend":
            try:
                registration_resend(pending=pending)
            except ChallengeError as exc:
                return _registration_restart(request, exc.message)
            _registration_pending_keep(request, pending)
            _keep_registration_session(request)
            messages.success(
                request, _("We have sent you a new activation password. The previous one no longer works.")
            )
            return redirect("users:register_activate")
        form = ActivationPasswordForm(request.POST)
        if form.is_valid():
            try:
                registration_activate(pending=pending, code=form.cleaned_data["activation_password"])
            except ChallengeError as exc:
                _registration_pending_keep(request, pending)
                if exc.code == "too_many_attempts":
                    return _registration_restart(
                        request,
                        _("The activation password was wrong three times. Please start the registration again."),
                    )
                if exc.code in _CHALLENGE_ENDED:
                    return _registration_restart(request, exc.message)
                form.add_error("activation_password", exc.message)
            else:
                return redirect("users:register_password")
    return render(
        request,
        "users/register_activate.html",
        {"form": form, "expired": pending.is_expired(), "step": 3},
    )


@sensitive_post_parameters("new_password", "new_password_again")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(group="users.register_activate.ip", key="ip", rate=ratelimits.REGISTER_ACTIVATE_PER_IP, method="POST")
def register_password(request: HttpRequest) -> HttpResponse:
    """Step 4 of 4: the user's own password; a new user is then signed in, a reset goes to the sign-in."""
    pending = _registration_pending(request)
    if pending is None:
        request.session.pop(REGISTRATION, None)
        return redirect("users:register")
    if isinstance(pending, DecoyActivation) or pending.state == ChallengeState.PENDING:
        # A decoy is never confirmed: like a challenge still waiting for its password.
        return redirect("users:register_activate")
    challenge = pending
    if not registration_password_step_open(challenge=challenge):
        return _registration_restart(request, _("The registration has expired. Please start again."))
    customer = challenge.customer
    user = portal_user_for_customer(customer=customer)
    form = SetPasswordForm(request.POST or None, customer=customer, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            result = registration_complete(challenge=challenge, password=form.cleaned_data["new_password"])
        except PasswordRejected as exc:
            form.add_error("new_password", exc.error)
        except RegistrationRefused as exc:
            return _registration_restart(request, exc.message)
        else:
            request.session.pop(REGISTRATION, None)
            return _after_registration(request, result.user, created=result.created, blocked=result.access_blocked)
    return render(request, "users/register_password.html", {"form": form, "step": 4, "first": user is None})


def _after_registration(request: HttpRequest, user: User, *, created: bool, blocked: bool) -> HttpResponse:
    if blocked:
        messages.warning(
            request,
            _(
                "Your new password is set, but your access to the portal is blocked. "
                "To unblock it, call your bank's helpline or visit a branch."
            ),
        )
        return redirect("users:login")
    if not created:
        return _after_reset(request, user)
    try:
        completed = user_login_after_registration(user=user)
    except LoginRefused as exc:
        messages.error(request, exc.message)
        return redirect("users:login")
    _sign_in(request, completed)
    messages.success(request, _("You are registered. Welcome to Kartosfera!"))
    return redirect(settings.LOGIN_REDIRECT_URL)


def _after_reset(request: HttpRequest, user: User) -> HttpResponse:
    """A new password set by registering again: the user signs in with it and a code, as always.

    The reset proved only the phone on file (the identifier is no secret), so it never signs anybody in
    by itself [ASVS 5.0 6.4.3]: signing in still takes the password and the code to the portal phone.
    """
    request.session.set_expiry(None)  # the registration's longer age does not carry over
    if lock := user_lock_refusal(user=user):
        # The activation password proved the phone on file: telling its holder about the lock reveals
        # nothing to anybody else.
        messages.warning(request, _("Your new password is set.") + " " + lock.message)
        return redirect("users:login")
    messages.success(
        request,
        _(
            "Your new password is set and every other session has been signed out. "
            "Sign in with it and the code we send to your phone."
        ),
    )
    return redirect("users:login")


# --- Security history ---------------------------------------------------------------


@require_safe
@cardholder_required
def security(request: HttpRequest) -> HttpResponse:
    """The last sign-in and the user's recent security events."""
    user = request.user
    assert isinstance(user, User)  # cardholder_required
    return render(request, "users/security.html", {"events": security_events_for_user(user=user, limit=20)})
