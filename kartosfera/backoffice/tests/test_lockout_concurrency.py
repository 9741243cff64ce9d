"""Staff lockout under concurrent wrong attempts, on real separate PostgreSQL connections."""

from __future__ import annotations

import pytest
from django.db import connection

from kartosfera.backoffice.auth import StaffLocked, StaffLoginRefused, staff_login_code, staff_login_password
from kartosfera.backoffice.roles import StaffRole
from kartosfera.core.models import AuditEvent
from kartosfera.testing.concurrency import run_together
from kartosfera.testing.staff import staff_person_create
from kartosfera.users.models import User

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
    pytest.mark.django_db(transaction=True),
]


def test_fourteen_wrong_attempts_at_once_count_ten_and_lock_once():
    """Wrong passwords and codes racing each other are each counted under the row lock: exactly 10, one lock."""
    person = staff_person_create(StaffRole.AGENT, username="racer")
    user = person.user
    wrong_passwords = [lambda: staff_login_password(username="racer", password="not-the-password")] * 7
    wrong_codes = [lambda: staff_login_code(user=user, code="000000" if person.code() != "000000" else "111111")] * 7

    outcomes = run_together(*wrong_passwords, *wrong_codes, expected=(StaffLoginRefused,))

    assert all(isinstance(outcome, StaffLoginRefused) for outcome in outcomes)
    user = User.objects.get(pk=user.pk)
    assert user.failed_login_count == 10
    assert user.locked_until is not None
    assert AuditEvent.objects.filter(action="backoffice.staff.locked", object_id=str(user.pk)).count() == 1
    assert AuditEvent.objects.filter(action="backoffice.staff.sign_in_failed", object_id=str(user.pk)).count() == 10
    # The password step never says "locked" (it would tell that the user name exists); the code step may.
    assert not any(isinstance(outcome, StaffLocked) for outcome in outcomes[:7])
