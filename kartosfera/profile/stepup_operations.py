"""The settings operations confirmed with an SMS code (found by kartosfera.sca at start-up)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext as _
from webauthn.helpers import base64url_to_bytes

from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError
from kartosfera.customers.identity import mask_phone
from kartosfera.notifications.texts import LONGEST_E164
from kartosfera.profile.services import (
    LOGIN_MAX_LENGTH,
    user_own_login_set,
    user_password_change,
    user_portal_phone_change,
)
from kartosfera.sca import stepup
from kartosfera.users.models import Passkey, User
from kartosfera.users.passkeys import (
    RelyingParty,
    passkey_of_user_get,
    passkey_only_set,
    passkey_register,
    passkey_remove,
)

if TYPE_CHECKING:
    from kartosfera.cards.models import Card

PASSWORD_CHANGE = "users.password.change"  # noqa: S105 - an operation name, not a password
OWN_LOGIN_SET = "users.own_login.set"
PHONE_CHANGE = "users.phone.change"
# Passkeys change how the user signs in, like the phone the codes go to [ASVS 5.0 6.3.3, 7.5.1].
PASSKEY_ADD = "users.passkey.add"
PASSKEY_REMOVE = "users.passkey.remove"
PASSKEY_ONLY_SET = "users.passkey_only.set"


def describe_password_change(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("change of your portal password")


def describe_own_login_set(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("setting your portal login to %(login)s") % {"login": payload["login"]}


def describe_phone_change(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("change of the portal phone number to %(phone)s") % {"phone": mask_phone(payload["new_phone"])}


@stepup.register(PASSWORD_CHANGE, describe=describe_password_change, secret_keys=("password_hash",), examples=[{}])
def run_password_change(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    # The payload holds the new password's hash (make_password), never the password.
    user_password_change(actor=actor, user=user, password_hash=payload["password_hash"])
    return stepup.StepUpResult(
        message=_("Your password has been changed. You have been signed out everywhere else."),
    )


@stepup.register(OWN_LOGIN_SET, describe=describe_own_login_set, examples=[{"login": "w" * LOGIN_MAX_LENGTH}])
def run_own_login_set(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    updated = user_own_login_set(actor=actor, user=user, login=payload["login"])
    return stepup.StepUpResult(
        message=_("Your login is now %(login)s. You can use it to sign in.") % {"login": updated.login},
    )


@stepup.register(PHONE_CHANGE, describe=describe_phone_change, examples=[{"new_phone": LONGEST_E164}])
def run_phone_change(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    user_portal_phone_change(actor=actor, user=user, new_phone=payload["new_phone"])
    return stepup.StepUpResult(
        message=_("Codes for the portal will now be sent to %(phone)s.") % {"phone": mask_phone(payload["new_phone"])},
    )


# --- Passkeys (kartosfera/users/passkeys.py, docs/passkeys.md) ------------------------------------------------------
# The SMS names the operation but never the passkey's name: the user's own words (any script, up to 64 characters)
# would not fit one GSM-7 segment.


def describe_passkey_add(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("adding a passkey for signing in to the portal")


def describe_passkey_remove(*, payload: Mapping[str, Any], card: Card | None) -> str:
    return _("removing a passkey for signing in to the portal")


def describe_passkey_only_set(*, payload: Mapping[str, Any], card: Card | None) -> str:
    if payload["enabled"]:
        return _("signing in with a passkey only")
    return _("signing in with SMS codes again")


def passkey_only_needs_code(*, payload: Mapping[str, Any], card: Card | None) -> bool:
    # "Passkey only" on takes the weaker second step away: no code needed. Off brings SMS codes back: a code.
    return not payload["enabled"]


@stepup.register(
    PASSKEY_ADD,
    describe=describe_passkey_add,
    examples=[{"name": "w" * 64, "credential": "{}", "challenge": "", "rp_id": "", "origins": []}],
)
def run_passkey_add(*, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> stepup.StepUpResult:
    # The browser's answer waited for the code with its challenge and the relying party it was made for: what the
    # code confirms is exactly the passkey that gets added (and py_webauthn checks it only now, once).
    rp = RelyingParty(id=payload["rp_id"], name=settings.PASSKEY_RP_NAME, origins=tuple(payload["origins"]))
    passkey = passkey_register(
        actor=actor,
        user=user,
        rp=rp,
        challenge=base64url_to_bytes(payload["challenge"]),
        response=payload["credential"],
        name=payload["name"],
    )
    return stepup.StepUpResult(
        message=_("The passkey %(name)s has been added. Next time you sign in, use it instead of an SMS code.")
        % {"name": passkey.name}
    )


@stepup.register(PASSKEY_REMOVE, describe=describe_passkey_remove, examples=[{"passkey": "0" * 36}])
def run_passkey_remove(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    try:
        passkey = passkey_of_user_get(user=user, public_id=payload["passkey"])
    except Passkey.DoesNotExist:
        raise DomainError(_("This passkey has already been removed."), code="passkey_gone") from None
    name = passkey.name
    passkey_remove(actor=actor, passkey=passkey)
    return stepup.StepUpResult(message=_("The passkey %(name)s has been removed.") % {"name": name})


@stepup.register(
    PASSKEY_ONLY_SET,
    describe=describe_passkey_only_set,
    needs_code=passkey_only_needs_code,
    examples=[{"enabled": False}, {"enabled": True}],
)
def run_passkey_only_set(
    *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor
) -> stepup.StepUpResult:
    updated = passkey_only_set(actor=actor, user=user, enabled=bool(payload["enabled"]))
    if updated.passkey_only:
        return stepup.StepUpResult(message=_("From now on you sign in with a passkey only. No SMS code is sent."))
    return stepup.StepUpResult(message=_("You can again choose an SMS code instead of a passkey when you sign in."))
