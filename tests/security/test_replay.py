"""One-time values used twice through their real endpoints: the second use is refused and changes nothing.

Only what no test elsewhere shows lives here; docs/access.md ("Replay") lists, for every one-time value,
the test that shows it (most are next to their app's code).
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from kartosfera.acs.models import AuthenticationRecord, RecordStatus
from kartosfera.acs.services import areq_answer
from kartosfera.acs.tests.helpers import CHALLENGE_URL, DS, areq, with_threeds_pin
from kartosfera.cards.states import CardStatus
from kartosfera.core.audit import Actor
from kartosfera.core.crypto import decrypt
from kartosfera.core.models import AuditEvent
from kartosfera.devices import services as devices
from kartosfera.devices.models import AppDevice
from kartosfera.devices.tests.app_client import AppClient
from kartosfera.notifications.models import OutboundSms
from kartosfera.processing.tests.helpers import active_card
from kartosfera.sca import stepup
from kartosfera.sca.models import ChallengeState
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to

pytestmark = pytest.mark.django_db

PHONE = "+48601000111"
THREEDS_PIN = "7391"  # with_threeds_pin's
SESSION_DATA = "c2Vzc2lvbi0xMjM"


# --- 3-D Secure: the CReq of a challenge that has ended ------------------------------------------


def _creq(record: AuthenticationRecord) -> str:
    message = {
        "messageType": "CReq",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": str(record.three_ds_server_trans_id),
        "acsTransID": str(record.acs_trans_id),
        "challengeWindowSize": "05",
    }
    return base64.urlsafe_b64encode(json.dumps(message).encode()).decode().rstrip("=")


def _sms_code() -> str:
    message = OutboundSms.objects.order_by("-pk").first()
    assert message is not None
    match = re.search(r"\b(?:[Cc]ode|Kod) (\d{6})\b", decrypt(message.text_ciphertext))
    assert match
    return match.group(1)


def test_a_creq_posted_again_after_the_challenge_ended_sends_no_code_and_changes_nothing(client):
    """The browser's CReq is the challenge's ticket: once the holder has answered, it opens nothing."""
    tc = active_card()
    with_threeds_pin(tc)
    answer = json.loads(areq_answer(actor=DS, areq=areq(tc, purchaseAmount="90000"), challenge_url=CHALLENGE_URL))
    assert answer["transStatus"] == "C"
    record = AuthenticationRecord.objects.get(acs_trans_id=answer["acsTransID"])
    creq = {"creq": _creq(record), "threeDSSessionData": SESSION_DATA}
    form = client.post("/acs/challenge", creq)
    token = re.search(r'name="token" value="([^"]+)"', form.content.decode())
    assert form.status_code == 200 and token is not None
    done = client.post(
        f"/acs/challenge/{record.acs_trans_id}/",
        {"token": token.group(1), "action": "submit", "threeDSSessionData": SESSION_DATA, "pin": THREEDS_PIN}
        | {"code": _sms_code()},
    )
    assert done.status_code == 200
    record.refresh_from_db()
    assert record.status == RecordStatus.AUTHENTICATED
    before = (record.authentication_value, record.code_sends, record.challenge_token_digest, record.interactions)
    texts = OutboundSms.objects.count()
    audit_rows = AuditEvent.objects.count()

    again = Client().post("/acs/challenge", creq)

    assert again.status_code == 409 and "zostało już zakończone" in again.content.decode()
    assert 'name="pin"' not in again.content.decode()
    record.refresh_from_db()
    assert record.status == RecordStatus.AUTHENTICATED
    assert (record.authentication_value, record.code_sends, record.challenge_token_digest, record.interactions) == (
        before
    )
    assert OutboundSms.objects.count() == texts and AuditEvent.objects.count() == audit_rows


# --- The card's activation code (an SMS step-up code) -------------------------------------------


@pytest.fixture
def anna(client, cardholder):
    assert cardholder.user is not None
    cardholder.user.portal_phone = PHONE
    cardholder.user.save(update_fields=["portal_phone"])
    client.force_login(cardholder.user)
    return client


def test_a_card_activation_code_used_again_activates_nothing_more(anna, card, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        started = anna.post(reverse("portal:card_activate", kwargs={"card_id": card.pk}))
    challenge = challenge_from(started)
    code = code_sent_to(PHONE)
    assert anna.post(started["Location"], {"code": code}).status_code == 302
    card.refresh_from_db()
    assert card.status == CardStatus.ACTIVE
    card_rows = AuditEvent.objects.filter(object_type="cards.card", object_id=str(card.pk)).count()
    audit_rows = AuditEvent.objects.count()

    # The finished confirmation has left the session: its page is gone.
    assert anna.post(started["Location"], {"code": code}).status_code == 404
    # Put back (a copied cookie, a back button's form), the used code still runs nothing.
    session = anna.session
    session[stepup.SESSION_KEY] = {str(challenge.public_id): {"back": "/cards/", "done": "/cards/"}}
    session.save()
    again = anna.post(started["Location"], {"code": code})

    assert again.status_code == 200 and "Ta operacja została już potwierdzona." in again.content.decode()
    assert AuditEvent.objects.filter(object_type="cards.card", object_id=str(card.pk)).count() == card_rows
    assert AuditEvent.objects.filter(action="sca.operation.completed", object_id=str(challenge.pk)).count() == 1
    # The ended confirmation is shown as ended: the code is not even checked, so nothing is written.
    assert AuditEvent.objects.count() == audit_rows
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.CONFIRMED


# --- The BS Pay app's activation code -------------------------------------------------------------


def test_an_app_activation_code_used_again_activates_no_second_device(cardholder):
    holder = Actor.system("portal")
    activation = devices.device_activation_code_issue(actor=holder, customer=cardholder.customer)
    code = devices.device_activation_code_reveal(actor=holder, activation=activation)
    assert code is not None
    first = AppClient().activate(identifier=cardholder.identifier, code=code)
    assert first.status_code == 201

    # Another phone (another key pair) with the same identifier and code.
    second = AppClient().activate(identifier=cardholder.identifier, code=code)

    assert second.status_code == 422 and second.json()["code"] == "code_invalid"
    assert [str(device) for device in AppDevice.objects.values_list("public_id", flat=True)] == [first.json()["id"]]
    refused = AuditEvent.objects.get(action="devices.activation.refused")
    assert refused.customer_id == cardholder.customer.pk and refused.after == {"reason": "code_used"}
