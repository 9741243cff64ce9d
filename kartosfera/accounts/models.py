from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kartosfera.core.money import MAX_AMOUNT_MINOR, Currency, Money


class AccountKind(models.TextChoices):
    DEBIT = "debit", _("Debit (current) account")
    CREDIT = "credit", _("Credit card account")


class Account(models.Model):
    """The account a card draws on, with the figures the card core decides against.

    ``balance_minor`` is signed: on a debit account it is the available balance;
    on a credit account it is the balance, negative while money is owed. The
    funds a payment may use are ``balance + credit limit``.

    The balance is set once, when the account is opened (``opening_balance_minor``);
    from then on only postings move it (processing.Posting: the card scheme's clearing
    and the bank's own credits and debits), so balance = opening balance + the sum of
    the postings' changes (docs/decisions/0013).
    """

    bank = models.ForeignKey("banks.Bank", on_delete=models.PROTECT, related_name="accounts", verbose_name=_("bank"))
    # The bank's own reference: unique within the bank (another bank's core may use the same one).
    reference = models.CharField(_("bank account reference"), max_length=64)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="accounts", verbose_name=_("owner")
    )
    kind = models.CharField(_("kind"), max_length=8, choices=AccountKind.choices)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.PLN)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    balance_minor = models.BigIntegerField(_("balance (minor units)"), default=0)
    # The balance the account was opened with: the start of its ledger.
    opening_balance_minor = models.BigIntegerField(_("opening balance (minor units)"), default=0, editable=False)
    # The sum of the pending card holds on the account (processing.Authorization.held_minor),
    # kept in step in the same transaction as every hold change so that a decision reads one row.
    held_minor = models.BigIntegerField(_("held by pending card payments (minor units)"), default=0, editable=False)
    credit_limit_minor = models.BigIntegerField(_("credit limit (minor units)"), null=True, blank=True)
    billing_day = models.PositiveSmallIntegerField(_("billing day"), null=True, blank=True)
    # When the bank opened the account: now, or earlier for an account the bank opened before (account_create's
    # ``opened_at``). A credit account's first billing period starts that day (statements/close.py).
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(fields=["bank", "reference"], name="account_reference_unique_per_bank"),
            models.CheckConstraint(condition=Q(kind__in=AccountKind.values), name="account_kind_valid"),
            models.CheckConstraint(condition=Q(currency__in=Currency.values), name="account_currency_valid"),
            models.CheckConstraint(
                condition=Q(
                    kind=AccountKind.CREDIT,
                    credit_limit_minor__isnull=False,
                    credit_limit_minor__gte=0,
                    billing_day__gte=1,
                    billing_day__lte=28,
                )
                | Q(kind=AccountKind.DEBIT, credit_limit_minor__isnull=True, billing_day__isnull=True),
                name="account_credit_terms_iff_credit",
            ),
            # Every sum of these stays within 64 bits (core/money.py: MAX_AMOUNT_MINOR).
            models.CheckConstraint(
                condition=Q(balance_minor__gte=-MAX_AMOUNT_MINOR, balance_minor__lte=MAX_AMOUNT_MINOR),
                name="account_balance_within_max",
            ),
            models.CheckConstraint(
                condition=Q(opening_balance_minor__gte=-MAX_AMOUNT_MINOR, opening_balance_minor__lte=MAX_AMOUNT_MINOR),
                name="account_opening_balance_within_max",
            ),
            models.CheckConstraint(
                condition=Q(credit_limit_minor__isnull=True) | Q(credit_limit_minor__lte=MAX_AMOUNT_MINOR),
                name="account_credit_limit_within_max",
            ),
            # Holds never go negative; advices may hold past the funds but each is capped (MAX_AMOUNT_MINOR).
            models.CheckConstraint(condition=Q(held_minor__gte=0), name="account_held_gte_0"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def balance(self) -> Money:
        return Money(self.balance_minor, self.currency)

    @property
    def held(self) -> Money:
        """What pending card payments hold on the account ("blokady")."""
        return Money(self.held_minor, self.currency)

    @property
    def credit_limit(self) -> Money | None:
        return None if self.credit_limit_minor is None else Money(self.credit_limit_minor, self.currency)

    @property
    def available_minor(self) -> int:
        """What a payment may still use: balance + credit limit - pending holds (minor units)."""
        return self.balance_minor + (self.credit_limit_minor or 0) - self.held_minor

    @property
    def available_funds(self) -> Money:
        return Money(self.available_minor, self.currency)
