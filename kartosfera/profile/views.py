"""Settings (/settings/): the cardholder's own data and access. Changes go through step-up."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_ratelimit.decorators import ratelimit
from webauthn.helpers import bytes_to_base64url

from kartosfera.core.audit import Actor
from kartosfera.core.decorators import cardholder_required
from kartosfera.core.middleware import clear_site_data, permissions_policy_allow_self
from kartosfera.notices.selectors import decline_sms_enabled
from kartosfera.profile.forms import (
    AccessBlockForm,
    NotificationsForm,
    OwnLoginForm,
    PasskeyAddForm,
    PasswordChangeForm,
    PhoneChangeForm,
)
from kartosfera.profile.selectors import personal_data_for_user
from kartosfera.profile.services import notification_settings_save
from kartosfera.profile.stepup_operations import (
    OWN_LOGIN_SET,
    PASSKEY_ADD,
    PASSKEY_ONLY_SET,
    PASSKEY_REMOVE,
    PASSWORD_CHANGE,
    PHONE_CHANGE,
)
from kartosfera.sca.stepup import stepup_begin
from kartosfera.users.forms import CurrentPasswordForm
from kartosfera.users.models import Passkey, User
from kartosfera.users.passkeys import (
    PASSKEYS_PER_USER,
    PasskeyRefused,
    challenge_remember,
    challenge_take,
    other_second_step_allowed,
    passkey_of_user_get,
    passkey_registration_options,
    passkey_required,
    passkeys_of,
    relying_party,
)
from kartosfera.users.ratelimits import REAUTHENTICATION_GROUP, REAUTHENTICATION_RATE
from kartosfera.users.services import AccessBlockedBy, user_access_block
from kartosfera.users.session_registry import active_sessions_for_user, other_active_session, sessions_end

FORM_METHODS = ["GET", "HEAD", "POST"]


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # unreachable behind cardholder_required
        raise PermissionDenied
    return user


def _data(request: HttpRequest) -> QueryDict | None:
    return request.POST if request.method == "POST" else None


@never_cache
@require_safe
@cardholder_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "profile/index.html", {"data": personal_data_for_user(user=_user(request))})


@sensitive_post_parameters("current_password", "new_password", "new_password_repeat")
@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
# The current password is checked here: without a limit this page would be a
# password-guessing oracle for whoever holds a session (one budget with the other pages that ask for it).
@ratelimit(group=REAUTHENTICATION_GROUP, key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def password(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = PasswordChangeForm(_data(request), user=user)
    if request.method == "POST":
        if getattr(request, "limited", False):
            messages.error(request, _("Too many attempts. Wait a while and try again."))
            return render(request, "profile/password.html", {"form": PasswordChangeForm(user=user)}, status=429)
        if form.is_valid():
            # Only the hash waits in the challenge for the code (never the password itself).
            return stepup_begin(
                request,
                operation=PASSWORD_CHANGE,
                payload={"password_hash": make_password(form.cleaned_data["new_password"])},
                done_url=reverse("profile:index"),
            )
    return render(request, "profile/password.html", {"form": form})


def _too_many_attempts(request: HttpRequest) -> bool:
    """Whether this POST is over the shared budget of current-password checks (then it is not checked at all)."""
    if request.method == "POST" and getattr(request, "limited", False):
        messages.error(request, _("Too many attempts. Wait a while and try again."))
        return True
    return False


@sensitive_post_parameters("current_password")
@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
# The form also says whether a login is taken: without the limit this page would list other people's
# sign-in identifiers for whoever holds a session.
@ratelimit(group=REAUTHENTICATION_GROUP, key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def own_login(request: HttpRequest) -> HttpResponse:
    """The login is a sign-in identifier: setting it needs the password and then the SMS code [ASVS 5.0 7.5.1]."""
    user = _user(request)
    if _too_many_attempts(request):
        form = OwnLoginForm(user=user)
        return render(request, "profile/login.html", {"form": form, "current_login": user.login}, status=429)
    form = OwnLoginForm(_data(request), user=user)
    if request.method == "POST" and form.is_valid():
        return stepup_begin(
            request,
            operation=OWN_LOGIN_SET,
            payload={"login": form.cleaned_data["login"]},
            done_url=reverse("profile:index"),
        )
    return render(request, "profile/login.html", {"form": form, "current_login": user.login})


@sensitive_post_parameters("current_password")
@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
@ratelimit(group=REAUTHENTICATION_GROUP, key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def phone(request: HttpRequest) -> HttpResponse:
    """The number the codes go to: the password, then codes to the current and the new number [ASVS 5.0 7.5.1]."""
    user = _user(request)
    if _too_many_attempts(request):
        context = {"form": PhoneChangeForm(user=user), "data": personal_data_for_user(user=user)}
        return render(request, "profile/phone.html", context, status=429)
    form = PhoneChangeForm(_data(request), user=user)
    if request.method == "POST" and form.is_valid():
        new_phone = form.cleaned_data["new_phone"]
        return stepup_begin(
            request,
            operation=PHONE_CHANGE,
            payload={"new_phone": new_phone},
            verify_phone=new_phone,
            done_url=reverse("profile:index"),
        )
    return render(request, "profile/phone.html", {"form": form, "data": personal_data_for_user(user=user)})


@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def block(request: HttpRequest) -> HttpResponse:
    """Block one's own portal access at once: no code, so it works even when the phone is lost."""
    user = _user(request)
    form = AccessBlockForm(_data(request))
    if request.method == "POST" and form.is_valid():
        user_access_block(actor=Actor.for_user(user), user=user, by=AccessBlockedBy.CUSTOMER)
        auth_logout(request)
        messages.success(request, _("Your access to the portal is blocked. Only your bank can unblock it."))
        return clear_site_data(redirect(settings.LOGOUT_REDIRECT_URL))
    return render(request, "profile/block.html", {"form": form})


@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The text messages the cardholder may switch off: CBPR2's about conversion charges, the decline notices."""
    user = _user(request)
    customer = user.customer
    if customer is None:  # unreachable behind cardholder_required
        raise PermissionDenied
    initial = {
        "conversion_charge_sms": customer.conversion_charge_sms,
        "decline_sms": decline_sms_enabled(customer=customer),
    }
    form = NotificationsForm(_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        notification_settings_save(
            actor=Actor.for_user(user),
            customer=customer,
            conversion_charge_sms=form.cleaned_data["conversion_charge_sms"],
            decline_sms=form.cleaned_data["decline_sms"],
        )
        messages.success(request, _("Your notification settings are saved."))
        return redirect("profile:index")
    return render(request, "profile/notifications.html", {"form": form})


# --- Sessions [ASVS 5.0 7.5.2] -----------------------------------------------------------------------------------


@never_cache
@require_safe
@cardholder_required
def sessions(request: HttpRequest) -> HttpResponse:
    """The user's active sessions, this one marked; each other one can be ended (after the password)."""
    items = active_sessions_for_user(user=_user(request), current_session_key=request.session.session_key)
    has_others = any(not item.is_current for item in items)
    return render(request, "profile/sessions.html", {"sessions": items, "has_others": has_others})


def _session_end_page(request: HttpRequest, *, public_id: str | None) -> HttpResponse:
    """Confirm with the current password, then end one other session (``public_id``) or all the others."""
    user = _user(request)
    current_key = request.session.session_key or ""
    target = None
    if public_id is not None:
        # Another user's session, this session, an ended one or no session at all: the same 404.
        target = other_active_session(user=user, public_id=public_id, current_session_key=current_key)
        if target is None:
            raise Http404
    template = "profile/session_end.html"
    context: dict[str, object] = {"target": target}
    if _too_many_attempts(request):
        return render(request, template, {**context, "form": CurrentPasswordForm(user=user)}, status=429)
    form = CurrentPasswordForm(_data(request), user=user)
    if request.method == "POST" and form.is_valid():
        sessions_end(actor=Actor.for_user(user), user=user, current_session_key=current_key, public_id=public_id)
        if public_id is None:
            update_session_auth_hash(request, user)  # this session stays; the raised epoch ended the others
        if public_id is not None:
            messages.success(request, _("The session has ended. That device is signed out."))
        else:
            messages.success(request, _("All your other sessions have ended. Only this one is signed in."))
        return redirect("profile:sessions")
    return render(request, template, {**context, "form": form})


@sensitive_post_parameters("current_password")
@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
@ratelimit(group=REAUTHENTICATION_GROUP, key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def session_end(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return _session_end_page(request, public_id=str(public_id))


@sensitive_post_parameters("current_password")
@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
@ratelimit(group=REAUTHENTICATION_GROUP, key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    return _session_end_page(request, public_id=None)


# --- Passkeys [ASVS 5.0 6.3.3, 6.6.1] (docs/passkeys.md) ----------------------------------------------------------
# Adding one, removing one and bringing SMS codes back change how the user signs in: like a new portal phone, they
# need the current password and then the SMS code of the step-up [ASVS 5.0 7.5.1]. "Passkey only" on needs
# neither (it only takes the weaker step away).

# {"name", "expires"}: the name given and the password checked, waiting for the authenticator's ceremony.
PASSKEY_ADD_PENDING = "profile.passkey_add"
PASSKEY_ADD_WINDOW = dt.timedelta(minutes=10)
_REGISTER = "register"


def _passkeys_page(
    request: HttpRequest, *, off_form: CurrentPasswordForm | None = None, status: int = 200
) -> HttpResponse:
    user = _user(request)
    items = passkeys_of(user=user)
    context = {
        "passkeys": items,
        "passkey_only": user.passkey_only,
        "required": passkey_required(user=user),
        "can_add": len(items) < PASSKEYS_PER_USER,
        "limit": PASSKEYS_PER_USER,
        "off_form": off_form or CurrentPasswordForm(user=user),
    }
    return render(request, "profile/passkeys.html", context, status=status)


@never_cache
@require_safe
@cardholder_required
def passkeys(request: HttpRequest) -> HttpResponse:
    """The user's passkeys (name, added, last used, synced), why they beat SMS codes, and the "passkey only" choice."""
    return _passkeys_page(request)


@sensitive_post_parameters("current_password")
@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
@ratelimit(group=REAUTHENTICATION_GROUP, key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def passkey_add(request: HttpRequest) -> HttpResponse:
    """Adding a passkey, step 1: its name and the current password (before the device makes a passkey in vain)."""
    user = _user(request)
    if len(passkeys_of(user=user)) >= PASSKEYS_PER_USER:
        messages.error(
            request,
            _("You already have %(limit)d passkeys. Remove one you no longer use first.")
            % {"limit": PASSKEYS_PER_USER},
        )
        return redirect("profile:passkeys")
    if _too_many_attempts(request):
        return render(request, "profile/passkey_add.html", {"form": PasskeyAddForm(user=user)}, status=429)
    form = PasskeyAddForm(_data(request), user=user)
    if request.method == "POST" and form.is_valid():
        request.session[PASSKEY_ADD_PENDING] = {
            "name": form.cleaned_data["name"],
            "expires": (timezone.now() + PASSKEY_ADD_WINDOW).isoformat(),
        }
        return redirect("profile:passkey_create")
    return render(request, "profile/passkey_add.html", {"form": form})


def _passkey_add_pending(request: HttpRequest) -> dict[str, str] | None:
    pending = request.session.get(PASSKEY_ADD_PENDING)
    if not isinstance(pending, dict) or not pending.get("name"):
        return None
    try:
        expires = dt.datetime.fromisoformat(str(pending.get("expires")))
    except ValueError:
        return None
    return pending if timezone.now() < expires else None


@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def passkey_create(request: HttpRequest) -> HttpResponse:
    """Adding a passkey, step 2: the device makes it (the create ceremony); the SMS code of the step-up confirms it.

    The authenticator's answer is checked only when the code confirms the operation (run_passkey_add): the
    confirmation's payload keeps the answer, its challenge and the relying party the options named.
    """
    user = _user(request)
    pending = _passkey_add_pending(request)
    if pending is None:
        request.session.pop(PASSKEY_ADD_PENDING, None)
        return redirect("profile:passkey_add")
    rp = relying_party(host=request.get_host(), secure=request.is_secure())
    if request.method == "POST":
        challenge = challenge_take(request.session, purpose=_REGISTER, user_id=user.pk)
        credential = request.POST.get("credential", "")
        if challenge is None or not credential:
            messages.error(request, str(PasskeyRefused().message))
            return redirect("profile:passkey_create")
        request.session.pop(PASSKEY_ADD_PENDING, None)
        return stepup_begin(
            request,
            operation=PASSKEY_ADD,
            payload={
                "name": pending["name"],
                "credential": credential,
                "challenge": bytes_to_base64url(challenge),
                "rp_id": rp.id,
                "origins": list(rp.origins),
            },
            back_url=reverse("profile:passkeys"),
        )
    # The authenticator lists the passkey under the user's own login, else under the site's name: never the PESEL.
    account_name = user.login or settings.PASSKEY_RP_NAME
    options, challenge = passkey_registration_options(user=user, rp=rp, account_name=account_name)
    challenge_remember(request.session, purpose=_REGISTER, user_id=user.pk, challenge=challenge)
    response = render(request, "profile/passkey_create.html", {"options": options, "name": pending["name"]})
    return permissions_policy_allow_self(response, "publickey-credentials-create")


@sensitive_post_parameters("current_password")
@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
@ratelimit(group=REAUTHENTICATION_GROUP, key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def passkey_remove(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Remove one of the user's passkeys (somebody else's: 404): the current password, then the SMS code."""
    user = _user(request)
    try:
        passkey = passkey_of_user_get(user=user, public_id=public_id)
    except Passkey.DoesNotExist:
        raise Http404 from None
    # The last passkey of a user who can sign in with nothing else stays (passkey_remove refuses it too): said
    # here, before a code is sent for nothing.
    last_needed = len(passkeys_of(user=user)) == 1 and not other_second_step_allowed(user=user, has_passkey=True)
    context: dict[str, object] = {"passkey": passkey, "last_needed": last_needed}
    if _too_many_attempts(request):
        return render(
            request, "profile/passkey_remove.html", {**context, "form": CurrentPasswordForm(user=user)}, status=429
        )
    form = CurrentPasswordForm(_data(request), user=user)
    if request.method == "POST" and not last_needed and form.is_valid():
        return stepup_begin(
            request,
            operation=PASSKEY_REMOVE,
            payload={"passkey": str(passkey.public_id)},
            back_url=reverse("profile:passkeys"),
        )
    return render(request, "profile/passkey_remove.html", {**context, "form": form})


@sensitive_post_parameters("current_password")
@never_cache
@require_POST
@cardholder_required
@ratelimit(group=REAUTHENTICATION_GROUP, key="user", rate=REAUTHENTICATION_RATE, method="POST", block=False)
def passkey_only(request: HttpRequest) -> HttpResponse:
    """Turn "sign in with a passkey only" on (at once) or off (the current password, then the SMS code)."""
    user = _user(request)
    back = reverse("profile:passkeys")
    if request.POST.get("enabled") == "1":
        return stepup_begin(request, operation=PASSKEY_ONLY_SET, payload={"enabled": True}, back_url=back)
    if _too_many_attempts(request):
        return _passkeys_page(request, status=429)
    form = CurrentPasswordForm(request.POST, user=user)
    if not form.is_valid():
        return _passkeys_page(request, off_form=form)
    return stepup_begin(request, operation=PASSKEY_ONLY_SET, payload={"enabled": False}, back_url=back)
