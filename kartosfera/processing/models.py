"""Card authorizations, their adjustments and the daily spending counters (docs/processing.md).

One ``Authorization`` row per processor authorization id: the request's facts,
the decision, and the hold it keeps on the account (``held_minor``). The
account's ``held_minor`` is the sum of its pending authorizations' holds, kept
in step in the same transaction. ``DailySpend`` counts a card's approved amounts
per Warsaw calendar day and limit group (cash, non-cash, internet: an internet
payment counts in non-cash too).
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.cards.models import Brand, LimitChannel
from kartosfera.core.models import AppendOnlyError
from kartosfera.core.money import MAX_AMOUNT_MINOR, Currency


class Channel(models.TextChoices):
    """How the card was used (the request's channel and entry mode)."""

    ATM = "atm", _("ATM")
    POS_CHIP = "pos_chip", _("Chip at a terminal")
    POS_CONTACTLESS = "pos_contactless", _("Contactless at a terminal")
    MAGSTRIPE = "magstripe", _("Magnetic stripe")
    MANUAL = "manual", _("Card number keyed in")
    ECOMMERCE = "ecommerce", _("Internet")
    WALLET = "wallet", _("Phone wallet")


class SpendGroup(models.TextChoices):
    """A day's counter of a card: the three amount limits' groups, and the terminals' payments (counted only)."""

    CASH = LimitChannel.CASH.value, LimitChannel.CASH.label
    NONCASH = LimitChannel.NONCASH.value, LimitChannel.NONCASH.label
    INTERNET = LimitChannel.INTERNET.value, LimitChannel.INTERNET.label
    POS = "pos", _("Payments at terminals")


# Which daily limits a channel counts against (PRODUCT.md: cash separate; internet inside non-cash).
CHANNEL_LIMITS: dict[str, tuple[str, ...]] = {
    Channel.ATM: (LimitChannel.CASH,),
    Channel.POS_CHIP: (LimitChannel.NONCASH,),
    Channel.POS_CONTACTLESS: (LimitChannel.NONCASH,),
    Channel.MAGSTRIPE: (LimitChannel.NONCASH,),
    Channel.MANUAL: (LimitChannel.NONCASH,),
    Channel.WALLET: (LimitChannel.NONCASH,),
    Channel.ECOMMERCE: (LimitChannel.NONCASH, LimitChannel.INTERNET),
}
CARD_NOT_PRESENT = frozenset({Channel.ECOMMERCE, Channel.MANUAL})
# Which day's counter a channel's payments are counted in, for the count limits (docs/controls.md): ATM
# withdrawals in the cash counter, internet payments in the internet one, payments at a terminal (chip,
# contactless, stripe, a phone at the till) in their own. A mail or telephone order counts in none.
CHANNEL_COUNT: dict[str, str | None] = {
    Channel.ATM: SpendGroup.CASH,
    Channel.POS_CHIP: SpendGroup.POS,
    Channel.POS_CONTACTLESS: SpendGroup.POS,
    Channel.MAGSTRIPE: SpendGroup.POS,
    Channel.WALLET: SpendGroup.POS,
    Channel.ECOMMERCE: SpendGroup.INTERNET,
    Channel.MANUAL: None,
}


def spend_groups(channel: str) -> tuple[str, ...]:
    """The day's counters a payment of ``channel`` reads and, approved, writes: its limits', then its count's."""
    groups = CHANNEL_LIMITS[channel]
    count = CHANNEL_COUNT[channel]
    return groups if count is None or count in groups else (*groups, count)


class ScaExemption(models.TextChoices):
    """Why a payment went through without strong customer authentication (PSD2 RTS; docs/processing.md).

    The first four are what an acquirer may claim on an internet payment (the API's ``sca_exemption``);
    ``contactless`` is the issuer's own (art. 11), applied to a tap without a PIN.
    """

    LOW_VALUE = "low_value", _("Low-value payment (RTS art. 16)")
    TRUSTED_BENEFICIARY = "trusted_beneficiary", _("Trusted merchant (RTS art. 13)")
    MERCHANT_INITIATED = "merchant_initiated", _("Merchant-initiated payment (outside SCA)")
    TRA = "tra", _("Acquirer's transaction risk analysis (RTS art. 18)")
    CONTACTLESS = "contactless", _("Contactless without PIN (RTS art. 11)")


# What an acquirer may claim (the issuer's contactless exemption is never claimed).
CLAIMABLE_EXEMPTIONS = frozenset(
    {ScaExemption.LOW_VALUE, ScaExemption.TRUSTED_BENEFICIARY, ScaExemption.MERCHANT_INITIATED, ScaExemption.TRA}
)


class AuthorizationStatus(models.TextChoices):
    """Where an authorization is in its life (docs/processing.md, "The authorization's status")."""

    PENDING = "pending", _("Pending")
    PARTIALLY_SETTLED = "partially_settled", _("Partially settled")
    SETTLED = "settled", _("Settled")
    REVERSED = "reversed", _("Reversed")
    EXPIRED = "expired", _("Expired")
    DECLINED = "declined", _("Declined")


# The statuses of an open authorization: it still holds money (and only these may).
HOLDING_STATUSES = frozenset({AuthorizationStatus.PENDING, AuthorizationStatus.PARTIALLY_SETTLED})

# The status machine: from each status, the statuses it may move to. A decision writes the first
# status (pending, or declined); staying in a status is no transition. A reversed or expired
# authorization may still be settled: the scheme settles late clearings (research §3).
AUTHORIZATION_TRANSITIONS: dict[str, frozenset[str]] = {
    AuthorizationStatus.PENDING: frozenset(
        {
            AuthorizationStatus.PARTIALLY_SETTLED,  # a partial shipment cleared, the rest still held
            AuthorizationStatus.SETTLED,  # cleared
            AuthorizationStatus.REVERSED,  # released in full by reversals
            AuthorizationStatus.EXPIRED,  # the hold ran out
        }
    ),
    # The rest released (the last part cleared, reversed or expired): it was paid, in part or in full.
    AuthorizationStatus.PARTIALLY_SETTLED: frozenset({AuthorizationStatus.SETTLED}),
    AuthorizationStatus.REVERSED: frozenset({AuthorizationStatus.SETTLED}),
    AuthorizationStatus.EXPIRED: frozenset({AuthorizationStatus.SETTLED}),
    AuthorizationStatus.SETTLED: frozenset(),
    AuthorizationStatus.DECLINED: frozenset(),
}


class InvalidStatusChange(Exception):
    """A change the status machine does not allow: a bug in the card core, never the processor's input."""


class Authorization(models.Model):
    """One authorization request of the card processor, its decision and its hold."""

    processor_id = models.CharField(_("processor's authorization id"), max_length=64, unique=True)
    # The lifecycle key of reversals, increments and clearing (Visa Transaction ID / Banknet reference).
    network_transaction_id = models.CharField(_("network transaction id"), max_length=64, db_index=True)
    card = models.ForeignKey(
        "cards.Card", on_delete=models.PROTECT, null=True, blank=True, related_name="authorizations"
    )
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, null=True, blank=True, related_name="authorizations"
    )
    # The last 4 digits only, for an unknown card too (never the full number).
    pan_last4 = models.CharField(_("last 4 digits"), max_length=4)
    brand = models.CharField(_("scheme"), max_length=16, choices=Brand.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    merchant_name = models.CharField(_("merchant"), max_length=100)
    merchant_city = models.CharField(_("merchant city"), max_length=50, blank=True)
    merchant_country = models.CharField(_("merchant country"), max_length=2)
    mcc = models.CharField(_("merchant category code"), max_length=4)
    merchant_id = models.CharField(_("merchant id"), max_length=35, blank=True)
    terminal_id = models.CharField(_("terminal id"), max_length=16, blank=True)
    amount_minor = models.BigIntegerField(_("transaction amount"))
    currency = models.CharField(_("transaction currency"), max_length=3)
    # In the account's currency: equal to the transaction amount when the currencies are the same.
    billing_amount_minor = models.BigIntegerField(_("billing amount"))
    billing_currency = models.CharField(_("billing currency"), max_length=3, choices=Currency.choices)
    billing_rate = models.DecimalField(_("conversion rate"), max_digits=18, decimal_places=9, null=True, blank=True)
    partial_supported = models.BooleanField(_("terminal takes a partial approval"), default=False)
    is_advice = models.BooleanField(_("advice (decided by the scheme)"), default=False)
    needs_review = models.BooleanField(_("needs review"), default=False)
    # The decision.
    approved = models.BooleanField(_("approved"))
    response_code = models.CharField(_("response code"), max_length=2)
    decline_reason = models.CharField(_("decline reason"), max_length=40, blank=True)
    authorization_code = models.CharField(_("authorization code"), max_length=6, blank=True)
    approved_amount_minor = models.BigIntegerField(_("approved amount"), default=0)
    # What the authorization holds on the account now (billing currency).
    held_minor = models.BigIntegerField(_("held amount"), default=0)
    status = models.CharField(_("status"), max_length=24, choices=AuthorizationStatus.choices)
    # The Europe/Warsaw calendar day its amount counts on (daily limits).
    local_date = models.DateField(_("day (Warsaw)"))
    expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    # Keyed hash of the canonical request: a retry with another body is refused (409).
    request_fingerprint = models.CharField(max_length=64, editable=False)
    # Which check decided, and how long the pipeline took (µs).
    decided_by = models.CharField(_("decided by"), max_length=40)
    decision_micros = models.PositiveIntegerField(_("decision time (µs)"), default=0)
    # The PSD2 exemption an approval relied on instead of strong customer authentication ("" when the payment was
    # authenticated or needs none). Kept for liability (an acquirer's TRA is the acquirer's) and fraud reporting.
    sca_exemption = models.CharField(
        _("SCA exemption"), max_length=20, choices=ScaExemption.choices, blank=True, default=""
    )
    # The 3-D Secure authentication whose value an approved internet payment used (each value pays once).
    authentication = models.OneToOneField(
        "acs.AuthenticationRecord",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="authorization",
        verbose_name=_("3-D Secure authentication"),
    )
    # The moment of the decision (the service's ``now``: the demo's back-filled history keeps its own times).
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("authorization")
        verbose_name_plural = _("authorizations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "status"], name="auth_account_status"),
            models.Index(fields=["card", "-created_at"], name="auth_card_created"),
            # The back office's review queue: the few flagged among all, newest first.
            models.Index(
                fields=["-created_at", "-id"], condition=Q(needs_review=True), name="auth_needs_review_created"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AuthorizationStatus.values), name="auth_status_valid"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="auth_channel_valid"),
            models.CheckConstraint(
                condition=Q(sca_exemption__in=["", *ScaExemption.values]), name="auth_sca_exemption_valid"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0, amount_minor__lte=MAX_AMOUNT_MINOR), name="auth_amount_range"
            ),
            models.CheckConstraint(
                condition=Q(billing_amount_minor__gt=0, billing_amount_minor__lte=MAX_AMOUNT_MINOR),
                name="auth_billing_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(held_minor__gte=0, held_minor__lte=MAX_AMOUNT_MINOR), name="auth_held_range"
            ),
            # A declined request holds nothing; only an open (pending or partially settled) authorization holds
            # money, and a partially settled one always does (else it is settled).
            models.CheckConstraint(
                condition=Q(status__in=sorted(HOLDING_STATUSES)) | Q(held_minor=0), name="auth_held_only_open"
            ),
            models.CheckConstraint(
                condition=~Q(status=AuthorizationStatus.PARTIALLY_SETTLED) | Q(held_minor__gt=0),
                name="auth_partially_settled_holds",
            ),
            models.CheckConstraint(
                condition=Q(approved=True, decline_reason="") | Q(approved=False, status=AuthorizationStatus.DECLINED),
                name="auth_decision_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.processor_id} ({self.response_code})"

    @property
    def is_open(self) -> bool:
        """It still holds money: a reversal, an increment, a clearing or the expiry job may release it."""
        return self.status in HOLDING_STATUSES

    def move_to(self, status: str) -> None:
        """Change the status along ``AUTHORIZATION_TRANSITIONS`` (the caller saves, under the card core's locks)."""
        if status != self.status and status not in AUTHORIZATION_TRANSITIONS[self.status]:
            raise InvalidStatusChange(f"{self.processor_id}: {self.status} -> {status}")
        self.status = status


class AdjustmentKind(models.TextChoices):
    REVERSAL = "reversal", _("Reversal")
    INCREMENT = "increment", _("Incremental authorization")


class AuthorizationAdjustment(models.Model):
    """A reversal or an increment of an authorization, idempotent by the processor's own id."""

    processor_id = models.CharField(_("processor's id"), max_length=64, unique=True)
    authorization = models.ForeignKey(Authorization, on_delete=models.PROTECT, related_name="adjustments")
    kind = models.CharField(_("kind"), max_length=16, choices=AdjustmentKind.choices)
    # Billing currency; a reversal's amount is what it released, an increment's what it added.
    amount_minor = models.BigIntegerField(_("amount"))
    approved = models.BooleanField(_("approved"), default=True)
    response_code = models.CharField(_("response code"), max_length=2, default="00")
    decline_reason = models.CharField(_("decline reason"), max_length=40, blank=True)
    request_fingerprint = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("authorization adjustment")
        verbose_name_plural = _("authorization adjustments")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AdjustmentKind.values), name="auth_adjustment_kind_valid"),
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0, amount_minor__lte=MAX_AMOUNT_MINOR),
                name="auth_adjustment_amount_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.processor_id}"


class DailySpend(models.Model):
    """What a card has used of one daily limit on one Warsaw day (billing currency, minor units).

    The definition: that day's approved holds + settled amounts - reversals;
    expired holds drop out. Updated in the transaction that changes a hold.
    ``count``: the day's approved authorizations counted in this group (CHANNEL_COUNT: the count
    limits); a reversal does not give one back. The ``pos`` group is counted only (its amount stays 0).
    """

    card = models.ForeignKey("cards.Card", on_delete=models.CASCADE, related_name="daily_spend")
    local_date = models.DateField(_("day (Warsaw)"))
    group = models.CharField(_("limit"), max_length=16, choices=SpendGroup.choices)
    amount_minor = models.BigIntegerField(_("used"), default=0)
    count = models.PositiveIntegerField(_("approved payments"), default=0)

    class Meta:
        verbose_name = _("daily spend")
        verbose_name_plural = _("daily spend")
        constraints = [
            models.UniqueConstraint(fields=["card", "local_date", "group"], name="daily_spend_unique"),
            models.CheckConstraint(condition=Q(group__in=SpendGroup.values), name="daily_spend_group_valid"),
            models.CheckConstraint(condition=Q(amount_minor__gte=0), name="daily_spend_amount_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.card_id} {self.local_date} {self.group}: {self.amount_minor}"


class PostingKind(models.TextChoices):
    """What a settled movement is: the card scheme's (research §4: clearing, force post, return/refund; Lithic's
    dispute credits and corrections), or the bank's own (a salary credit, a transfer debit: docs/decisions/0013)."""

    CLEARING = "clearing", _("Payment settled")
    FORCE_POST = "force_post", _("Payment settled without authorization")
    REFUND = "refund", _("Refund")
    # The bank won a dispute (chargeback) about a posting: the money goes back to the cardholder.
    CHARGEBACK = "chargeback", _("Returned after a complaint")
    # The acquirer takes back a posting it should not have sent (a duplicate presentment): credited back.
    CLEARING_REVERSAL = "clearing_reversal", _("Charge corrected")
    BANK_CREDIT = "bank_credit", _("Credit booked by the bank")
    BANK_DEBIT = "bank_debit", _("Debit booked by the bank")
    # The holder's payment towards a credit card's debt, booked by the bank's core (docs/statements.md,
    # "Repayments"): a bank credit of its own kind, because the statement close treats it apart (it pays
    # the minimum payment and decides the interest) and the holder sees it on the card's history.
    REPAYMENT = "repayment", _("Repayment")
    # Charged by the statement close of a credit account (docs/statements.md): the period's interest, and the
    # product's fees (a cash withdrawal's, a currency conversion's). Bank postings: no card, a reference the
    # close makes from the statement, so a repeated close finds them instead of charging twice.
    INTEREST = "interest", _("Interest")
    FEE = "fee", _("Fee")


# The card scheme's postings come from clearing (a card, a record id); the bank's from its core system
# (the bank's reference, no card).
CARD_POSTING_KINDS = (
    PostingKind.CLEARING,
    PostingKind.FORCE_POST,
    PostingKind.REFUND,
    PostingKind.CHARGEBACK,
    PostingKind.CLEARING_REVERSAL,
)
BANK_POSTING_KINDS = (
    PostingKind.BANK_CREDIT,
    PostingKind.BANK_DEBIT,
    PostingKind.REPAYMENT,
    PostingKind.INTEREST,
    PostingKind.FEE,
)
# The kinds that credit the account; every other kind debits it.
CREDIT_POSTING_KINDS = (
    PostingKind.REFUND,
    PostingKind.CHARGEBACK,
    PostingKind.CLEARING_REVERSAL,
    PostingKind.BANK_CREDIT,
    PostingKind.REPAYMENT,
)
# The card payments' debits, which a chargeback or a clearing reversal may give back.
POSTING_DEBITS = frozenset({PostingKind.CLEARING, PostingKind.FORCE_POST})
# The credits that name the posting they give back (``Posting.original``).
POSTING_CORRECTIONS = frozenset({PostingKind.CHARGEBACK, PostingKind.CLEARING_REVERSAL})


class PostingQuerySet(models.QuerySet["Posting"]):
    """The ledger is append-only: no update or delete through the ORM (and none in the database either)."""

    def update(self, **kwargs: object) -> NoReturn:
        raise AppendOnlyError("postings cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("postings cannot be deleted")

    def bulk_update(self, *args: object, **kwargs: object) -> NoReturn:
        raise AppendOnlyError("postings cannot be updated")


class Posting(models.Model):
    """One movement of an account's balance: the ledger that statements read (docs/processing.md, "The ledger").

    The card scheme's movements are written once per clearing record (``record_id``, the
    processor's id: idempotent); the bank's own (a salary credit, a transfer debit) once per
    the bank's reference on the account (``bank_reference``; docs/decisions/0013). Never
    changed or deleted: a correction is a new row (the model, its queryset and a database
    trigger refuse it). ``balance_change_minor`` is what it did to ``Account.balance_minor``
    (negative for a payment or a debit, positive for a refund or a credit), so an account's
    balance = its opening balance + the sum of its postings' changes. The transaction, billing
    and settlement amounts are kept separately, each with its currency, and the rate.
    """

    # The processor's clearing record id; none for the bank's postings, which are keyed by bank_reference.
    record_id = models.CharField(_("clearing record id"), max_length=64, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=24, choices=PostingKind.choices)
    authorization = models.ForeignKey(
        Authorization, on_delete=models.PROTECT, null=True, blank=True, related_name="postings"
    )
    # A chargeback's or a clearing reversal's posting: the debit it gives back (never more than it took).
    original = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections", verbose_name=_("original")
    )
    # How the card was used: the authorization's channel, or the record's (a force post's daily limits).
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    # The card it was made with; none for the bank's postings.
    card = models.ForeignKey("cards.Card", on_delete=models.PROTECT, null=True, blank=True, related_name="postings")
    # The bank's reference of its own posting, unique per account (both legs of one transfer may share it).
    bank_reference = models.CharField(_("bank's reference"), max_length=64, blank=True)
    # The bank's words for its own posting ("Wynagrodzenie", "Przelew"), as a statement will show them.
    description = models.CharField(_("description"), max_length=140, blank=True)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="postings")
    network_transaction_id = models.CharField(_("network transaction id"), max_length=64, blank=True, db_index=True)
    acquirer_reference_number = models.CharField(_("acquirer reference number"), max_length=23, blank=True)
    merchant_name = models.CharField(_("merchant"), max_length=100, blank=True)
    merchant_city = models.CharField(_("merchant city"), max_length=50, blank=True)
    merchant_country = models.CharField(_("merchant country"), max_length=2, blank=True)
    mcc = models.CharField(_("merchant category code"), max_length=4, blank=True)
    amount_minor = models.BigIntegerField(_("transaction amount"))
    currency = models.CharField(_("transaction currency"), max_length=3)
    billing_amount_minor = models.BigIntegerField(_("billing amount"))
    billing_currency = models.CharField(_("billing currency"), max_length=3, choices=Currency.choices)
    billing_rate = models.DecimalField(_("conversion rate"), max_digits=18, decimal_places=9, null=True, blank=True)
    settlement_amount_minor = models.BigIntegerField(_("settlement amount"), null=True, blank=True)
    settlement_currency = models.CharField(_("settlement currency"), max_length=3, blank=True)
    balance_change_minor = models.BigIntegerField(_("change of the balance"))
    # What the posting released of its authorization's hold (billing currency).
    released_minor = models.BigIntegerField(_("hold released"), default=0)
    processing_date = models.DateField(_("processing date"))
    # The Warsaw day it counts on in the daily limits (its authorization's day, or the day it posted; a
    # clearing reversal: its original's day, which it gives back).
    local_date = models.DateField(_("day (Warsaw)"))
    needs_review = models.BooleanField(_("needs review"), default=False)
    review_reason = models.CharField(_("why it needs review"), max_length=40, blank=True)
    request_fingerprint = models.CharField(max_length=64, editable=False)
    # When it posted (the service's ``now``: the demo's back-filled clearing keeps its own times).
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = PostingQuerySet.as_manager()

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="posting_account_created")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=PostingKind.values), name="posting_kind_valid"),
            # A card posting has its card and record id; the bank's has its reference and neither of those.
            models.CheckConstraint(
                condition=Q(kind__in=CARD_POSTING_KINDS, card__isnull=False, record_id__isnull=False, bank_reference="")
                | (Q(kind__in=BANK_POSTING_KINDS, card__isnull=True, record_id__isnull=True) & ~Q(bank_reference="")),
                name="posting_source_consistent",
            ),
            models.UniqueConstraint(
                fields=["account", "bank_reference"],
                condition=~Q(bank_reference=""),
                name="posting_bank_reference_unique",
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0, amount_minor__lte=MAX_AMOUNT_MINOR), name="posting_amount_range"
            ),
            models.CheckConstraint(
                condition=Q(billing_amount_minor__gt=0, billing_amount_minor__lte=MAX_AMOUNT_MINOR),
                name="posting_billing_amount_range",
            ),
            # A refund, a chargeback, a clearing reversal or the bank's credit credits the billing amount; anything
            # else debits it.
            models.CheckConstraint(
                condition=(Q(kind__in=CREDIT_POSTING_KINDS) & Q(balance_change_minor=F("billing_amount_minor")))
                | (~Q(kind__in=CREDIT_POSTING_KINDS) & Q(balance_change_minor=-F("billing_amount_minor"))),
                name="posting_balance_change_sign",
            ),
            models.CheckConstraint(condition=Q(released_minor__gte=0), name="posting_released_gte_0"),
            # A chargeback or a clearing reversal names the posting it gives back; nothing else does.
            models.CheckConstraint(
                condition=(Q(kind__in=sorted(POSTING_CORRECTIONS)) & Q(original__isnull=False))
                | (~Q(kind__in=sorted(POSTING_CORRECTIONS)) & Q(original__isnull=True)),
                name="posting_original_only_corrections",
            ),
            models.CheckConstraint(
                condition=Q(channel="") | Q(channel__in=Channel.values), name="posting_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.record_id or self.bank_reference}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The ledger is append-only: a correction is a new posting, never an edit.
        if self.pk is not None:
            raise AppendOnlyError("A posting is never changed; post a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("A posting is never deleted; post a correction instead.")


class ConversionRate(models.Model):
    """A rate the bank provisions: 1 unit of ``from_currency`` = ``rate`` units of ``to_currency`` from ``valid_from``.

    Used when the scheme sends no billing amount (docs/processing.md, "Conversion"). Never changed:
    a new rate is a new row, and the latest whose ``valid_from`` has come applies.
    """

    from_currency = models.CharField(_("from currency"), max_length=3)
    to_currency = models.CharField(_("to currency"), max_length=3, choices=Currency.choices)
    # As Authorization.billing_rate: 9 decimal places (ECB reference rates have 5 significant digits).
    rate = models.DecimalField(_("rate"), max_digits=18, decimal_places=9)
    valid_from = models.DateTimeField(_("valid from"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("conversion rate")
        verbose_name_plural = _("conversion rates")
        ordering = ["from_currency", "to_currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_currency", "to_currency", "valid_from"], name="conversion_rate_unique"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="conversion_rate_positive"),
            models.CheckConstraint(condition=Q(to_currency__in=Currency.values), name="conversion_rate_to_valid"),
            models.CheckConstraint(condition=~Q(from_currency=F("to_currency")), name="conversion_rate_two_currencies"),
        ]

    def __str__(self) -> str:
        return f"1 {self.from_currency} = {self.rate} {self.to_currency} from {self.valid_from:%Y-%m-%d %H:%M}"


class AuthorizationReview(models.Model):
    """A bank employee's review of an authorization flagged ``needs_review`` (docs/processing.md, "Reviews").

    One per authorization, never changed: the flag itself stays as the card core set it,
    and this row says who reviewed it, when, and what they noted.
    """

    authorization = models.OneToOneField(Authorization, on_delete=models.PROTECT, related_name="review")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("reviewed by")
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"))

    class Meta:
        verbose_name = _("authorization review")
        verbose_name_plural = _("authorization reviews")

    def __str__(self) -> str:
        return f"review of {self.authorization_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        # A review is a record of what was done: a second look is a note elsewhere, never an edit.
        if self.pk is not None:
            raise ValueError("A review is never changed.")
        super().save(*args, **kwargs)


class EcbReferenceRate(models.Model):
    """The ECB's euro foreign exchange reference rate of one day: 1 EUR = ``rate`` units of ``currency``.

    Provisioned by the bank (it does not convert with them): they are what a conversion's charge is
    measured against for CBPR2 (Regulation (EU) 2021/1230 Art. 4, formerly 2019/518; docs/processing.md,
    "The conversion charge"). The ECB publishes them around 16:00 CET on its working days; a rate is
    "available" from ``available_from``. Never changed: a day's rates are provisioned once.
    """

    currency = models.CharField(_("currency"), max_length=3)
    # The ECB quotes 5 significant digits (4.2350 PLN, 25.105 CZK, 385.40 HUF).
    rate = models.DecimalField(_("units per euro"), max_digits=18, decimal_places=9)
    rate_date = models.DateField(_("reference date"))
    available_from = models.DateTimeField(_("available from"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("ECB reference rate")
        verbose_name_plural = _("ECB reference rates")
        ordering = ["currency", "-rate_date"]
        indexes = [models.Index(fields=["currency", "-available_from"], name="ecb_rate_currency_available")]
        constraints = [
            models.UniqueConstraint(fields=["currency", "rate_date"], name="ecb_rate_unique_per_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="ecb_rate_positive"),
            # The rates are quoted against the euro: there is no EUR rate.
            models.CheckConstraint(condition=~Q(currency="EUR"), name="ecb_rate_not_euro"),
        ]

    def __str__(self) -> str:
        return f"1 EUR = {self.rate} {self.currency} ({self.rate_date})"


class ConversionCharge(models.Model):
    """What converting a card payment cost, as CBPR2 states it: a percentage mark-up over the ECB rate.

    Written once per approved converted payment in an EEA currency, after the approval commits
    (processing/cbpr2.py). ``applied_rate`` is the rate the payment was converted at (units of
    the account's currency per 1 unit of the payment's); ``reference_rate`` the ECB's rate for the
    same pair (a cross rate through the euro) of ``reference_date``, the latest available at the
    moment of the payment; ``markup_percent`` = (applied / reference - 1) x 100, rounded half up to
    2 places: what the history page and the SMS show.
    """

    authorization = models.OneToOneField(Authorization, on_delete=models.PROTECT, related_name="conversion_charge")
    from_currency = models.CharField(_("payment currency"), max_length=3)
    to_currency = models.CharField(_("account currency"), max_length=3, choices=Currency.choices)
    applied_rate = models.DecimalField(_("rate applied"), max_digits=24, decimal_places=12)
    reference_rate = models.DecimalField(_("ECB reference rate"), max_digits=24, decimal_places=12)
    reference_date = models.DateField(_("ECB reference date"))
    markup_percent = models.DecimalField(_("mark-up over the ECB rate (%)"), max_digits=28, decimal_places=2)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("conversion charge")
        verbose_name_plural = _("conversion charges")
        constraints = [
            models.CheckConstraint(
                condition=Q(applied_rate__gt=0, reference_rate__gt=0), name="conversion_charge_rates_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_currency}->{self.to_currency}: {self.markup_percent} % over ECB"


class ConversionNotice(models.Model):
    """The CBPR2 message sent for a card: one per card, payment currency and calendar month (Warsaw).

    The unique constraint is what makes it once only: two payments' jobs racing, or a job retried,
    meet at it, and only the first inserts its row and queues its SMS, in one transaction.
    """

    card = models.ForeignKey("cards.Card", on_delete=models.PROTECT, related_name="conversion_notices")
    currency = models.CharField(_("payment currency"), max_length=3)
    # The first day of the Warsaw calendar month of the payment.
    month = models.DateField(_("month"))
    authorization = models.ForeignKey(Authorization, on_delete=models.PROTECT, related_name="conversion_notices")
    sms = models.ForeignKey("notifications.OutboundSms", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("conversion charge message")
        verbose_name_plural = _("conversion charge messages")
        constraints = [
            models.UniqueConstraint(fields=["card", "currency", "month"], name="conversion_notice_once_a_month"),
        ]

    def __str__(self) -> str:
        return f"{self.card_id} {self.currency} {self.month:%Y-%m}"
