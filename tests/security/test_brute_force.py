"""Guessing a credential through its real endpoint: the tries are limited and the answers tell nothing.

Only what no test elsewhere shows lives here; docs/access.md ("Brute force and enumeration") lists, for
every credential, the test that shows its limit and its answers (most are next to their app's code).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.backoffice.auth import StaffLocked, StaffLoginRefused
from kartosfera.cards.operations_services import card_activate, card_mobile_payments_activate
from kartosfera.cards.pan import decrypt_pan
from kartosfera.core.audit import Actor
from kartosfera.core.errors import InvalidTransition
from kartosfera.core.models import AuditEvent
from kartosfera.customers.identity import mask_phone
from kartosfera.devices import services as devices
from kartosfera.devices import sessions as devices_sessions
from kartosfera.devices.models import AppDevice, BlockedBy, DeviceState
from kartosfera.devices.tests.app_client import AppClient
from kartosfera.devices.tests.helpers import device_for
from kartosfera.sca.tests.helpers import code_sent_to, texts_to
from kartosfera.testing import factories
from kartosfera.testing.staff import StaffPerson
from kartosfera.tokens.models import Token
from kartosfera.tokens.provisioning import MAX_VERIFICATIONS_PER_DAY, DeclineReason
from kartosfera.users.models import User
from kartosfera.users.tests.helpers import (
    REGISTER_ACTIVATE_URL,
    REGISTER_SEND_URL,
    REGISTER_URL,
    last_activation_password,
)

pytestmark = pytest.mark.django_db

HOLDER = Actor.system("portal")
TSP = "/api/token-service/v1"
BO_HOME = reverse("backoffice:home")
BO_LOGIN = reverse("backoffice:login")
BO_LOGIN_CODE = reverse("backoffice:login_code")


# --- The BS Pay app's activation code (POST /api/app/v1/activations, anonymous) ----------------------


def _holder(n: int) -> Any:
    """A registered cardholder of their own (each case its own identifier, so no case spends another's tries)."""
    customer = factories.customer_factory(pesel=factories.make_pesel(dt.date(1980, 1, n), 500 + n))
    factories.cardholder_user_factory(customer=customer)
    assert customer.pesel is not None
    return customer


def _activation_code(customer: Any) -> str:
    activation = devices.device_activation_code_issue(actor=HOLDER, customer=customer)
    code = devices.device_activation_code_reveal(actor=HOLDER, activation=activation)
    assert code is not None
    return code


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


def _app(address: str) -> AppClient:
    # Each case from its own address: the per-address limit (10 an hour) is shown by devices/tests/test_api.py.
    return AppClient(Client(REMOTE_ADDR=address))


def test_app_activation_answers_alike_for_unknown_wrong_used_expired_and_exhausted():
    """Whatever the identifier and the state of its code, a refused activation reads the same.

    The answer once named a code already used, expired or out of tries (and the tries left): for anybody
    typing an identifier, that said it was a customer's and that they had generated a code.
    """
    start = timezone.now()
    answers: dict[str, Any] = {}
    with time_machine.travel(start, tick=False) as clock:
        nobody = factories.make_pesel(dt.date(1970, 5, 5), 999)
        answers["unknown identifier"] = _app("10.0.0.1").activate(identifier=nobody, code="12345678")

        no_code = _holder(1)
        answers["customer without a code"] = _app("10.0.0.2").activate(identifier=no_code.pesel, code="12345678")

        pending = _holder(2)
        code = _activation_code(pending)
        answers["wrong code"] = _app("10.0.0.3").activate(identifier=pending.pesel, code=_wrong(code))

        used = _holder(3)
        code = _activation_code(used)
        assert _app("10.0.0.4").activate(identifier=used.pesel, code=code).status_code == 201
        answers["code already used, typed again"] = _app("10.0.0.5").activate(identifier=used.pesel, code=code)

        exhausted = _holder(4)
        code = _activation_code(exhausted)
        for _ in range(3):
            _app("10.0.0.6").activate(identifier=exhausted.pesel, code=_wrong(code))
        # The tries are spent: the right code itself is refused, and like a wrong one.
        answers["right code after three wrong"] = _app("10.0.0.7").activate(identifier=exhausted.pesel, code=code)

        expired = _holder(5)
        code = _activation_code(expired)
        clock.shift(devices.CODE_LIFETIME)
        answers["right code, expired"] = _app("10.0.0.8").activate(identifier=expired.pesel, code=code)

    assert {case: answer.status_code for case, answer in answers.items()} == dict.fromkeys(answers, 422)
    bodies = {case: answer.json() for case, answer in answers.items()}
    assert len({json.dumps(body, sort_keys=True) for body in bodies.values()}) == 1, bodies
    assert bodies["wrong code"]["code"] == "code_invalid"
    # One device only (the use that was right); the audit keeps what the answers hide, for staff.
    assert AppDevice.objects.count() == 1
    refused = AuditEvent.objects.filter(action="devices.activation.refused")
    reasons = {event.customer_id: event.after["reason"] for event in refused.order_by("pk")}
    assert reasons == {
        None: "code_invalid",
        no_code.pk: "code_invalid",
        pending.pk: "code_invalid",
        used.pk: "code_used",
        exhausted.pk: "too_many_attempts",
        expired.pk: "code_expired",
    }
    assert refused.filter(customer_id=exhausted.pk).count() == 4


# --- The BS Pay app PIN (POST /api/app/v1/session, signed by the device) ---------------------------------


def test_guessing_the_app_pin_blocks_the_device_and_then_even_the_right_pin_is_refused(cardholder):
    """The thief holds the phone (the device key) but not the PIN: three guesses, then the bank's block.

    No answer tells more than "wrong" and the tries left; the device stays blocked for the right PIN too, and the
    holder cannot lift the block from the portal (the bank's): activating the app again needs the portal.
    """
    app = AppClient(auto_session=False)
    device = device_for(cardholder.customer, app=app)
    devices_sessions.device_session_end(device=device)
    guesses = ["000001", "112233", "975310", "270419"]  # the last is the right PIN
    answers = [app.open_session(pin=guess) for guess in guesses]
    assert [a.status_code for a in answers] == [422, 422, 403, 403]
    assert [a.json()["code"] for a in answers] == ["pin_invalid", "pin_invalid", "device_blocked", "device_blocked"]
    assert app.get("/device").status_code == 403
    device.refresh_from_db()
    assert device.state == DeviceState.BLOCKED_TEMPORARILY and device.blocked_by == BlockedBy.BANK
    refused = AuditEvent.objects.filter(action="devices.session.refused", object_id=str(device.pk))
    assert [event.after for event in refused.order_by("pk")] == [
        {"reason": "pin_invalid", "failures": n} for n in (1, 2, 3)
    ]
    with pytest.raises(InvalidTransition):
        devices.device_unblock(actor=Actor.for_user(cardholder.user), device=device)


# --- The wallet provisioning code (the token service's API) ------------------------------------------


@pytest.fixture
def payable_card(card) -> Any:
    """Anna's debit card, active, with mobile payments on."""
    return card_mobile_payments_activate(actor=HOLDER, card=card_activate(actor=HOLDER, card=card))


def _tsp() -> Client:
    _, token = api_key_create(actor=HOLDER, name="Token service", scopes=[ApiScope.TOKEN_SERVICE])
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_wallet_provisioning_codes_are_capped_per_card_and_the_cap_is_audited(
    payable_card, django_capture_on_commit_callbacks
):
    """Each request to add a card gets a new code with 3 tries: starting over must not give endless tries.

    Whoever holds the card's number and expiry adds it to their wallet, guesses 3 codes, and adds it again.
    """
    tsp = _tsp()
    card_data = {"pan": decrypt_pan(payable_card.pan_ciphertext), "expiry": f"{payable_card.expiry:%Y-%m}"}

    def add(reference: str) -> Any:
        body = {
            "card": card_data,
            "token_reference": reference,
            "token_last4": "4321",
            "wallet": "google_pay",
            "device": {"name": "Pixel 8", "type": "phone"},
            "recommendation": "require_verification",
        }
        with django_capture_on_commit_callbacks(execute=True):
            return tsp.post(f"{TSP}/provisioning-requests", json.dumps(body), content_type="application/json")

    def verify(reference: str, code: str) -> Any:
        return tsp.post(
            f"{TSP}/provisioning-requests/{reference}/verification",
            json.dumps({"code": code}),
            content_type="application/json",
        )

    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for n in range(MAX_VERIFICATIONS_PER_DAY):
            reference = f"DNITHE{n:09d}"
            assert add(reference).json()["decision"] == "require_verification"
            code = code_sent_to(payable_card.customer.phone_on_file)
            wrong = f"{(int(code) + 1) % 10**6:06d}"
            answers = [verify(reference, wrong).json()["result"] for _ in range(3)]
            assert answers == ["code_invalid", "code_invalid", "failed"]
            assert verify(reference, code).json()["result"] == "failed"
            clock.shift(dt.timedelta(hours=1))
        texts = len(texts_to(payable_card.customer.phone_on_file))

        refused = add("DNITHE999999999")

        assert refused.status_code == 200
        assert refused.json()["decision"] == "decline"
        assert refused.json()["reason"] == DeclineReason.VERIFICATION_LIMIT
        assert len(texts_to(payable_card.customer.phone_on_file)) == texts  # no code, no SMS
        assert not Token.objects.filter(token_reference="DNITHE999999999").exists()
        declined = AuditEvent.objects.get(action="tokens.provisioning.declined")
        assert declined.object_id == str(payable_card.pk) and declined.customer_id == payable_card.customer_id
        assert declined.after["reason"] == DeclineReason.VERIFICATION_LIMIT

        # 24 hours after the first code, one code is free again.
        clock.move_to(start + dt.timedelta(hours=24, seconds=1))
        assert add("DNITHE999999998").json()["decision"] == "require_verification"


# --- The own-login page, which says whether a login is taken ----------------------------------------


def test_probing_which_own_logins_are_taken_is_limited(client, cardholder, second_cardholder):
    """A login is a sign-in identifier: a session must not be a way to list everybody's."""
    User.objects.filter(pk=second_cardholder.user.pk).update(login="bartosz.w")
    client.force_login(cardholder.user)
    url = reverse("profile:login")
    taken = "Ten login jest już zajęty."
    first = client.post(url, {"login": "Bartosz.W"})
    assert first.status_code == 200 and taken in first.content.decode()
    for n in range(9):
        client.post(url, {"login": f"ktos.inny{n}"})

    probe = client.post(url, {"login": "bartosz.w"})

    assert probe.status_code == 429
    assert taken not in probe.content.decode()
    assert "Zbyt wiele prób" in probe.content.decode()
    assert User.objects.get(pk=cardholder.user.pk).login is None


# --- Staff sign-in: the TOTP code after a right password ---------------------------------------------


def _bo_text(response: Any) -> str:
    return html.unescape(response.content.decode())


def test_guessing_the_staff_totp_locks_and_then_even_the_right_code_is_refused(staff, settings):
    """Somebody who has a staff password guesses codes: the 10th wrong one locks, and the right code fails then.

    Another session already past the password step (the owner's, or the guesser's second) gets the lock's
    answer for the right code too; the guessing session is sent back to the password step.
    """
    person: StaffPerson = staff["agent"]
    right = person.code()
    wrong = "000000" if right != "000000" else "111111"
    guesser, other = Client(), Client()
    with time_machine.travel(timezone.now(), tick=False):
        for client in (guesser, other):
            response = client.post(BO_LOGIN, {"username": person.username, "password": person.password})
            assert response["Location"] == BO_LOGIN_CODE
        answers = [guesser.post(BO_LOGIN_CODE, {"code": wrong}) for _ in range(settings.STAFF_LOCKOUT_ATTEMPTS)]
        user = User.objects.get(pk=person.user.pk)
        assert user.is_locked()

        again = guesser.post(BO_LOGIN_CODE, {"code": right})
        right_elsewhere = other.post(BO_LOGIN_CODE, {"code": right})

        assert again.status_code == 302 and again["Location"] == BO_LOGIN
        assert right_elsewhere.status_code == 200
        assert guesser.get(BO_HOME).status_code != 200 and other.get(BO_HOME).status_code != 200
        with translation.override("pl"):
            generic = str(StaffLoginRefused().message)
            locked = str(StaffLocked(user.locked_until).message)  # type: ignore[arg-type]
        assert all(generic in _bo_text(answer) for answer in answers[:-1])
        # The lock is told only after the right password in that session; the right code changes nothing.
        assert locked in _bo_text(answers[-1]) and locked in _bo_text(right_elsewhere)
    assert User.objects.get(pk=person.user.pk).locked_until == user.locked_until
    assert AuditEvent.objects.filter(action="backoffice.staff.locked", object_id=str(user.pk)).count() == 1
    assert AuditEvent.objects.filter(action="backoffice.staff.sign_in_refused", after__reason="locked").count() == 1
    assert not AuditEvent.objects.filter(action="backoffice.staff.signed_in").exists()


# --- Registration (the forgotten password): does a portal account exist? -----------------------------

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def _same_shape(page: str) -> str:
    """The page without what differs by design: the CSRF token."""
    return _CSRF.sub("", page)


def _registration_answers(
    client: Client, identifier: str, phone: str | None, capture: Callable[..., Any]
) -> dict[str, tuple[int, str]]:
    answers: dict[str, tuple[int, str]] = {}
    response = client.post(REGISTER_URL, {"identifier": identifier})
    answers["identifier"] = (response.status_code, response["Location"])
    page = client.get(REGISTER_SEND_URL)
    answers["send page"] = (page.status_code, _same_shape(page.content.decode()))
    with capture(execute=True):
        response = client.post(REGISTER_SEND_URL)
    answers["send"] = (response.status_code, response["Location"])
    # The same wrong password on every side: the form shows back what was typed.
    wrong = "ABCDEFGHJK" if not phone or last_activation_password(phone) != "ABCDEFGHJK" else "BCDEFGHJKL"
    response = client.post(REGISTER_ACTIVATE_URL, {"activation_password": wrong})
    answers["wrong activation password"] = (response.status_code, _same_shape(response.content.decode()))
    return answers


def test_registration_does_not_tell_whether_a_portal_account_exists(
    cardholder, stranger, django_capture_on_commit_callbacks
):
    """Registering again is the password reset: up to the activation password, an account changes nothing.

    Neither does being a customer at all, or having a phone on file [ASVS 5.0 6.3.8]: an identifier that
    names nobody, and a customer without a phone, get the same answers (docs/access.md, "Registration";
    the whole walk, expiry and resends included, and the timing: users/tests/test_registration.py, test_timing.py).
    """
    assert cardholder.user is not None and stranger.user is None
    registered = _registration_answers(
        Client(), cardholder.identifier, cardholder.customer.phone_on_file, django_capture_on_commit_callbacks
    )
    not_registered = _registration_answers(
        Client(), stranger.identifier, stranger.customer.phone_on_file, django_capture_on_commit_callbacks
    )
    without_phone = factories.customer_factory(pesel=factories.make_pesel(dt.date(1975, 5, 5), 505), phone_on_file=None)
    no_phone = _registration_answers(Client(), without_phone.pesel, None, django_capture_on_commit_callbacks)
    nobody = _registration_answers(
        Client(), factories.make_pesel(dt.date(1975, 5, 6), 506), None, django_capture_on_commit_callbacks
    )

    assert registered["identifier"] == (302, REGISTER_SEND_URL)
    assert registered["wrong activation password"][0] == 200
    assert registered == not_registered == no_phone == nobody
    assert mask_phone(cardholder.customer.phone_on_file) not in registered["send page"][1]
