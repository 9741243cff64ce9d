"""Sign-in metrics move with their audit rows; no label carries a person's or a card's data."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kartosfera.backoffice.auth import StaffLoginRefused, staff_login_password
from kartosfera.backoffice.metrics import STAFF_COUNTED
from kartosfera.core.models import AuditEvent
from kartosfera.processing.services import authorization_decide
from kartosfera.processing.tests.helpers import PROCESSOR, active_card, request_for
from kartosfera.testing.metrics import scrape
from kartosfera.users.metrics import CARDHOLDER_COUNTED, LOGINS
from kartosfera.users.services import InvalidCredentials, user_login_password
from kartosfera.users.tests.helpers import last_login_code

pytestmark = pytest.mark.django_db
WRONG = "to-nie-jest-moje-haslo"


def _logins(realm: str, result: str) -> float:
    return scrape().value("kartosfera_logins_total", realm=realm, result=result)


def _lockouts(realm: str) -> float:
    return scrape().value("kartosfera_lockouts_total", realm=realm)


def test_a_cardholders_failures_lockout_and_sign_in_are_counted(portal, cardholder, second_cardholder, metrics_token):
    failed, locked, succeeded = (
        _logins("cardholder", "failed"),
        _lockouts("cardholder"),
        _logins("cardholder", "succeeded"),
    )
    code_failed = _logins("cardholder", "code_failed")
    for _ in range(3):
        portal.password_step(cardholder.identifier, WRONG)
    assert _logins("cardholder", "failed") == failed + 3
    assert _lockouts("cardholder") == locked + 1
    # The metric counts exactly the audit rows of its actions.
    assert AuditEvent.objects.filter(action="users.login.failed").count() == 3
    assert AuditEvent.objects.filter(action="users.access.locked").count() == 1

    portal.password_step(second_cardholder.identifier, second_cardholder.password)
    assert portal.code_step("000000").status_code == 200  # a wrong code
    assert _logins("cardholder", "code_failed") == code_failed + 1
    portal.code_step(last_login_code())
    assert _logins("cardholder", "succeeded") == succeeded + 1


def test_a_staff_lockout_is_counted_in_the_staff_realm(staff, metrics_token, django_capture_on_commit_callbacks):
    person = staff["agent"]
    failed, locked = _logins("staff", "failed"), _lockouts("staff")
    cardholder_locked = _lockouts("cardholder")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(10):
            with pytest.raises(StaffLoginRefused):
                staff_login_password(username=person.username, password="Zle-haslo-123456")
        with pytest.raises(StaffLoginRefused):
            staff_login_password(username=person.username, password=person.password)  # locked: refused
    assert _logins("staff", "failed") == failed + 10
    assert _lockouts("staff") == locked + 1
    assert _logins("staff", "refused") >= 1
    assert _lockouts("cardholder") == cardholder_locked


def test_a_rolled_back_sign_in_failure_is_not_counted(cardholder, metrics_token):
    # Counted on commit, like the audit row: inside the test's transaction nothing commits.
    before = _logins("cardholder", "failed")
    with pytest.raises(InvalidCredentials):
        user_login_password(identifier=cardholder.identifier, password=WRONG)
    assert _logins("cardholder", "failed") == before


def test_every_counted_action_is_a_registered_audit_action():
    from kartosfera.core.audit_actions import audit_action_require

    for action in {**CARDHOLDER_COUNTED, **STAFF_COUNTED}:
        audit_action_require(action)
    assert LOGINS.labels("cardholder", "failed") is CARDHOLDER_COUNTED["users.login.failed"]


def test_no_personal_or_card_data_reaches_a_label(portal, cardholder, metrics_token):
    """A sign-in with a PESEL, a payment with a card number and an SMS to a phone: the scrape names none."""
    portal.password_step(cardholder.identifier, WRONG)
    portal.get(reverse("users:login"))
    tc = active_card()
    authorization_decide(actor=PROCESSOR, request=request_for(tc))
    scraped = scrape()
    labels = " ".join(scraped.label_values())
    customer = cardholder.customer
    for secret in (
        cardholder.identifier,
        WRONG,
        customer.first_name,
        customer.last_name,
        customer.phone_on_file,
        customer.phone_on_file.lstrip("+"),
        tc.pan,
        tc.card.customer.last_name,
    ):
        assert secret and secret not in scraped.text, secret
    assert tc.pan[-4:] not in labels  # a short one: only where a label could carry it (a figure may hold any digits)
