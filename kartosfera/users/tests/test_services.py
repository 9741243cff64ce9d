from __future__ import annotations

import pytest
from django.test import RequestFactory

from kartosfera.core.models import AuditEvent
from kartosfera.users.services import LoginFailure, user_authenticate, user_login_record


def test_user_authenticate_returns_the_user_and_audits_success(cardholder):
    request = RequestFactory().post("/login/")

    user = user_authenticate(request=request, identifier=cardholder.identifier, password=cardholder.password)

    assert user == cardholder.user
    assert AuditEvent.objects.filter(action="users.login.succeeded", customer_id=cardholder.customer.pk).count() == 1


@pytest.mark.parametrize(
    ("identifier", "reason"),
    [("99999999999", LoginFailure.UNKNOWN_IDENTIFIER), (None, LoginFailure.BAD_CREDENTIALS)],
)
def test_user_authenticate_returns_none_and_audits_the_failure(cardholder, identifier, reason):
    request = RequestFactory().post("/login/")

    user = user_authenticate(request=request, identifier=identifier or cardholder.identifier, password="wrong-one-x")

    assert user is None
    event = AuditEvent.objects.get(action="users.login.failed")
    assert event.after == {"reason": reason}


def test_user_login_record_runs_in_its_own_transaction(db):
    # Callers need not open a transaction: the audit row must still be written.
    event = user_login_record(identifier="nobody", user=None)

    assert AuditEvent.objects.filter(pk=event.pk).exists()
