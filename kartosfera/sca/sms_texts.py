"""The text messages carrying one-time codes: the activation password and the confirmation code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.apps import apps
from django.utils.translation import gettext_lazy

from kartosfera.core.money import Currency
from kartosfera.notifications.texts import LONGEST_ONE_TIME_CODE, LONGEST_SMS_NAME, SmsValue, sms_template

# How a code's SMS names what it confirms when it is not a step-up operation
# (those describe themselves: kartosfera/sca/stepup.py).
LOGIN_DESCRIPTION = gettext_lazy("signing in to the portal")
REGISTRATION_DESCRIPTION = gettext_lazy("registration in the portal")


def _activation_examples() -> Iterable[Mapping[str, SmsValue]]:
    from kartosfera.sca.services import ACTIVATION_LENGTH

    return [{"code": "W" * ACTIVATION_LENGTH}]


def _code_examples() -> Iterable[Mapping[str, SmsValue]]:
    """Every description a code's SMS can carry: sign-in, registration and each step-up operation's examples."""
    from kartosfera.sca import stepup

    # The card models by their labels: sca is below cards (cards registers its operations here) and does not import it.
    Card = apps.get_model("cards", "Card")
    CardProduct = apps.get_model("cards", "CardProduct")

    descriptions = [str(LOGIN_DESCRIPTION), str(REGISTRATION_DESCRIPTION)]
    for name in stepup.operation_names():
        operation = stepup.operation_get(name)
        for currency in Currency.values:
            # Unsaved: describe() reads only the last four digits and the currency.
            card = Card(pan_last4="9999", product=CardProduct(currency=currency))
            descriptions += [operation.describe(payload=payload, card=card) for payload in operation.examples]
    return [
        {"bank": LONGEST_SMS_NAME, "code": LONGEST_ONE_TIME_CODE, "description": description}
        for description in descriptions
    ]


SMS_ACTIVATION_PASSWORD = sms_template(
    "sca.activation_password",
    gettext_lazy(
        "Kartosfera: your activation password is %(code)s. It is valid for 10 minutes. Never give it to anybody."
    ),
    examples=_activation_examples,
)
SMS_CODE = sms_template(
    "sca.code",
    # Named after the card's bank for an operation on a card, else the group's portal (notifications.texts).
    gettext_lazy("%(bank)s code %(code)s: %(description)s. Never give it to anybody."),
    examples=_code_examples,
)
