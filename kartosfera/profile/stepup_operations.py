"""The settings operations confirmed with an SMS code (found by kartosfera.sca at start-up)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from kartosfera.core.audit import Actor
from kartosfera.customers.identity import mask_phone
from kartosfera.notifications.texts import LONGEST_E164
from kartosfera.profile.services import (
    LOGIN_MAX_LENGTH,
    user_own_login_set,
    user_password_change,
    user_portal_phone_change,
)
from kartosfera.sca import stepup
from kartosfera.users.models import User

if TYPE_CHECKING:
    from kartosfera.cards.models import Card

PASSWORD_CHANGE = "users.password.change"  # noqa: S105 - an operation name, not a password
OWN_LOGIN_SET = "users.own_login.set"
PHONE_CHANGE = "users.phone.change"


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
