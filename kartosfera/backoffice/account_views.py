"""Staff accounts in the back office: the own password and passkeys, the enrolment link, the supervisors' page.

[ASVS 5.0 6.2.2] any staff member changes their own password (current password, the new one twice, the
authenticator's code); [6.3.3 at Level 3, 7.5.1] adds and removes their own passkeys and chooses "passkey
only", each after confirming it is them (backoffice/staff_passkeys.py); [6.4.6, 6.4.4] an enrolment link, sent
by SMS to the member's own work phone, lets the member alone set a password and enrol an authenticator;
[6.5.6] a supervisor resets (password, authenticators and passkeys removed, a new link sent to the member) or
disables a staff account of their scope, which ends its sessions. The services are backoffice/accounts.py.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

from django.contrib.auth import update_session_auth_hash
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from kartosfera.backoffice import selectors
from kartosfera.backoffice.accounts import (
    STAFF_OPERATIONS,
    staff_account_operate,
    staff_enrolment_complete,
    staff_enrolment_device,
    staff_enrolment_find,
    staff_enrolment_get,
    staff_enrolment_open,
    staff_member_manageable_get,
    staff_password_change,
)
from kartosfera.backoffice.auth import staff_login_code_allowed
from kartosfera.backoffice.forms import (
    StaffAccountForm,
    StaffEnrolmentForm,
    StaffPasskeyAddForm,
    StaffPasskeyConfirmForm,
    StaffPasskeyOnlyForm,
    StaffPasswordChangeForm,
)
from kartosfera.backoffice.roles import StaffPermission
from kartosfera.backoffice.staff_passkeys import (
    REAUTHENTICATION_VALIDITY,
    staff_reauthenticate_code,
    staff_reauthenticate_passkey,
)
from kartosfera.backoffice.views import (
    FLASH_KEY,
    LOGIN_PER_IP,
    _flash,
    _scope,
    _staff,
    staff_relying_party,
    staff_required,
)
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.core.middleware import permissions_policy_allow_self
from kartosfera.users.models import Passkey, User
from kartosfera.users.passkeys import (
    PasskeyRefused,
    challenge_remember,
    challenge_take,
    passkey_authentication_options,
    passkey_of_user_get,
    passkey_only_set,
    passkey_register,
    passkey_registration_options,
    passkey_remove,
    passkey_required,
    passkeys_of,
)
from kartosfera.users.ratelimits import REAUTHENTICATION_RATE

FORM_METHODS = ["GET", "HEAD", "POST"]
ENROLMENT_KEY = "kf.bo.enrolment"
# When the member last confirmed it is them on their account page (staff_passkeys.py).
REAUTHENTICATED_KEY = "kf.bo.reauthenticated"
CONFIRM_CEREMONY = "staff_reauthenticate"
ADD_CEREMONY = "staff_passkey_add"


def _field_errors(form: object, exc: ValidationFailed) -> None:
    fields = getattr(form, "fields", {})
    for field, message in exc.field_errors.items():
        form.add_error(field if field in fields else None, message)  # type: ignore[attr-defined]


# --- The own password ---------------------------------------------------------------------------


def _reauthenticated(request: HttpRequest, user: User) -> bool:
    """Has the member confirmed it is them on this page, in this session, within REAUTHENTICATION_VALIDITY?"""
    kept = request.session.get(REAUTHENTICATED_KEY)
    if not isinstance(kept, dict) or kept.get("user_id") != user.pk:
        return False
    return time.time() - float(kept.get("at", 0)) < REAUTHENTICATION_VALIDITY.total_seconds()


def _render_account(
    request: HttpRequest,
    *,
    form: StaffPasswordChangeForm | None = None,
    confirm_form: StaffPasskeyConfirmForm | None = None,
    add_form: StaffPasskeyAddForm | None = None,
    passkey_error: str = "",
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    """The account page: the password form and the passkeys (their list, then the confirmation or the changes).

    Each rendering that offers a ceremony keeps a new challenge for it in the session (one at a time).
    """
    staff = _staff(request)
    passkeys = passkeys_of(user=staff)
    confirmed = _reauthenticated(request, staff)
    context: dict[str, Any] = {
        "form": form or StaffPasswordChangeForm(code_allowed=staff_login_code_allowed(user=staff)),
        "refusal": refusal,
        "flash": request.session.pop(FLASH_KEY, None),
        "passkeys": passkeys,
        "passkey_error": passkey_error,
        "passkey_confirmed": confirmed,
        "passkey_only": staff.passkey_only,
        "passkey_needed": passkey_required(user=staff) and not passkeys,
        "passkey_required": passkey_required(user=staff),
    }
    rp = staff_relying_party(request)
    if confirmed:
        options, challenge = passkey_registration_options(user=staff, rp=rp, account_name=staff.get_username())
        challenge_remember(request.session, purpose=ADD_CEREMONY, user_id=staff.pk, challenge=challenge)
        context["add_options"] = options
        context["add_form"] = add_form or StaffPasskeyAddForm()
    else:
        if passkeys:
            options, challenge = passkey_authentication_options(user=staff, rp=rp)
            challenge_remember(request.session, purpose=CONFIRM_CEREMONY, user_id=staff.pk, challenge=challenge)
            context["confirm_options"] = options
        if staff_login_code_allowed(user=staff):
            context["confirm_form"] = confirm_form or StaffPasskeyConfirmForm(prefix="confirm")
    response = render(request, "backoffice/password.html", context, status=status)
    features = ["publickey-credentials-create"] if "add_options" in context else []
    if "confirm_options" in context:
        features.append("publickey-credentials-get")
    return permissions_policy_allow_self(response, *features) if features else response


@sensitive_post_parameters("current_password", "new_password", "new_password_repeat", "code")
@csrf_protect
@never_cache
@require_http_methods(FORM_METHODS)
@staff_required(None, passkey_setup=True)
# The current password and a code are checked here: without a limit this page would be a guessing oracle for
# whoever holds a session (the portal's password change has the same budget, users/ratelimits.py).
@ratelimit(group="backoffice.password_change", key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def password_change(request: HttpRequest) -> HttpResponse:
    """The own account: change the password (every other session ends, this one goes on); the passkeys."""
    staff = _staff(request)
    if request.method == "POST" and getattr(request, "limited", False):
        return _render_account(request, refusal=_("Too many attempts. Wait a while and try again."), status=429)
    code_allowed = staff_login_code_allowed(user=staff)
    form = StaffPasswordChangeForm(request.POST if request.method == "POST" else None, code_allowed=code_allowed)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = staff_password_change(
                user=staff,
                current_password=data["current_password"],
                new_password=data["new_password"],
                code=data.get("code", ""),
                passkey_confirmed=_reauthenticated(request, staff),
            )
        except ValidationFailed as exc:
            _field_errors(form, exc)
        else:
            # The new hash ends every other session of the member; this one stays, with a new key.
            update_session_auth_hash(request, user)
            _flash(request, _("Your password has been changed. Your other back-office sessions have ended."))
            return redirect("backoffice:home")
    return _render_account(request, form=form, status=400 if form.errors else 200)


# --- The own passkeys -------------------------------------------------------------------------------


def _to_passkeys() -> HttpResponse:
    return HttpResponseRedirect(reverse("backoffice:password") + "#passkeys")


def _passkey_change(
    view: Any,
) -> Any:
    """The decorators every passkey change shares: POST, CSRF, no-store, a signed-in member (also before their
    first passkey in the Level 3 mode) and the re-authentication budget of the account page."""
    view = ratelimit(group="backoffice.passkeys", key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)(
        view
    )
    view = staff_required(None, passkey_setup=True)(view)
    return csrf_protect(never_cache(require_POST(view)))


def _limited(request: HttpRequest) -> HttpResponse | None:
    if getattr(request, "limited", False):
        return _render_account(request, refusal=_("Too many attempts. Wait a while and try again."), status=429)
    return None


def _not_confirmed(request: HttpRequest) -> HttpResponse | None:
    """A change without a fresh confirmation changes nothing: back to the page, which asks for one."""
    if _reauthenticated(request, _staff(request)):
        return None
    _flash(request, _("Confirm it is you first, then make the change within 5 minutes."))
    return _to_passkeys()


@sensitive_post_parameters("confirm-code", "credential")
@_passkey_change
def passkey_confirm(request: HttpRequest) -> HttpResponse:
    """Confirm it is the member, with one of their passkeys or the authenticator app's code."""
    if (limited := _limited(request)) is not None:
        return limited
    staff = _staff(request)
    credential = request.POST.get("credential", "")
    if credential:
        challenge = challenge_take(request.session, purpose=CONFIRM_CEREMONY, user_id=staff.pk)
        try:
            if challenge is None:
                raise PasskeyRefused()
            staff_reauthenticate_passkey(
                user=staff, rp=staff_relying_party(request), challenge=challenge, response=credential
            )
        except PasskeyRefused as exc:
            return _render_account(request, passkey_error=exc.message, status=400)
    else:
        confirm_form = StaffPasskeyConfirmForm(request.POST, prefix="confirm")
        if not confirm_form.is_valid():
            return _render_account(request, confirm_form=confirm_form, status=400)
        try:
            staff_reauthenticate_code(user=staff, code=confirm_form.cleaned_data["code"])
        except ValidationFailed as exc:
            _field_errors(confirm_form, exc)
            return _render_account(request, confirm_form=confirm_form, status=400)
        except DomainError as exc:
            return _render_account(request, passkey_error=exc.message, status=400)
    request.session[REAUTHENTICATED_KEY] = {"user_id": staff.pk, "at": time.time()}
    return _to_passkeys()


@sensitive_post_parameters("credential")
@_passkey_change
def passkey_add(request: HttpRequest) -> HttpResponse:
    """Add a passkey: its name and the authenticator's answer to the options the page held."""
    if (refused := _limited(request) or _not_confirmed(request)) is not None:
        return refused
    staff = _staff(request)
    form = StaffPasskeyAddForm(request.POST)
    if not form.is_valid():
        return _render_account(request, add_form=form, status=400)
    challenge = challenge_take(request.session, purpose=ADD_CEREMONY, user_id=staff.pk)
    try:
        if challenge is None:
            raise PasskeyRefused()
        passkey = passkey_register(
            actor=Actor.for_user(staff),
            user=staff,
            rp=staff_relying_party(request),
            challenge=challenge,
            response=form.cleaned_data["credential"],
            name=form.cleaned_data["name"],
        )
    except ValidationFailed as exc:
        _field_errors(form, exc)
        return _render_account(request, add_form=form, status=400)
    except DomainError as exc:  # PasskeyRefused included
        return _render_account(request, add_form=form, passkey_error=exc.message, status=400)
    _flash(request, _("The passkey “%(name)s” has been added.") % {"name": passkey.name})
    return _to_passkeys()


@_passkey_change
def passkey_remove_view(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Remove one of the member's own passkeys (anybody else's: 404, before anything else is looked at)."""
    staff = _staff(request)
    try:
        passkey = passkey_of_user_get(user=staff, public_id=public_id)
    except Passkey.DoesNotExist:
        raise Http404 from None
    if (refused := _limited(request) or _not_confirmed(request)) is not None:
        return refused
    try:
        passkey_remove(actor=Actor.for_user(staff), passkey=passkey)
    except DomainError as exc:
        return _render_account(request, passkey_error=exc.message, status=400)
    _flash(request, _("The passkey “%(name)s” has been removed.") % {"name": passkey.name})
    return _to_passkeys()


@_passkey_change
def passkey_only(request: HttpRequest) -> HttpResponse:
    """Turn "sign in with a passkey only" on or off."""
    if (refused := _limited(request) or _not_confirmed(request)) is not None:
        return refused
    staff = _staff(request)
    form = StaffPasskeyOnlyForm(request.POST)
    enabled = form.is_valid() and bool(form.cleaned_data["enabled"])
    try:
        passkey_only_set(actor=Actor.for_user(staff), user=staff, enabled=enabled)
    except DomainError as exc:
        return _render_account(request, passkey_error=exc.message, status=400)
    _flash(
        request,
        _("From now on you sign in with a passkey only.")
        if enabled
        else _("You can sign in with a passkey or the authenticator app's code."),
    )
    return _to_passkeys()


# --- The enrolment link ----------------------------------------------------------------------------


@csrf_exempt  # a link opened from a message: it carries no form, and a refusal would log the path (the token)
@never_cache
def enrol_start(request: HttpRequest, token: str) -> HttpResponse:
    """The link itself: its token moves into the session and out of the address bar (and any Referer).

    Any method is answered with a redirect, never a 4xx (Django logs a 4xx answer's path, which holds the
    token); only a GET opens the link, with an authenticator key of its own (``staff_enrolment_open``).
    """
    if request.method != "GET":
        return redirect("backoffice:enrol")
    enrolment = staff_enrolment_find(token=token)
    if enrolment is None:
        # Not a 404 here: Django logs the path of every 4xx answer, and the path holds the token. The page
        # without a token in the session says the link is no longer valid.
        request.session.pop(ENROLMENT_KEY, None)
        return redirect("backoffice:enrol")
    staff_enrolment_open(enrolment=enrolment)
    request.session.cycle_key()
    request.session[ENROLMENT_KEY] = enrolment.pk
    return redirect("backoffice:enrol")


@sensitive_post_parameters("new_password", "new_password_repeat", "code")
@csrf_protect
@never_cache
@require_http_methods(FORM_METHODS)
@ratelimit(group="backoffice.enrol.ip", key="ip", rate=LOGIN_PER_IP, method="POST", block=True)
def enrol(request: HttpRequest) -> HttpResponse:
    """Set the own password and enrol the authenticator app shown here (its otpauth:// address and key)."""
    enrolment_id = request.session.get(ENROLMENT_KEY)
    enrolment = staff_enrolment_get(enrolment_id=int(enrolment_id)) if isinstance(enrolment_id, int) else None
    if enrolment is None:
        request.session.pop(ENROLMENT_KEY, None)
        return render(request, "backoffice/enrol.html", {"invalid": True}, status=404)
    device = staff_enrolment_device(enrolment=enrolment)
    form = StaffEnrolmentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            staff_enrolment_complete(
                enrolment=enrolment, password=form.cleaned_data["new_password"], code=form.cleaned_data["code"]
            )
        except ValidationFailed as exc:
            _field_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            request.session.pop(ENROLMENT_KEY, None)
            return render(request, "backoffice/enrol.html", {"done": True})
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    context = {
        "form": form,
        "member": enrolment.member,
        "otpauth_url": device.config_url,
        "key_groups": [key[i : i + 4] for i in range(0, len(key), 4)],
        "expires_at": enrolment.expires_at,
    }
    return render(request, "backoffice/enrol.html", context, status=400 if form.errors else 200)


# --- The supervisors' staff accounts page -----------------------------------------------------------


def _render_staff(
    request: HttpRequest, *, bound: tuple[int, str, StaffAccountForm] | None = None, **extra: object
) -> HttpResponse:
    staff = _staff(request)
    rows = []
    for member in selectors.staff_accounts(scope=_scope(request)):
        forms: dict[str, StaffAccountForm] = {}
        if member.user_id != staff.pk:
            for operation in STAFF_OPERATIONS:
                if bound is not None and bound[0] == member.pk and bound[1] == operation:
                    forms[operation] = bound[2]
                else:
                    forms[operation] = StaffAccountForm(prefix=f"{operation}-{member.pk}")
        rows.append({"member": member, "forms": forms})
    context = {"rows": rows, "flash": request.session.pop(FLASH_KEY, None), **extra}
    return render(request, "backoffice/staff.html", context, status=400 if bound is not None else 200)


@never_cache
@require_GET
@staff_required(StaffPermission.STAFF_ACCOUNT_MANAGE)
def staff_accounts(request: HttpRequest) -> HttpResponse:
    """The staff of the supervisor's scope, each with its state and the reset, disable and enable forms."""
    return _render_staff(request)


@never_cache
@require_POST
@staff_required(StaffPermission.STAFF_ACCOUNT_MANAGE)
def staff_account_action(request: HttpRequest, member_id: int, operation: str) -> HttpResponse:
    if operation not in STAFF_OPERATIONS:
        raise Http404
    staff = _staff(request)
    member = staff_member_manageable_get(staff=staff, member_id=member_id)
    form = StaffAccountForm(request.POST, prefix=f"{operation}-{member.pk}")
    if form.is_valid():
        try:
            outcome = staff_account_operate(
                staff=staff, member=member, operation=operation, reason=form.cleaned_data["reason"]
            )
        except ValidationFailed as exc:
            _field_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if outcome is not None:
                # The link went by SMS to the member's own work phone: the supervisor learns where (masked) and
                # until when, never the link [ASVS 5.0 6.4.6].
                return _render_staff(
                    request,
                    issued={
                        "member": member,
                        "sent_to": outcome.sent_to,
                        "until": date_format(timezone.localtime(outcome.expires_at), "SHORT_DATETIME_FORMAT"),
                    },
                )
            message = (
                _("%(name)s's account is disabled: every session of theirs has ended.")
                if operation == "disable"
                else _("%(name)s's account is enabled again.")
            )
            _flash(request, message % {"name": member.full_name})
            return redirect("backoffice:staff_accounts")
    return _render_staff(request, bound=(member.pk, operation, form))
