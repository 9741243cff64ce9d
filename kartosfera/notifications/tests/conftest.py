from __future__ import annotations

import pytest

from kartosfera.notifications.backends import locmem
from kartosfera.notifications.tests.gateway import FakeGateway


@pytest.fixture(autouse=True)
def empty_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def gateway():
    with FakeGateway() as fake:
        yield fake


@pytest.fixture
def outbox_file(tmp_path, settings):
    settings.SMS_OUTBOX_PATH = tmp_path / "sms-outbox.jsonl"
    return settings.SMS_OUTBOX_PATH
