"""Staff sign-in: password then TOTP code, no replay, lockout after 10 wrong attempts, idle timeout."""

from __future__ import annotations

import datetime as dt
import html

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from kartosfera.backoffice.auth import (
    StaffLocked,
    StaffLoginRefused,
    staff_login_password,
    staff_member_create,
    staff_user_find,
)
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing.staff import StaffPerson, staff_client
from kartosfera.users.models import User

pytestmark = pytest.mark.django_db

BO_HOME = reverse("backoffice:home")
BO_LOGIN = reverse("backoffice:login")
BO_LOGIN_CODE = reverse("backoffice:login_code")
BO_LOGOUT = reverse("backoffice:logout")
PORTAL_CARDS = reverse("portal:card_list")


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _generic_message() -> str:
    with translation.override("pl"):
        return str(StaffLoginRefused().message)


def _password_step(client: Client, username: str, password: str):
    return client.post(BO_LOGIN, {"username": username, "password": password})


def _code_step(client: Client, code: str):
    return client.post(BO_LOGIN_CODE, {"code": code})


def _wrong_code(person: StaffPerson) -> str:
    right = person.code()
    return "000000" if right != "000000" else "111111"


def _signed_in(client: Client) -> bool:
    return client.get(BO_HOME).status_code == 200


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def test_password_then_code_signs_in_with_an_audit_row(client, staff):
    person = staff["agent"]

    response = _password_step(client, person.username, person.password)
    assert response.status_code == 302 and response["Location"] == BO_LOGIN_CODE
    response = _code_step(client, person.code())

    assert response.status_code == 302 and response["Location"] == BO_HOME
    assert _signed_in(client)
    event = AuditEvent.objects.get(action="backoffice.staff.signed_in")
    assert (event.actor_type, event.actor_id) == (ActorType.STAFF, str(person.user.pk))


def test_the_user_name_is_case_insensitive(client, staff):
    person = staff["agent"]
    response = _password_step(client, person.username.upper(), person.password)
    assert response["Location"] == BO_LOGIN_CODE


def test_a_password_alone_never_signs_in(client, staff):
    person = staff["agent"]
    _password_step(client, person.username, person.password)

    response = client.get(BO_HOME)

    assert response.status_code == 302 and response["Location"].startswith(BO_LOGIN)
    assert not AuditEvent.objects.filter(action="backoffice.staff.signed_in").exists()


def test_the_code_page_without_the_password_step_goes_back_to_the_login(client, staff):
    response = _code_step(client, staff["agent"].code())

    assert response.status_code == 302 and response["Location"] == BO_LOGIN
    assert not _signed_in(client)


def test_a_wrong_code_is_refused_and_counted(client, staff):
    person = staff["agent"]
    _password_step(client, person.username, person.password)

    response = _code_step(client, _wrong_code(person))

    assert response.status_code == 200
    assert _generic_message() in _text(response)
    assert not _signed_in(client)
    event = AuditEvent.objects.get(action="backoffice.staff.sign_in_failed")
    assert event.after == {"step": "code", "failed_in_a_row": 1}


def test_a_code_cannot_be_used_twice(client, staff, clock):
    """Sign in, sign out, and the same code in the same 30-second step is refused (no replay)."""
    person = staff["agent"]
    code = person.code()
    _password_step(client, person.username, person.password)
    assert _code_step(client, code).status_code == 302
    client.post(BO_LOGOUT)
    assert not _signed_in(client)

    _password_step(client, person.username, person.password)
    response = _code_step(client, code)

    assert response.status_code == 200
    assert not _signed_in(client)
    assert AuditEvent.objects.filter(action="backoffice.staff.sign_in_failed").count() == 1


def test_an_unknown_user_gets_the_same_message_as_a_wrong_password(client, staff):
    wrong_password = _text(_password_step(client, staff["agent"].username, "Nie-to-haslo-wcale"))
    unknown_user = _text(_password_step(Client(), "nobody-here", "Nie-to-haslo-wcale"))

    assert _generic_message() in wrong_password
    assert _generic_message() in unknown_user
    assert AuditEvent.objects.filter(action="backoffice.staff.sign_in_failed").count() == 2


def test_a_cardholder_cannot_sign_in_at_the_staff_login(client, cardholder):
    """Even with the cardholder's right password: only staff users with a staff record are found."""
    assert staff_user_find(username=cardholder.user.username) is None

    response = _password_step(client, cardholder.user.username, cardholder.password)

    assert response.status_code == 200
    assert _generic_message() in _text(response)
    assert not _signed_in(client)


def test_ten_wrong_attempts_lock_for_thirty_minutes(client, staff, clock):
    """Wrong passwords and wrong codes count together; the 10th locks; the lock holds 30 minutes."""
    person = staff["agent"]
    for _ in range(6):
        assert _password_step(client, person.username, "Zle-haslo-123456").status_code == 200
    assert _password_step(client, person.username, person.password)["Location"] == BO_LOGIN_CODE
    for _ in range(4):
        response = _code_step(client, _wrong_code(person))

    user = User.objects.get(pk=person.user.pk)
    assert user.locked_until == timezone.now() + dt.timedelta(minutes=30)
    assert AuditEvent.objects.filter(action="backoffice.staff.sign_in_failed").count() == 10
    locked = AuditEvent.objects.get(action="backoffice.staff.locked")
    assert locked.actor_type == ActorType.SYSTEM
    with translation.override("pl"):
        lock_message = str(StaffLocked(user.locked_until).message)
    assert lock_message in _text(response)

    clock.shift(dt.timedelta(minutes=29))
    response = _password_step(client, person.username, person.password)
    assert response.status_code == 200
    # Even the right password gets the one generic answer while locked (nothing tells the name exists).
    assert lock_message not in _text(response)
    assert _generic_message() in _text(response)
    assert AuditEvent.objects.filter(action="backoffice.staff.sign_in_refused").exists()

    clock.shift(dt.timedelta(minutes=2))
    assert _password_step(client, person.username, person.password)["Location"] == BO_LOGIN_CODE
    assert _code_step(client, person.code()).status_code == 302
    assert _signed_in(client)
    assert User.objects.get(pk=person.user.pk).failed_login_count == 0


def test_a_right_code_resets_the_count(client, staff):
    person = staff["agent"]
    for _ in range(9):
        _password_step(client, person.username, "Zle-haslo-123456")
    _password_step(client, person.username, person.password)
    _code_step(client, person.code())

    assert User.objects.get(pk=person.user.pk).failed_login_count == 0
    assert not AuditEvent.objects.filter(action="backoffice.staff.locked").exists()


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("Krotkie-1!", False),  # 10 characters
        ("Jedenascie1", False),  # 11 characters
        ("qwertyuiop12", False),  # common, though 12 long
        ("Wiosna-nad-Wisla", True),
        ("Dwanascie-12", True),
    ],
)
def test_the_staff_password_policy(password, accepted, db):
    def create():
        return staff_member_create(
            actor=Actor.system("tests"), username="nowy", full_name="Jan Nowy", role="agent", password=password
        )

    if accepted:
        member, device = create()
        assert member.user.check_password(password)
        assert device.confirmed
    else:
        with pytest.raises(ValidationFailed) as caught:
            create()
        assert set(caught.value.field_errors) == {"password"}
        assert not User.objects.filter(username="nowy").exists()


def test_a_staff_session_idle_for_fifteen_minutes_ends(staff, clock):
    client = staff_client(staff["agent"])
    key = client.cookies[settings.STAFF_SESSION_COOKIE_NAME].value
    clock.shift(dt.timedelta(minutes=14))
    assert client.get(BO_HOME).status_code == 200

    clock.shift(dt.timedelta(minutes=15))
    response = client.get(BO_HOME)

    assert response.status_code == 302 and response["Location"].startswith(BO_LOGIN)
    assert client.get(BO_HOME)["Location"].startswith(BO_LOGIN)
    assert not Session.objects.filter(session_key=key).exists()
    event = AuditEvent.objects.get(action="users.session.expired")
    assert event.after == {"reason": "idle"}
    assert event.actor_id == str(staff["agent"].user.pk)


def test_a_cardholder_still_times_out_after_five_minutes(client, cardholder, clock):
    client.force_login(cardholder.user)
    clock.shift(dt.timedelta(minutes=4, seconds=30))
    assert client.get(PORTAL_CARDS).status_code == 200

    clock.shift(dt.timedelta(minutes=5))
    response = client.get(PORTAL_CARDS)

    assert response.status_code == 302 and response["Location"].startswith(reverse("users:login"))
    assert AuditEvent.objects.get(action="users.session.expired").after == {"reason": "idle"}


def _login_error(response) -> str:
    text = response.content.decode()
    start = text.index('id="login-error"')
    return html.unescape(text[start : text.index("</div>", start)])


def test_the_password_step_answers_alike_for_an_existing_an_unknown_and_a_locked_user(staff, clock):
    """Nothing tells whether a staff user name exists or is locked: one answer, even the locking attempt."""
    existing, locked = staff["agent"], staff["branch"]
    answers = {}
    for attempt in range(1, 11):
        answers[f"locking user, attempt {attempt}"] = _password_step(Client(), locked.username, "Zle-haslo-123456")
        answers[f"unknown user, attempt {attempt}"] = _password_step(Client(), "nie.ma.takiego", "Zle-haslo-123456")
    assert User.objects.get(pk=locked.user.pk).is_locked()
    answers["unknown user, attempt 11"] = _password_step(Client(), "nie.ma.takiego", "Zle-haslo-123456")
    answers["existing user, wrong password"] = _password_step(Client(), existing.username, "Zle-haslo-123456")
    answers["locked user, wrong password"] = _password_step(Client(), locked.username, "Zle-haslo-123456")
    answers["locked user, right password"] = _password_step(Client(), locked.username, locked.password)

    assert {name: response.status_code for name, response in answers.items()} == dict.fromkeys(answers, 200)
    errors = {name: _login_error(response) for name, response in answers.items()}
    assert set(errors.values()) == {errors["unknown user, attempt 11"]}, errors
    assert _generic_message() in errors["locked user, right password"]
    with translation.override("pl"):
        assert "na 30 minut" in _generic_message()
    # The lock itself holds and is audited as before.
    assert AuditEvent.objects.filter(action="backoffice.staff.locked", object_id=str(locked.user.pk)).count() == 1
    assert AuditEvent.objects.filter(action="backoffice.staff.sign_in_refused").count() == 2


@pytest.mark.parametrize("who", ["existing", "unknown", "locked"])
def test_the_password_service_refuses_with_the_generic_error_only(staff, who):
    person = staff["agent"]
    if who == "locked":
        User.objects.filter(pk=person.user.pk).update(locked_until=timezone.now() + dt.timedelta(minutes=30))
    username = "nie.ma.takiego" if who == "unknown" else person.username
    password = person.password if who == "locked" else "Zle-haslo-123456"

    with pytest.raises(StaffLoginRefused) as refused:
        staff_login_password(username=username, password=password)

    assert type(refused.value) is StaffLoginRefused
    assert refused.value.message == str(StaffLoginRefused().message)
