from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.cards.controls import (
    CardControls,
    amount_limits,
    card_limit_fields,
    control,
    product_limit_fields,
)
from kartosfera.cards.states import CANCEL_REASONS, CardStatus, StatusReason
from kartosfera.core.money import MAX_AMOUNT_MINOR, Currency, Money


class Brand(models.TextChoices):
    VISA = "visa", "Visa"
    MASTERCARD = "mastercard", "Mastercard"


class Funding(models.TextChoices):
    DEBIT = "debit", _("Debit")
    CREDIT = "credit", _("Credit")


class Segment(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    BUSINESS = "business", _("Business")


class LimitChannel(models.TextChoices):
    CASH = "cash", _("Cash (ATM)")
    NONCASH = "noncash", _("Non-cash (POS)")
    INTERNET = "internet", _("Internet")


class CountryRule(models.TextChoices):
    """Where in the world a card may pay: everywhere, only in the listed countries, or everywhere but them."""

    NONE = "none", _("Everywhere")
    ALLOW = "allow", _("Only in the chosen countries")
    BLOCK = "block", _("Everywhere except the chosen countries")


# The most payments a count limit can allow a day (a count limit is a brake, not a quota).
COUNT_LIMIT_MAX = 99


def _non_negative(*fields: str) -> list[models.CheckConstraint]:
    return [models.CheckConstraint(condition=Q(**{f"{f}__gte": 0}), name=f"%(class)s_{f}_gte_0") for f in fields]


def _within_max_amount(*fields: str) -> list[models.CheckConstraint]:
    # The maxima bound every limit and default (the constraints below), so that sums fit 64 bits.
    return [
        models.CheckConstraint(condition=Q(**{f"{f}__lte": MAX_AMOUNT_MINOR}), name=f"%(class)s_{f}_within_max")
        for f in fields
    ]


def _product_limit_rules() -> list[models.CheckConstraint]:
    # From the control definitions (cards/controls.py): a part's maximum within its whole's,
    # each default within its maximum and, for a part, within its whole's default.
    rules = []
    for d in amount_limits():
        if d.part_of is not None:
            whole = control(d.part_of)
            rules.append(
                models.CheckConstraint(
                    condition=Q(**{f"{d.product_max_field}__lte": F(whole.product_max_field)}),
                    name=f"product_{d.name}_max_lte_{whole.name}_max",
                )
            )
    for d in amount_limits():
        condition = Q(**{f"{d.product_default_field}__lte": F(d.product_max_field)})
        name = f"product_{d.name}_default_lte_max"
        if d.part_of is not None:
            whole = control(d.part_of)
            condition &= Q(**{f"{d.product_default_field}__lte": F(whole.product_default_field)})
            name = f"{name}_and_{whole.name}"
        rules.append(models.CheckConstraint(condition=condition, name=name))
    return rules


def _card_limit_rules() -> list[models.CheckConstraint]:
    # From the control definitions: internet ≤ non-cash (a part within its whole), each limit ≤ its maximum.
    rules = [
        models.CheckConstraint(
            condition=Q(**{f"{d.value_field}__lte": F(control(d.part_of).value_field)}),
            name=f"card_{d.name}_lte_{d.part_of}",
        )
        for d in amount_limits()
        if d.part_of is not None
    ]
    rules += [
        models.CheckConstraint(condition=Q(**{f"{d.value_field}__lte": F(d.max_field)}), name=f"card_{d.name}_lte_max")
        for d in amount_limits()
    ]
    return rules


# A card is valid for at most 10 years from its issue (ours: no card network issues longer); the
# bound also keeps every computed expiry far from datetime's year 9999.
MAX_VALIDITY_MONTHS = 120


class CardProduct(models.Model):
    """A kind of card the bank issues, with its daily limit maxima and defaults."""

    bank = models.ForeignKey(
        "banks.Bank", on_delete=models.PROTECT, related_name="card_products", verbose_name=_("issuing bank")
    )
    # The bank's own code: unique within the bank.
    code = models.CharField(_("product code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    brand = models.CharField(_("brand"), max_length=16, choices=Brand.choices)
    funding = models.CharField(_("type"), max_length=8, choices=Funding.choices)
    segment = models.CharField(_("segment"), max_length=16, choices=Segment.choices)
    contactless_capable = models.BooleanField(_("contactless capable"), default=True)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.PLN)
    validity_months = models.PositiveSmallIntegerField(_("validity in months"), default=48)
    cash_limit_max_minor = models.BigIntegerField(_("cash limit maximum"))
    noncash_limit_max_minor = models.BigIntegerField(_("non-cash limit maximum"))
    internet_limit_max_minor = models.BigIntegerField(_("internet limit maximum"))
    cash_limit_default_minor = models.BigIntegerField(_("cash limit default"))
    noncash_limit_default_minor = models.BigIntegerField(_("non-cash limit default"))
    internet_limit_default_minor = models.BigIntegerField(_("internet limit default"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("card product")
        verbose_name_plural = _("card products")
        constraints = [
            models.UniqueConstraint(fields=["bank", "code"], name="product_code_unique_per_bank"),
            models.CheckConstraint(condition=Q(brand__in=Brand.values), name="product_brand_valid"),
            models.CheckConstraint(condition=Q(funding__in=Funding.values), name="product_funding_valid"),
            models.CheckConstraint(condition=Q(segment__in=Segment.values), name="product_segment_valid"),
            models.CheckConstraint(condition=Q(currency__in=Currency.values), name="product_currency_valid"),
            *_non_negative(*product_limit_fields()),
            *_within_max_amount(*(d.product_max_field for d in amount_limits())),
            models.CheckConstraint(
                condition=Q(validity_months__gte=1, validity_months__lte=MAX_VALIDITY_MONTHS),
                name="product_validity_months_range",
            ),
            *_product_limit_rules(),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_business(self) -> bool:
        return self.segment == Segment.BUSINESS


# Bounds of a credit product's terms (docs/statements.md, "Billing terms"). The interest rate's legal
# maximum moves with the NBP reference rate, so the database holds only the bound that never moves (100 % a
# year, [ours]) and the service checks the legal one (cards/credit_terms.py). The grace period: 0 to 60
# days from the statement date to the due date [ours]: no statute sets it; the bound keeps a due date
# within the next two billing cycles, so that one statement's due date never passes the next-but-one's.
TERMS_PERCENT_MAX = Decimal(100)
GRACE_PERIOD_DAYS_MAX = 60


class CreditTerms(models.Model):
    """A credit product's billing terms: interest, grace period, minimum payment, fees.

    A row of its own, one-to-one with the product, rather than nine nullable columns on CardProduct:
    a debit product has no row at all (instead of nine nulls kept null by a CHECK), the products
    defined before the terms existed need no invented values (their bank provisions the terms), and
    the statement close (issue 13) reads the terms as one object. Amounts are in minor units of the
    product's currency (the currency of the accounts its cards draw on).
    """

    product = models.OneToOneField(
        CardProduct,
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="credit_terms",
        verbose_name=_("card product"),
    )
    interest_rate_percent = models.DecimalField(_("annual interest rate (%)"), max_digits=5, decimal_places=2)
    grace_period_days = models.PositiveSmallIntegerField(_("grace period (days after the statement)"))
    minimum_payment_percent = models.DecimalField(
        _("minimum payment (percent of the closing balance)"), max_digits=5, decimal_places=2
    )
    minimum_payment_minor = models.BigIntegerField(_("minimum payment at least"))
    cash_withdrawal_fee_percent = models.DecimalField(_("cash withdrawal fee (%)"), max_digits=5, decimal_places=2)
    cash_withdrawal_fee_min_minor = models.BigIntegerField(_("cash withdrawal fee at least"))
    fx_markup_percent = models.DecimalField(_("currency conversion fee (%)"), max_digits=5, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("credit terms")
        verbose_name_plural = _("credit terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(interest_rate_percent__gte=0, interest_rate_percent__lte=TERMS_PERCENT_MAX),
                name="credit_terms_interest_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(grace_period_days__gte=0, grace_period_days__lte=GRACE_PERIOD_DAYS_MAX),
                name="credit_terms_grace_period_range",
            ),
            models.CheckConstraint(
                condition=Q(minimum_payment_percent__gt=0, minimum_payment_percent__lte=TERMS_PERCENT_MAX),
                name="credit_terms_minimum_payment_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(cash_withdrawal_fee_percent__gte=0, cash_withdrawal_fee_percent__lte=TERMS_PERCENT_MAX),
                name="credit_terms_cash_fee_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(fx_markup_percent__gte=0, fx_markup_percent__lte=TERMS_PERCENT_MAX),
                name="credit_terms_fx_markup_percent_range",
            ),
            *_non_negative("minimum_payment_minor", "cash_withdrawal_fee_min_minor"),
            *_within_max_amount("minimum_payment_minor", "cash_withdrawal_fee_min_minor"),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.interest_rate_percent} %"


class NbpReferenceRate(models.Model):
    """The NBP reference rate in force from a day: the history the statement close needs (docs/statements.md).

    Kodeks cywilny art. 359 § 2² caps the interest due on each day at the maximum of that day, which
    moves with this rate; a statement period may span a change of it. The bank records each change of
    the Monetary Policy Council (``manage.py nbp_reference_rate``); a day before the first entry reads
    the rate configured in ``NBP_REFERENCE_RATE_PERCENT`` (cards/credit_terms.py: ``reference_rate_on``).
    """

    valid_from = models.DateField(_("in force from"), unique=True)
    rate_percent = models.DecimalField(_("NBP reference rate (%)"), max_digits=5, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("NBP reference rate")
        verbose_name_plural = _("NBP reference rates")
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_percent__gte=0, rate_percent__lte=50), name="nbp_reference_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.valid_from}: {self.rate_percent} %"


# A temporary block not lifted within this time turns into a cancellation [bank].
# The cardholder's own block only: a block the bank imposed stays until the bank
# lifts it or cancels the card (docs/decisions/0009-bank-blocks-do-not-lapse.md).
# The rule holds from the moment the time is up (Card.status_now); the daily job
# (card_block_expire_due) only writes the cancellation down.
BLOCK_MAX_DURATION = dt.timedelta(days=60)


class CardQuerySet(models.QuerySet["Card"]):
    def with_display_relations(self) -> CardQuerySet:
        # The issuing bank is named on every card; its logo's bytes are served by their own URL, never read here.
        return self.select_related("product", "account", "bank").defer("bank__logo")

    def block_lapsed(self, now: dt.datetime) -> CardQuerySet:
        """The cards whose block has turned into a cancellation by ``now``: Card.block_lapsed as a query."""
        return self.filter(_lapsed_block(now))

    def not_cancelled_now(self, now: dt.datetime) -> CardQuerySet:
        """The cards that are not cancelled by ``now``, a lapsed block counting as cancelled (Card.status_now)."""
        return self.exclude(status=CardStatus.CANCELLED).exclude(_lapsed_block(now))


def _lapsed_block(now: dt.datetime) -> Q:
    return Q(
        status=CardStatus.BLOCKED,
        status_reason=StatusReason.BLOCKED_BY_CUSTOMER,
        status_changed_at__lte=now - BLOCK_MAX_DURATION,
    )


@dataclass(frozen=True)
class StatusNow:
    """A card's status as it holds now: the stored one, or the cancellation a lapsed block has become."""

    status: str
    reason: str
    changed_at: dt.datetime

    @property
    def status_label(self) -> str:
        return str(CardStatus(self.status).label)

    @property
    def reason_label(self) -> str:
        return str(StatusReason(self.reason).label)


def last_day_of_month(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


class Card(models.Model):
    """A payment card. The full number exists only encrypted (see cards/pan.py).

    The limit maxima are the product's, copied onto the card and kept in step by
    ``card_product_update`` so that the database itself can check
    internet ≤ non-cash ≤ maximum on every row (a CHECK cannot join tables).
    """

    # The issuing bank: always the product's (cards/services.py checks it, and the account's bank, at
    # issue), kept on the card so that a bank's scope and the card's references need no join.
    bank = models.ForeignKey(
        "banks.Bank", on_delete=models.PROTECT, related_name="cards", verbose_name=_("issuing bank")
    )
    reference = models.CharField(_("bank card reference"), max_length=64)
    product = models.ForeignKey(CardProduct, on_delete=models.PROTECT, related_name="cards", verbose_name=_("product"))
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="cards", verbose_name=_("account")
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="cards", verbose_name=_("cardholder")
    )
    embossed_name = models.CharField(_("name on card"), max_length=26)
    pan_ciphertext = models.TextField(editable=False)
    pan_fingerprint = models.CharField(max_length=64, db_index=True, editable=False)
    # What the PIN verification values are bound to (cards/pin.py): the number's fingerprint when the card was
    # issued. A new CARD_FINGERPRINT_KEY changes pan_fingerprint (rotate_card_keys) but never this, so that the
    # PINs, which are one-way and cannot be recomputed, keep working across the rotation.
    pin_binding = models.CharField(max_length=64, blank=True, editable=False)
    pan_last4 = models.CharField(_("last 4 digits"), max_length=4, editable=False)
    expiry = models.DateField(_("valid until"), help_text=_("The last day of the expiry month."))
    status = models.CharField(_("status"), max_length=16, choices=CardStatus.choices, default=CardStatus.INACTIVE)
    status_reason = models.CharField(
        _("reason of the last status change"), max_length=32, choices=StatusReason.choices, default=StatusReason.ISSUED
    )
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    # The cardholder's own words on a temporary block ("left it at the gym"); cleared on unblock.
    block_note = models.CharField(_("block note"), max_length=200, blank=True)
    contactless_enabled = models.BooleanField(_("contactless payments"), default=True)
    mobile_payments_enabled = models.BooleanField(_("mobile payments"), default=False)
    # The finer switches (cards/controls.py, docs/controls.md): on unless the holder switches them off.
    atm_enabled = models.BooleanField(_("cash withdrawals at ATMs"), default=True)
    online_enabled = models.BooleanField(_("internet payments"), default=True)
    magstripe_enabled = models.BooleanField(_("magnetic stripe payments"), default=True)
    abroad_enabled = models.BooleanField(_("payments abroad"), default=True)
    moto_enabled = models.BooleanField(_("mail and telephone orders"), default=True)
    # Count limits: at most this many approved payments a Warsaw day per channel; null = no count limit.
    atm_count_limit = models.PositiveSmallIntegerField(_("ATM withdrawals per day"), null=True, blank=True)
    pos_count_limit = models.PositiveSmallIntegerField(_("payments at terminals per day"), null=True, blank=True)
    online_count_limit = models.PositiveSmallIntegerField(_("internet payments per day"), null=True, blank=True)
    # Blocked merchant categories (cards/merchant_categories.py): key → when the block lifts (ISO 8601, a
    # category switched back on after its cooling-off) or null (blocked until the holder switches it back on).
    # On the card row because the decision reads that row anyway: no query more per payment.
    category_blocks = models.JSONField(_("blocked merchant categories"), default=dict, blank=True)
    country_rule = models.CharField(_("countries"), max_length=8, choices=CountryRule.choices, default=CountryRule.NONE)
    # ISO 3166 alpha-2 codes, sorted: the countries the rule allows (allow) or blocks (block).
    countries = models.JSONField(_("chosen countries"), default=list, blank=True)
    # A temporary raise: the raised daily limits (control name → minor units) until the moment below;
    # after it the card's own limits apply again by themselves (CardControls.effective_limit_minor).
    temporary_limits = models.JSONField(_("temporarily raised limits"), default=dict, blank=True)
    temporary_limits_until = models.DateTimeField(_("raised until"), null=True, blank=True)
    # The keyed PIN verification value (cards/pin.py, docs/pin.md): never the PIN itself.
    pin_verification_value = models.CharField(max_length=64, blank=True, editable=False)
    # The id of the CARD_PIN_KEY key that made it (cards/pin.py: pin_key_id, 8 hex; never the key). Null: made
    # before values had an id, under the one key there was then, which stays the oldest of the list.
    pin_key_id = models.CharField(max_length=8, null=True, blank=True, editable=False)
    pin_changed_at = models.DateTimeField(_("PIN changed at"), null=True, blank=True, editable=False)
    wrong_pin_count = models.PositiveSmallIntegerField(_("wrong PIN count"), default=0, editable=False)
    # The PSD2 counters since the card's last strong customer authentication (a right PIN, a full 3-D Secure
    # authentication): the contactless payments without a PIN (RTS art. 11) and the remote payments without
    # SCA (art. 16), each as a number and an amount in the account's currency. Written only by the card core's
    # decision, under this row's lock (kartosfera/processing/exemptions.py, docs/processing.md).
    psd2_contactless_count = models.PositiveIntegerField(
        _("contactless payments since the last SCA"), default=0, editable=False
    )
    psd2_contactless_minor = models.BigIntegerField(
        _("contactless amount since the last SCA"), default=0, editable=False
    )
    psd2_remote_count = models.PositiveIntegerField(_("remote payments since the last SCA"), default=0, editable=False)
    psd2_remote_minor = models.BigIntegerField(_("remote amount since the last SCA"), default=0, editable=False)
    cash_limit_minor = models.BigIntegerField(_("daily cash limit"))
    noncash_limit_minor = models.BigIntegerField(_("daily non-cash limit"))
    internet_limit_minor = models.BigIntegerField(_("daily internet limit"))
    cash_limit_max_minor = models.BigIntegerField(editable=False)
    noncash_limit_max_minor = models.BigIntegerField(editable=False)
    internet_limit_max_minor = models.BigIntegerField(editable=False)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by", verbose_name=_("replaces")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CardQuerySet.as_manager()

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        ordering = ["customer_id", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "reference"], name="card_reference_unique_per_bank"),
            models.CheckConstraint(condition=Q(status__in=CardStatus.values), name="card_status_valid"),
            models.CheckConstraint(condition=Q(status_reason__in=StatusReason.values), name="card_status_reason_valid"),
            models.CheckConstraint(
                condition=~Q(status=CardStatus.CANCELLED) | Q(status_reason__in=sorted(CANCEL_REASONS)),
                name="card_cancelled_has_cancel_reason",
            ),
            models.CheckConstraint(condition=Q(pan_last4__regex=r"^[0-9]{4}$"), name="card_last4_digits"),
            *_non_negative(*card_limit_fields()),
            *_within_max_amount(*(d.max_field for d in amount_limits())),
            *_card_limit_rules(),
            *_non_negative("psd2_contactless_minor", "psd2_remote_minor"),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lte": COUNT_LIMIT_MAX}),
                    name=f"card_{field}_at_most_max",
                )
                for field in ("atm_count_limit", "pos_count_limit", "online_count_limit")
            ),
            models.CheckConstraint(condition=Q(country_rule__in=CountryRule.values), name="card_country_rule_valid"),
            # A renewal may keep the number, never with the same expiry.
            models.UniqueConstraint(fields=["pan_fingerprint", "expiry"], name="card_pan_expiry_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} *{self.pan_last4}"

    @property
    def masked_number(self) -> str:
        return f"•••• {self.pan_last4}"

    def is_expired(self, today: dt.date | None = None) -> bool:
        return (today or timezone.localdate()) > self.expiry

    @property
    def expired(self) -> bool:
        return self.is_expired()

    @property
    def expiry_display(self) -> str:
        return f"{self.expiry:%m/%y}"

    @property
    def is_bank_blocked(self) -> bool:
        return self.status == CardStatus.BLOCKED and self.status_reason == StatusReason.BLOCKED_BY_BANK

    def block_expires_at(self) -> dt.datetime | None:
        """When the cardholder's temporary block turns into a cancellation (PRODUCT.md: 60 days), if blocked so."""
        if self.status != CardStatus.BLOCKED or self.status_reason != StatusReason.BLOCKED_BY_CUSTOMER:
            return None
        return self.status_changed_at + BLOCK_MAX_DURATION

    def block_lapsed(self, now: dt.datetime | None = None) -> bool:
        """Has the 60 days' block run out, so that the card counts as cancelled (written or not by the job)?"""
        expires = self.block_expires_at()
        return expires is not None and (now or timezone.now()) >= expires

    def status_now(self, now: dt.datetime | None = None) -> StatusNow:
        """The status every reader shows and every service checks: a lapsed block reads as its cancellation."""
        expires = self.block_expires_at()
        if expires is not None and self.block_lapsed(now):
            return StatusNow(status=CardStatus.CANCELLED, reason=StatusReason.BLOCK_EXPIRED, changed_at=expires)
        return StatusNow(status=self.status, reason=self.status_reason, changed_at=self.status_changed_at)

    @property
    def is_credit(self) -> bool:
        return self.product.funding == Funding.CREDIT

    @property
    def controls(self) -> CardControls:
        """The card's limits and switches, read through the control registry (cards/controls.py)."""
        return CardControls(self)

    def limit(self, channel: str) -> Money:
        """The daily ``channel`` limit: a delegate to ``card.controls``."""
        return self.controls.limit(channel)

    def limit_max(self, channel: str) -> Money:
        """The ``channel`` limit's maximum: a delegate to ``card.controls``."""
        return self.controls.limit_max(channel)
