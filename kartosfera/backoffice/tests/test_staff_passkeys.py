"""Staff passkeys in the back office: the sign-in step, the own account page, the Level 3 mode, resets.

A software authenticator (kartosfera/testing/webauthn.py) answers the pages' options with real signatures for
the test client's origin (http://testserver), so py_webauthn's checks run unchanged. The browser journey is
tests/browser/test_backoffice_passkeys.py.
"""

from __future__ import annotations

import time
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from kartosfera.backoffice.accounts import staff_account_disable, staff_account_reset
from kartosfera.backoffice.roles import StaffRole
from kartosfera.backoffice.views import PASSKEY_SESSION_KEY
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.testing.passkeys_pages import passkey_add_directly
from kartosfera.testing.staff import STAFF_PASSWORD, StaffPerson, staff_client, staff_person_create
from kartosfera.testing.webauthn import SoftAuthenticator
from kartosfera.users.models import Passkey, User
from kartosfera.users.passkeys import passkey_register, passkey_registration_options, passkey_remove, relying_party

pytestmark = pytest.mark.django_db

BO_HOME = reverse("backoffice:home")
BO_LOGIN = reverse("backoffice:login")
BO_LOGIN_CODE = reverse("backoffice:login_code")
BO_LOGIN_PASSKEY = reverse("backoffice:login_passkey")
BO_LOGOUT = reverse("backoffice:logout")
ACCOUNT = reverse("backoffice:password")
CONFIRM = reverse("backoffice:passkey_confirm")
ADD = reverse("backoffice:passkey_add")
ONLY = reverse("backoffice:passkey_only")
RP = relying_party(host="testserver", secure=False)


def _passkey_for(person: StaffPerson, name: str = "YubiKey") -> tuple[Passkey, SoftAuthenticator]:
    authenticator = SoftAuthenticator()
    options, challenge = passkey_registration_options(user=person.user, rp=RP, account_name=person.username)
    passkey = passkey_register(
        actor=Actor.for_user(person.user),
        user=person.user,
        rp=RP,
        challenge=challenge,
        response=authenticator.create(options),
        name=name,
    )
    return passkey, authenticator


def _wrong_code(person: StaffPerson) -> str:
    return "000000" if person.code() != "000000" else "111111"


def _password_step(client: Client, person: StaffPerson):
    response = client.post(BO_LOGIN, {"username": person.username, "password": person.password})
    assert response.status_code == 302 and response["Location"] == BO_LOGIN_CODE
    return client.get(BO_LOGIN_CODE)


def _answer(client: Client, authenticator: SoftAuthenticator):
    """The second step's page, then the authenticator's answer to the options it holds."""
    page = client.get(BO_LOGIN_CODE)
    assert page.status_code == 200
    return client.post(BO_LOGIN_PASSKEY, {"credential": authenticator.get(page.context["passkey_options"])})


def _staff_session(client: Client) -> SessionBase:
    """The client's back-office session (its own cookie: ``client.session`` is the portal's)."""
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(client.cookies[settings.STAFF_SESSION_COOKIE_NAME].value)


def _failed_count(person: StaffPerson) -> int:
    return User.objects.get(pk=person.user.pk).failed_login_count


# --- Signing in ------------------------------------------------------------------------------------


def test_a_member_without_a_passkey_gets_the_code_step_only(client, staff):
    page = _password_step(client, staff["agent"])

    assert "passkey_options" not in page.context and page.context["form"] is not None
    assert b'data-passkey="get"' not in page.content
    assert "publickey-credentials-get=()" in page["Permissions-Policy"]


def test_a_member_with_a_passkey_signs_in_with_it_without_any_totp_device_claimed(client, staff):
    person = staff["agent"]
    passkey, authenticator = _passkey_for(person)
    page = _password_step(client, person)
    assert b'data-passkey="get"' in page.content and b'id="passkey-options"' in page.content
    assert page.context["form"] is not None  # the code stays offered: no "passkey only", no Level 3 mode
    # This page alone may use WebAuthn, for its own origin, and only to ask for a passkey.
    policy = page["Permissions-Policy"]
    assert "publickey-credentials-get=(self)" in policy and "publickey-credentials-create=()" in policy
    assert policy.startswith("accelerometer=()") and "camera=()" in policy

    response = client.post(BO_LOGIN_PASSKEY, {"credential": authenticator.get(page.context["passkey_options"])})

    assert response.status_code == 302 and response["Location"] == BO_HOME
    assert client.get(BO_HOME).status_code == 200
    session = _staff_session(client)
    assert DEVICE_ID_SESSION_KEY not in session  # no TOTP device stands in for the passkey
    assert session[PASSKEY_SESSION_KEY] == {"user_id": person.user.pk, "passkey": str(passkey.public_id)}
    event = AuditEvent.objects.get(action="backoffice.staff.signed_in")
    assert event.after == {"second_step": "passkey"} and event.actor_id == str(person.user.pk)
    assert Passkey.objects.get(pk=passkey.pk).last_used_at is not None
    # Signing out ends it like any staff session.
    client.post(BO_LOGOUT)
    assert client.get(BO_HOME).status_code == 302


def test_the_code_still_signs_in_a_member_with_a_passkey_when_allowed(client, staff):
    person = staff["agent"]
    _passkey_for(person)
    _password_step(client, person)

    response = client.post(BO_LOGIN_CODE, {"code": person.code()})

    assert response.status_code == 302 and client.get(BO_HOME).status_code == 200
    assert AuditEvent.objects.get(action="backoffice.staff.signed_in").after == {}


def test_a_passkey_answer_without_the_password_step_signs_nobody_in(client, staff):
    person = staff["agent"]
    _passkey_for(person)

    response = client.post(BO_LOGIN_PASSKEY, {"credential": "{}"})

    assert response.status_code == 302 and response["Location"] == BO_LOGIN
    assert client.get(BO_HOME).status_code == 302


@pytest.mark.parametrize("fault", ["another_origin", "not_user_verified", "another_members_passkey", "garbage"])
def test_a_refused_passkey_counts_like_a_wrong_code(client, staff, fault):
    person = staff["agent"]
    _, authenticator = _passkey_for(person)
    if fault == "another_origin":
        authenticator.origin = "https://kartosfera.example.net"
    elif fault == "not_user_verified":
        authenticator.user_verified = False
    elif fault == "another_members_passkey":
        _, authenticator = _passkey_for(staff["supervisor"])
    _password_step(client, person)

    if fault == "garbage":
        client.get(BO_LOGIN_CODE)
        response = client.post(BO_LOGIN_PASSKEY, {"credential": '{"id": "x"}'})
    else:
        response = _answer(client, authenticator)

    assert response.status_code == 200 and client.get(BO_HOME).status_code == 302
    assert _failed_count(person) == 1
    assert AuditEvent.objects.get(action="backoffice.staff.sign_in_failed").after == {
        "step": "passkey",
        "failed_in_a_row": 1,
    }
    assert AuditEvent.objects.filter(action="users.passkey.use_refused").count() == 1
    assert not AuditEvent.objects.filter(action="backoffice.staff.signed_in").exists()


def test_refused_passkeys_and_wrong_codes_lock_the_account_together(client, staff, settings):
    settings.STAFF_LOCKOUT_ATTEMPTS = 3
    person = staff["agent"]
    _, authenticator = _passkey_for(person)
    impostor = SoftAuthenticator(origin="https://kartosfera-login.example.com")
    impostor.credential_id = authenticator.credential_id  # a phishing page's answer for the same passkey
    _password_step(client, person)

    client.post(BO_LOGIN_CODE, {"code": _wrong_code(person)})
    _answer(client, impostor)
    response = _answer(client, impostor)

    user = User.objects.get(pk=person.user.pk)
    assert user.is_locked() and user.failed_login_count == 3
    assert "zablokowane" in response.content.decode() or "locked" in response.content.decode()
    assert AuditEvent.objects.filter(action="backoffice.staff.locked").count() == 1
    # Locked: even the right passkey is refused (after the password, which is not checked while locked).
    other = Client()
    other.post(BO_LOGIN, {"username": person.username, "password": person.password})
    assert client.get(BO_HOME).status_code == 302 and other.get(BO_HOME).status_code == 302


def test_a_right_passkey_resets_the_count(client, staff):
    person = staff["agent"]
    _, authenticator = _passkey_for(person)
    _password_step(client, person)
    client.post(BO_LOGIN_CODE, {"code": _wrong_code(person)})
    assert _failed_count(person) == 1

    _answer(client, authenticator)

    assert _failed_count(person) == 0 and client.get(BO_HOME).status_code == 200


def test_an_answer_without_a_kept_challenge_is_refused_without_counting(client, staff):
    """A page left open past the ceremony's time (or its challenge already used): nothing could pass, nothing
    was guessed."""
    person = staff["agent"]
    _, authenticator = _passkey_for(person)
    page = _password_step(client, person)
    session = _staff_session(client)
    session.pop("passkey_ceremony")
    session.save()

    response = client.post(BO_LOGIN_PASSKEY, {"credential": authenticator.get(page.context["passkey_options"])})

    assert response.status_code == 200 and client.get(BO_HOME).status_code == 302
    assert _failed_count(person) == 0


@pytest.mark.parametrize("why", ["passkey_only", "level_3"])
def test_without_the_other_step_the_code_is_neither_offered_nor_accepted(client, staff, settings, why):
    person = staff["agent"]
    _, authenticator = _passkey_for(person)
    if why == "passkey_only":
        User.objects.filter(pk=person.user.pk).update(passkey_only=True)
    else:
        settings.BACKOFFICE_PASSKEY_REQUIRED = True
    page = _password_step(client, person)
    assert "form" not in page.context and b'name="code"' not in page.content

    response = client.post(BO_LOGIN_CODE, {"code": person.code()})

    assert response.status_code == 200 and client.get(BO_HOME).status_code == 302
    assert _failed_count(person) == 0
    event = AuditEvent.objects.get(action="backoffice.staff.sign_in_refused")
    assert event.after == {"reason": "passkey_required"}
    assert _answer(client, authenticator)["Location"] == BO_HOME


# --- The own account page ------------------------------------------------------------------------


def _confirm_with_code(client: Client, person: StaffPerson) -> None:
    response = client.post(CONFIRM, {"confirm-code": person.code()})
    assert response.status_code == 302 and response["Location"] == ACCOUNT + "#passkeys"


def _add(client: Client, authenticator: SoftAuthenticator, name: str = "Klucz biurowy"):
    page = client.get(ACCOUNT)
    return client.post(ADD, {"name": name, "credential": authenticator.create(page.context["add_options"])})


def test_the_account_page_lists_the_passkeys_and_asks_for_a_confirmation_first(staff):
    person = staff["agent"]
    passkey, _ = _passkey_for(person, name="Klucz w szufladzie")
    client = staff_client(person)

    page = client.get(ACCOUNT)

    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert page.context["passkeys"] == [passkey] and "Klucz w szufladzie" in page.content.decode()
    assert not page.context["passkey_confirmed"] and "add_options" not in page.context
    assert "confirm_options" in page.context and page.context["confirm_form"] is not None
    assert reverse("backoffice:passkey_remove", args=[passkey.public_id]) not in page.content.decode()


def test_a_member_adds_a_passkey_after_confirming_with_the_code(staff):
    person = staff["agent"]
    client = staff_client(person)
    authenticator = SoftAuthenticator()
    # Without a confirmation nothing is added.
    assert client.post(ADD, {"name": "X", "credential": "{}"})["Location"] == ACCOUNT + "#passkeys"
    assert not Passkey.objects.exists()

    _confirm_with_code(client, person)
    response = _add(client, authenticator)

    assert response.status_code == 302 and response["Location"] == ACCOUNT + "#passkeys"
    passkey = Passkey.objects.get(user=person.user)
    assert passkey.name == "Klucz biurowy" and passkey.credential_id == authenticator.credential_id_b64
    event = AuditEvent.objects.get(action="users.passkey.added")
    assert event.actor_id == str(person.user.pk) and event.actor_type == "staff"
    assert event.bank_id is None  # a group member: the group's log
    assert "Klucz biurowy" in client.get(ACCOUNT).content.decode()


def test_a_wrong_confirmation_code_is_refused_and_audited(staff):
    person = staff["agent"]
    client = staff_client(person)

    response = client.post(CONFIRM, {"confirm-code": _wrong_code(person)})

    assert response.status_code == 400 and not response.context["passkey_confirmed"]
    assert AuditEvent.objects.get(action="backoffice.staff.reauthentication_refused").after == {"step": "code"}
    assert client.post(ADD, {"name": "X", "credential": "{}"}).status_code == 302
    assert not Passkey.objects.exists()


def test_a_member_confirms_with_a_passkey_and_removes_one(staff):
    person = staff["agent"]
    first, authenticator = _passkey_for(person, name="Telefon")
    second, _ = _passkey_for(person, name="Klucz")
    client = staff_client(person)
    page = client.get(ACCOUNT)

    response = client.post(CONFIRM, {"credential": authenticator.get(page.context["confirm_options"])})
    assert response.status_code == 302
    response = client.post(reverse("backoffice:passkey_remove", args=[second.public_id]))

    assert response.status_code == 302
    assert list(Passkey.objects.filter(user=person.user)) == [first]
    assert AuditEvent.objects.get(action="users.passkey.removed").after["name"] == "Klucz"


def test_a_refused_passkey_confirmation_confirms_nothing(staff):
    person = staff["agent"]
    _, authenticator = _passkey_for(person)
    client = staff_client(person)
    page = client.get(ACCOUNT)
    authenticator.origin = "https://evil.example.com"

    response = client.post(CONFIRM, {"credential": authenticator.get(page.context["confirm_options"])})

    assert response.status_code == 400 and not response.context["passkey_confirmed"]
    assert AuditEvent.objects.get(action="backoffice.staff.reauthentication_refused").after == {"step": "passkey"}


def test_another_members_passkey_is_404_even_when_confirmed(staff):
    person, other = staff["agent"], staff["supervisor"]
    theirs, _ = _passkey_for(other)
    client = staff_client(person)
    _confirm_with_code(client, person)

    response = client.post(reverse("backoffice:passkey_remove", args=[theirs.public_id]))

    assert response.status_code == 404 and Passkey.objects.filter(pk=theirs.pk).exists()
    assert not AuditEvent.objects.filter(action="users.passkey.removed").exists()


def test_passkey_only_on_and_off_and_then_only_a_passkey_confirms(staff):
    person = staff["agent"]
    _, authenticator = _passkey_for(person)
    client = staff_client(person)
    _confirm_with_code(client, person)

    assert client.post(ONLY, {"enabled": "on"}).status_code == 302
    assert User.objects.get(pk=person.user.pk).passkey_only
    event = AuditEvent.objects.get(action="users.passkey_only.changed")
    assert event.after == {"passkey_only": True} and event.actor_id == str(person.user.pk)

    # A new session: the code no longer confirms it is them, the passkey does.
    later = staff_client(person)
    page = later.get(ACCOUNT)
    assert "confirm_form" not in page.context and "confirm_options" in page.context
    assert later.post(CONFIRM, {"confirm-code": person.code()}).status_code == 400
    page = later.get(ACCOUNT)
    later.post(CONFIRM, {"credential": authenticator.get(page.context["confirm_options"])})
    assert later.post(ONLY, {}).status_code == 302
    assert not User.objects.get(pk=person.user.pk).passkey_only


def test_the_last_passkey_cannot_go_while_signing_in_needs_it(staff):
    person = staff["agent"]
    passkey, _ = _passkey_for(person)
    User.objects.filter(pk=person.user.pk).update(passkey_only=True)
    client = staff_client(person)
    session = _staff_session(client)
    session["kf.bo.reauthenticated"] = {"user_id": person.user.pk, "at": time.time()}
    session.save()

    response = client.post(reverse("backoffice:passkey_remove", args=[passkey.public_id]))

    assert response.status_code == 400 and Passkey.objects.filter(pk=passkey.pk).exists()


# --- The Level 3 mode -----------------------------------------------------------------------------


@pytest.mark.parametrize("required", [True, False])
def test_the_level_3_mode_sends_a_member_without_a_passkey_to_add_one(staff, settings, required):
    settings.BACKOFFICE_PASSKEY_REQUIRED = required
    person = staff["agent"]
    client = staff_client(person)

    response = client.get(BO_HOME)

    if not required:
        assert response.status_code == 200
        return
    assert response.status_code == 302 and response["Location"] == ACCOUNT + "#passkeys"
    assert client.get(reverse("backoffice:activity")).status_code == 302
    page = client.get(ACCOUNT)
    assert page.status_code == 200 and page.context["passkey_needed"]
    assert 'id="passkey-needed"' in page.content.decode()
    # The member confirms with the code (no passkey yet), adds one and goes on.
    _confirm_with_code(client, person)
    page = client.get(ACCOUNT)
    assert "publickey-credentials-create=(self)" in page["Permissions-Policy"]
    assert _add(client, SoftAuthenticator()).status_code == 302
    assert client.get(BO_HOME).status_code == 200
    assert client.post(BO_LOGOUT).status_code == 302


# --- Resets and disabling -------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["reset", "disable"])
def test_a_reset_or_disabling_removes_the_members_passkeys(staff, operation):
    person = staff["agent"]
    _passkey_for(person, name="A")
    _passkey_for(person, name="B")
    User.objects.filter(pk=person.user.pk).update(passkey_only=True)
    actor = Actor.for_user(staff["supervisor"].user)

    if operation == "reset":
        staff_account_reset(actor=actor, member=person.member, reason="Lost keys; HR checked the ID card")
    else:
        staff_account_disable(actor=actor, member=person.member, reason="Left the bank")

    assert not Passkey.objects.filter(user=person.user).exists()
    assert not User.objects.get(pk=person.user.pk).passkey_only
    event = AuditEvent.objects.get(action=f"backoffice.staff.{'reset' if operation == 'reset' else 'disabled'}")
    assert event.after["passkeys_removed"] == 2


def test_the_session_mark_of_another_user_does_not_pass(staff):
    """The passkey mark names its member: planted in another member's session it verifies nothing."""
    person, other = staff["agent"], staff["supervisor"]
    client = staff_client(person)
    session = _staff_session(client)
    session.pop(DEVICE_ID_SESSION_KEY)
    session[PASSKEY_SESSION_KEY] = {"user_id": other.user.pk, "passkey": "x"}
    session.save()

    assert client.get(BO_HOME).status_code == 302


def test_a_passkey_only_member_changes_the_password_after_the_passkey_not_with_a_code(staff):
    person = staff["agent"]
    _, authenticator = _passkey_for(person)
    User.objects.filter(pk=person.user.pk).update(passkey_only=True)
    client = staff_client(person)
    new = "Nowe-haslo-zaplecza-7"
    change = {"current_password": STAFF_PASSWORD, "new_password": new, "new_password_repeat": new}

    # The authenticator app's code no longer signs this member in, so it changes nothing either.
    page = client.get(ACCOUNT)
    assert "code" not in page.context["form"].fields
    refused = client.post(ACCOUNT, {**change, "code": person.code()})
    assert refused.status_code == 400
    assert User.objects.get(pk=person.user.pk).check_password(STAFF_PASSWORD)
    assert AuditEvent.objects.get(action="backoffice.staff.password_change_refused").after == {"step": "passkey"}

    client.post(CONFIRM, {"credential": authenticator.get(client.get(ACCOUNT).context["confirm_options"])})
    assert client.post(ACCOUNT, change).status_code == 302
    assert User.objects.get(pk=person.user.pk).check_password(new)


def test_a_bank_members_passkey_events_are_in_the_banks_activity_log(db):
    person = staff_person_create(StaffRole.BRANCH, username="oddzial")
    passkey, _ = passkey_add_directly(person.user)
    passkey_remove(actor=Actor.for_user(person.user), passkey=passkey)

    bank_id = person.member.bank_id
    assert bank_id is not None
    assert set(AuditEvent.objects.filter(action__startswith="users.passkey").values_list("bank_id", flat=True)) == {
        bank_id
    }
