"""Breached passwords [ASVS 5.0 6.2.4, 6.2.12]: users/pwned.py against a real range API server on 127.0.0.1."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import translation
from prometheus_client import REGISTRY

from kartosfera.testing.pwned import FakePwnedPasswords, sha1_hex, unreachable_url
from kartosfera.users import pwned as pwned_module
from kartosfera.users.models import User
from kartosfera.users.passwords import validate_portal_password
from kartosfera.users.pwned import BACKOFF_SECONDS, password_breached
from kartosfera.users.tests.test_registration import _set_password, _to_password

BREACHED = "Wiosenny deszcz 1999"
CLEAN = "Ciche jezioro o świcie"
# Its suffix comes back only as a padding decoy (count 0): not a breach.
DECOY = "Stary most nad rzeką"
MESSAGE = "This password has appeared in a data breach; choose another one."


def message_pl() -> str:
    # The Polish text once locale/ has it (the report gives it: "To hasło pojawiło się w wycieku danych; wybierz
    # inne."); gettext's answer, so this test holds before and after the translation lands.
    with translation.override("pl"):
        return translation.gettext(MESSAGE)


@pytest.fixture
def pwned() -> Iterator[FakePwnedPasswords]:
    with FakePwnedPasswords([BREACHED], padded=[DECOY]) as server, override_settings(PWNED_PASSWORDS_URL=server.url):
        yield server


def _checks(result: str) -> float:
    return REGISTRY.get_sample_value("kartosfera_breached_password_checks_total", {"result": result}) or 0.0


def _codes(password: str, customer) -> set[str]:
    try:
        validate_portal_password(password, customer=customer)
    except ValidationError as exc:
        return {error.code for error in exc.error_list}
    return set()


def test_a_breached_password_is_refused_with_a_translated_message(pwned, stranger):
    assert _codes(BREACHED, stranger.customer) == {"password_breached"}
    with pytest.raises(ValidationError) as refused:
        validate_portal_password(BREACHED, customer=stranger.customer)
    with translation.override("en"):
        assert refused.value.messages == [MESSAGE]
    with translation.override("pl"):
        assert refused.value.messages == [message_pl()]


def test_a_clean_password_and_a_padding_decoy_are_accepted(pwned, stranger):
    clean_before = _checks("clean")

    assert _codes(CLEAN, stranger.customer) == set()
    assert _codes(DECOY, stranger.customer) == set()
    assert _checks("clean") == clean_before + 2
    # The decoy's suffix was in the answer, with count 0.
    assert f"{sha1_hex(DECOY)[5:]}:0" in pwned.range_body(sha1_hex(DECOY)[:5], padding=True).decode()


def test_only_five_hex_characters_of_the_hash_leave_and_padding_is_asked(pwned, stranger):
    _codes(BREACHED, stranger.customer)
    _codes(CLEAN, stranger.customer)

    assert [r.path for r in pwned.received] == [f"/range/{sha1_hex(BREACHED)[:5]}", f"/range/{sha1_hex(CLEAN)[:5]}"]
    for request, password in zip(pwned.received, (BREACHED, CLEAN), strict=True):
        assert request.headers["Add-Padding"] == "true"
        sent = request.path + repr(request.headers)
        assert password not in sent
        assert sha1_hex(password)[5:] not in sent.upper()
        assert sha1_hex(password).lower()[5:] not in sent


def test_a_password_refused_for_its_length_or_commonness_is_not_looked_up(pwned, stranger):
    assert _codes("krótkie", stranger.customer) == {"password_too_short"}
    assert _codes("password123", stranger.customer) == {"password_too_common"}

    assert pwned.received == []


def _assert_accepted_unchecked(caplog, password: str, result: str) -> None:
    warnings = [r for r in caplog.records if r.name == "kartosfera.users.pwned" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].result == result  # type: ignore[attr-defined]
    logged = repr(warnings[0].__dict__) + warnings[0].getMessage()
    digest = sha1_hex(password)
    assert password not in logged
    assert digest[:5] not in logged.upper() and digest[5:] not in logged.upper()


def test_the_service_down_lets_the_password_through_with_a_warning_without_it(stranger, caplog):
    before = _checks("unreachable")
    with override_settings(PWNED_PASSWORDS_URL=unreachable_url()), caplog.at_level(logging.WARNING):
        assert _codes(BREACHED, stranger.customer) == set()

    _assert_accepted_unchecked(caplog, BREACHED, "unreachable")
    assert _checks("unreachable") == before + 1


def test_a_slow_service_times_out_and_lets_the_password_through(stranger, caplog):
    with (
        FakePwnedPasswords([BREACHED], delay=1.0) as server,
        override_settings(PWNED_PASSWORDS_URL=server.url, PWNED_PASSWORDS_TIMEOUT=0.2),
        caplog.at_level(logging.WARNING),
    ):
        assert _codes(BREACHED, stranger.customer) == set()

    _assert_accepted_unchecked(caplog, BREACHED, "timeout")


def test_an_answer_not_in_the_range_format_is_no_all_clear(stranger, caplog):
    page = b"<html><body>Proxy: please sign in</body></html>"
    with (
        FakePwnedPasswords([BREACHED], answer=page) as server,
        override_settings(PWNED_PASSWORDS_URL=server.url),
        caplog.at_level(logging.WARNING),
    ):
        assert password_breached(CLEAN) is None

    _assert_accepted_unchecked(caplog, CLEAN, "bad_answer")


def test_after_a_failure_the_service_is_not_asked_again_for_a_while():
    with (
        FakePwnedPasswords([BREACHED], answer=b"nonsense") as server,
        override_settings(PWNED_PASSWORDS_URL=server.url),
    ):
        assert password_breached(CLEAN) is None
        skipped = _checks("skipped")
        assert password_breached(BREACHED) is None
        assert len(server.received) == 1
        assert _checks("skipped") == skipped + 1
        # A minute later it is asked again.
        server.answer = b""
        pwned_module.failures[server.url] = time.monotonic() - BACKOFF_SECONDS - 1
        assert password_breached(BREACHED) is True
        assert len(server.received) == 2


@override_settings(PWNED_PASSWORDS_URL="off")
def test_off_asks_nothing_and_the_deploy_check_says_so(stranger, pwned):
    # pwned's server runs, but the setting is off (this decorator wins over the fixture's).
    assert _codes(BREACHED, stranger.customer) == set()
    assert pwned.received == []
    warnings = [m for m in run_checks(include_deployment_checks=True) if m.id == "users.W001"]
    assert len(warnings) == 1 and "PWNED_PASSWORDS_URL=off" in warnings[0].msg


def test_a_service_address_quiets_the_deploy_check(pwned):
    assert [m for m in run_checks(include_deployment_checks=True) if m.id == "users.W001"] == []


def test_registration_refuses_a_breached_password_and_takes_a_clean_one(portal, stranger, pwned):
    _to_password(portal, stranger.identifier)

    refused = _set_password(portal, BREACHED)

    assert refused.status_code == 200
    assert message_pl() in refused.content.decode()
    assert not User.objects.filter(customer=stranger.customer).exists()

    accepted = _set_password(portal, CLEAN)

    assert accepted.status_code == 302
    assert User.objects.get(customer=stranger.customer).check_password(CLEAN)


def test_registration_goes_on_when_the_service_is_down(portal, stranger):
    _to_password(portal, stranger.identifier)
    with override_settings(PWNED_PASSWORDS_URL=unreachable_url()):
        response = _set_password(portal, BREACHED)

    assert response.status_code == 302
    assert User.objects.get(customer=stranger.customer).check_password(BREACHED)


def test_djangos_own_password_commands_check_it_too(pwned):
    with pytest.raises(ValidationError) as refused:
        validate_password(BREACHED)

    assert "password_breached" in {error.code for error in refused.value.error_list}
