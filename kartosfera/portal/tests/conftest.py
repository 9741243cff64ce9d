from __future__ import annotations

import pytest

from kartosfera.users.models import User, UserKind


@pytest.fixture
def anna(client, cardholder):
    """A test client signed in as Anna, the cardholder."""
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def staff_user(db) -> User:
    return User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)
