from __future__ import annotations

import pytest
from django.test import Client

from kartosfera.notices.tests.helpers import ANNAS_PHONE
from kartosfera.users.models import User, UserKind

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def anna(client, cardholder):
    """A test client signed in as Anna, the cardholder, with her own portal phone."""
    cardholder.user.portal_phone = ANNAS_PHONE
    cardholder.user.save(update_fields=["portal_phone"])
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def staff_client(db, settings) -> Client:
    # Staff sign in to the back office, not here (ModelBackend stands in for its backend).
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, MODEL_BACKEND]
    user = User.objects.create_user(username="agent.kowalska", password="Staff-password-123", kind=UserKind.STAFF)
    staff = Client()
    staff.force_login(user, backend=MODEL_BACKEND)
    return staff
