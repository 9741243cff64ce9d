"""Staff accounts in the back office: the own password, the enrolment link, and the supervisors' staff page.

[ASVS 5.0 6.2.2] any staff member changes their own password (current password, the new one twice, the
authenticator's code); [6.4.6, 6.4.4] an enrolment link, sent by SMS to the member's own work phone, lets the
member alone set a password and enrol an authenticator; [6.5.6] a supervisor resets (password and
authenticators removed, a new link sent to the member) or disables a
staff account of their scope, which ends its sessions. The services are backoffice/accounts.py.
"""

from __future__ import annotations

import base64

from django.contrib.auth import update_session_auth_hash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
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
from kartosfera.backoffice.forms import StaffAccountForm, StaffEnrolmentForm, StaffPasswordChangeForm
from kartosfera.backoffice.roles import StaffPermission
from kartosfera.backoffice.views import FLASH_KEY, LOGIN_PER_IP, _flash, _scope, _staff, staff_required
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.users.ratelimits import REAUTHENTICATION_RATE

FORM_METHODS = ["GET", "HEAD", "POST"]
ENROLMENT_KEY = "kf.bo.enrolment"


def _field_errors(form: object, exc: ValidationFailed) -> None:
    fields = getattr(form, "fields", {})
    for field, message in exc.field_errors.items():
        form.add_error(field if field in fields else None, message)  # type: ignore[attr-defined]


# --- The own password ---------------------------------------------------------------------------


@sensitive_post_parameters("current_password", "new_password", "new_password_repeat", "code")
@csrf_protect
@never_cache
@require_http_methods(FORM_METHODS)
@staff_required(None)
# The current password and a code are checked here: without a limit this page would be a guessing oracle for
# whoever holds a session (the portal's password change has the same budget, users/ratelimits.py).
@ratelimit(group="backoffice.password_change", key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def password_change(request: HttpRequest) -> HttpResponse:
    """Change the own password; every other session of the member ends, this one goes on."""
    staff = _staff(request)
    if request.method == "POST" and getattr(request, "limited", False):
        context = {"form": StaffPasswordChangeForm(), "refusal": _("Too many attempts. Wait a while and try again.")}
        return render(request, "backoffice/password.html", context, status=429)
    form = StaffPasswordChangeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = staff_password_change(
                user=staff,
                current_password=data["current_password"],
                new_password=data["new_password"],
                code=data["code"],
            )
        except ValidationFailed as exc:
            _field_errors(form, exc)
        else:
            # The new hash ends every other session of the member; this one stays, with a new key.
            update_session_auth_hash(request, user)
            _flash(request, _("Your password has been changed. Your other back-office sessions have ended."))
            return redirect("backoffice:home")
    return render(request, "backoffice/password.html", {"form": form}, status=400 if form.errors else 200)


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
