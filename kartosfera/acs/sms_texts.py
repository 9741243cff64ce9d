"""The text message with a 3-D Secure challenge's code: it names the amount and the payee (dynamic linking)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.translation import gettext_lazy

from kartosfera.notifications.texts import LONGEST_ONE_TIME_CODE, LONGEST_SMS_NAME, SmsValue, sms_template

# The longest merchant name an AReq carries (merchantName: 40 characters), with Polish letters.
LONGEST_MERCHANT_NAME = "Przedsiębiorstwo Handlowe Żółć-Ślęża Łód"
assert len(LONGEST_MERCHANT_NAME) == 40


def _payment_code_examples() -> Iterable[Mapping[str, SmsValue]]:
    from kartosfera.acs.challenge import purchase_amount_text
    from kartosfera.core.money import MAX_AMOUNT_MINOR

    # The largest amount the AReq allows, in the currencies whose label is longest in each language.
    amounts = [purchase_amount_text(MAX_AMOUNT_MINOR, currency, 2, sms=True) for currency in ("985", "978", "999")]
    return [
        {"bank": LONGEST_SMS_NAME, "code": LONGEST_ONE_TIME_CODE, "amount": amount, "merchant": LONGEST_MERCHANT_NAME}
        for amount in amounts
    ]


SMS_PAYMENT_CODE = sms_template(
    "acs.challenge.code",
    # PSD2 RTS art. 5 (dynamic linking): the holder sees what the code confirms, the amount and the payee.
    gettext_lazy("%(bank)s code %(code)s: internet payment of %(amount)s to %(merchant)s. Never give it to anybody."),
    examples=_payment_code_examples,
)
