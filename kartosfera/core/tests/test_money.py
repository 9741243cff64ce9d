"""One way to write an amount (Money.format): pages, forms, the confirmation page and text messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from kartosfera.cards.operations_services import card_activate
from kartosfera.core.audit import Actor
from kartosfera.core.money import Money, currency_label
from kartosfera.notifications import gsm7
from kartosfera.sca.tests.helpers import challenge_from, texts_to

PHONE = "+48601000111"


def test_the_sms_variant_writes_the_page_number_with_the_iso_code_in_gsm7():
    with translation.override("pl"):
        assert Money(300_000, "PLN").format() == "3\xa0000,00\xa0zł"
        assert Money(300_000, "PLN").format(sms=True) == "3 000,00 PLN"
        assert Money(99_999_999, "EUR").format(sms=True) == "999 999,99 EUR"
        assert Money(300_000, "PLN").format_number() == "3\xa0000,00"
        assert (currency_label("PLN"), currency_label("PLN", sms=True)) == ("zł", "PLN")
    with translation.override("en"):
        assert Money(300_000, "PLN").format(sms=True) == "PLN 3,000.00"
        assert currency_label("PLN") == "PLN"
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            assert gsm7.is_gsm7(Money(123_456_789, "PLN").format(sms=True))


# --- every place writes amounts through Money.format ----------------------------------------


@pytest.fixture
def anna(client, cardholder):
    cardholder.user.portal_phone = PHONE
    cardholder.user.save(update_fields=["portal_phone"])
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def active(card):
    return card_activate(actor=Actor.system("tests"), card=card)


@pytest.mark.django_db(transaction=True)
def test_the_sms_and_the_confirmation_page_write_a_new_limit_as_the_formatter_does(anna, active):
    response = anna.post(
        reverse("portal:card_limits", kwargs={"card_id": active.pk}),
        {"cash": "2 000,00", "noncash": "5 000,00", "internet": "3000"},
    )
    challenge = challenge_from(response)
    with translation.override("pl"):
        amount = Money(300_000, "PLN").format(sms=True)
    assert amount == "3 000,00 PLN"
    assert f"zmiana limitu internetowego karty *{active.pan_last4} na {amount}" in texts_to(PHONE)[-1]
    page = anna.get(response["Location"]).content.decode()
    assert challenge.description in page
    assert amount in page
    assert "3000 PLN" not in texts_to(PHONE)[-1] + page


@pytest.mark.django_db(transaction=True)
def test_the_limits_form_takes_number_and_currency_from_the_formatter(anna, active):
    page = anna.get(reverse("portal:card_limits", kwargs={"card_id": active.pk})).content.decode()
    with translation.override("pl"):
        assert f'value="{active.limit("cash").format_number()}"' in page
        assert f"Od 0 do {active.limit_max('cash').format()}." in page
    assert "W złotych" not in page


@pytest.mark.django_db(transaction=True)
def test_the_low_value_exemption_writes_its_amounts_through_the_formatter(anna, settings):
    # The total shows when the bank ends the exemption by the amount (PSD2_EXEMPTION_COUNTER).
    settings.PSD2_EXEMPTION_COUNTER = "amount"
    page = anna.get(reverse("secure3d:index")).content.decode()
    with translation.override("pl"):
        assert f"do {Money(10_000, 'PLN').format()} za płatność" in page
        assert f"nie przekroczą {Money(40_000, 'PLN').format()}" in page
    assert " PLN" not in page


# Anything that formats a number or names a currency by hand, outside kartosfera/core/money.py.
_BY_HAND = re.compile(r"number_format|floatformat|intcomma|\bzł\b|[0-9}]\s*PLN\b|\bPLN\s*\{")
# The API reference explains minor units to developers in prose: no amount of anybody's is shown.
_PROSE = {"kartosfera/api/templates/api/reference.html"}


def test_no_code_or_template_formats_an_amount_by_hand():
    root = Path(settings.BASE_DIR)
    sources = [*root.joinpath("kartosfera").rglob("*.py"), *root.joinpath("templates").rglob("*.html")]
    sources += list(root.joinpath("kartosfera").rglob("templates/**/*.html"))
    offenders = []
    for path in sources:
        relative = path.relative_to(root).as_posix()
        if relative == "kartosfera/core/money.py" or relative in _PROSE or "/tests/" in relative:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith("#") or stripped.startswith('"""'):
                continue
            if _BY_HAND.search(line):
                offenders.append(f"{relative}:{number}: {stripped}")
    assert offenders == []
