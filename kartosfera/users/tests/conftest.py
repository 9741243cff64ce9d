from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from kartosfera.notifications.backends import locmem
from kartosfera.users.tests.helpers import Portal


@pytest.fixture(autouse=True)
def fresh_limits_and_outbox() -> Iterator[None]:
    # Rate limits count in the (per-process) cache; a test must not inherit another's.
    cache.clear()
    locmem.outbox.clear()
    yield
    cache.clear()
    locmem.outbox.clear()


@pytest.fixture
def portal(client: Client, django_capture_on_commit_callbacks: Callable[..., Any]) -> Portal:
    return Portal(client=client, capture=django_capture_on_commit_callbacks)


@pytest.fixture
def second_portal(django_capture_on_commit_callbacks: Callable[..., Any]) -> Portal:
    """Another browser."""
    return Portal(client=Client(), capture=django_capture_on_commit_callbacks)
