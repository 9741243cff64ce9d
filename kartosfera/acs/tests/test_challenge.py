"""The browser challenge at the acsURL: CReq → the form → the 3DS PIN and the SMS code → the CRes and the RReq."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from kartosfera.acs.challenge import MAX_CODE_SENDS, payment_code_sms, purchase_amount_text
from kartosfera.acs.models import AuthenticationRecord, RecordStatus, RReqStatus
from kartosfera.acs.selectors import rreq_received
from kartosfera.acs.services import areq_answer
from kartosfera.acs.sms_texts import LONGEST_MERCHANT_NAME
from kartosfera.acs.tests.helpers import CHALLENGE_URL, DS, areq, with_threeds_pin
from kartosfera.banks.models import Bank
from kartosfera.cards.models import CardStatus
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.crypto import decrypt
from kartosfera.core.models import AuditEvent
from kartosfera.core.money import MAX_AMOUNT_MINOR
from kartosfera.notifications import gsm7
from kartosfera.notifications.backends import locmem
from kartosfera.notifications.models import OutboundSms
from kartosfera.notifications.texts import LONGEST_SMS_NAME
from kartosfera.processing.tests.helpers import CardFixture, active_card
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.secure3d.services import threeds_is_locked, threeds_unlock
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db
WARSAW = ZoneInfo("Europe/Warsaw")
PIN = "7391"  # with_threeds_pin's
SESSION_DATA = "c2Vzc2lvbi0xMjM"
# Unsaved: the text reads only the sender name, here the longest a bank may have.
LONGEST_BANK = Bank(sms_sender=LONGEST_SMS_NAME)


def pending(tc: CardFixture | None = None, *, pin: bool = True, **overrides: Any) -> AuthenticationRecord:
    """A challenge the ACS asked for (an amount above the low-value exemption)."""
    tc = tc or active_card()
    if pin and not ThreeDSProfile.objects.filter(customer=tc.card.customer).exists():
        with_threeds_pin(tc)
    message = areq(tc, purchaseAmount="90000", **overrides)
    answer = json.loads(areq_answer(actor=DS, areq=message, challenge_url=CHALLENGE_URL))
    assert answer["transStatus"] == "C", answer
    return AuthenticationRecord.objects.get(acs_trans_id=answer["acsTransID"])


def creq_of(record: AuthenticationRecord, *, padding: bool = False, **overrides: Any) -> str:
    message = {
        "messageType": "CReq",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": str(record.three_ds_server_trans_id),
        "acsTransID": str(record.acs_trans_id),
        "challengeWindowSize": "05",
        **overrides,
    }
    encoded = base64.urlsafe_b64encode(json.dumps(message).encode()).decode()
    return encoded if padding else encoded.rstrip("=")


def begin(client: Client, record: AuthenticationRecord, **creq: Any):
    return client.post("/acs/challenge", {"creq": creq_of(record, **creq), "threeDSSessionData": SESSION_DATA})


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, response.content.decode()
    return match.group(1)


def last_text() -> str:
    """The latest text message queued (the gateway gets it after commit, which these tests do not wait for)."""
    message = OutboundSms.objects.order_by("-pk").first()
    assert message is not None
    return decrypt(message.text_ciphertext) if message.text_ciphertext else locmem.outbox[-1].text


def last_code() -> str:
    # "code 123456" in English, "Kod 123456" in Polish.
    match = re.search(r"\b(?:[Cc]ode|Kod) (\d{6})\b", last_text())
    assert match, last_text()
    return match.group(1)


def step(client: Client, record: AuthenticationRecord, token: str, action: str = "submit", **data: str):
    return client.post(
        f"/acs/challenge/{record.acs_trans_id}/",
        {"token": token, "action": action, "threeDSSessionData": SESSION_DATA, **data},
    )


def cres_of(response) -> dict[str, Any]:
    match = re.search(r'name="cres" value="([^"]+)"', response.content.decode())
    assert match, response.content.decode()
    value = match.group(1)
    assert "=" not in value  # base64url without padding
    return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


@pytest.fixture
def started(client, django_capture_on_commit_callbacks):
    """A challenge whose CReq has come: (record, token, code)."""
    record = pending()
    with django_capture_on_commit_callbacks(execute=True):
        response = begin(client, record)
    assert response.status_code == 200, response.content
    return record, token_of(response), last_code()


# --- The CReq and the form ----------------------------------------------------------------------


def test_the_creq_shows_the_payment_and_sends_a_code_naming_merchant_and_amount(client, started):
    record, _token, code = started
    record.refresh_from_db()
    assert record.creq["messageType"] == "CReq" and record.code_sends == 1 and record.code_digest
    assert record.challenge_token_digest and code not in record.code_digest
    sms = locmem.outbox[-1]
    assert sms.to == record.card.customer.phone_on_file
    # Dynamic linking: the text names the amount (Polish format, with the currency) and the merchant.
    assert "900,00 PLN" in sms.text and "Ksiegarnia Sklep" in sms.text
    assert gsm7.fits_one_segment(sms.text)
    assert AuditEvent.objects.filter(action="acs.challenge.code_sent", object_id=str(record.pk)).count() == 1


def test_the_form_shows_bank_card_merchant_and_amount_and_asks_for_both_secrets(client):
    record = pending()
    response = begin(client, record)
    page = response.content.decode()
    assert record.card_last4 in page and "Księgarnia Sklep" in page and "900,00\xa0zł" in page
    assert 'type="password" name="pin"' in page and 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page and "<script" not in page and "style=" not in page


def test_a_creq_with_padding_is_accepted(client):
    record = pending()
    assert begin(client, record, padding=True).status_code == 200


@pytest.mark.parametrize(
    "creq",
    ["", "not base64 at all!", base64.urlsafe_b64encode(b"[1, 2]").decode(), base64.urlsafe_b64encode(b"{").decode()],
)
def test_a_malformed_creq_is_a_clear_400_and_writes_nothing(client, creq):
    record = pending()
    response = client.post("/acs/challenge", {"creq": creq})
    assert response.status_code == 400 and "jest nieprawidłowe" in response.content.decode()
    record.refresh_from_db()
    assert record.creq == {} and record.code_sends == 0 and not OutboundSms.objects.exists()


def test_another_message_type_or_unknown_ids_are_refused(client):
    record = pending()
    assert begin(client, record, messageType="CRes").status_code == 400
    assert begin(client, record, acsTransID="0d5f2c7e-0000-4000-8000-000000000000").status_code == 404
    assert begin(client, record, acsTransID="not-a-uuid").status_code == 400
    record.refresh_from_db()
    assert record.creq == {} and record.code_sends == 0


def test_bad_session_data_is_refused(client):
    record = pending()
    response = client.post("/acs/challenge", {"creq": creq_of(record), "threeDSSessionData": "<script>"})
    assert response.status_code == 400


def test_only_post_is_allowed(client):
    assert client.get("/acs/challenge").status_code == 405


# --- The answers ------------------------------------------------------------------------------


def test_the_right_pin_and_code_authenticate_and_post_the_cres_to_the_notification_url(
    client, started, django_capture_on_commit_callbacks
):
    record, token, code = started
    with django_capture_on_commit_callbacks(execute=True):
        response = step(client, record, token, pin=PIN, code=code)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'action="https://merchant.example/3ds/notify"' in page
    assert f'name="threeDSSessionData" value="{SESSION_DATA}"' in page
    assert "acs/challenge-end.js" in page and 'id="cres-form" data-auto-submit' in page
    cres = cres_of(response)
    assert (
        cres["messageType"] == "CRes" and cres["transStatus"] == "Y" and cres["acsTransID"] == str(record.acs_trans_id)
    )
    record.refresh_from_db()
    assert record.status == RecordStatus.AUTHENTICATED and record.authentication_value and record.interactions == 1
    # The RReq went to the (in-process) directory server before the page was shown.
    assert record.rreq_status == RReqStatus.DELIVERED and json.loads(record.rres)["resultsStatus"] == "01"
    received = rreq_received(record.three_ds_server_trans_id)
    assert received is not None and received["transStatus"] == "Y" and received["messageType"] == "RReq"
    csp = response["Content-Security-Policy"]
    assert "form-action 'self' https://merchant.example" in csp


def test_a_double_submit_after_the_end_gets_a_clear_page_and_nothing_doubles(client, started):
    record, token, code = started
    assert step(client, record, token, pin=PIN, code=code).status_code == 200
    again = step(client, record, token, pin=PIN, code=code)
    assert again.status_code == 409 and "zostało już zakończone" in again.content.decode()
    assert AuditEvent.objects.filter(action="acs.challenge.ended", object_id=str(record.pk)).count() == 1
    record.refresh_from_db()
    assert record.interactions == 1


def test_another_challenges_token_or_none_is_404(client, started):
    record, _token, _code = started
    other_response = begin(Client(), pending())
    other_token = token_of(other_response)
    assert step(client, record, other_token, pin=PIN, code="000000").status_code == 404
    assert step(client, record, "", pin=PIN, code="000000").status_code == 404
    assert step(client, record, other_token, action="cancel").status_code == 404
    record.refresh_from_db()
    assert record.status == RecordStatus.CHALLENGE_PENDING and record.interactions == 0


def test_a_malformed_answer_is_shown_again_without_counting_a_try(client, started):
    record, token, _code = started
    response = step(client, record, token, pin="12", code="abc")
    assert response.status_code == 200 and 'id="form-errors"' in response.content.decode()
    assert ThreeDSProfile.objects.get(customer=record.card.customer).failed_attempts == 0
    assert 'value="12"' not in response.content.decode() and 'value="abc"' not in response.content.decode()


def test_a_wrong_code_counts_a_failure_and_shows_the_tries_left(client, started):
    record, token, code = started
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = step(client, record, token, pin=PIN, code=wrong)
    assert response.status_code == 200 and 'id="challenge-error"' in response.content.decode()
    assert ThreeDSProfile.objects.get(customer=record.card.customer).failed_attempts == 1
    assert wrong not in response.content.decode()
    record.refresh_from_db()
    assert record.status == RecordStatus.CHALLENGE_PENDING and record.interactions == 1


def _lock_three_times(client, record, token, code, kind: str):
    wrong_code = f"{(int(code) + 1) % 10**6:06d}"
    answers = {
        "pin": [("0000", code)] * 3,
        "code": [(PIN, wrong_code)] * 3,
        "mixed": [("0000", code), (PIN, wrong_code), ("0000", code)],
    }[kind]
    responses = [step(client, record, token, pin=pin, code=c) for pin, c in answers]
    return responses[-1]


@pytest.mark.parametrize("kind", ["pin", "code", "mixed"])
@pytest.mark.parametrize(
    ("local_now", "midnight"),
    [
        (dt.datetime(2026, 6, 10, 14, 0), dt.datetime(2026, 6, 11)),
        # The spring-forward day has 23 hours, the fall-back day 25: midnight is on the calendar, not +24 h.
        (dt.datetime(2026, 3, 29, 10, 0), dt.datetime(2026, 3, 30)),
        (dt.datetime(2026, 10, 25, 10, 0), dt.datetime(2026, 10, 26)),
    ],
)
def test_three_failures_lock_until_the_next_warsaw_midnight_and_end_n19(client, kind, local_now, midnight):
    with time_machine.travel(local_now.replace(tzinfo=WARSAW), tick=False):
        tc = active_card()
        record, waiting = pending(tc), pending(tc)
        started = begin(client, record)
        response = _lock_three_times(client, record, token_of(started), last_code(), kind)
        assert response.status_code == 200 and 'id="locked"' in response.content.decode()
        assert cres_of(response)["transStatus"] == "N"
        record.refresh_from_db()
        assert record.status == RecordStatus.FAILED and record.trans_status_reason == "19"
        profile = ThreeDSProfile.objects.get(customer=record.card.customer)
        assert profile.locked_until == midnight.replace(tzinfo=WARSAW)
        customer = record.card.customer
        assert threeds_is_locked(customer=customer)
        # Locked: a challenge already waiting ends N 19 when its CReq comes (a new AReq gets N 19 at once).
        locked_begin = begin(client, waiting)
        assert locked_begin.status_code == 200 and 'id="locked"' in locked_begin.content.decode()
        # The bank can unlock (as today); a new challenge then shows the form.
        threeds_unlock(
            actor=Actor(type="staff", id="1", label="agent"), customer=customer, reason="called the helpline"
        )
        assert not threeds_is_locked(customer=customer)
        assert 'name="pin"' in begin(client, pending(tc)).content.decode()


def test_the_lock_page_names_the_midnight_in_polish(client):
    with time_machine.travel(dt.datetime(2026, 6, 10, 14, 0, tzinfo=WARSAW), tick=False):
        record = pending()
        started = begin(client, record)
        response = _lock_three_times(client, record, token_of(started), last_code(), "pin")
    # Django's Polish date format, in the Polish page.
    page = response.content.decode()
    assert "11 czerwca 2026" in page and "Płatności internetowe Twoimi kartami są zablokowane do" in page


def test_cancel_ends_n_with_challenge_cancel_01(client, started, django_capture_on_commit_callbacks):
    record, token, _code = started
    with django_capture_on_commit_callbacks(execute=True):
        response = step(client, record, token, action="cancel")
    assert response.status_code == 200 and cres_of(response)["transStatus"] == "N"
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED and record.trans_status_reason == "01"
    assert json.loads(record.rreq)["challengeCancel"] == "01"
    assert rreq_received(record.three_ds_server_trans_id)["challengeCancel"] == "01"


def test_a_new_code_replaces_the_old_and_at_most_three_are_sent(client, started):
    record, token, first = started
    response = step(client, record, token, action="resend")
    assert response.status_code == 200 and 'id="challenge-notice"' in response.content.decode()
    second = last_code()
    step(client, record, token, action="resend")
    third = last_code()
    refused = step(client, record, token, action="resend")
    assert 'id="challenge-error"' in refused.content.decode() and 'id="resend-form"' not in refused.content.decode()
    record.refresh_from_db()
    assert record.code_sends == MAX_CODE_SENDS and OutboundSms.objects.count() == MAX_CODE_SENDS
    # Only the last code works: an earlier one is a failure (unless the random codes happen to coincide).
    for earlier in {first, second} - {third}:
        assert 'id="challenge-error"' in step(client, record, token, pin=PIN, code=earlier).content.decode()
    assert 'id="end-heading"' in step(client, record, token, pin=PIN, code=third).content.decode()
    record.refresh_from_db()
    assert record.status == RecordStatus.AUTHENTICATED


def test_no_3ds_pin_ends_n13_and_explains_how_to_set_one(client):
    record = pending(pin=False)
    assert record.decision_rule == "no_threeds_pin"
    response = begin(client, record)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="no-pin"' in page and "/3d-secure/pin/" in page
    assert "challenge-end.js" not in page  # the holder reads it first, then returns with the button
    assert cres_of(response)["transStatus"] == "N" and not OutboundSms.objects.exists()
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED and record.trans_status_reason == "13"


@pytest.mark.parametrize("action", ["creq", "submit"])
def test_a_card_blocked_since_the_ares_ends_the_challenge_n_with_the_reason(client, action):
    record = pending()
    response = begin(client, record)
    token, code = token_of(response), last_code()
    card_transition(
        actor=factories.SYSTEM, card=record.card, to_status=CardStatus.BLOCKED, reason=StatusReason.BLOCKED_BY_BANK
    )
    response = begin(client, record) if action == "creq" else step(client, record, token, pin=PIN, code=code)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="card-unusable"' in page and 'name="pin"' not in page
    assert cres_of(response)["transStatus"] == "N"
    record.refresh_from_db()
    assert (record.status, record.trans_status_reason, record.authentication_value) == (RecordStatus.FAILED, "12", "")
    assert ThreeDSProfile.objects.get(customer=record.card.customer).failed_attempts == 0  # not the holder's failure


# --- The 5 minutes ----------------------------------------------------------------------------


def test_an_answer_after_5_minutes_ends_n14(client):
    with time_machine.travel(dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        record = pending()
        response = begin(client, record)
        token, code = token_of(response), last_code()
        traveller.shift(dt.timedelta(minutes=5, seconds=1))
        late = step(client, record, token, pin=PIN, code=code)
    assert late.status_code == 200 and cres_of(late)["transStatus"] == "N"
    record.refresh_from_db()
    assert record.status == RecordStatus.TIMED_OUT and record.trans_status_reason == "14"
    assert json.loads(record.rreq)["challengeCancel"] == "05"


def test_a_creq_after_5_minutes_ends_n14(client):
    with time_machine.travel(dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        record = pending()
        traveller.shift(dt.timedelta(minutes=6))
        response = begin(client, record)
    assert cres_of(response)["transStatus"] == "N" and not OutboundSms.objects.exists()
    record.refresh_from_db()
    assert record.status == RecordStatus.TIMED_OUT


def test_the_sweep_times_out_challenges_and_delivers_their_rreqs(client):
    with time_machine.travel(dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC), tick=False) as traveller:
        never_came, began = pending(), pending()
        begin(client, began)
        traveller.shift(dt.timedelta(minutes=4))
        fresh = pending()
        traveller.shift(dt.timedelta(minutes=2))
        call_command("acs_sweep", stdout=(out := _Out()))
        call_command("acs_sweep", stdout=_Out())  # idempotent
    assert "Timed out 2 challenge(s); delivered 2 RReq(s)." in out.text
    for record, cancel in ((never_came, "06"), (began, "05")):
        record.refresh_from_db()
        assert record.status == RecordStatus.TIMED_OUT and record.trans_status_reason == "14"
        assert json.loads(record.rreq)["challengeCancel"] == cancel and record.rreq_status == RReqStatus.DELIVERED
    fresh.refresh_from_db()
    assert fresh.status == RecordStatus.CHALLENGE_PENDING
    assert AuditEvent.objects.filter(action="acs.challenge.ended").count() == 2


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


# --- Frames and CSP ---------------------------------------------------------------------------


def test_only_the_challenge_pages_may_be_framed(client):
    record = pending()
    framed = begin(client, record)
    assert "frame-ancestors 'self' https:" in framed["Content-Security-Policy"]
    assert "X-Frame-Options" not in framed
    refused = client.post("/acs/challenge", {"creq": "x"})
    assert "frame-ancestors 'self' https:" in refused["Content-Security-Policy"]
    other = client.get("/help/")
    assert "frame-ancestors 'none'" in other["Content-Security-Policy"] and other["X-Frame-Options"] == "DENY"


# --- No secrets anywhere ----------------------------------------------------------------------


def test_no_pin_code_or_card_number_in_the_record_the_audit_or_the_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    tc = active_card()
    record = pending(tc)
    response = begin(client, record)
    token, code = token_of(response), last_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    step(client, record, token, pin="2846", code=code)
    step(client, record, token, pin=PIN, code=wrong)
    step(client, record, token, pin=PIN, code=code)
    record.refresh_from_db()
    stored = " ".join(
        json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
        for value in (getattr(record, field.attname) for field in AuthenticationRecord._meta.concrete_fields)
    )
    audit = " ".join(json.dumps([e.before, e.after], default=str) for e in AuditEvent.objects.all())
    logs = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in (PIN, "2846", code, wrong, tc.pan, token):
        # As a value of its own: a 4-digit run inside a UUID's hex is no leak.
        as_value = re.compile(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])")
        assert not as_value.search(stored), secret
        assert not as_value.search(audit), secret
        assert not as_value.search(logs), secret


# --- The SMS text -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["pl", "en"])
@pytest.mark.parametrize("currency", ["985", "978", "840", "999"])
def test_the_longest_merchant_and_largest_amount_fit_one_segment(language, currency):
    with translation.override(language):
        amount = purchase_amount_text(MAX_AMOUNT_MINOR, currency, 2, sms=True)
        message = payment_code_sms(bank=LONGEST_BANK, code="999999", amount=amount, merchant=LONGEST_MERCHANT_NAME)
    assert gsm7.fits_one_segment(message.text)
    assert gsm7.transliterate(LONGEST_MERCHANT_NAME) in message.text and amount in message.text


def test_a_merchant_of_two_septet_characters_is_shortened_to_fit():
    merchant = "{[€]}" * 8
    amount = purchase_amount_text(MAX_AMOUNT_MINOR, "985", 2, sms=True)
    message = payment_code_sms(bank=LONGEST_BANK, code="999999", amount=amount, merchant=merchant)
    assert gsm7.fits_one_segment(message.text) and amount in message.text and "..." in message.text


def test_an_amount_is_written_with_its_currencys_decimals():
    with translation.override("pl"):
        assert purchase_amount_text(123456, "985", 2) == "1\xa0234,56\xa0zł"
        assert purchase_amount_text(123456, "985", 2, sms=True) == "1 234,56 PLN"
        assert purchase_amount_text(1234, "392", 0, sms=True) == "1 234 JPY"
        # A currency the ACS does not know: its numeric code, with the AReq's exponent (not 2 by default).
        assert purchase_amount_text(1234, "152", 0, sms=True).startswith("1 234 ")
    with translation.override("en"):
        assert purchase_amount_text(123456, "840", 2) == "USD\xa01,234.56"
