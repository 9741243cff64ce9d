"""CBPR2: a converted card payment's charge as a mark-up over the ECB rate, and the monthly message.

Regulation (EU) 2021/1230 Art. 4 (Regulation (EU) 2019/518 amending 924/2009, "CBPR2";
docs/processing.md, "The conversion charge"): for a card payment or ATM withdrawal in an EEA
currency other than the account's, the bank states its total currency conversion charge as a
percentage mark-up over the latest available euro foreign exchange reference rate of the ECB,
and sends the payer an electronic message with it on the first such payment in a currency in
a month; the payer may opt out.

- The bank provisions the ECB's rates (``ecb_rates_set``; the provisioning API's
  ``POST /reference-rates``) beside its own conversion rates.
- After an approval commits, ``conversion_charge_after_commit`` (ONE call in
  services.py and one in advices.py) queues ``conversion_charge_record_task``; the task
  records the charge (``ConversionCharge``) and, for the first payment of the card in that
  currency that month, queues the SMS. ``ConversionNotice``'s unique (card, currency,
  month) makes the message once only, whatever retries or races.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kartosfera.cards.models import Card
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import Conflict, ValidationFailed
from kartosfera.core.money import format_decimal
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.texts import sms_bank_name
from kartosfera.processing.conversion import RATE_MAX, RATE_PLACES, minor_exponent
from kartosfera.processing.models import Authorization, ConversionCharge, ConversionNotice, EcbReferenceRate
from kartosfera.processing.sms_texts import SMS_CONVERSION_CHARGE

logger = logging.getLogger(__name__)

CBPR2_ACTOR = Actor.system("cbpr2")

# The currencies of the EEA states (EU, Iceland, Liechtenstein, Norway): the ECB's reference rates
# cover them all. CHF is Liechtenstein's; BGN until Bulgaria's euro (2026-01-01), kept for older payments.
EEA_CURRENCIES = frozenset({"EUR", "BGN", "CZK", "DKK", "HUF", "PLN", "RON", "SEK", "ISK", "NOK", "CHF"})
# The ECB publishes its reference rates around 16:00 CET on each of its working days.
ECB_PUBLICATION_TIME = dt.time(16, 0)
ECB_TIME_ZONE = ZoneInfo("Europe/Berlin")
# How far back the latest rates may lie (a long holiday has 4 days without a fixing); older is "none".
ECB_RATE_MAX_AGE = dt.timedelta(days=10)
# A message about a payment older than this (Warsaw days) is no longer sent: "without undue delay"
# has passed, and a back-filled or replayed history must not text its holder about last month.
NOTICE_MAX_AGE_DAYS = 1
MARKUP_PLACES = Decimal("0.01")
# ConversionCharge's rates: 24 digits, 12 after the point.
RATE_LIMIT = Decimal(10) ** 12


class NoticeOutcome:
    """What became of the message for one recorded charge (in its audit row)."""

    SENT = "sent"
    ALREADY_SENT = "already_sent_this_month"
    OPTED_OUT = "opted_out"
    NO_PHONE = "no_phone"
    TOO_LATE = "payment_too_old"


class EcbRatesExist(Conflict):
    default_message = gettext_lazy("ECB reference rates of this day were already provisioned for these currencies.")
    code = "ecb_rates_exist"


# --- The ECB's rates ---------------------------------------------------------------------


def ecb_available_from(rate_date: dt.date) -> dt.datetime:
    """When a day's reference rates become available: its 16:00 in Frankfurt."""
    return dt.datetime.combine(rate_date, ECB_PUBLICATION_TIME, tzinfo=ECB_TIME_ZONE)


def ecb_rates_set(
    *, actor: Actor, rate_date: dt.date, rates: Mapping[str, Decimal], available_from: dt.datetime | None = None
) -> list[EcbReferenceRate]:
    """Provision one day's ECB reference rates (1 EUR = rate units of each currency), all or none."""
    errors: dict[str, str] = {}
    if not rates:
        errors["rates"] = _("Send at least one rate.")
    for currency, rate in rates.items():
        field = f"rates.{currency}"
        if len(currency) != 3 or not currency.isascii() or not currency.isupper() or not currency.isalpha():
            errors[field] = _("Name the currency by its ISO 4217 code.")
        elif currency == "EUR":
            errors[field] = _("The ECB's rates are quoted against the euro: there is no EUR rate.")
        elif not (0 < rate < RATE_MAX) or rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES), ROUND_HALF_UP):
            errors[field] = _("The rate must be above 0, below 10^9, with at most 9 decimal places.")
    if not dt.date(1999, 1, 4) <= rate_date <= timezone.localdate():
        # The ECB's first reference rates are of 4 January 1999.
        errors["date"] = _("The date must lie between 1999-01-04 (the ECB's first rates) and today.")
    if errors:
        raise ValidationFailed(errors)
    available = available_from or ecb_available_from(rate_date)
    try:
        with transaction.atomic():
            rows = [
                EcbReferenceRate.objects.create(
                    currency=currency, rate=rate, rate_date=rate_date, available_from=available
                )
                for currency, rate in sorted(rates.items())
            ]
            audit_record(
                actor=actor,
                action="processing.ecb_rates.set",
                after={
                    "date": rate_date.isoformat(),
                    "available_from": available.isoformat(),
                    "rates": {currency: str(rate) for currency, rate in sorted(rates.items())},
                },
            )
    except IntegrityError as error:
        raise EcbRatesExist() from error
    return rows


def ecb_rate_latest(currency: str, *, at: dt.datetime) -> EcbReferenceRate | None:
    """The latest ECB rate of ``currency`` available at ``at`` (and not older than ECB_RATE_MAX_AGE)."""
    return (
        EcbReferenceRate.objects.filter(
            currency=currency, available_from__lte=at, available_from__gt=at - ECB_RATE_MAX_AGE
        )
        .order_by("-available_from", "-rate_date")
        .first()
    )


@dataclass(frozen=True)
class ReferenceRate:
    """The ECB's rate for a pair: units of ``to`` per 1 unit of ``from``, through the euro, of one day."""

    rate: Decimal
    rate_date: dt.date


def ecb_cross_rate(from_currency: str, to_currency: str, *, at: dt.datetime) -> ReferenceRate | None:
    """The ECB reference rate of the pair available at ``at`` (the euro's own rate is 1), or None.

    Both legs come from the same day's fixing: the latest day whose rates are available for both.
    """
    legs = [currency for currency in (from_currency, to_currency) if currency != "EUR"]
    rows = list(
        EcbReferenceRate.objects.filter(
            currency__in=legs, available_from__lte=at, available_from__gt=at - ECB_RATE_MAX_AGE
        ).order_by("-rate_date")
    )
    by_day: dict[dt.date, dict[str, Decimal]] = {}
    for row in rows:
        by_day.setdefault(row.rate_date, {})[row.currency] = row.rate
    for day in sorted(by_day, reverse=True):
        quotes = {"EUR": Decimal(1), **by_day[day]}
        if from_currency in quotes and to_currency in quotes:
            return ReferenceRate(rate=quotes[to_currency] / quotes[from_currency], rate_date=day)
    return None


# --- The charge --------------------------------------------------------------------------


def charge_applies(authorization: Authorization) -> bool:
    """An approved payment of a known card, converted from an EEA currency into the account's (another one)."""
    return (
        authorization.approved
        and authorization.card_id is not None
        and authorization.currency != authorization.billing_currency
        and authorization.currency in EEA_CURRENCIES
        and authorization.billing_currency in EEA_CURRENCIES
    )


def applied_rate(authorization: Authorization) -> Decimal:
    """The rate the payment was converted at: the stored rate, else the billing amount over the amount."""
    if authorization.billing_rate is not None:
        return authorization.billing_rate
    amount = Decimal(authorization.amount_minor).scaleb(-minor_exponent(authorization.currency))
    billing = Decimal(authorization.billing_amount_minor).scaleb(-minor_exponent(authorization.billing_currency))
    return billing / amount


def product_conversion_fee_percent(card: Card) -> Decimal:
    """The card product's own currency conversion fee (a credit product's term, docs/statements.md), or 0."""
    terms = getattr(card.product, "credit_terms", None)
    return terms.fx_markup_percent if terms is not None else Decimal(0)


def markup_percent(applied: Decimal, reference: Decimal) -> Decimal:
    """(applied / reference - 1) x 100, half up to 2 places: what the page and the SMS show."""
    return ((applied / reference - 1) * 100).quantize(MARKUP_PLACES, rounding=ROUND_HALF_UP)


def markup_text(percent: Decimal) -> str:
    """The mark-up as the active language writes a number: "2,15" in Polish, "2.15" in English."""
    return format_decimal(percent, places=2)


def conversion_charge_after_commit(authorization: Authorization) -> None:
    """The card core's hook: once this approval commits, record its conversion charge (a task).

    No query and nothing queued for a payment that needs no charge (the account's currency,
    a decline). ``robust``: the decision has committed and is answered whatever the queue does.
    """
    if not charge_applies(authorization):
        return
    authorization_id = authorization.pk

    def enqueue() -> None:
        from kartosfera.processing.tasks import conversion_charge_record_task

        conversion_charge_record_task.enqueue(authorization_id)

    transaction.on_commit(enqueue, robust=True)


def _notify(authorization: Authorization, charge: ConversionCharge, *, now: dt.datetime) -> str:
    card = authorization.card
    assert card is not None  # charge_applies: only an approved payment of a known card
    customer = card.customer
    if not customer.conversion_charge_sms:
        return NoticeOutcome.OPTED_OUT
    if authorization.local_date < timezone.localdate(now) - dt.timedelta(days=NOTICE_MAX_AGE_DAYS):
        return NoticeOutcome.TOO_LATE
    month = authorization.local_date.replace(day=1)
    notices = ConversionNotice.objects.filter(card=card, currency=authorization.currency, month=month)
    if notices.exists():
        return NoticeOutcome.ALREADY_SENT
    from kartosfera.users.services import holder_phone

    phone = holder_phone(customer)
    if not phone:
        return NoticeOutcome.NO_PHONE
    try:
        # The unique (card, currency, month) decides a race; the loser's SMS row and its
        # delivery (registered inside this savepoint) roll back with it.
        with transaction.atomic():
            # The bank's language: the cardholder's own is not known outside a page.
            with translation.override(settings.LANGUAGE_CODE):
                message = SMS_CONVERSION_CHARGE.render(
                    bank=sms_bank_name(card.bank),
                    last4=card.pan_last4,
                    currency=authorization.currency,
                    markup=markup_text(charge.markup_percent),
                )
            sms = sms_send(to=phone, message=message, purpose="processing.conversion_charge", bank=card.bank)
            ConversionNotice.objects.create(
                card=card, currency=authorization.currency, month=month, authorization=authorization, sms=sms
            )
    except IntegrityError:
        if not notices.exists():
            raise
        return NoticeOutcome.ALREADY_SENT
    return NoticeOutcome.SENT


def conversion_charge_record(*, authorization_id: int, now: dt.datetime | None = None) -> ConversionCharge | None:
    """Record the conversion charge of an approved payment and, if it is the month's first, send the message.

    Idempotent: a second run (a retried task) finds the charge and does nothing more. None when no
    charge applies, or when no ECB rate was available at the payment's moment (logged: the bank
    provisions the rates every working day).
    """
    now = now or timezone.now()
    authorization = Authorization.objects.select_related(
        "card__customer__portal_user", "card__product__credit_terms"
    ).get(pk=authorization_id)
    if not charge_applies(authorization):
        return None
    card = authorization.card
    assert card is not None  # charge_applies: a known card's payment
    existing = ConversionCharge.objects.filter(authorization=authorization).first()
    if existing is not None:
        return existing
    reference = ecb_cross_rate(authorization.currency, authorization.billing_currency, at=authorization.created_at)
    if reference is None:
        logger.warning(
            "cbpr2: no ECB reference rate available",
            extra={
                "authorization_id": authorization.pk,
                "from_currency": authorization.currency,
                "to_currency": authorization.billing_currency,
            },
        )
        return None
    applied = applied_rate(authorization)
    # CBPR2 Art. 4: the total charge includes every charge for the conversion, so a credit product's own
    # conversion fee (a percentage of the converted amount, charged at the statement close) is in it.
    fee = product_conversion_fee_percent(card)
    if not 0 < applied < RATE_LIMIT:
        # Only a billing amount out of all proportion to the amount gets here: nothing meaningful to state.
        logger.warning("cbpr2: applied rate out of range", extra={"authorization_id": authorization.pk})
        return None
    with transaction.atomic():
        try:
            with transaction.atomic():
                charge = ConversionCharge.objects.create(
                    authorization=authorization,
                    from_currency=authorization.currency,
                    to_currency=authorization.billing_currency,
                    applied_rate=applied.quantize(Decimal("1e-12"), rounding=ROUND_HALF_UP),
                    reference_rate=reference.rate.quantize(Decimal("1e-12"), rounding=ROUND_HALF_UP),
                    reference_date=reference.rate_date,
                    markup_percent=markup_percent(applied * (1 + fee / 100), reference.rate),
                )
        except IntegrityError:
            # The same payment's task ran twice at once: the first one records (and texts).
            return ConversionCharge.objects.get(authorization=authorization)
        outcome = _notify(authorization, charge, now=now)
        audit_record(
            actor=CBPR2_ACTOR,
            action="processing.conversion_charge.recorded",
            obj=charge,
            customer_id=card.customer_id,
            bank_id=card.bank_id,
            after={
                "authorization": authorization.processor_id,
                "card_last4": authorization.pan_last4,
                "from_currency": charge.from_currency,
                "to_currency": charge.to_currency,
                "applied_rate": format(charge.applied_rate.normalize(), "f"),
                "reference_rate": format(charge.reference_rate.normalize(), "f"),
                "reference_date": charge.reference_date.isoformat(),
                "markup_percent": str(charge.markup_percent),
                "product_fee_percent": str(fee),
                "message": outcome,
            },
        )
    return charge
