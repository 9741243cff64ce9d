"""The text message about a payment declined by a control the holder set (docs/decline-notices.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.translation import gettext_lazy

from kartosfera.core.money import MAX_AMOUNT_MINOR, Currency, Money, format_amount
from kartosfera.notifications import gsm7
from kartosfera.notifications.texts import LONGEST_SMS_NAME, SmsText, SmsValue, sms_template

SMS_DECLINE_NOTICE = sms_template(
    "notices.decline",
    # The amount in the payment's own currency (what the holder saw at the till), the merchant cut to fit.
    gettext_lazy(
        "%(bank)s: card *%(last4)s payment of %(amount)s at %(merchant)s declined: %(control)s. "
        "Change the setting in the portal."
    ),
    examples=lambda: _examples(),
)


def sms_amount(minor: int, currency: str) -> SmsValue:
    """A payment's amount as an SMS writes it: an account currency by ``Money``, any other by its ISO code."""
    if currency in Currency.values:
        return Money(minor, currency)
    # A plain string: render() transliterates its no-break spaces to plain ones.
    return format_amount(minor, currency)


def _cut(text: str, room: int) -> str:
    """The longest head of ``text`` (GSM-7) that takes at most ``room`` septets."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if char in gsm7.EXTENSION else 1
        if used > room:
            return text[:index].rstrip()
    return text


def decline_sms_values(
    *, bank: str, last4: str, amount: SmsValue, merchant: str, control: object
) -> dict[str, SmsValue]:
    """The message's values in the active language, the merchant's name cut so that the text fits one segment."""
    values: dict[str, SmsValue] = {"bank": bank, "last4": last4, "amount": amount, "control": str(control)}
    without = SMS_DECLINE_NOTICE.render(**values, merchant="").text
    room = gsm7.SEGMENT_SEPTETS - (gsm7.septets(without) or len(without))
    values["merchant"] = _cut(gsm7.transliterate(" ".join(merchant.split())), max(room, 0))
    return values


def decline_sms(*, bank: str, last4: str, amount: SmsValue, merchant: str, control: object) -> SmsText:
    """The message, rendered in the active language."""
    return SMS_DECLINE_NOTICE.render(
        **decline_sms_values(bank=bank, last4=last4, amount=amount, merchant=merchant, control=control)
    )


def _examples() -> Iterable[Mapping[str, SmsValue]]:
    from kartosfera.notices.controls import DECLINE_NOTICE_CONTROLS

    # The largest amount the processor may send, in an account currency and in two foreign ones
    # (three decimal places write the longest number); a merchant's name of 100 characters (the model's most).
    amounts = [sms_amount(MAX_AMOUNT_MINOR, currency) for currency in ("PLN", "EUR", "USD", "KWD")]
    return [
        decline_sms_values(bank=LONGEST_SMS_NAME, last4="9999", amount=amount, merchant="W" * 100, control=control)
        for control in DECLINE_NOTICE_CONTROLS.values()
        for amount in amounts
    ]
