from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.banks.models import Bank
from kartosfera.cards.controls import product_limit_fields, product_limits_errors, product_maxima_changed
from kartosfera.cards.credit_terms import credit_terms_set
from kartosfera.cards.models import (
    MAX_VALIDITY_MONTHS,
    Brand,
    Card,
    CardProduct,
    Funding,
    Segment,
    last_day_of_month,
)
from kartosfera.cards.pan import decrypt_pan, encrypt_pan, pan_fingerprint, validate_pan
from kartosfera.cards.states import REASONS_FOR_TARGET, CardStatus, StatusReason, is_transition_allowed
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.dates import EARLIEST_DATE
from kartosfera.core.errors import Conflict, InvalidTransition, ValidationFailed
from kartosfera.core.money import Currency
from kartosfera.customers.models import Customer
from kartosfera.customers.selectors import is_customer_of
from kartosfera.tokens.services import card_tokens_follow_status

PRODUCT_UPDATABLE_FIELDS = ("name", "contactless_capable", "validity_months", *product_limit_fields())


def _product_view(product: CardProduct) -> dict[str, Any]:
    return {
        name: getattr(product, name)
        for name in ("name", "contactless_capable", "validity_months", *product_limit_fields())
    }


def _check_product_limits(values: dict[str, Any]) -> None:
    errors = product_limits_errors(values)
    if values.get("validity_months") is not None and not 1 <= values["validity_months"] <= MAX_VALIDITY_MONTHS:
        errors["validity_months"] = _("Validity must be between 1 and 120 months.")
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def card_product_create(
    *,
    actor: Actor,
    bank: Bank,
    code: str,
    name: str,
    brand: str,
    funding: str,
    segment: str,
    contactless_capable: bool = True,
    currency: str = Currency.PLN,
    validity_months: int = 48,
    cash_limit_max_minor: int,
    noncash_limit_max_minor: int,
    internet_limit_max_minor: int,
    cash_limit_default_minor: int,
    noncash_limit_default_minor: int,
    internet_limit_default_minor: int = 0,
    credit_terms: Mapping[str, Any] | None = None,
) -> CardProduct:
    """Define a card product with its limit maxima and the defaults new cards get (a credit one: and its terms)."""
    values: dict[str, Any] = {
        "cash_limit_max_minor": cash_limit_max_minor,
        "noncash_limit_max_minor": noncash_limit_max_minor,
        "internet_limit_max_minor": internet_limit_max_minor,
        "cash_limit_default_minor": cash_limit_default_minor,
        "noncash_limit_default_minor": noncash_limit_default_minor,
        "internet_limit_default_minor": internet_limit_default_minor,
        "validity_months": validity_months,
    }
    errors: dict[str, str] = {}
    if brand not in Brand.values:
        errors["brand"] = _("Choose Visa or Mastercard.")
    if funding not in Funding.values:
        errors["funding"] = _("Choose debit or credit.")
    if segment not in Segment.values:
        errors["segment"] = _("Choose individual or business.")
    if currency not in Currency.values:
        errors["currency"] = _("Unsupported currency.")
    if not name.strip():
        errors["name"] = _("This field is required.")
    if errors:
        raise ValidationFailed(errors)
    _check_product_limits(values)
    if CardProduct.objects.filter(bank=bank, code=code).exists():
        raise Conflict(_("A card product with this code already exists."))
    try:
        with transaction.atomic():
            product = CardProduct.objects.create(
                bank=bank,
                code=code,
                name=name.strip(),
                brand=brand,
                funding=funding,
                segment=segment,
                contactless_capable=contactless_capable,
                currency=currency,
                **values,
            )
    except IntegrityError:
        raise Conflict(_("A card product with this code already exists.")) from None
    audit_record(
        actor=actor,
        action="cards.product.created",
        obj=product,
        after={"code": code, "brand": brand, "funding": funding, "segment": segment, **_product_view(product)},
    )
    if credit_terms is not None:
        # In the product's transaction: a product whose terms are refused is not created either.
        credit_terms_set(actor=actor, product=product, **credit_terms)
    return product


@transaction.atomic
def card_product_update(*, actor: Actor, product: CardProduct, **changes: Any) -> CardProduct:
    """Change a product; cards follow its new maxima, and limits above them come down. ``credit_terms``: see
    ``credit_terms_set`` (any of the terms; the rest stay)."""
    credit_terms = changes.pop("credit_terms", None)
    if credit_terms is not None:
        credit_terms_set(actor=actor, product=product, **credit_terms)
    unknown = set(changes) - set(PRODUCT_UPDATABLE_FIELDS)
    if unknown:
        raise ValidationFailed({name: _("This field cannot be changed.") for name in sorted(unknown)})
    product = CardProduct.objects.select_for_update().get(pk=product.pk)
    before = _product_view(product)
    merged = {**before, **changes}
    _check_product_limits(merged)
    for name, value in changes.items():
        setattr(product, name, value)
    product.save()
    after = _product_view(product)
    changed = sorted(k for k in after if after[k] != before[k])
    if not changed:
        return product
    audit_record(
        actor=actor,
        action="cards.product.updated",
        obj=product,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    maxima_changed = product_maxima_changed(changed)
    contactless_withdrawn = "contactless_capable" in changed and not product.contactless_capable
    if maxima_changed or contactless_withdrawn:
        for card in Card.objects.select_for_update().filter(product=product).order_by("pk"):
            _card_follow_product(card=card, product=product, actor=actor)
    return product


def _card_follow_product(*, card: Card, product: CardProduct, actor: Actor) -> None:
    before = card.controls.audit_view()
    card.controls.follow_product(product)
    after = card.controls.audit_view()
    if after != before:
        card.save()
        changed = sorted(k for k in after if after[k] != before[k])
        audit_record(
            actor=actor,
            action="cards.card.product_terms_applied",
            obj=card,
            customer_id=card.customer_id,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )


def _card_audit_view(card: Card) -> dict[str, Any]:
    return {
        "reference": card.reference,
        "product": card.product.code,
        "account": card.account.reference,
        "last4": card.pan_last4,
        "expiry": card.expiry.isoformat(),
        "status": card.status,
        "status_reason": card.status_reason,
        **card.controls.audit_view(),
    }


def expiry_after(start: dt.date, months: int) -> dt.date:
    """The last day of the month ``months`` after ``start``'s month."""
    month_index = start.year * 12 + (start.month - 1) + months
    return last_day_of_month(month_index // 12, month_index % 12 + 1)


def default_expiry(product: CardProduct, today: dt.date | None = None) -> dt.date:
    """A new card's expiry: the product's validity counted from this month."""
    return expiry_after(today or timezone.localdate(), product.validity_months)


def latest_expiry(issued_on: dt.date) -> dt.date:
    """The latest expiry a card issued on ``issued_on`` may have (MAX_VALIDITY_MONTHS later)."""
    return expiry_after(issued_on, MAX_VALIDITY_MONTHS)


def _check_dates(*, issued_on: dt.date, expiry: dt.date, today: dt.date) -> None:
    if issued_on > today:
        raise ValidationFailed({"issued_on": _("The issue date cannot be in the future.")})
    if issued_on < EARLIEST_DATE:
        raise ValidationFailed({"issued_on": _("The issue date cannot be before 1900-01-01.")})
    if expiry < issued_on:
        raise ValidationFailed({"expiry": _("A card cannot expire before it is issued.")})
    if expiry > latest_expiry(issued_on):
        raise ValidationFailed(
            {
                "expiry": _("A card can be valid for at most %(years)s years from its issue.")
                % {"years": MAX_VALIDITY_MONTHS // 12}
            }
        )


def _check_issue(*, product: CardProduct, account: Account, customer: Customer, embossed_name: str) -> None:
    errors: dict[str, str] = {}
    # A card's bank is its product's: the account it draws on and its holder must be that bank's too.
    if account.bank_id != product.bank_id:
        errors["account"] = _("The account belongs to another bank than the card product.")
    elif not is_customer_of(customer=customer, bank=product.bank):
        errors["customer"] = _("The cardholder is not a customer of the card's bank.")
    if account.currency != product.currency:
        errors["account"] = _("The account's currency differs from the product's.")
    expected_kind = AccountKind.CREDIT if product.funding == Funding.CREDIT else AccountKind.DEBIT
    if account.kind != expected_kind:
        errors["account"] = _("A credit card needs a credit account and a debit card a debit account.")
    if product.segment == Segment.INDIVIDUAL and account.customer_id != customer.pk:
        errors["customer"] = _("An individual card is issued to the account's owner.")
    # Measured as embossed (upper case): "ß".upper() is "SS", and the column holds 26.
    if not embossed_name.strip() or len(embossed_name.strip().upper()) > 26:
        errors["embossed_name"] = _("The name on the card must have 1 to 26 characters.")
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def card_issue(
    *,
    actor: Actor,
    reference: str,
    product: CardProduct,
    account: Account,
    customer: Customer,
    pan: str,
    embossed_name: str,
    expiry: dt.date | None = None,
    replaces: Card | None = None,
    reason: str = StatusReason.ISSUED,
    issued_on: dt.date | None = None,
) -> Card:
    """Issue an inactive card with the product's default limits; ``issued_on`` backdates its issue."""
    try:
        pan = validate_pan(pan, brand=product.brand)
    except ValidationError as exc:
        raise ValidationFailed({"pan": exc.messages[0]}) from None
    _check_issue(product=product, account=account, customer=customer, embossed_name=embossed_name)
    # A bank provisioning cards it issued earlier (a migration, the demo) passes
    # the real issue date; the card's validity is then counted from that date.
    today = timezone.localdate()
    issued_on = issued_on or today
    # Checked before the default expiry is computed from it: a date near year 9999 would overflow.
    _check_dates(issued_on=issued_on, expiry=expiry or issued_on, today=today)
    expiry = last_day_of_month(expiry.year, expiry.month) if expiry else default_expiry(product, issued_on)
    _check_dates(issued_on=issued_on, expiry=expiry, today=today)
    fingerprint = pan_fingerprint(pan)
    if Card.objects.filter(bank_id=product.bank_id, reference=reference).exists():
        raise Conflict(_("A card with this reference already exists."))
    holders = set(Card.objects.filter(pan_fingerprint=fingerprint).values_list("customer_id", flat=True))
    if holders - {customer.pk} or Card.objects.filter(pan_fingerprint=fingerprint, expiry=expiry).exists():
        raise Conflict(_("This card number is already in use."))
    card = Card(
        bank_id=product.bank_id,
        reference=reference,
        product=product,
        account=account,
        customer=customer,
        embossed_name=embossed_name.strip().upper(),
        pan_ciphertext=encrypt_pan(pan),
        pan_fingerprint=fingerprint,
        pin_binding=fingerprint,
        pan_last4=pan[-4:],
        expiry=expiry,
        status=CardStatus.INACTIVE,
        status_reason=reason,
        status_changed_at=timezone.now(),
        replaces=replaces,
    )
    card.controls.take_product_defaults(product)
    try:
        with transaction.atomic():
            card.save()
    except IntegrityError:
        raise Conflict(_("A card with this reference or number already exists.")) from None
    audit_record(
        actor=actor,
        action="cards.card.issued",
        obj=card,
        customer_id=customer.pk,
        after={
            **_card_audit_view(card),
            "issued_on": issued_on.isoformat(),
            "replaces": replaces.reference if replaces else None,
        },
    )
    return card


@transaction.atomic
def card_renew(
    *, actor: Actor, card: Card, reference: str, pan: str | None = None, expiry: dt.date | None = None
) -> Card:
    """Issue the renewal of a card: usually the same number with a new expiry.

    The old card keeps working until the renewal is activated (or expires).
    """
    card = Card.objects.select_for_update().select_related("product", "account", "customer").get(pk=card.pk)
    if card.status_now().status == CardStatus.CANCELLED:  # a lapsed 60-day block is a cancellation too
        raise InvalidTransition(_("A cancelled card cannot be renewed; issue a replacement."))
    if hasattr(card, "replaced_by"):
        raise Conflict(_("This card has already been renewed or replaced."))
    new_pan = pan or decrypt_pan(card.pan_ciphertext)
    if expiry is None:
        # A renewal continues the old card's validity rather than restarting it today, within the
        # longest validity counted from today (the renewal's issue); never computed past that
        # bound, which an old card's far expiry (e.g. 9999-12-31) would overflow.
        latest = latest_expiry(timezone.localdate())
        if card.expiry >= latest:
            expiry = latest
        else:
            expiry = min(expiry_after(card.expiry, card.product.validity_months), latest)
    if expiry <= card.expiry:
        raise ValidationFailed({"expiry": _("A renewed card must expire after the card it renews.")})
    return card_issue(
        actor=actor,
        reference=reference,
        product=card.product,
        account=card.account,
        customer=card.customer,
        pan=new_pan,
        embossed_name=card.embossed_name,
        expiry=expiry,
        replaces=card,
        reason=StatusReason.RENEWAL_ISSUED,
    )


@transaction.atomic
def card_replace(*, actor: Actor, card: Card, reference: str, pan: str, expiry: dt.date | None = None) -> Card:
    """Issue a replacement with a new number; the old card is cancelled at once."""
    card = Card.objects.select_for_update().select_related("product", "account", "customer").get(pk=card.pk)
    if hasattr(card, "replaced_by"):
        raise Conflict(_("This card has already been renewed or replaced."))
    if pan_fingerprint(validate_pan_or_fail(pan)) == card.pan_fingerprint:
        raise ValidationFailed({"pan": _("A replacement card needs a new number.")})
    if card.block_lapsed():
        # Already cancelled by its lapsed block: written down as that, when it happened.
        card_transition(
            actor=actor,
            card=card,
            to_status=CardStatus.CANCELLED,
            reason=StatusReason.BLOCK_EXPIRED,
            changed_at=card.block_expires_at(),
        )
    elif card.status != CardStatus.CANCELLED:
        card_transition(actor=actor, card=card, to_status=CardStatus.CANCELLED, reason=StatusReason.REPLACED)
    return card_issue(
        actor=actor,
        reference=reference,
        product=card.product,
        account=card.account,
        customer=card.customer,
        pan=pan,
        embossed_name=card.embossed_name,
        expiry=expiry,
        replaces=card,
        reason=StatusReason.REPLACEMENT_ISSUED,
    )


def validate_pan_or_fail(pan: str) -> str:
    try:
        return validate_pan(pan)
    except ValidationError as exc:
        raise ValidationFailed({"pan": exc.messages[0]}) from None


@transaction.atomic
def card_transition(
    *,
    actor: Actor,
    card: Card,
    to_status: str,
    reason: str,
    block_note: str = "",
    changed_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Card:
    """Move a card along the status machine, under a row lock, with an audit row.

    ``block_note``: the cardholder's short note on a temporary block (kept with the block only).
    ``changed_at``: when the change took effect, if before ``now`` (a lapsed block's cancellation).
    A cancellation switches mobile payments off in the same transaction: a
    cancelled card pays no way at all. The card's wallet tokens follow (tokens/services.py).
    """
    now = now or timezone.now()
    card = Card.objects.select_for_update().select_related("product", "account").get(pk=card.pk)
    if not is_transition_allowed(card.status, to_status):
        raise InvalidTransition(
            _("A card that is %(current)s cannot become %(target)s.")
            % {"current": CardStatus(card.status).label, "target": CardStatus(to_status).label}
        )
    if reason not in REASONS_FOR_TARGET[to_status]:
        raise ValidationFailed({"reason": _("This reason does not fit the change.")})
    if to_status != CardStatus.CANCELLED and card.is_expired(timezone.localdate(now)):
        raise InvalidTransition(_("The card has expired; it can only be cancelled."))
    if to_status != CardStatus.CANCELLED and card.block_lapsed(now):
        raise InvalidTransition(_("The card was blocked for more than 60 days: it can only be cancelled."))
    before: dict[str, Any] = {"status": card.status, "status_reason": card.status_reason}
    card.status = to_status
    card.status_reason = reason
    card.status_changed_at = changed_at or now
    if to_status == CardStatus.BLOCKED:
        card.block_note = block_note.strip()[:200]
    elif to_status == CardStatus.ACTIVE:
        card.block_note = ""
    fields = ["status", "status_reason", "status_changed_at", "block_note", "updated_at"]
    after: dict[str, Any] = {"status": card.status, "status_reason": card.status_reason}
    if to_status == CardStatus.CANCELLED and card.mobile_payments_enabled:
        card.mobile_payments_enabled = False
        fields.append("mobile_payments_enabled")
        before["mobile_payments_enabled"] = True
        after["mobile_payments_enabled"] = False
    card.save(update_fields=fields)
    if to_status == CardStatus.BLOCKED and card.block_note:
        after["block_note"] = card.block_note
    audit_record(
        actor=actor,
        action=f"cards.card.{to_status}",
        obj=card,
        customer_id=card.customer_id,
        before=before,
        after=after,
    )
    # The card's tokens follow it in the same transaction (a block suspends them, an unblock resumes
    # those the block suspended, a cancellation deletes them): one trail for the card and its tokens.
    card_tokens_follow_status(actor=actor, card=card, from_status=before["status"], to_status=to_status)
    return card
