from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

from kartosfera.core.models import AuditEvent
from kartosfera.profile.tests.conftest import ANNAS_PHONE
from kartosfera.sca.models import ChallengeState
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to, texts_to, wrong
from kartosfera.testing.factories import DEFAULT_PASSWORD
from kartosfera.testing.pwned import FakePwnedPasswords, sha1_hex
from kartosfera.users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

URL = reverse("profile:password")
NEW = "Czerwone jabłka w sadzie"


def _ask(client: Client, new: str = NEW, current: str = DEFAULT_PASSWORD, repeat: str | None = None):
    return client.post(URL, {"current_password": current, "new_password": new, "new_password_repeat": repeat or new})


def test_changing_the_password_needs_the_sms_code_then_ends_other_sessions(anna, cardholder):
    laptop = Client()
    laptop.force_login(cardholder.user)
    response = _ask(anna)
    challenge = challenge_from(response)

    # Until the code comes back nothing has changed.
    user = User.objects.get(pk=cardholder.user.pk)
    assert user.check_password(DEFAULT_PASSWORD) and user.password_changed_at is None
    page = anna.get(response["Location"])
    assert "zmiana hasła do portalu" in page.content.decode()
    assert "zmiana hasla do portalu" in texts_to(ANNAS_PHONE)[-1]

    done = anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)}, follow=True)

    assert done.redirect_chain[-1][0] == reverse("profile:index")
    assert "Hasło zostało zmienione." in done.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW) and not user.check_password(DEFAULT_PASSWORD)
    assert user.password_changed_at is not None
    assert AuditEvent.objects.filter(action="users.password.changed", object_id=str(user.pk)).count() == 1
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.CONFIRMED and challenge.completed_at is not None
    # This session stays signed in; the laptop's has ended.
    assert anna.get(reverse("profile:index")).status_code == 200
    assert laptop.get(reverse("profile:index")).status_code == 302
    # The change is announced by SMS (after the code).
    assert "haslo do portalu zostalo zmienione" in texts_to(ANNAS_PHONE)[-1]


def test_the_new_password_waits_for_the_code_only_as_a_hash(anna):
    challenge = challenge_from(_ask(anna))

    assert list(challenge.payload) == ["password_hash"]
    assert NEW not in str(challenge.payload)
    assert check_password(NEW, challenge.payload["password_hash"])
    assert NEW not in str(list(AuditEvent.objects.values_list("after", flat=True)))


@pytest.mark.parametrize("ending", ["confirmed", "cancelled"])
def test_the_hash_is_wiped_when_the_confirmation_ends(anna, ending):
    response = _ask(anna)
    challenge = challenge_from(response)
    if ending == "confirmed":
        anna.post(response["Location"], {"code": code_sent_to(ANNAS_PHONE)})
    else:
        anna.post(reverse("sca:cancel", kwargs={"public_id": challenge.public_id}))

    challenge.refresh_from_db()
    assert challenge.payload == {}


def test_a_wrong_code_changes_nothing(anna, cardholder):
    response = _ask(anna)
    anna.post(response["Location"], {"code": wrong(code_sent_to(ANNAS_PHONE))})

    assert User.objects.get(pk=cardholder.user.pk).check_password(DEFAULT_PASSWORD)
    assert not AuditEvent.objects.filter(action="users.password.changed").exists()


def test_a_wrong_current_password_is_refused(anna):
    response = _ask(anna, current="not-my-password-at-all")

    assert response.status_code == 200
    assert "Obecne hasło jest nieprawidłowe." in response.content.decode()
    assert texts_to(ANNAS_PHONE) == []


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("krótkie", "Hasło jest za krótkie"),
        ("x" * 129, "co najwyżej 128"),
        # The policy's own wording is kartosfera.users.passwords' (tested there).
        ("password123", None),
        ("anna-nowak-2024", None),
        (DEFAULT_PASSWORD, "musi się różnić od obecnego"),
    ],
)
def test_a_password_against_the_policy_is_refused_with_a_clear_message(anna, new, message):
    response = _ask(anna, new=new)

    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="alert"' in body and 'aria-invalid="true"' in body
    if message:
        assert message in body
    assert texts_to(ANNAS_PHONE) == []


def test_the_two_new_passwords_must_match(anna):
    response = _ask(anna, repeat=NEW + "!")

    assert "Hasła nie są takie same." in response.content.decode()
    assert texts_to(ANNAS_PHONE) == []


def test_guessing_the_current_password_is_limited(anna):
    for _ in range(10):
        _ask(anna, current="guess")
    response = _ask(anna)
    assert response.status_code == 429
    assert texts_to(ANNAS_PHONE) == []


def test_the_page_is_for_signed_in_cardholders_only(client, staff_client):
    assert client.get(URL).status_code == 302
    assert client.get(URL)["Location"].startswith(reverse("users:login"))
    assert staff_client.get(URL).status_code == 403
    assert staff_client.post(URL, {"current_password": "x"}).status_code == 403


def test_the_form_needs_the_csrf_token_and_is_never_stored(cardholder):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cardholder.user)

    assert "no-store" in strict.get(URL)["Cache-Control"]
    assert _ask(strict).status_code == 403


def test_other_methods_are_refused(anna):
    assert anna.put(URL).status_code == 405
    assert anna.delete(URL).status_code == 405


def test_an_abandoned_confirmation_loses_the_hash_once_its_code_has_expired(anna):
    import datetime as dt
    import io

    from django.core.management import call_command
    from django.utils import timezone

    from kartosfera.sca.stepup import stepup_expired_secrets_wipe

    challenge = challenge_from(_ask(anna))
    assert stepup_expired_secrets_wipe(now=timezone.now()) == 0  # the code is still valid
    challenge.refresh_from_db()
    assert "password_hash" in challenge.payload

    assert stepup_expired_secrets_wipe(now=challenge.expires_at + dt.timedelta(seconds=1)) == 1
    challenge.refresh_from_db()
    assert challenge.payload == {}
    assert challenge.state == ChallengeState.CANCELLED  # a late "new code" cannot revive it
    out = io.StringIO()
    call_command("wipe_expired_confirmations", stdout=out)
    assert out.getvalue() == "Wiped 0 expired confirmation(s).\n"  # idempotent: nothing left


def test_a_breached_password_is_refused_and_a_clean_one_goes_on_to_the_code(anna, cardholder):
    # [ASVS 5.0 6.2.12] against a real range API server on 127.0.0.1 (kartosfera/testing/pwned.py).
    breached = "Wiosenny deszcz 1999"
    with FakePwnedPasswords([breached]) as server, override_settings(PWNED_PASSWORDS_URL=server.url):
        refused = _ask(anna, new=breached)
        with translation.override("pl"):
            message = translation.gettext("This password has appeared in a data breach; choose another one.")
        assert refused.status_code == 200
        assert message in refused.content.decode()
        assert texts_to(ANNAS_PHONE) == []

        accepted = _ask(anna, new=NEW)

        assert accepted.status_code == 302 and challenge_from(accepted).payload
        assert [r.path for r in server.received] == [f"/range/{sha1_hex(breached)[:5]}", f"/range/{sha1_hex(NEW)[:5]}"]
    assert User.objects.get(pk=cardholder.user.pk).check_password(DEFAULT_PASSWORD)
