"""The cardholder's own account settings: password, own login, portal phone, notifications.

Each change of access here runs only as the handler of a confirmed step-up operation
(kartosfera/profile/stepup_operations.py): the views never call them directly. The
notification switches need no code (``notification_settings_save``).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import ValidationFailed
from kartosfera.customers.identity import mask_phone
from kartosfera.customers.models import Customer
from kartosfera.customers.services import customer_conversion_charge_sms_set
from kartosfera.notices.services import decline_sms_set
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.texts import SmsText
from kartosfera.profile.sms_texts import SMS_OWN_LOGIN_CHANGED, SMS_PASSWORD_CHANGED, SMS_PHONE_CHANGED
from kartosfera.sca.stepup import stepup_phone
from kartosfera.users.models import User

LOGIN_MIN_LENGTH = 5
LOGIN_MAX_LENGTH = 64
_LOGIN_CHARACTERS = re.compile(r"^[A-Za-z0-9._-]+$")
# Bank-assigned identification numbers are letters followed by digits
# (NR00000021 in the demo bank); a login shaped like one could one day collide
# with a number the bank assigns, and sign-in looks both up in one field.
_LOOKS_LIKE_BANK_ID = re.compile(r"^[A-Za-z]{1,3}[0-9]{5,}$")

LOGIN_HELP_TEXT = gettext_lazy(
    "From 5 to 64 characters: Latin letters without accents, digits, dot, hyphen and underscore. "
    "It must not consist of digits only or look like an identification number. Upper and lower case are the same."
)


def login_validate(value: str, *, user: User) -> str:
    """Return the login as stored (lower case) if ``user`` may take it; raise ValidationError otherwise.

    Logins are matched without regard to case at sign-in, so they are stored in
    lower case: the database's unique constraint then keeps them unique
    regardless of case even when two people pick one at the same moment.
    """
    login = (value or "").strip()
    if not LOGIN_MIN_LENGTH <= len(login) <= LOGIN_MAX_LENGTH:
        raise ValidationError(
            _("The login must have from %(min)d to %(max)d characters.")
            % {"min": LOGIN_MIN_LENGTH, "max": LOGIN_MAX_LENGTH},
            code="login_length",
        )
    if not _LOGIN_CHARACTERS.match(login):
        raise ValidationError(
            _("Use only Latin letters without accents, digits, dot, hyphen and underscore."), code="login_characters"
        )
    if login.isdigit():
        # A PESEL is 11 digits; no digits-only login can ever be mistaken for one.
        raise ValidationError(_("The login must not consist of digits only."), code="login_digits")
    if _LOOKS_LIKE_BANK_ID.match(login) or Customer.objects.filter(nonresident_id__iexact=login).exists():
        raise ValidationError(
            _("The login must not look like an identification number assigned by the bank."), code="login_bank_id"
        )
    login = login.lower()
    if User.objects.filter(login__iexact=login).exclude(pk=user.pk).exists():
        raise ValidationError(_("This login is already taken. Choose another one."), code="login_taken")
    if login == (user.login or "").lower():
        raise ValidationError(_("This is already your login."), code="login_unchanged")
    return login


def _notify(user: User, message: SmsText, *, purpose: str, phone: str | None = None) -> None:
    # A security change is announced to the number it was confirmed with, so a
    # hijacked session cannot change things unnoticed [ours].
    to = phone or stepup_phone(user)
    if to:
        sms_send(to=to, message=message, purpose=purpose)


@transaction.atomic
def user_password_change(*, actor: Actor, user: User, password_hash: str) -> User:
    """Set the password to ``password_hash`` (made when the change was asked for) and end the other sessions.

    The session auth hash changes with the password, so every session of the
    user ends at its next request; the confirming view keeps its own.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.password = password_hash
    locked.password_changed_at = timezone.now()
    locked.save(update_fields=["password", "password_changed_at"])
    audit_record(actor=actor, action="users.password.changed", obj=locked, customer_id=locked.customer_id)
    _notify(
        locked,
        SMS_PASSWORD_CHANGED.render(),
        purpose="users.password.changed",
    )
    return locked


@transaction.atomic
def user_own_login_set(*, actor: Actor, user: User, login: str) -> User:
    """Set the user's own login (checked again: it may have been taken since the code was sent)."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    try:
        new_login = login_validate(login, user=locked)
    except ValidationError as exc:
        raise ValidationFailed({"login": exc.messages[0]}, message=exc.messages[0]) from None
    before = locked.login
    locked.login = new_login
    try:
        with transaction.atomic():
            locked.save(update_fields=["login"])
    except IntegrityError:
        message = _("This login is already taken. Choose another one.")
        raise ValidationFailed({"login": message}, message=message) from None
    audit_record(
        actor=actor,
        action="users.own_login.changed",
        obj=locked,
        customer_id=locked.customer_id,
        before={"login": before},
        after={"login": new_login},
    )
    # A sign-in identifier is an authentication detail: its owner hears of every change [ASVS 5.0 6.3.7].
    _notify(locked, SMS_OWN_LOGIN_CHANGED.render(), purpose="users.own_login.changed")
    return locked


@transaction.atomic
def user_portal_phone_change(*, actor: Actor, user: User, new_phone: str) -> User:
    """Point the portal's codes to ``new_phone`` (both numbers have confirmed a code) and tell the old one."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    old_phone = stepup_phone(locked)
    locked.portal_phone = new_phone
    locked.save(update_fields=["portal_phone"])
    audit_record(
        actor=actor,
        action="users.phone.changed",
        obj=locked,
        customer_id=locked.customer_id,
        before={"portal_phone": mask_phone(old_phone)},
        after={"portal_phone": mask_phone(new_phone)},
    )
    if old_phone and old_phone != new_phone:
        _notify(
            locked,
            SMS_PHONE_CHANGED.render(phone=mask_phone(new_phone)),
            purpose="users.phone.changed",
            phone=old_phone,
        )
    return locked


@transaction.atomic
def notification_settings_save(
    *, actor: Actor, customer: Customer, conversion_charge_sms: bool, decline_sms: bool
) -> None:
    """Save the Notifications page's switches together (each audited when it changes); no code: they only inform."""
    customer_conversion_charge_sms_set(actor=actor, customer=customer, enabled=conversion_charge_sms)
    decline_sms_set(actor=actor, customer=customer, enabled=decline_sms)
