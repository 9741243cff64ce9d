"""Credit card statements: one immutable snapshot per credit account and billing period (docs/statements.md).

A statement is what the bank told the holder on its statement date: the figures, the lines and the
details of the bank and the holder as of that day. Nothing recomputes it later: the page, the PDF
and the CSV read these rows only, so a change of the bank's address, a new ledger posting or a new
product rate never alters a statement already issued. The rows never change (the models refuse,
and database triggers refuse UPDATE and DELETE: migration 0002); a mistake is put right by a
*correction*, a new statement of the same account and period that names the one it corrects.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.core.models import AppendOnlyError
from kartosfera.core.money import MAX_AMOUNT_MINOR, Currency, Money


class InterestRule(models.TextChoices):
    """Why a statement charges interest or not (docs/statements.md, "Interest")."""

    # The first statement of an account: its purchases have their grace period still to come.
    FIRST_STATEMENT = "first_statement", _("First statement: no interest")
    # The previous statement left nothing to repay.
    NOTHING_OWED = "nothing_owed", _("Nothing was owed: no interest")
    # The previous statement was repaid in full by its due date.
    REPAID_IN_FULL = "repaid_in_full", _("Previous statement repaid in full by its due date: no interest")
    # The previous statement's due date is after this statement date: its grace period still runs.
    GRACE_RUNNING = "grace_running", _("Previous statement not yet due: no interest")
    # Not repaid in full by the due date: daily interest on the balance owed.
    CHARGED = "charged", _("Previous statement not repaid in full by its due date: interest charged")


class FeeReason(models.TextChoices):
    """Why the close charged a fee: a fee line's ``description``, shown in words with the payment's merchant."""

    CASH_WITHDRAWAL = "cash_withdrawal", _("Cash withdrawal fee")
    CONVERSION = "conversion", _("Currency conversion fee")


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """No update or delete through the ORM either (and none in the database: migration 0002)."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("statements are never changed; issue a correction instead")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("statements are never deleted; issue a correction instead")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("statements are never changed; issue a correction instead")


class AppendOnlyModel(models.Model):
    """A row that is written once: saving it again or deleting it is refused (triggers refuse it in SQL too)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError(f"A {self._meta.verbose_name} is never changed; issue a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"A {self._meta.verbose_name} is never deleted; issue a correction instead.")


class Statement(AppendOnlyModel):
    """One credit account's statement of one billing period.

    Balances are signed as the account's: negative while money is owed. ``debits_minor`` and
    ``credits_minor`` are the sums of the lines' debits and credits (positive numbers), so
    ``closing = opening - debits + credits`` (a CHECK); interest and fees are debits and
    repayments credits, counted again apart for the summary.

    ``snapshot`` holds the details shown as of the statement date (schema: docs/statements.md,
    "The snapshot"): the bank's legal details, the holder, the account, the product, the terms
    and how interest was decided.
    """

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="statements", verbose_name=_("account")
    )
    # The account's bank and owner at the close, kept on the row: every read reaches a statement through them.
    bank = models.ForeignKey("banks.Bank", on_delete=models.PROTECT, related_name="+", verbose_name=_("bank"))
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="statements", verbose_name=_("holder")
    )
    number = models.CharField(_("statement number"), max_length=100)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("statement date"))
    due_date = models.DateField(_("due date"))
    corrects = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="correction",
        verbose_name=_("corrects statement"),
    )
    correction_reason = models.CharField(_("reason for the correction"), max_length=500, blank=True)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    opening_balance_minor = models.BigIntegerField(_("opening balance"))
    debits_minor = models.BigIntegerField(_("debits"))
    credits_minor = models.BigIntegerField(_("credits"))
    closing_balance_minor = models.BigIntegerField(_("closing balance"))
    interest_minor = models.BigIntegerField(_("interest"))
    fees_minor = models.BigIntegerField(_("fees"))
    repayments_minor = models.BigIntegerField(_("repayments"))
    minimum_payment_minor = models.BigIntegerField(_("minimum payment"))
    credit_limit_minor = models.BigIntegerField(_("credit limit"))
    held_minor = models.BigIntegerField(_("held by pending card payments"))
    available_minor = models.BigIntegerField(_("available limit"))
    interest_rule = models.CharField(_("interest"), max_length=24, choices=InterestRule.choices)
    snapshot = models.JSONField(_("details as of the statement date"))
    closed_at = models.DateTimeField(_("closed at"), default=timezone.now)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-period_end", "-id"]
        indexes = [models.Index(fields=["customer", "-period_end"], name="statement_customer_period")]
        constraints = [
            # The close's idempotency: one original statement per account and period.
            models.UniqueConstraint(
                fields=["account", "period_end"],
                condition=Q(corrects__isnull=True),
                name="statement_one_original_per_period",
            ),
            models.UniqueConstraint(fields=["bank", "number"], name="statement_number_unique_per_bank"),
            models.CheckConstraint(
                condition=Q(closing_balance_minor=F("opening_balance_minor") - F("debits_minor") + F("credits_minor")),
                name="statement_balances_add_up",
            ),
            models.CheckConstraint(condition=Q(period_start__lte=F("period_end")), name="statement_period_order"),
            models.CheckConstraint(condition=Q(due_date__gte=F("period_end")), name="statement_due_after_close"),
            models.CheckConstraint(
                condition=Q(
                    debits_minor__gte=0,
                    credits_minor__gte=0,
                    interest_minor__gte=0,
                    fees_minor__gte=0,
                    repayments_minor__gte=0,
                    minimum_payment_minor__gte=0,
                    credit_limit_minor__gte=0,
                    held_minor__gte=0,
                ),
                name="statement_sums_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    opening_balance_minor__gte=-MAX_AMOUNT_MINOR,
                    opening_balance_minor__lte=MAX_AMOUNT_MINOR,
                    closing_balance_minor__gte=-MAX_AMOUNT_MINOR,
                    closing_balance_minor__lte=MAX_AMOUNT_MINOR,
                ),
                name="statement_balances_within_max",
            ),
            # A correction says why; an original has nothing to say.
            models.CheckConstraint(
                condition=(Q(corrects__isnull=True) & Q(correction_reason=""))
                | (Q(corrects__isnull=False) & ~Q(correction_reason="")),
                name="statement_correction_has_reason",
            ),
            models.CheckConstraint(condition=Q(interest_rule__in=InterestRule.values), name="statement_rule_valid"),
        ]

    def __str__(self) -> str:
        return self.number

    def money(self, minor: int) -> Money:
        return Money(minor, self.currency)

    @property
    def owed_minor(self) -> int:
        """What the holder owes at the close (0 when the balance is not negative)."""
        return max(0, -self.closing_balance_minor)


class StatementLine(AppendOnlyModel):
    """One posting as the statement shows it: every figure copied from the ledger at the close.

    ``balance_change_minor`` is signed in the account's currency (negative: a debit), as the
    posting's; ``amount_minor``/``currency`` are the original amount and currency of a card
    payment; ``fx_rate`` and ``fx_markup_percent`` describe a conversion (CBPR2's mark-up over the
    ECB's reference rate, the product's conversion fee included).
    """

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField(_("position"))
    posting = models.ForeignKey("processing.Posting", on_delete=models.PROTECT, related_name="statement_lines")
    kind = models.CharField(_("kind"), max_length=24)
    transaction_date = models.DateField(_("transaction date"))
    posting_date = models.DateField(_("posting date"))
    card_last4 = models.CharField(_("card"), max_length=4, blank=True)
    merchant_name = models.CharField(_("merchant"), max_length=100, blank=True)
    merchant_city = models.CharField(_("merchant city"), max_length=50, blank=True)
    merchant_country = models.CharField(_("merchant country"), max_length=2, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    amount_minor = models.BigIntegerField(_("amount in the original currency"))
    currency = models.CharField(_("original currency"), max_length=3)
    balance_change_minor = models.BigIntegerField(_("amount in the account's currency"))
    fx_rate = models.DecimalField(_("conversion rate"), max_digits=24, decimal_places=12, null=True, blank=True)
    fx_markup_percent = models.DecimalField(
        _("conversion mark-up over the ECB rate (%)"), max_digits=28, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement", "position"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "position"], name="statement_line_position_unique"),
            models.UniqueConstraint(fields=["statement", "posting"], name="statement_line_posting_unique"),
            models.CheckConstraint(condition=~Q(balance_change_minor=0), name="statement_line_moves_money"),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id}#{self.position}"

    @property
    def is_debit(self) -> bool:
        return self.balance_change_minor < 0


class DocumentFormat(models.TextChoices):
    PDF = "pdf", "PDF"


class StatementDocument(AppendOnlyModel):
    """A statement's rendered document, stored at its first download so the holder gets the same bytes every time.

    One per statement, format and language: the holder reads Polish or English.
    """

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="documents")
    format = models.CharField(_("format"), max_length=8, choices=DocumentFormat.choices)
    language = models.CharField(_("language"), max_length=8)
    content = models.BinaryField(_("content"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size (bytes)"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("statement document")
        verbose_name_plural = _("statement documents")
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "format", "language"], name="statement_document_unique_per_language"
            ),
            models.CheckConstraint(condition=Q(format__in=DocumentFormat.values), name="statement_document_format"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="statement_document_sha256"),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id} {self.format} {self.language}"
