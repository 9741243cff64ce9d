"""Step-up outside the browser: the BS Pay app asks for operations and confirms them with the SMS code.

The same registered operation, rule and confirmation as the portal
(kartosfera/sca/stepup.py): the app gets 200 when the request needs no code
and 202 with a confirmation when it does; the confirmation belongs to the
device that asked.
"""

from __future__ import annotations

import re
import uuid

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from kartosfera.cards.models import Card, CardStatus
from kartosfera.cards.operations_services import (
    card_activate,
    card_block_temporarily,
    card_mobile_payments_activate,
)
from kartosfera.cards.stepup_operations import CARD_UNBLOCK
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.devices.tests.app_client import AppClient
from kartosfera.devices.tests.helpers import device_for
from kartosfera.notifications.backends import locmem
from kartosfera.sca.models import ChallengeChannel, SmsChallenge
from kartosfera.sca.stepup import SESSION_KEY
from kartosfera.testing import factories
from kartosfera.testing.passkeys_pages import passkey_add_directly
from kartosfera.testing.webauthn import SoftAuthenticator
from kartosfera.tokens.models import Token
from kartosfera.tokens.services import token_provider_event, token_register, token_suspend
from kartosfera.tokens.states import SuspendedBy, TokenStatus, Wallet
from kartosfera.users.passkeys import passkey_only_set

pytestmark = pytest.mark.django_db

BANK = Actor.system("tests")
ANNAS_PHONE = "+48600100200"


@pytest.fixture
def app(cardholder) -> AppClient:
    cardholder.user.portal_phone = ANNAS_PHONE
    cardholder.user.save(update_fields=["portal_phone"])
    app = AppClient()
    device_for(cardholder.customer, app=app)
    app.device_id = str(cardholder.customer.app_devices.get().public_id)
    return app


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """A signed POST whose after-commit work (the SMS) runs, as a real request's commit does."""

    def post(app: AppClient, path: str, payload: dict | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            return app.post(path, payload)

    return post


@pytest.fixture
def active_card(cardholder) -> Card:
    return card_activate(actor=BANK, card=factories.card_factory(customer=cardholder.customer))


@pytest.fixture
def blocked_card(active_card, cardholder) -> Card:
    # Blocked by the holder (a block by the bank only the bank lifts).
    return card_block_temporarily(actor=Actor.for_user(cardholder.user), card=active_card)


def _sms_code() -> str:
    match = re.search(r"\b([0-9]{6})\b", locmem.outbox[-1].text)
    assert match, locmem.outbox[-1].text
    return match.group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_unblocking_from_the_app_waits_for_the_code_then_runs_once(app, send, blocked_card):
    response = send(app, f"/cards/{blocked_card.pk}/unblock")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "confirmation_needed" and body["message"] is None
    confirmation = body["confirmation"]
    assert confirmation["operation"] == CARD_UNBLOCK
    assert confirmation["state"] == "pending" and confirmation["attempts_left"] == 3
    assert f"*{blocked_card.pan_last4}" in confirmation["description"]
    assert confirmation["phone"] != ANNAS_PHONE and confirmation["phone"].endswith(ANNAS_PHONE[-3:])
    # The SMS names the operation and the card; nothing ran yet.
    assert f"*{blocked_card.pan_last4}" in locmem.outbox[-1].text
    blocked_card.refresh_from_db()
    assert blocked_card.status == CardStatus.BLOCKED
    challenge = SmsChallenge.objects.get(public_id=confirmation["id"])
    assert challenge.channel == ChallengeChannel.APP and str(challenge.app_device_id) == app.device_id

    response = send(app, f"/confirmations/{confirmation['id']}", {"code": _sms_code()})

    assert response.status_code == 200, response.content
    assert response.json() == {"status": "completed", "message": "Karta jest odblokowana.", "confirmation": None}
    blocked_card.refresh_from_db()
    assert blocked_card.status == CardStatus.ACTIVE
    unblocked = AuditEvent.objects.filter(object_type="cards.card", object_id=str(blocked_card.pk)).latest("pk")
    assert unblocked.actor_id == f"device:{app.device_id}"
    assert AuditEvent.objects.filter(action="sca.operation.completed", object_id=str(challenge.pk)).count() == 1
    # The same code again runs nothing: the confirmation has been used.
    again = app.post(f"/confirmations/{confirmation['id']}", {"code": "000000"})
    assert again.status_code == 409 and again.json()["code"] == "confirmation_completed"
    assert app.get(f"/confirmations/{confirmation['id']}").json()["state"] == "completed"


def test_a_wrong_code_says_how_many_tries_are_left_and_three_end_it(app, send, blocked_card):
    confirmation = send(app, f"/cards/{blocked_card.pk}/unblock").json()["confirmation"]
    wrong = _wrong(_sms_code())

    first = app.post(f"/confirmations/{confirmation['id']}", {"code": wrong})
    assert first.status_code == 422 and first.json()["code"] == "code_invalid"
    assert first.json()["errors"][0]["field"] == "code"
    assert app.get(f"/confirmations/{confirmation['id']}").json()["attempts_left"] == 2
    assert app.post(f"/confirmations/{confirmation['id']}", {"code": wrong}).status_code == 422
    third = app.post(f"/confirmations/{confirmation['id']}", {"code": wrong})

    assert third.status_code == 409 and third.json()["code"] == "confirmation_failed"
    # Ended: even the right code runs nothing now.
    right = app.post(f"/confirmations/{confirmation['id']}", {"code": _sms_code()})
    assert right.status_code == 409
    blocked_card.refresh_from_db()
    assert blocked_card.status == CardStatus.BLOCKED


def test_an_expired_code_is_refused_and_a_new_one_works(app, send, blocked_card):
    confirmation = send(app, f"/cards/{blocked_card.pk}/unblock").json()["confirmation"]
    old_code = _sms_code()
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=6)):
        expired = app.post(f"/confirmations/{confirmation['id']}", {"code": old_code})
        assert expired.status_code == 422 and expired.json()["code"] == "code_invalid"
        resent = send(app, f"/confirmations/{confirmation['id']}/resend")
        assert resent.status_code == 200 and resent.json()["state"] == "pending"
        assert send(app, f"/confirmations/{confirmation['id']}", {"code": _sms_code()}).status_code == 200
    blocked_card.refresh_from_db()
    assert blocked_card.status == CardStatus.ACTIVE


def test_a_cancelled_confirmation_runs_nothing(app, send, blocked_card):
    confirmation = send(app, f"/cards/{blocked_card.pk}/unblock").json()["confirmation"]
    code = _sms_code()

    cancelled = app.post(f"/confirmations/{confirmation['id']}/cancel")

    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert app.post(f"/confirmations/{confirmation['id']}", {"code": code}).status_code == 409
    blocked_card.refresh_from_db()
    assert blocked_card.status == CardStatus.BLOCKED


def test_lowering_a_limit_runs_at_once_and_raising_waits_for_the_code(app, send, active_card):
    cash = active_card.controls.limit_minor("cash")

    lower = send(app, f"/cards/{active_card.pk}/limits", {"limits": {"cash": cash - 10_000}})

    assert lower.status_code == 200, lower.content
    assert lower.json()["status"] == "completed" and lower.json()["confirmation"] is None
    assert not locmem.outbox  # no code for lowering
    active_card.refresh_from_db()
    assert active_card.controls.limit_minor("cash") == cash - 10_000

    raise_ = send(app, f"/cards/{active_card.pk}/limits", {"limits": {"cash": cash}})

    assert raise_.status_code == 202
    active_card.refresh_from_db()
    assert active_card.controls.limit_minor("cash") == cash - 10_000
    confirmation = raise_.json()["confirmation"]
    assert send(app, f"/confirmations/{confirmation['id']}", {"code": _sms_code()}).status_code == 200
    active_card.refresh_from_db()
    assert active_card.controls.limit_minor("cash") == cash
    assert app.get("/cards").json()[0]["limits"]["cash"] == cash


def test_a_limit_the_card_refuses_is_a_422_and_costs_no_sms(app, send, active_card):
    response = send(app, f"/cards/{active_card.pk}/limits", {"limits": {"internet": -1, "unknown": 5}})

    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"unknown"}
    response = send(app, f"/cards/{active_card.pk}/limits", {"limits": {"internet": -1}})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "internet"
    assert not locmem.outbox and not SmsChallenge.objects.exists()


def test_mobile_payments_on_needs_the_code_and_off_runs_at_once(app, send, active_card):
    on = send(app, f"/cards/{active_card.pk}/mobile-payments", {"enabled": True})
    assert on.status_code == 202
    assert send(app, f"/confirmations/{on.json()['confirmation']['id']}", {"code": _sms_code()}).status_code == 200
    active_card.refresh_from_db()
    assert active_card.mobile_payments_enabled

    sent = len(locmem.outbox)
    off = send(app, f"/cards/{active_card.pk}/mobile-payments", {"enabled": False})

    assert off.status_code == 200 and off.json()["status"] == "completed"
    assert len(locmem.outbox) == sent
    active_card.refresh_from_db()
    assert not active_card.mobile_payments_enabled


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/cards/{card}/mobile-payments", {"enabled": 0}),
        ("/cards/{card}/mobile-payments", {"enabled": "false"}),
        ("/stop", {"stopped": 1}),
        ("/cards/{card}/limits", {"limits": {"internet": "100"}}),
    ],
)
def test_only_a_json_boolean_or_integer_is_accepted_where_the_schema_says_so(app, send, active_card, path, body):
    # Found by schemathesis (test_openapi_conformance_app.py): {"enabled": 0} switched mobile payments off (200)
    # although the schema asks for a boolean.
    active_card = card_mobile_payments_activate(actor=BANK, card=active_card)
    response = send(app, path.format(card=active_card.pk), body)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "validation_failed"
    active_card.refresh_from_db()
    assert active_card.mobile_payments_enabled and not active_card.customer.payments_stopped
    assert not SmsChallenge.objects.exists()


def test_no_code_is_sent_for_an_operation_the_card_refuses(app, send, active_card):
    # An active card cannot be unblocked: refused in words before any SMS, and audited.
    response = send(app, f"/cards/{active_card.pk}/unblock")

    assert response.status_code in {409, 422} and response.json()["detail"]
    assert not locmem.outbox and not SmsChallenge.objects.exists()
    assert AuditEvent.objects.filter(action="cards.card.operation_refused").count() == 1


def _token(card: Card, *, reference: str = "tok-1") -> Token:
    token = token_register(
        actor=BANK, card=card, token_reference=reference, token_last4="4321", wallet=Wallet.GOOGLE_PAY
    )
    return token_provider_event(actor=BANK, token=token, event="activated")


def test_the_app_suspends_a_token_at_once_and_resumes_it_with_the_code(app, send, active_card):
    card = card_mobile_payments_activate(actor=BANK, card=active_card)
    token = _token(card)

    listed = app.get(f"/cards/{card.pk}/tokens")
    assert listed.status_code == 200 and [t["token_last4"] for t in listed.json()] == ["4321"]
    suspended = send(app, f"/cards/{card.pk}/tokens/{token.pk}/suspend")
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended" and suspended.json()["suspended_by"] == SuspendedBy.HOLDER
    assert not locmem.outbox

    resume = send(app, f"/cards/{card.pk}/tokens/{token.pk}/resume")

    assert resume.status_code == 202
    assert "Google Pay" in resume.json()["confirmation"]["description"]
    done = send(app, f"/confirmations/{resume.json()['confirmation']['id']}", {"code": _sms_code()})
    assert done.status_code == 200 and "Google Pay" in done.json()["message"]
    token.refresh_from_db()
    assert token.status == TokenStatus.ACTIVE


def test_no_code_for_a_token_suspended_by_the_bank(app, send, active_card):
    card = card_mobile_payments_activate(actor=BANK, card=active_card)
    token = token_suspend(actor=Actor(type="staff", id="1", label="agent"), token=_token(card), reason="fraud")
    assert token.suspended_by == SuspendedBy.BANK

    response = send(app, f"/cards/{card.pk}/tokens/{token.pk}/resume")

    assert response.status_code in {409, 422} and response.json()["code"] == "token_suspended_by_bank"
    assert not locmem.outbox


def test_another_devices_or_customers_confirmation_is_a_404(app, send, blocked_card, second_cardholder):
    confirmation = send(app, f"/cards/{blocked_card.pk}/unblock").json()["confirmation"]
    code = _sms_code()
    # Anna's second phone: the same holder, but not the device that asked.
    other_phone = AppClient()
    device_for(blocked_card.customer, name="iPad", app=other_phone)
    other_phone.device_id = str(blocked_card.customer.app_devices.get(name="iPad").public_id)
    # Bob's phone.
    bobs_phone = AppClient()
    device_for(second_cardholder.customer, app=bobs_phone)
    bobs_phone.device_id = str(second_cardholder.customer.app_devices.get().public_id)

    for phone in (other_phone, bobs_phone):
        assert phone.get(f"/confirmations/{confirmation['id']}").status_code == 404
        response = phone.post(f"/confirmations/{confirmation['id']}", {"code": code})
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        assert phone.post(f"/confirmations/{confirmation['id']}/cancel").status_code == 404
    assert app.get(f"/confirmations/{uuid.uuid4()}").status_code == 404
    # Bob reaches none of Anna's cards or tokens through his app.
    assert bobs_phone.post(f"/cards/{blocked_card.pk}/unblock").status_code == 404
    assert bobs_phone.post(f"/cards/{blocked_card.pk}/limits", {"limits": {"internet": 0}}).status_code == 404
    assert bobs_phone.get(f"/cards/{blocked_card.pk}/tokens").status_code == 404
    blocked_card.refresh_from_db()
    assert blocked_card.status == CardStatus.BLOCKED


def test_the_portal_and_the_app_cannot_confirm_each_others_codes(app, send, anna, blocked_card):
    # Started in the app: the portal's confirmation page does not know it, even with the session entry forged.
    confirmation = send(app, f"/cards/{blocked_card.pk}/unblock").json()["confirmation"]
    session = anna.session
    session[SESSION_KEY] = {confirmation["id"]: {"back": "/", "done": "/"}}
    session.save()
    page = anna.get(reverse("sca:confirm", kwargs={"public_id": confirmation["id"]}))
    assert page.status_code == 404

    # Started in the portal: the app gets a 404 for it.
    anna.post(reverse("portal:card_unblock", kwargs={"card_id": blocked_card.pk}))
    web = SmsChallenge.objects.filter(channel=ChallengeChannel.WEB).get()
    assert app.get(f"/confirmations/{web.public_id}").status_code == 404
    assert app.post(f"/confirmations/{web.public_id}", {"code": "123456"}).status_code == 404


def test_an_operation_the_app_may_not_ask_for_is_refused(app, active_card, cardholder):
    from kartosfera.cards.stepup_operations import CARD_PIN_CHANGE
    from kartosfera.devices.services import device_actor
    from kartosfera.sca.stepup import ChannelNotAllowed, stepup_request

    device = cardholder.customer.app_devices.get()
    with pytest.raises(ChannelNotAllowed):
        stepup_request(
            actor=device_actor(device),
            user=cardholder.user,
            operation=CARD_PIN_CHANGE,
            payload={},
            card=active_card,
            channel=ChallengeChannel.APP,
            app_device_id=device.public_id,
        )
    assert not SmsChallenge.objects.exists()


def test_a_bad_code_body_is_a_422_not_a_500(app, send, blocked_card):
    confirmation = send(app, f"/cards/{blocked_card.pk}/unblock").json()["confirmation"]
    for body in ({}, {"code": 123456}, {"code": "x" * 17}):
        response = app.post(f"/confirmations/{confirmation['id']}", body)
        assert response.status_code == 422, (body, response.content)
    assert app.get(f"/confirmations/{confirmation['id']}").json()["attempts_left"] == 3


# --- A holder who signs in with a passkey only confirms with it: no SMS ------------------------------------------


@pytest.fixture
def passkey_holder(cardholder, app) -> SoftAuthenticator:
    """Anna adds a passkey and chooses "passkey only" (her app session is already open)."""
    _, authenticator = passkey_add_directly(cardholder.user, name="Tel")
    passkey_only_set(actor=Actor.for_user(cardholder.user), user=cardholder.user, enabled=True)
    locmem.outbox.clear()
    return authenticator


def test_a_passkey_only_holder_confirms_in_the_app_with_the_passkey_and_no_sms(app, send, blocked_card, passkey_holder):
    confirmation = send(app, f"/cards/{blocked_card.pk}/unblock").json()["confirmation"]
    path = f"/confirmations/{confirmation['id']}"

    assert confirmation["confirm_with"] == "passkey" and locmem.outbox == []
    typed = app.post(path, {"code": "123456"})
    assert typed.status_code == 409 and typed.json()["code"] == "passkey_required"
    options = app.post(f"{path}/passkey-options").json()["options"]
    assert options["userVerification"] == "required"

    response = send(app, f"{path}/passkey", {"passkey": passkey_holder.get(options)})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"
    blocked_card.refresh_from_db()
    assert blocked_card.status == CardStatus.ACTIVE and locmem.outbox == []
    again = app.post(f"{path}/passkey", {"passkey": passkey_holder.get(options)})
    assert again.status_code == 409 and again.json()["code"] == "confirmation_completed"


def test_a_refused_passkey_in_the_app_uses_a_try_and_three_end_the_confirmation(
    app, send, blocked_card, passkey_holder
):
    confirmation = send(app, f"/cards/{blocked_card.pk}/unblock").json()["confirmation"]
    path = f"/confirmations/{confirmation['id']}"
    stranger = SoftAuthenticator()

    # An answer without options of its own proves nothing and costs no try.
    unasked = app.post(f"{path}/passkey", {"passkey": passkey_holder.get({"challenge": "AAAA"})})
    assert unasked.status_code == 409 and unasked.json()["code"] == "passkey_options_expired"
    # A signature over the wrong challenge (another confirmation's) and another person's passkey each use one.
    app.post(f"{path}/passkey-options")
    wrong = app.post(f"{path}/passkey", {"passkey": passkey_holder.get({"challenge": "AAAA"})})
    assert wrong.status_code == 422 and wrong.json()["code"] == "passkey_refused"
    options = app.post(f"{path}/passkey-options").json()["options"]
    assert app.post(f"{path}/passkey", {"passkey": stranger.get(options)}).status_code == 422
    options = app.post(f"{path}/passkey-options").json()["options"]
    last = app.post(f"{path}/passkey", {"passkey": stranger.get(options)})

    assert last.status_code == 409 and last.json()["code"] == "confirmation_failed"
    blocked_card.refresh_from_db()
    assert blocked_card.status == CardStatus.BLOCKED
    assert AuditEvent.objects.filter(action="sca.passkey.failed").count() == 3


def test_a_confirmation_by_sms_has_no_passkey_route(app, send, blocked_card):
    confirmation = send(app, f"/cards/{blocked_card.pk}/unblock").json()["confirmation"]

    assert confirmation["confirm_with"] == "sms"
    refused = app.post(f"/confirmations/{confirmation['id']}/passkey-options")
    assert refused.status_code == 409 and refused.json()["code"] == "code_required"


@pytest.mark.parametrize("first", ["resend", "code"])
def test_an_sms_confirmation_from_before_passkey_only_ends_in_the_app(app, send, blocked_card, cardholder, first):
    confirmation = send(app, f"/cards/{blocked_card.pk}/unblock").json()["confirmation"]
    code = _sms_code()
    passkey_add_directly(cardholder.user, name="Tel")
    passkey_only_set(actor=Actor.for_user(cardholder.user), user=cardholder.user, enabled=True)
    locmem.outbox.clear()
    path = f"/confirmations/{confirmation['id']}"
    requests = {"resend": (f"{path}/resend", None), "code": (path, {"code": code})}
    second = "code" if first == "resend" else "resend"

    ended = send(app, *requests[first])
    after = send(app, *requests[second])

    # One code for the app, whichever comes first: the operation starts again, with the passkey.
    assert ended.status_code == 409 and ended.json()["code"] == "passkey_required", ended.content
    assert after.status_code == 409 and after.json()["code"] == "confirmation_ended"
    assert locmem.outbox == []
    blocked_card.refresh_from_db()
    assert blocked_card.status == CardStatus.BLOCKED
    assert app.get(path).json()["state"] == "cancelled"
    challenge = SmsChallenge.objects.get(public_id=confirmation["id"])
    (cancelled,) = AuditEvent.objects.filter(action="sca.challenge.cancelled", object_id=str(challenge.pk))
    assert cancelled.after["reason"] == "passkey_required"
