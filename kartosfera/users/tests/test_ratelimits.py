"""Rate limits in front of sign-in and registration: a 429 page with a clear message."""

from __future__ import annotations

import datetime as dt
import zlib

import time_machine
from django.test import Client
from django.utils import timezone

from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.sca.models import SmsChallenge
from kartosfera.testing import factories
from kartosfera.users.registration import registration_identifier_digest
from kartosfera.users.tests.helpers import (
    LOGIN_CODE_URL,
    LOGIN_URL,
    REGISTER_SEND_URL,
    REGISTER_URL,
)

TOO_MANY = "Zbyt wiele prób"


def _limited(response) -> bool:
    return response.status_code == 429


def test_ten_logins_for_one_identifier_in_15_minutes_then_429(portal, cardholder):
    for _ in range(10):
        assert not _limited(portal.password_step(cardholder.identifier, "to-nie-jest-moje-haslo"))

    response = portal.password_step(cardholder.identifier, cardholder.password)

    assert _limited(response)
    assert TOO_MANY in response.content.decode()
    assert not SmsChallenge.objects.exists()  # the right password was refused before it was checked: no code
    # The identifier is counted however it is typed.
    assert _limited(portal.password_step(f" {cardholder.identifier[:5]} {cardholder.identifier[5:]}", "x" * 10))
    # Another identifier from the same address still gets through.
    assert not _limited(portal.password_step("99999999999", "whatever-password"))


def test_the_identifier_limit_resets_after_15_minutes(portal, cardholder):
    for _ in range(10):
        portal.password_step("99999999999", "whatever-password")
    assert _limited(portal.password_step("99999999999", "whatever-password"))

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16)):
        assert not _limited(portal.password_step("99999999999", "whatever-password"))


def test_sixty_logins_an_hour_from_one_address_then_429(portal, db):
    for n in range(60):
        assert not _limited(portal.password_step(f"login-{n}", "whatever-password")), n

    assert _limited(portal.password_step("login-60", "whatever-password"))
    other_address = Client(REMOTE_ADDR="192.0.2.7")
    assert other_address.post(LOGIN_URL, {"identifier": "login-61", "password": "x" * 10}).status_code == 200


def test_blank_identifiers_count_per_address_not_in_one_shared_bucket(portal, db):
    for _ in range(10):
        portal.password_step("", "")
    assert _limited(portal.password_step("", ""))

    other_address = Client(REMOTE_ADDR="192.0.2.8")
    assert other_address.post(LOGIN_URL, {"identifier": "", "password": ""}).status_code == 200


def test_code_posts_are_limited_per_address(portal, cardholder):
    portal.password_step(cardholder.identifier, cardholder.password)
    for _ in range(30):
        portal.post(LOGIN_CODE_URL, {"code": "12"})

    assert _limited(portal.post(LOGIN_CODE_URL, {"code": "12"}))


def test_five_registrations_for_one_pesel_in_15_minutes_then_429(portal, stranger):
    for _ in range(5):
        assert portal.post(REGISTER_URL, {"identifier": stranger.identifier})["Location"] == REGISTER_SEND_URL

    response = portal.post(REGISTER_URL, {"identifier": stranger.identifier})

    assert _limited(response)
    assert TOO_MANY in response.content.decode()


def test_twenty_registrations_an_hour_from_one_address_then_429(portal, db):
    customers = [factories.customer_factory() for _ in range(21)]
    for customer in customers[:20]:
        assert not _limited(portal.post(REGISTER_URL, {"identifier": customer.pesel}))

    assert _limited(portal.post(REGISTER_URL, {"identifier": customers[20].pesel}))


def test_three_activation_passwords_per_identifier_in_15_minutes(portal, second_portal, stranger):
    for client in (portal, portal, second_portal):
        client.post(REGISTER_URL, {"identifier": stranger.identifier})
        assert not _limited(client.post(REGISTER_SEND_URL))
    second_portal.post(REGISTER_URL, {"identifier": stranger.identifier})

    response = second_portal.post(REGISTER_SEND_URL)

    assert _limited(response)
    assert len(locmem.outbox) == 3
    assert AuditEvent.objects.filter(action="users.registration.started").count() == 3


def test_an_identifier_that_names_nobody_is_limited_as_a_customers(portal, second_portal, db):
    """The per-identifier limit on sending applies alike, or the 429 would tell customers from the rest."""
    unknown = factories.make_pesel(dt.date(1970, 1, 1), 999)
    for n, client in enumerate((portal, portal, second_portal)):
        client.post(REGISTER_URL, {"identifier": unknown})
        assert not _limited(client.post(REGISTER_SEND_URL, REMOTE_ADDR=f"203.0.113.{n}"))
    second_portal.post(REGISTER_URL, {"identifier": unknown})

    # Counted per identifier, whatever the address ...
    assert _limited(second_portal.post(REGISTER_SEND_URL, REMOTE_ADDR="203.0.113.9"))
    # ... and another identifier from the same address goes on.
    portal.post(REGISTER_URL, {"identifier": factories.make_pesel(dt.date(1970, 1, 2), 998)})
    assert not _limited(portal.post(REGISTER_SEND_URL, REMOTE_ADDR="203.0.113.0"))
    assert not locmem.outbox


def test_get_requests_are_never_limited(portal, db):
    for _ in range(70):
        assert portal.get(LOGIN_URL).status_code == 200


def test_at_most_six_activation_passwords_a_day_per_identifier_from_any_address(portal, second_portal, stranger):
    """Rotating addresses and waiting out the 15-minute window still cannot flood somebody's phone."""
    # django-ratelimit's day starts at a moment of its own per key (a CRC of the key): start just after the
    # identifier's day began, so that the test's 48 minutes never straddle two days (3 % of runs did).
    offset = zlib.crc32(f"registration:{registration_identifier_digest(stranger.identifier)}".encode()) % 86_400
    now = int(timezone.now().timestamp())
    start = dt.datetime.fromtimestamp(now - (now - offset) % 86_400 + 60, tz=dt.UTC)
    sent = 0
    for window in range(3):
        with time_machine.travel(start + dt.timedelta(minutes=16 * window), tick=False):
            for client in (portal, second_portal):
                client.post(REGISTER_URL, {"identifier": stranger.identifier}, REMOTE_ADDR=f"198.51.100.{window}")
                if not _limited(client.post(REGISTER_SEND_URL, REMOTE_ADDR=f"203.0.113.{window}")):
                    sent += 1
    with time_machine.travel(start + dt.timedelta(minutes=16 * 3), tick=False):
        portal.post(REGISTER_URL, {"identifier": stranger.identifier}, REMOTE_ADDR="198.51.100.9")
        response = portal.post(REGISTER_SEND_URL, REMOTE_ADDR="203.0.113.9")
    assert sent == 6
    assert _limited(response)
