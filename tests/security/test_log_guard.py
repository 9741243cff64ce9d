"""The log guard (kartosfera/testing/log_guard.py): what it finds, how it fails a test, what it learns by itself."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import pytest

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.cards.pin import threeds_pin_verification_value
from kartosfera.notifications.backends import locmem
from kartosfera.sca.models import ChallengePurpose
from kartosfera.sca.services import challenge_issue
from kartosfera.testing import factories, log_guard
from kartosfera.testing.log_guard import LogGuard, card_numbers_in

ROOT = Path(__file__).resolve().parents[2]
VISA = "4111111111111111"  # Luhn-valid


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("kartosfera.example", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


@pytest.mark.parametrize(
    "text",
    [
        f"card {VISA} blocked",
        "pan=4111 1111 1111 1111",
        "4111-1111-1111-1111.",
        "(5500005555555559)",
        "4000000000000002",
    ],
)
def test_a_card_number_in_any_usual_spelling_is_found(text):
    assert len(card_numbers_in(text)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "card 4111111111111112 blocked",  # not Luhn-valid
        "PL61 1090 1014 0000 0712 1981 2874",  # an account number (26 digits), not a card number
        "at 2026-11-30 18:45:12.123456",
        "request 7d1f0c4e9a8b41111111111111111abc",  # digits inside a hex id
        "reference 411111111111",  # 12 digits: too short for a card
        "**** **** **** 1111",
        "Not Found: /api/provisioning/v1/banks/0000000000000000/logo",  # no card number starts with 0
    ],
)
def test_what_only_looks_like_a_number_is_not(text):
    assert card_numbers_in(text) == []


def test_a_pin_is_found_as_a_number_of_its_own_not_inside_a_hex_id():
    guard = LogGuard()
    guard.register("2862", "PIN")
    assert guard.inspect(_record("rreq delivered %s", "c89c2862-abe4-4a5f-ad94-0625332757db")) == []
    # A value of one repeated digit is never a secret of the run (no rule allows it): "+0000" is an offset.
    guard.register("0000", "PIN")
    assert guard.inspect(_record("Date: Tue, 01 Dec 2026 03:10:00 +0000")) == []
    # A UUID group of four digits only is no PIN either (CI once failed on one, in an extra field).
    assert guard.inspect(_record("rreq delivered", acs_trans_id="8f75539a-2862-4ca0-97ef-3c6b3a318add")) == []
    assert guard.inspect(_record("rreq delivered", acs_trans_id="8f75539a-49ca-4ca0-2862-3c6b3a318add")) == []
    assert guard.inspect(_record("the PIN was %s", "2862"))[0].what == "PIN (4 characters)"
    assert guard.inspect(_record("pin=2862;"))[0].what == "PIN (4 characters)"


def test_the_guard_finds_a_secret_in_the_message_the_arguments_the_traceback_and_the_extras():
    guard = LogGuard()
    guard.register("482913", "SMS code")
    guard.register("Tajne-haslo-2026", "password")
    assert guard.inspect(_record("sent code %s", "482913"))[0].what == "SMS code (6 characters)"
    assert guard.inspect(_record("a login", password="Tajne-haslo-2026"))[0].what == "password (16 characters)"
    try:
        raise ValueError("bad code 482913")
    except ValueError:
        failing = _record("failed")
        failing.exc_info = sys.exc_info()
    assert [finding.what for finding in guard.inspect(failing)] == ["SMS code (6 characters)"]
    # A code is found as a number of its own, not inside a longer one.
    assert guard.inspect(_record("order 14829130")) == []
    assert guard.inspect(_record("nothing secret here")) == []
    found = guard.inspect(_record("card %s", VISA))
    assert [str(finding) for finding in found] == ["logger 'kartosfera.example' at WARNING: a card number ending 1111"]
    assert VISA not in str(found) and "482913" not in str(guard.inspect(_record("482913")))


def test_the_settings_keys_are_secrets_without_being_registered(settings):
    settings.CARD_PIN_KEYS = ["a-pin-key-of-this-test-0123456789", "an-older-pin-key-of-this-test-0123"]
    guard = LogGuard()
    assert [f.what for f in guard.inspect(_record("key is a-pin-key-of-this-test-0123456789"))] == [
        "CARD_PIN_KEYS (33 characters)"
    ]
    assert [f.what for f in guard.inspect(_record("old key an-older-pin-key-of-this-test-0123"))] == [
        "CARD_PIN_KEYS (34 characters)"
    ]
    assert guard.inspect(_record("the SQL logger", sql="a-pin-key-of-this-test-0123456789")) != []
    sql = logging.LogRecord("django.db.backends", logging.DEBUG, __file__, 1, f"INSERT {VISA}", None, None)
    assert guard.inspect(sql) == [], "SQL holds what is stored (see the module's docstring)"


def test_the_guard_learns_the_secrets_the_code_makes_or_is_given(cardholder, django_capture_on_commit_callbacks):
    assert log_guard._guard is not None, "the root conftest.py registers the guard"
    learnt = log_guard._guard.secrets
    assert learnt.get(factories.DEFAULT_PASSWORD) == "password"  # the cast's passwords are hashed
    with django_capture_on_commit_callbacks(execute=True):
        challenge_issue(
            actor=factories.SYSTEM,
            purpose=ChallengePurpose.STEP_UP,
            customer=cardholder.customer,
            user=cardholder.user,
            phone=cardholder.customer.phone_on_file,
            operation="tests.limit.change",
            description="a change",
        )
    code = re.search(r"\b([0-9]{6})\b", locmem.outbox[-1].text)
    assert code and learnt.get(code.group(1)) == "SMS or activation code"
    threeds_pin_verification_value("7302", customer=cardholder.customer)
    assert learnt.get("7302") == "PIN"
    _, token = api_key_create(actor=factories.SYSTEM, name="a system", scopes=[ApiScope.PROCESSOR])
    assert any(kind == "API key" and secret in token for secret, kind in learnt.items())


def test_a_test_that_logs_a_card_number_or_a_secret_fails_naming_the_logger(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(
        f"""
        import logging
        from kartosfera.testing.log_guard import register_secret

        def test_logs_a_card_number():
            logging.getLogger("payments").info("declined %s", "{VISA}")

        def test_logs_a_code_at_debug():
            register_secret("582046", "SMS code")
            logging.getLogger("sms.gateway").debug("GET /send?text=Kod+582046")

        def test_logs_a_secret_in_teardown(request):
            register_secret("Haslo-do-konta-1", "password")
            request.addfinalizer(lambda: logging.getLogger("cleanup").warning("Haslo-do-konta-1"))

        def test_a_code_from_an_earlier_test_is_not_this_tests_secret():
            logging.getLogger("sms.gateway").info("582046")

        def test_clean():
            logging.getLogger("payments").info("card ending 1111 declined")
        """
    )
    # Without pytest's own log capture, whose report would show the records as logged: the guard's must not.
    result = pytester.runpytest_subprocess(
        "-p", "kartosfera.testing.log_guard", "-p", "no:django", "-p", "no:cacheprovider", "-p", "no:logging"
    )
    result.assert_outcomes(passed=3, failed=2, errors=1)
    output = result.stdout.str()
    assert "test_logs_a_card_number (call) logged what no log may hold" in output
    assert "logger 'payments' at INFO: a card number ending 1111" in output
    assert "logger 'sms.gateway' at DEBUG: SMS code (6 characters)" in output
    assert "test_logs_a_secret_in_teardown (teardown)" in output and "logger 'cleanup' at WARNING" in output
    assert VISA not in output and "582046" not in output and "Haslo-do-konta-1" not in output
