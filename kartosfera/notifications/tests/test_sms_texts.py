"""Every text message is a registered template that fits one GSM-7 segment in every language (docs/sms.md)."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import translation

from kartosfera.cards.models import Card, CardProduct
from kartosfera.core.money import Money
from kartosfera.notifications import gsm7
from kartosfera.notifications.backends import locmem
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.texts import LONGEST_SMS_NAME, SmsText, sms_template_list
from kartosfera.sca import stepup
from kartosfera.sca.sms_texts import SMS_CODE
from kartosfera.secure3d.stepup_operations import MERCHANT_ADD

POLISH_LETTERS = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
LANGUAGES = [code for code, _name in settings.LANGUAGES]
# Every message the portal sends today; a new one joins this list (and its examples are rendered below).
EXPECTED_TEMPLATES = {
    "backoffice.staff.enrolment",
    "devices.pin.changed",
    "sca.activation_password",
    "sca.code",
    "users.locked",
    "users.password.changed",
    "users.phone.changed",
    "users.registration.password_set",
}


def _rendered() -> list[tuple[str, str, str]]:
    rendered = []
    for template in sms_template_list():
        for language in LANGUAGES:
            with translation.override(language):
                examples = list(template.examples())
                assert examples, template.name
                rendered += [(template.name, language, template.render(**values).text) for values in examples]
    return rendered


def test_the_registry_holds_every_text_message():
    assert {template.name for template in sms_template_list()} >= EXPECTED_TEMPLATES


@pytest.mark.parametrize(("name", "language", "text"), _rendered())
def test_every_text_message_fits_one_gsm7_segment_with_the_longest_values(name, language, text):
    assert gsm7.is_gsm7(text), f"{name} [{language}] is not GSM-7: {text}"
    assert not POLISH_LETTERS & set(text)
    assert gsm7.septets(text) <= gsm7.SEGMENT_SEPTETS, f"{name} [{language}]: {gsm7.septets(text)} septets: {text}"


@pytest.mark.parametrize("template", sms_template_list(), ids=lambda template: template.name)
def test_the_polish_words_of_every_text_message_are_translated_and_gsm7(template):
    with translation.override("pl"):
        polish = str(template.text)
    with translation.override("en"):
        english = str(template.text)
    assert polish != english, f"{template.name} has no Polish translation"
    # The template's own words: a value may be transliterated, a translator's ą may not hide behind it.
    assert gsm7.is_gsm7(polish), polish


def test_every_step_up_operation_gives_the_longest_values_of_its_sms():
    names = stepup.operation_names()
    assert names
    with translation.override("pl"):
        descriptions = {values["description"] for values in SMS_CODE.examples()}
        for name in names:
            operation = stepup.operation_get(name)
            assert operation.examples, f"{name} has no examples for the SMS test"
            card = Card(pan_last4="9999", product=CardProduct(currency="PLN"))
            for payload in operation.examples:
                assert operation.describe(payload=payload, card=card) in descriptions


def test_the_longest_limits_change_in_one_sms():
    with translation.override("pl"):
        texts = [SMS_CODE.render(**values).text for values in SMS_CODE.examples()]
    longest = Money(99_999_999, "PLN")
    with translation.override("pl"):
        amount = longest.format(sms=True)
    assert any(text.count(amount) == 3 for text in texts)


def test_a_merchant_name_is_shortened_and_transliterated_for_the_sms():
    operation = stepup.operation_get(MERCHANT_ADD)
    with translation.override("pl"):
        description = operation.describe(payload={"name": "Księgarnia Świętokrzyska " * 4}, card=None)
        text = SMS_CODE.render(bank=LONGEST_SMS_NAME, code="123456", description=description).text
    assert "Ksiegarnia Swietokrzyska" in text
    assert gsm7.fits_one_segment(text)


def test_gsm7_counts_the_extension_table_twice_and_transliterates_polish():
    assert gsm7.septets("Kod 123456") == 10
    assert gsm7.septets("€[]") == 6
    assert gsm7.septets("zł") is None
    assert gsm7.transliterate("Zażółć gęślą jaźń \u2013 \u201eŁódź\u201d\xa0\u2026") == 'Zazolc gesla jazn - "Lodz" ...'
    assert gsm7.transliterate("Café Müller") == "Café Müller"  # already GSM-7: left alone


@pytest.mark.django_db(transaction=True)
def test_sms_send_refuses_free_text():
    with pytest.raises(TypeError):
        sms_send(to="+48601000111", message="Kartosfera code 123456", purpose="sca.login")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sms_send(to="+48601000111", message=SmsText(template="nobody.knows", text="x"), purpose="sca.login")
    assert locmem.outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_text_outside_gsm7_is_transliterated_at_send_time_and_logged(caplog):
    # A translator's slip: the registered template's words with Polish letters.
    slip = SmsText(template=SMS_CODE.name, text="Kartosfera. Kod 123456: zmiana hasła. Nie podawaj go nikomu.")
    with caplog.at_level(logging.ERROR, logger="kartosfera.notifications.texts"), transaction.atomic():
        sms_send(to="+48601000111", message=slip, purpose="sca.step_up")
    assert locmem.outbox[-1].text == "Kartosfera. Kod 123456: zmiana hasla. Nie podawaj go nikomu."
    assert [record.getMessage() for record in caplog.records] == ["sms text not in GSM-7, transliterated"]
    assert "123456" not in caplog.text
