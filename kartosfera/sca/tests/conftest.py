from __future__ import annotations

import pytest

from kartosfera.notifications.backends import locmem
from kartosfera.users.models import User, UserKind


@pytest.fixture(autouse=True)
def empty_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def anna(client, cardholder):
    """A test client signed in as Anna, the cardholder, with her own portal phone."""
    cardholder.user.portal_phone = "+48601000111"
    cardholder.user.save(update_fields=["portal_phone"])
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def staff_user(db) -> User:
    return User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)
