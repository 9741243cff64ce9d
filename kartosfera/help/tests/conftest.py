from __future__ import annotations

import pytest


@pytest.fixture
def anna(client, cardholder):
    """A test client signed in as Anna, the cardholder."""
    client.force_login(cardholder.user)
    return client
