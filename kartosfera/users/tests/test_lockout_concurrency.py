"""Real concurrent connections on PostgreSQL: wrong passwords sent at once all count."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from kartosfera.core.models import AuditEvent
from kartosfera.notifications.models import OutboundSms
from kartosfera.testing.factories import cardholder_user_factory, customer_factory
from kartosfera.users.models import User
from kartosfera.users.services import InvalidCredentials, user_login_password

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
]


def _wrong_passwords_at_once(identifier: str, count: int) -> list[str]:
    barrier = threading.Barrier(count)
    outcomes = [""] * count

    def worker(index: int) -> None:
        try:
            barrier.wait()
            user_login_password(identifier=identifier, password=f"zgadywanie-{index}")
            outcomes[index] = "signed in?!"
        except InvalidCredentials:
            outcomes[index] = "refused"
        except Exception as exc:  # reported by the assertion below
            outcomes[index] = repr(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_wrong_passwords_at_the_same_moment_both_count():
    for _ in range(5):
        customer = customer_factory()
        user = cardholder_user_factory(customer=customer)

        outcomes = _wrong_passwords_at_once(customer.pesel, 2)

        assert outcomes == ["refused", "refused"]
        user.refresh_from_db()
        assert user.failed_login_count == 2
        assert user.locked_until is None


@pytest.mark.django_db(transaction=True)
def test_many_wrong_passwords_at_once_lock_exactly_once():
    for _ in range(5):
        customer = customer_factory()
        user = cardholder_user_factory(customer=customer)

        outcomes = _wrong_passwords_at_once(customer.pesel, 6)

        assert outcomes == ["refused"] * 6
        user = User.objects.get(pk=user.pk)
        # The first three count and the third locks; the rest meet the lock and are not counted.
        assert user.failed_login_count == 3
        assert user.locked_until is not None
        assert AuditEvent.objects.filter(action="users.access.locked", customer_id=customer.pk).count() == 1
        assert AuditEvent.objects.filter(action="users.login.failed", customer_id=customer.pk).count() == 6
        assert OutboundSms.objects.filter(purpose="users.locked", to=customer.phone_on_file).count() == 1
