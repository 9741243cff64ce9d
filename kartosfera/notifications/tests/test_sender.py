"""Each text message goes out under the sender of the bank it is about; otherwise under the group's."""

from __future__ import annotations

import pytest

from kartosfera.notifications.backends import locmem
from kartosfera.notifications.models import OutboundSms
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.texts import GROUP_SMS_NAME, SmsText, sms_bank_name
from kartosfera.testing.factories import bank_factory

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGE = SmsText(template="sca.code", text="BS Lomza code 482915: logowanie. Never give it to anybody.")
PHONE = "+48600100200"
HTTP_BACKEND = "kartosfera.notifications.backends.http.SmsBackend"


def test_a_banks_message_is_stored_and_handed_to_the_backend_with_the_banks_sender():
    bank = bank_factory("BS-LOMZA", sms_sender="BS Lomza")

    message = sms_send(to=PHONE, message=MESSAGE, purpose="sca.step_up", bank=bank)

    assert OutboundSms.objects.get(pk=message.pk).sender == "BS Lomza"
    [sent] = locmem.outbox
    assert sent.sender == "BS Lomza"


def test_without_a_bank_or_a_banks_sender_the_backend_uses_its_own():
    no_sender = bank_factory("BS-CICHY", sms_sender="")

    sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")
    sms_send(to=PHONE, message=MESSAGE, purpose="sca.login", bank=no_sender)

    assert [sms.sender for sms in locmem.outbox] == ["", ""]
    assert set(OutboundSms.objects.values_list("sender", flat=True)) == {""}


def test_the_http_gateway_gets_the_banks_sender_or_the_configured_group_one(gateway, settings):
    settings.SMS_BACKEND = HTTP_BACKEND
    settings.SMS_BACKEND_OPTIONS = {"url": gateway.url, "sender": "Grupa BPS", "retries": 0}
    bank = bank_factory("BS-LOMZA", sms_sender="BS Lomza")

    sms_send(to=PHONE, message=MESSAGE, purpose="sca.step_up", bank=bank)
    sms_send(to=PHONE, message=MESSAGE, purpose="sca.login")

    assert [request.body["sender"] for request in gateway.received] == ["BS Lomza", "Grupa BPS"]


def test_a_text_names_the_bank_by_its_sender_else_a_short_name_that_fits_else_the_group():
    assert sms_bank_name(None) == GROUP_SMS_NAME
    assert sms_bank_name(bank_factory("BS-A", sms_sender="BSA Online")) == "BSA Online"
    assert sms_bank_name(bank_factory("BS-B", sms_sender="", short_name="BS Łomża")) == "BS Łomża"
    long_name = bank_factory("BS-C", sms_sender="", short_name="Bank Spółdzielczy w Zambrowie")
    assert sms_bank_name(long_name) == GROUP_SMS_NAME
