"""The fixed cast of the test suite (hc's alice/bob/charlie habit)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from kartosfera.cards.models import Brand, Card, Funding, Segment
from kartosfera.customers.models import Customer
from kartosfera.notifications.backends import locmem
from kartosfera.testing import client as test_client
from kartosfera.testing import factories
from kartosfera.testing.tasks import BACKENDS, TaskQueue, task_queue_for
from kartosfera.users import pwned
from kartosfera.users.models import User

# No log record may hold a card number or a secret the run knows (kartosfera/testing/log_guard.py).
pytest_plugins = ["kartosfera.testing.log_guard", "pytester"]

# The test client dispatches as config/wsgi.py does (the APIs' lean middleware stack).
test_client.install()


@dataclass
class Person:
    customer: Customer
    user: User | None
    password: str = factories.DEFAULT_PASSWORD

    @property
    def identifier(self) -> str:
        return self.customer.pesel or self.customer.nonresident_id or ""


@pytest.fixture(autouse=True)
def default_language_active() -> Iterator[None]:
    # A request's locale middleware activates its language in this thread and nothing deactivates it: a test
    # whose request asked for English left the next test rendering English (an order-dependent failure).
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def fresh_rate_limits_and_sms_outbox() -> Iterator[None]:
    # Rate limits count in the process-local cache and the test SMS backend keeps
    # an in-memory outbox: neither may carry over from one test to the next.
    cache.clear()
    locmem.outbox.clear()
    # The breached-password check's memory of a failed service (users/pwned.py) is process-local state too.
    pwned.failures.clear()
    yield
    cache.clear()
    locmem.outbox.clear()
    pwned.failures.clear()


@pytest.fixture(params=BACKENDS)
def task_queue(request) -> Iterator[TaskQueue]:
    """Each production task backend in turn (database, rq), with a real worker: see kartosfera/testing/tasks.py."""
    yield from task_queue_for(request.param)


@pytest.fixture
def rq_task_queue() -> Iterator[TaskQueue]:
    """The RQ queue alone (a test of the `rqworker` command itself)."""
    yield from task_queue_for("rq")


@pytest.fixture
def cardholder(db) -> Person:
    """Anna Nowak: a registered resident with a debit and a credit card."""
    customer = factories.customer_factory(
        first_name="Anna", last_name="Nowak", pesel=factories.make_pesel(dt.date(1985, 3, 14), 101, female=True)
    )
    return Person(customer=customer, user=factories.cardholder_user_factory(customer=customer))


@pytest.fixture
def second_cardholder(db) -> Person:
    """Bartosz Wiśniewski: another registered customer, whose cards Anna must never reach."""
    customer = factories.customer_factory(
        first_name="Bartosz", last_name="Wiśniewski", pesel=factories.make_pesel(dt.date(1979, 11, 2), 202)
    )
    return Person(customer=customer, user=factories.cardholder_user_factory(customer=customer))


@pytest.fixture
def stranger(db) -> Person:
    """Cezary Zieliński: a customer of the bank who has not registered in the portal."""
    customer = factories.customer_factory(
        first_name="Cezary", last_name="Zieliński", pesel=factories.make_pesel(dt.date(1990, 6, 30), 303)
    )
    return Person(customer=customer, user=None)


@pytest.fixture
def business_user(db) -> Person:
    """Dorota Kamińska: a registered user of a business card."""
    customer = factories.customer_factory(
        first_name="Dorota", last_name="Kamińska", pesel=factories.make_pesel(dt.date(1982, 1, 20), 404, female=True)
    )
    return Person(customer=customer, user=factories.cardholder_user_factory(customer=customer))


@pytest.fixture
def debit_product(db):
    return factories.product_factory(code="VISA-DEBIT", name="Visa Debit", brand=Brand.VISA)


@pytest.fixture
def credit_product(db):
    return factories.product_factory(
        code="MC-CREDIT", name="Mastercard Gold", brand=Brand.MASTERCARD, funding=Funding.CREDIT
    )


@pytest.fixture
def business_product(db):
    return factories.product_factory(
        code="VISA-BUSINESS", name="Visa Business", brand=Brand.VISA, segment=Segment.BUSINESS
    )


@pytest.fixture
def card(cardholder, debit_product) -> Card:
    """Anna's inactive debit card."""
    return factories.card_factory(customer=cardholder.customer, product=debit_product)


@pytest.fixture
def staff(db):
    """One bank staff member per role: staff["agent"], staff["branch"], staff["supervisor"], staff["auditor"]."""
    from kartosfera.backoffice.roles import StaffRole
    from kartosfera.testing.staff import staff_person_create

    names = {
        StaffRole.AGENT: "Ewa Konsultant",
        StaffRole.BRANCH: "Piotr Okienko",
        StaffRole.SUPERVISOR: "Maria Kierownik",
        StaffRole.AUDITOR: "Adam Rewident",
    }
    return {str(role): staff_person_create(role, username=str(role), full_name=names[role]) for role in StaffRole}


@pytest.fixture
def metrics_token(settings) -> str:
    """The metrics endpoint on, with the tests' token (kartosfera/testing/metrics.py)."""
    from kartosfera.testing.metrics import TEST_METRICS_TOKEN

    settings.METRICS_TOKEN = TEST_METRICS_TOKEN
    return TEST_METRICS_TOKEN
