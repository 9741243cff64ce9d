"""3-D Secure services: the 3DS PIN, the low-value exemption, trusted merchants and the lock.

Rules and sources: docs/3d-secure.md. Setting the PIN, switching the exemption
on and adding a trusted merchant run only as step-up handlers
(kartosfera/secure3d/stepup_operations.py); switching the exemption off and
removing a merchant lower the risk and run at once. The PIN itself never
reaches a service that stores anything: the view validates it and hands on
only its keyed verification values (``threeds_pin_values``, cards/pin.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.cards.pin import (
    PinRule,
    PinSameAsOtherPin,
    is_keyed_values,
    newest_value,
    pin_cards_of_customer,
    pin_values_under_cards,
    pin_weakness,
    pins_lock_customer,
    threeds_pin_verification_values,
    threeds_pin_verify,
    value_under_stored_key,
    values_match,
)
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import Conflict, DomainError, ValidationFailed
from kartosfera.core.models import ActorType
from kartosfera.core.money import Currency, Money
from kartosfera.customers.models import Customer
from kartosfera.notifications.services import sms_send
from kartosfera.sca.services import login_phone
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant
from kartosfera.secure3d.sms_texts import SMS_THREEDS_PIN_CHANGED, SMS_THREEDS_PIN_SET
from kartosfera.users.lockout import lock_end
from kartosfera.users.models import User

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

# Wrong 3DS PINs or codes in a row that lock internet payments [bank: 3].
MAX_FAILURES = 3
# The low-value exemption as the bank applies it [bank; PSD2 RTS art. 16 allows up to
# 30 EUR a payment, 100 EUR in total or 5 in a row].
EXEMPTION_MAX_PAYMENT_PLN = 100
EXEMPTION_MAX_TOTAL_PLN = 400
EXEMPTION_MAX_IN_A_ROW = 5
# At most this many trusted merchants per customer [ours: a list nobody can review is no protection].
MAX_TRUSTED_MERCHANTS = 50
MERCHANT_NAME_MAX_LENGTH = 100
MERCHANT_ID_MAX_LENGTH = 35
_MERCHANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
# ISO 3166-1 alpha-2 codes (phonenumbers' region list, without its non-geographic "001").
COUNTRY_CODES = frozenset(code for code in phonenumbers.SUPPORTED_REGIONS if len(code) == 2 and code.isalpha())

_STAFF_OR_SYSTEM = {ActorType.STAFF, ActorType.SYSTEM}


class ThreeDSLocked(DomainError):
    code = "threeds_locked"


# --- The 3DS PIN -------------------------------------------------------------------

THREEDS_PIN_MESSAGES: dict[str, _StrPromise] = {
    PinRule.FORMAT: gettext_lazy("The 3-D Secure code must have exactly 4 digits."),
    PinRule.SAME_DIGITS: gettext_lazy("The 3-D Secure code must not consist of one digit repeated."),
    PinRule.SEQUENCE: gettext_lazy(
        "The 3-D Secure code must not be a run of consecutive digits, such as 1234 or 4321."
    ),
    PinRule.CARD_NUMBER: gettext_lazy("The 3-D Secure code must not be the last 4 digits of one of your cards."),
    PinRule.BIRTH_YEAR: gettext_lazy("The 3-D Secure code must not be your year of birth."),
    PinRule.BIRTH_DAY: gettext_lazy("The 3-D Secure code must not be your birthday (day and month)."),
    PinRule.COMMON: gettext_lazy(
        "This 3-D Secure code is one of the most common ones and easy to guess. Choose another one."
    ),
}


def threeds_pin_validate(pin: str, *, customer: Customer) -> str:
    """Return ``pin`` if it may be a 3DS PIN; raise ValidationError with the reason otherwise.

    The trivial-PIN rules are the card PIN's (cards/pin.py: pin_weakness), with
    the last digits of every card of the customer. Whether it equals a card's
    PIN is checked only after the SMS code (threeds_pin_set): before it, the
    answer would tell a stolen session the card PIN, one try at a time.
    """
    card_numbers = set(pin_cards_of_customer(customer.pk).values_list("pan_last4", flat=True))
    rule = pin_weakness(pin, birth_date=customer.birth_date, card_numbers=card_numbers)
    if rule is not None:
        raise ValidationError(THREEDS_PIN_MESSAGES[rule], code=rule)
    return pin


def threeds_pin_values(pin: str, *, customer: Customer) -> dict[str, Any]:
    """Validate ``pin`` and return what travels to threeds_pin_set instead of it: its keyed values.

    ``pin_verification_values``: the value to keep (bound to the customer), under every PIN key
    (the newest key's is stored); ``card_pin_values``: the same PIN under each card's binding and
    every PIN key, to compare with the cards' PINs once the code is confirmed (one query for all cards).
    """
    threeds_pin_validate(pin, customer=customer)
    return {
        "pin_verification_values": threeds_pin_verification_values(pin, customer=customer),
        "card_pin_values": pin_values_under_cards(pin, customer=customer),
    }


def _profile_locked(customer: Customer) -> ThreeDSProfile:
    """The customer's profile, created if missing, locked for update (call inside a transaction)."""
    ThreeDSProfile.objects.get_or_create(customer=customer)
    return ThreeDSProfile.objects.select_for_update().get(customer=customer)


def threeds_profile_get(*, customer: Customer) -> ThreeDSProfile:
    """The customer's profile as it is now (an unsaved default one if none exists yet)."""
    return ThreeDSProfile.objects.filter(customer=customer).first() or ThreeDSProfile(customer=customer)


def _refuse_a_card_pin(*, customer: Customer, card_pin_values: Mapping[str, Mapping[str, str]]) -> None:
    """Raise PinSameAsOtherPin if the new 3DS PIN is the PIN of one of the customer's cards (one query).

    Each card's value is compared with the candidate under the key it was made with (its pin_key_id).
    """
    cards = pin_cards_of_customer(customer.pk).exclude(pin_verification_value="")
    rows = cards.values_list("pk", "pan_last4", "pin_verification_value", "pin_key_id")
    for card_id, last4, stored, key_id in rows:
        values = card_pin_values.get(str(card_id))
        if values is None:
            # A card that got its PIN after the change was asked for: nothing to compare with.
            raise DomainError(
                _("Your cards have changed since you asked for this. Nothing has been changed: please start again."),
                code="pin_cards_changed",
            )
        candidate = value_under_stored_key(values, key_id)
        if candidate is not None and values_match(stored, candidate):
            raise PinSameAsOtherPin(
                _(
                    "The 3-D Secure code must be different from the PIN of your card %(card)s. "
                    "Nothing has been changed: choose another code."
                )
                % {"card": f"*{last4}"}
            )


def _notify_pin_set(customer: Customer, *, changed: bool) -> None:
    # As for a password change: a hijacked session must not set the code for
    # internet payments unnoticed [ours]. To the phone the codes go to.
    user = User.objects.filter(customer=customer).first()
    phone = login_phone(user) if user is not None else customer.phone_on_file
    if not phone:
        return
    template = SMS_THREEDS_PIN_CHANGED if changed else SMS_THREEDS_PIN_SET
    sms_send(to=phone, message=template.render(), purpose=template.name)


@transaction.atomic
def threeds_pin_set(
    *,
    actor: Actor,
    customer: Customer,
    pin_verification_values: Mapping[str, str],
    card_pin_values: Mapping[str, Mapping[str, str]],
) -> ThreeDSProfile:
    """Set or change the 3DS PIN to the values made by threeds_pin_values when the change was asked for.

    Refused (PinSameAsOtherPin) when the PIN is that of one of the customer's
    cards (not a cancelled one: docs/decisions/0008). Tells the holder by SMS.
    """
    if not is_keyed_values(pin_verification_values) or not all(
        is_keyed_values(values) for values in card_pin_values.values()
    ):
        raise ValueError("threeds_pin_set takes the PIN's verification values from threeds_pin_values, not a PIN")
    pins_lock_customer(customer.pk)
    profile = _profile_locked(customer)
    _refuse_a_card_pin(customer=customer, card_pin_values=card_pin_values)
    value, key_id = newest_value(pin_verification_values)
    changed = profile.has_pin
    profile.pin_verification_value = value
    profile.pin_key_id = key_id
    profile.pin_set_at = timezone.now()
    profile.save(update_fields=["pin_verification_value", "pin_key_id", "pin_set_at", "updated_at"])
    audit_record(
        actor=actor,
        action="secure3d.pin.changed" if changed else "secure3d.pin.set",
        obj=profile,
        customer_id=customer.pk,
    )
    _notify_pin_set(customer, changed=changed)
    return profile


# --- The low-value exemption -------------------------------------------------------


@dataclass(frozen=True)
class ExemptionRule:
    """The low-value rule as the card core applies it: each payment, and the total or the number in a row."""

    payment: Money
    total: Money | None
    in_a_row: int | None


def threeds_exemption_rule() -> ExemptionRule:
    """The rule the portal states: the bank's figures, with the one counter the bank applies.

    The EBA lets the bank end the exemption by the total or by the number in a row, not necessarily both
    (``settings.PSD2_EXEMPTION_COUNTER``; the card core: kartosfera/processing/exemptions.py).
    """
    by_count = settings.PSD2_EXEMPTION_COUNTER == "count"
    return ExemptionRule(
        payment=Money(EXEMPTION_MAX_PAYMENT_PLN * 100, Currency.PLN),
        total=None if by_count else Money(EXEMPTION_MAX_TOTAL_PLN * 100, Currency.PLN),
        in_a_row=EXEMPTION_MAX_IN_A_ROW if by_count else None,
    )


@transaction.atomic
def threeds_exemption_set(*, actor: Actor, customer: Customer, enabled: bool) -> ThreeDSProfile:
    """Switch the low-value exemption on or off (on only after a step-up code: see the views)."""
    profile = _profile_locked(customer)
    before = profile.low_value_exemption
    if before != enabled:
        profile.low_value_exemption = enabled
        profile.save(update_fields=["low_value_exemption", "updated_at"])
        audit_record(
            actor=actor,
            action="secure3d.exemption.changed",
            obj=profile,
            customer_id=customer.pk,
            before={"low_value_exemption": before},
            after={"low_value_exemption": enabled},
        )
    return profile


# --- Trusted merchants -------------------------------------------------------------


def trusted_merchant_clean(*, name: str, merchant_id: str, country: str) -> dict[str, str]:
    """The merchant's fields as stored; ValidationFailed (per field) when one breaks a rule."""
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())
    merchant_id = (merchant_id or "").strip()
    country = (country or "").strip().upper()
    if not name or len(name) > MERCHANT_NAME_MAX_LENGTH:
        errors["name"] = _("Enter the merchant's name (at most %(max)d characters).") % {
            "max": MERCHANT_NAME_MAX_LENGTH
        }
    if not merchant_id or len(merchant_id) > MERCHANT_ID_MAX_LENGTH or not _MERCHANT_ID.match(merchant_id):
        errors["merchant_id"] = _(
            "Enter the merchant ID: up to %(max)d Latin letters, digits, dots, slashes and hyphens."
        ) % {"max": MERCHANT_ID_MAX_LENGTH}
    if country not in COUNTRY_CODES:
        errors["country"] = _("Enter the country as a two-letter ISO code, e.g. PL.")
    if errors:
        raise ValidationFailed(errors, message=next(iter(errors.values())))
    return {"name": name, "merchant_id": merchant_id, "country": country}


def trusted_merchant_check_new(*, customer: Customer, merchant_id: str) -> None:
    """Refuse a merchant already on the list, or a full list (checked again when it is added)."""
    if TrustedMerchant.objects.filter(customer=customer, merchant_id=merchant_id).exists():
        raise Conflict(_("This merchant is already on your list of trusted merchants."), code="merchant_exists")
    if TrustedMerchant.objects.filter(customer=customer).count() >= MAX_TRUSTED_MERCHANTS:
        raise DomainError(
            _("You can have at most %(max)d trusted merchants. Remove one first.") % {"max": MAX_TRUSTED_MERCHANTS},
            code="merchant_list_full",
        )


@transaction.atomic
def trusted_merchant_add(
    *, actor: Actor, customer: Customer, name: str, merchant_id: str, country: str
) -> TrustedMerchant:
    """Add a merchant whose payments need no 3DS PIN (only after a step-up code: see the views)."""
    fields = trusted_merchant_clean(name=name, merchant_id=merchant_id, country=country)
    _profile_locked(customer)  # serialises the list's checks for this customer
    trusted_merchant_check_new(customer=customer, merchant_id=fields["merchant_id"])
    try:
        with transaction.atomic():
            merchant = TrustedMerchant.objects.create(customer=customer, **fields)
    except IntegrityError:
        raise Conflict(
            _("This merchant is already on your list of trusted merchants."), code="merchant_exists"
        ) from None
    audit_record(actor=actor, action="secure3d.merchant.added", obj=merchant, customer_id=customer.pk, after=fields)
    return merchant


@transaction.atomic
def trusted_merchant_remove(*, actor: Actor, customer: Customer, merchant: TrustedMerchant) -> None:
    """Remove a trusted merchant (of ``customer``: anyone else's is refused)."""
    if merchant.customer_id != customer.pk:
        raise PermissionDenied
    locked = TrustedMerchant.objects.select_for_update().filter(pk=merchant.pk, customer=customer).first()
    if locked is None:
        return  # already removed (a second click)
    before = {"name": locked.name, "merchant_id": locked.merchant_id, "country": locked.country}
    audit_record(actor=actor, action="secure3d.merchant.removed", obj=locked, customer_id=customer.pk, before=before)
    locked.delete()


# --- Failures and the lock ---------------------------------------------------------


def _lock_expired(profile: ThreeDSProfile, now: dt.datetime) -> bool:
    return profile.locked_until is not None and profile.locked_until <= now


def threeds_is_locked(*, customer: Customer, now: dt.datetime | None = None) -> bool:
    """Whether the customer's internet payments are locked after wrong 3DS PINs or codes."""
    now = now or timezone.now()
    return ThreeDSProfile.objects.filter(customer=customer, locked_until__gt=now).exists()


@transaction.atomic
def threeds_failure_record(*, customer: Customer, now: dt.datetime) -> ThreeDSProfile:
    """Count one wrong 3DS PIN or code; the third in a row locks internet payments until the next Warsaw midnight."""
    profile = _profile_locked(customer)
    if _lock_expired(profile, now):
        profile.locked_until = None
        profile.failed_attempts = 0
    if profile.locked_until is not None:
        return profile  # already locked: the lock does not grow
    profile.failed_attempts += 1
    actor = Actor.system("3ds")
    if profile.failed_attempts >= MAX_FAILURES:
        profile.locked_until = lock_end(now)
        profile.failed_attempts = 0
        audit_record(
            actor=actor,
            action="secure3d.locked",
            obj=profile,
            customer_id=customer.pk,
            after={"locked_until": profile.locked_until.isoformat()},
        )
    else:
        audit_record(
            actor=actor,
            action="secure3d.failure",
            obj=profile,
            customer_id=customer.pk,
            after={"failed_attempts": profile.failed_attempts},
        )
    profile.save(update_fields=["failed_attempts", "locked_until", "updated_at"])
    return profile


@transaction.atomic
def threeds_success_record(
    *, customer: Customer, now: dt.datetime, rewrite: tuple[str, str, str] | None = None
) -> None:
    """A right 3DS PIN or code: the count of failures in a row starts again (a lock stays).

    ``rewrite``: (the value verified, its value under the newest PIN key, that key's id) when the PIN was right
    under an older key: stored under the profile's lock, unless the PIN was changed meanwhile. The same PIN
    under another key is not a PIN change: no audit row, no SMS (docs/pin.md, "Changing the PIN key").
    """
    profile = _profile_locked(customer)
    if rewrite is not None and profile.pin_verification_value == rewrite[0]:
        profile.pin_verification_value, profile.pin_key_id = rewrite[1], rewrite[2]
        profile.save(update_fields=["pin_verification_value", "pin_key_id", "updated_at"])
    if profile.failed_attempts and not (profile.locked_until and profile.locked_until > now):
        profile.failed_attempts = 0
        profile.save(update_fields=["failed_attempts", "updated_at"])


def threeds_pin_check(*, customer: Customer, pin: str, now: dt.datetime) -> bool:
    """Check a 3DS PIN typed during a payment; a wrong one counts as a failure. Locked: ThreeDSLocked."""
    if threeds_is_locked(customer=customer, now=now):
        raise ThreeDSLocked(_("Internet payments are locked."))
    profile = threeds_profile_get(customer=customer)
    result = threeds_pin_verify(
        pin, customer=customer, stored=profile.pin_verification_value, key_id=profile.pin_key_id
    )
    if result.matched:
        rewrite = (profile.pin_verification_value, *result.rewrite) if result.rewrite is not None else None
        threeds_success_record(customer=customer, now=now, rewrite=rewrite)
        return True
    if result.key_removed:
        # Made under a key no longer configured (logged by threeds_pin_verify): no PIN can match, and it is not
        # the holder's wrong PIN, so it is not counted; the holder sets a new 3DS PIN in the portal.
        return False
    threeds_failure_record(customer=customer, now=now)
    return False


@transaction.atomic
def threeds_unlock(*, actor: Actor, customer: Customer, reason: str) -> ThreeDSProfile:
    """Lift the lock before midnight: bank staff or the system only, with a reason."""
    if actor.type not in _STAFF_OR_SYSTEM:
        raise PermissionDenied("only bank staff or the system can unlock 3-D Secure")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": _("Give the reason for the unlock.")})
    profile = _profile_locked(customer)
    before = profile.locked_until.isoformat() if profile.locked_until else None
    profile.locked_until = None
    profile.failed_attempts = 0
    profile.save(update_fields=["locked_until", "failed_attempts", "updated_at"])
    audit_record(
        actor=actor,
        action="secure3d.unlocked",
        obj=profile,
        customer_id=customer.pk,
        before={"locked_until": before},
        after={"reason": reason[:500]},
    )
    return profile
