"""The decline reasons and the response code each one gets per scheme: ONE table.

A decline reason is a stable snake_case code (the API's ``decline_reason``), with
its text in Polish and English and, where a cardholder's setting caused it, the
setting. ``CODES`` maps it to the ISO 8583 field 39 response code for Visa and
for Mastercard, and to Mastercard's merchant advice code (DE 48 SE 84). The
choices follow ../shared/research/card-authorization.md §1 and its "Recommended
choices" 1-2; the ones no source prescribes are marked † in docs/processing.md.
The merchant advice code follows the Visa category of the Visa code (§1: category
1 never approve → 03, 2 not now → 02, 3 fix the data → 01).

Never 05 where a precise code exists: no row uses it. Adding a check to the
pipeline = one function in pipeline.py + one row here (docs/processing.md shows
this table; a test keeps the two equal: ``codes_table_markdown``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kartosfera.cards.models import Brand

APPROVED = "00"
# An empty cell of the doc's table (an en dash).
NONE = "\u2013"
PARTIALLY_APPROVED = "10"


class Reason:
    """The decline reasons, in the pipeline's order."""

    CARD_UNKNOWN = "card_unknown"
    EXPIRY_MISMATCH = "card_expiry_mismatch"
    CARD_EXPIRED = "card_expired"
    CARD_NOT_ACTIVATED = "card_not_activated"
    CARD_BLOCKED_BY_HOLDER = "card_blocked_by_holder"
    CARD_BLOCKED_BY_BANK = "card_blocked_by_bank"
    CARD_LOST = "card_lost"
    CARD_STOLEN = "card_stolen"
    CARD_CANCELLED = "card_cancelled"
    # The customer stopped every payment of every card ("stop everything", docs/stop-everything.md).
    CUSTOMER_STOPPED = "customer_stopped"
    PIN_REQUIRED = "pin_required"
    PIN_UNVERIFIABLE = "pin_unverifiable"
    PIN_TRIES_EXCEEDED = "pin_tries_exceeded"
    PIN_WRONG = "pin_wrong"
    CONTACTLESS_DISABLED = "contactless_disabled"
    # The finer controls the holder sets (docs/controls.md), in the pipeline's order.
    ATM_DISABLED = "atm_disabled"
    ONLINE_DISABLED = "online_disabled"
    MAGSTRIPE_DISABLED = "magstripe_disabled"
    MOTO_DISABLED = "moto_disabled"
    ABROAD_DISABLED = "abroad_disabled"
    COUNTRY_BLOCKED = "country_blocked"
    MERCHANT_CATEGORY_BLOCKED = "merchant_category_blocked"
    # A tap without a PIN past the no-PIN limit or the PSD2 contactless counter: the terminal asks for the PIN.
    CONTACTLESS_PIN_REQUIRED = "contactless_pin_required"
    MOBILE_PAYMENTS_DISABLED = "mobile_payments_disabled"
    TOKEN_SUSPENDED = "token_suspended"  # noqa: S105 (a decline reason, not a secret)
    # A token that is only requested, deleted, unknown or another card's.
    TOKEN_NOT_USABLE = "token_not_usable"  # noqa: S105 (a decline reason, not a secret)
    INTERNET_PAYMENTS_LOCKED = "internet_payments_locked"
    SCA_REQUIRED = "sca_required"
    CASH_LIMIT_EXCEEDED = "cash_limit_exceeded"
    NONCASH_LIMIT_EXCEEDED = "noncash_limit_exceeded"
    INTERNET_LIMIT_EXCEEDED = "internet_limit_exceeded"
    ATM_COUNT_EXCEEDED = "atm_count_exceeded"
    POS_COUNT_EXCEEDED = "pos_count_exceeded"
    ONLINE_COUNT_EXCEEDED = "online_count_exceeded"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    # An increment of an authorization that no longer holds money (declined, reversed, expired, settled).
    ORIGINAL_NOT_PENDING = "original_not_pending"


class Setting:
    """The cardholder's setting that caused a decline (the portal links to it later)."""

    CONTACTLESS = "contactless"
    MOBILE_PAYMENTS = "mobile_payments"
    THREEDS = "threeds"
    LIMITS = "limits"
    STATE = "state"
    # The card's controls page: the finer switches, merchant categories, countries and count limits.
    CONTROLS = "controls"
    STOP = "stop"


@dataclass(frozen=True)
class Code:
    reason: str
    visa: str
    mastercard: str
    # Mastercard's merchant advice code; "" where none is sent.
    mastercard_advice: str
    text: Promise
    setting: str = ""
    # A design choice that no source prescribes (docs/processing.md marks it †).
    chosen: bool = False

    def response_code(self, brand: str) -> str:
        return self.visa if brand == Brand.VISA else self.mastercard

    def advice_code(self, brand: str) -> str:
        return self.mastercard_advice if brand == Brand.MASTERCARD else ""

    def texts(self) -> dict[str, str]:
        """The reason in Polish and English, whatever the request's language."""
        out = {}
        for language in ("pl", "en"):
            with translation.override(language):
                out[language] = str(self.text)
        return out


_ROWS = (
    Code(Reason.CARD_UNKNOWN, "14", "14", "03", _("The card is not known to the bank.")),
    Code(Reason.EXPIRY_MISMATCH, "54", "54", "01", _("The expiry date does not match the card."), chosen=True),
    Code(Reason.CARD_EXPIRED, "54", "54", "01", _("The card has expired.")),
    Code(
        Reason.CARD_NOT_ACTIVATED,
        "78",
        "62",
        "02",
        _("The card has not been activated yet."),
        setting=Setting.STATE,
        chosen=True,
    ),
    Code(
        Reason.CARD_BLOCKED_BY_HOLDER,
        "9G",
        "57",
        "02",
        _("The card is temporarily blocked by the cardholder."),
        setting=Setting.STATE,
    ),
    Code(Reason.CARD_BLOCKED_BY_BANK, "62", "62", "02", _("The card is blocked by the bank."), chosen=True),
    Code(Reason.CARD_LOST, "41", "41", "03", _("The card is cancelled as lost.")),
    Code(Reason.CARD_STOLEN, "43", "43", "03", _("The card is cancelled as stolen.")),
    Code(Reason.CARD_CANCELLED, "46", "46", "03", _("The card is cancelled.")),
    # A holder's freeze of everything (research, "Recommended choices": holder freezes): Visa 9G (blocked by the
    # cardholder), Mastercard 57, advice 02 (not now: the holder may lift it).
    Code(
        Reason.CUSTOMER_STOPPED,
        "9G",
        "57",
        "02",
        _("The cardholder has stopped all payments."),
        setting=Setting.STOP,
    ),
    Code(Reason.PIN_REQUIRED, "70", "55", "01", _("This payment needs the card's PIN."), chosen=True),
    Code(
        Reason.PIN_UNVERIFIABLE,
        "96",
        "96",
        "02",
        _("The PIN could not be verified; please try again later."),
        chosen=True,
    ),
    Code(Reason.PIN_TRIES_EXCEEDED, "75", "75", "02", _("The PIN is blocked after too many wrong PINs.")),
    Code(Reason.PIN_WRONG, "55", "55", "01", _("The PIN is wrong.")),
    Code(
        Reason.CONTACTLESS_DISABLED,
        "9G",
        "57",
        "02",
        _("Contactless payments are switched off for this card."),
        setting=Setting.CONTACTLESS,
        chosen=True,
    ),
    # The finer switches, countries and merchant categories the holder sets (docs/controls.md): research §1,
    # "Recommended choices" 2: channel toggles are a cardholder setting, Visa 9G / Mastercard 57; advice 02
    # (not now: the holder may switch it back on).
    Code(
        Reason.ATM_DISABLED,
        "9G",
        "57",
        "02",
        _("Cash withdrawals at ATMs are switched off for this card."),
        setting=Setting.CONTROLS,
        chosen=True,
    ),
    Code(
        Reason.ONLINE_DISABLED,
        "9G",
        "57",
        "02",
        _("Internet payments are switched off for this card."),
        setting=Setting.CONTROLS,
        chosen=True,
    ),
    Code(
        Reason.MAGSTRIPE_DISABLED,
        "9G",
        "57",
        "02",
        _("Magnetic stripe payments are switched off for this card."),
        setting=Setting.CONTROLS,
        chosen=True,
    ),
    Code(
        Reason.MOTO_DISABLED,
        "9G",
        "57",
        "02",
        _("Mail and telephone orders are switched off for this card."),
        setting=Setting.CONTROLS,
        chosen=True,
    ),
    Code(
        Reason.ABROAD_DISABLED,
        "9G",
        "57",
        "02",
        _("Payments abroad are switched off for this card."),
        setting=Setting.CONTROLS,
        chosen=True,
    ),
    Code(
        Reason.COUNTRY_BLOCKED,
        "9G",
        "57",
        "02",
        _("The card is not allowed to pay in this country."),
        setting=Setting.CONTROLS,
        chosen=True,
    ),
    Code(
        Reason.MERCHANT_CATEGORY_BLOCKED,
        "9G",
        "57",
        "02",
        _("Payments to this kind of merchant are blocked for this card."),
        setting=Setting.CONTROLS,
        chosen=True,
    ),
    # The SCA soft decline of a tap (research §1, "Recommended choices" 2): Visa 70 (PIN required: every
    # contactless terminal takes a PIN, it must ask for one above the no-PIN limit), Mastercard 65.
    Code(
        Reason.CONTACTLESS_PIN_REQUIRED,
        "70",
        "65",
        "",
        _(
            "A contactless payment above the amount allowed without a PIN, or after several in a row without one, "
            "needs the card's PIN."
        ),
    ),
    Code(
        Reason.MOBILE_PAYMENTS_DISABLED,
        "62",
        "62",
        "02",
        _("Mobile payments are not active for this card."),
        setting=Setting.MOBILE_PAYMENTS,
        chosen=True,
    ),
    # Research §1: "Wallet token suspended: 62 † / 62 †". Advice 02 (try later) for a suspension, which can be
    # lifted; 03 (do not try again) for a token that will never pay.
    Code(
        Reason.TOKEN_SUSPENDED,
        "62",
        "62",
        "02",
        _("The card's token in this phone wallet is suspended."),
        setting=Setting.MOBILE_PAYMENTS,
        chosen=True,
    ),
    Code(
        Reason.TOKEN_NOT_USABLE,
        "62",
        "62",
        "03",
        _("The card's token in this phone wallet is not active."),
        setting=Setting.MOBILE_PAYMENTS,
        chosen=True,
    ),
    Code(
        Reason.INTERNET_PAYMENTS_LOCKED,
        "62",
        "62",
        "02",
        _("Internet payments are locked after wrong 3-D Secure confirmations."),
        setting=Setting.THREEDS,
        chosen=True,
    ),
    Code(
        Reason.SCA_REQUIRED,
        "1A",
        "65",
        "",
        _("The payment must be confirmed with 3-D Secure."),
        # The 3-D Secure settings hold what spares a confirmation: the low-value switch, the trusted merchants.
        setting=Setting.THREEDS,
    ),
    Code(
        Reason.CASH_LIMIT_EXCEEDED,
        "61",
        "61",
        "02",
        _("The daily cash withdrawal limit would be exceeded."),
        setting=Setting.LIMITS,
    ),
    Code(
        Reason.NONCASH_LIMIT_EXCEEDED,
        "61",
        "61",
        "02",
        _("The daily card payment limit would be exceeded."),
        setting=Setting.LIMITS,
    ),
    Code(
        Reason.INTERNET_LIMIT_EXCEEDED,
        "61",
        "61",
        "02",
        _("The daily internet payment limit would be exceeded."),
        setting=Setting.LIMITS,
    ),
    # Count limits: research §1, "Recommended choices" 2: Visa 65 (exceeds frequency limit), Mastercard 61 (never
    # 65 for velocity in the EEA: there it means "SCA required").
    Code(
        Reason.ATM_COUNT_EXCEEDED,
        "65",
        "61",
        "02",
        _("The daily number of ATM withdrawals would be exceeded."),
        setting=Setting.CONTROLS,
    ),
    Code(
        Reason.POS_COUNT_EXCEEDED,
        "65",
        "61",
        "02",
        _("The daily number of payments at terminals would be exceeded."),
        setting=Setting.CONTROLS,
    ),
    Code(
        Reason.ONLINE_COUNT_EXCEEDED,
        "65",
        "61",
        "02",
        _("The daily number of internet payments would be exceeded."),
        setting=Setting.CONTROLS,
    ),
    Code(Reason.INSUFFICIENT_FUNDS, "51", "51", "02", _("There are not enough funds on the account.")),
    Code(
        Reason.ORIGINAL_NOT_PENDING,
        "12",
        "12",
        "03",
        _("The authorization to increase is no longer open."),
        chosen=True,
    ),
)

CODES: dict[str, Code] = {row.reason: row for row in _ROWS}


def code_for(reason: str) -> Code:
    return CODES[reason]


def codes_table_markdown() -> str:
    """The table as docs/processing.md shows it (a test keeps the doc equal to this)."""
    lines = [
        "| Decline reason | Visa | Mastercard | Mastercard advice code | Setting | Text (English) |",
        "|---|---|---|---|---|---|",
    ]
    with translation.override("en"):
        for row in _ROWS:
            mark = " †" if row.chosen else ""
            lines.append(
                f"| `{row.reason}`{mark} | {row.visa} | {row.mastercard} | {row.mastercard_advice or NONE} "
                f"| {row.setting or NONE} | {row.text} |"
            )
    return "\n".join(lines)
