"""An unknown identifier and a wrong password cost the same: timing must not reveal an account (or a customer)."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import time

import pytest
from django.core.cache import cache
from django.test import Client

from kartosfera.testing import factories
from kartosfera.users.models import User
from kartosfera.users.tests.helpers import (
    GENERIC_ERROR,
    REGISTER_ACTIVATE_URL,
    REGISTER_SEND_URL,
    REGISTER_URL,
    Portal,
)

ARGON2_FIRST = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
RUNS = 3


def _body(response, identifier: str) -> str:
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return html.replace(identifier, "IDENTIFIER")


def _timed(portal, identifier: str, password: str):
    started = time.perf_counter()
    response = portal.password_step(identifier, password)
    return time.perf_counter() - started, response


@pytest.fixture
def argon2_cardholder(cardholder, settings):
    # Production's hasher: the time it takes is what would give an account away.
    settings.PASSWORD_HASHERS = ARGON2_FIRST
    user = User.objects.get(pk=cardholder.user.pk)
    user.set_password(cardholder.password)
    user.save(update_fields=["password"])
    assert user.password.startswith("argon2$argon2id$")
    return cardholder


def test_a_wrong_password_and_an_unknown_identifier_take_comparable_time_and_look_the_same(
    portal, argon2_cardholder, stranger
):
    person = argon2_cardholder
    unknown = "99999999999"
    portal.password_step(unknown, "rozgrzewka-przed-pomiarem")  # warm up caches, templates, the hasher
    known_times, unknown_times, unregistered_times = [], [], []
    for _ in range(RUNS):
        cache.clear()
        User.objects.filter(pk=person.user.pk).update(failed_login_count=0)
        elapsed, wrong_password = _timed(portal, person.identifier, "to-nie-jest-moje-haslo")
        known_times.append(elapsed)
        elapsed, no_account = _timed(portal, unknown, "to-nie-jest-moje-haslo")
        unknown_times.append(elapsed)
        elapsed, no_portal_user = _timed(portal, stranger.identifier, "to-nie-jest-moje-haslo")
        unregistered_times.append(elapsed)

        assert wrong_password.status_code == no_account.status_code == no_portal_user.status_code == 200
        assert GENERIC_ERROR in wrong_password.content.decode()
        assert _body(wrong_password, person.identifier) == _body(no_account, unknown)
        assert _body(no_portal_user, stranger.identifier) == _body(no_account, unknown)

    known, missing, unregistered = (statistics.median(t) for t in (known_times, unknown_times, unregistered_times))
    # Loose on purpose (a shared CI machine is noisy): without the dummy hash an
    # unknown identifier answers some 50 times faster than an Argon2id check.
    for a, b in ((known, missing), (known, unregistered)):
        assert a < 5 * b and b < 5 * a, (known_times, unknown_times, unregistered_times)


# --- Registration: whether an identifier names a customer (with a phone) takes no longer [ASVS 5.0 6.3.8] ---


def _registration_timed(portal, identifier: str) -> tuple[float, list[str]]:
    """Step 1, the send and a wrong activation password: the answers, and how long the three took."""
    started = time.perf_counter()
    answers = [
        portal.post(REGISTER_URL, {"identifier": identifier})["Location"],
        portal.post(REGISTER_SEND_URL)["Location"],
        _body(portal.post(REGISTER_ACTIVATE_URL, {"activation_password": "ABCDEFGHJK"}), identifier),
    ]
    return time.perf_counter() - started, answers


def test_registration_takes_comparable_time_whoever_the_identifier_names(django_capture_on_commit_callbacks, stranger):
    no_phone = factories.customer_factory(phone_on_file=None)
    identifiers = {
        "customer": stranger.identifier,
        "no phone": no_phone.pesel,
        "unknown": factories.make_pesel(dt.date(1970, 1, 1), 999),
    }
    browser = Portal(client=Client(), capture=django_capture_on_commit_callbacks)
    _registration_timed(browser, factories.make_pesel(dt.date(1970, 1, 2), 998))  # warm up
    times: dict[str, list[float]] = {name: [] for name in identifiers}
    for _ in range(RUNS):
        cache.clear()
        answers = {}
        for name, identifier in identifiers.items():
            elapsed, answers[name] = _registration_timed(
                Portal(client=Client(), capture=django_capture_on_commit_callbacks), identifier
            )
            times[name].append(elapsed)
        assert answers["customer"] == answers["no phone"] == answers["unknown"]

    customer, others = (
        statistics.median(times["customer"]),
        [statistics.median(times[n]) for n in ("no phone", "unknown")],
    )
    # Loose on purpose (a shared CI machine is noisy); the customer's path writes a challenge, a queued SMS
    # and two audit rows, the others one audit row and the session.
    for other in others:
        assert customer < 5 * other and other < 5 * customer, times


def test_with_its_floor_registration_answers_in_the_same_time_whoever_the_identifier_names(
    django_capture_on_commit_callbacks, stranger, settings
):
    """The floor production uses pads the send and the activation password's answers: the customer's extra
    work (a challenge, a queued SMS, audit rows) no longer shows in the time they take [ASVS 5.0 6.3.8]."""
    settings.REGISTRATION_ANSWER_FLOOR_SECONDS = floor = 0.2
    identifiers = {"customer": stranger.identifier, "unknown": factories.make_pesel(dt.date(1970, 1, 1), 999)}
    times: dict[str, list[float]] = {name: [] for name in identifiers}
    for _ in range(RUNS):
        cache.clear()
        for name, identifier in identifiers.items():
            portal = Portal(client=Client(), capture=django_capture_on_commit_callbacks)
            portal.post(REGISTER_URL, {"identifier": identifier})
            started = time.perf_counter()
            portal.post(REGISTER_SEND_URL)
            portal.post(REGISTER_ACTIVATE_URL, {"activation_password": "ABCDEFGHJK"})
            times[name].append(time.perf_counter() - started)

    customer, unknown = (statistics.median(times[name]) for name in identifiers)
    assert min(customer, unknown) >= 2 * floor
    # Both are the floor twice and a little; without the floor the customer's path took two to three times
    # as long as an unknown identifier's.
    assert abs(customer - unknown) < 0.25 * 2 * floor, times
