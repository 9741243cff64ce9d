"""Data for bench/pages.py: a cardholder with cards and a month of history, a branch employee, their sessions."""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any


def _session(values: dict[str, Any]) -> str:
    """A stored session as a sign-in leaves it (both factors done), in the configured session engine."""
    from django.conf import settings

    from kartosfera.users.session_timeout import LAST_ACTIVITY_KEY, STARTED_KEY

    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    now = time.time()
    for key, value in {**values, STARTED_KEY: now, LAST_ACTIVITY_KEY: now}.items():
        session[key] = value
    session.save()
    return str(session.session_key)


def make_fixtures(*, cards: int, history_days: int) -> dict[str, Any]:
    """A cardholder with ``cards`` active cards on one bank and ``history_days`` of payments, and a branch employee."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django_otp import DEVICE_ID_SESSION_KEY

    from kartosfera.backoffice.roles import StaffRole
    from kartosfera.backoffice.session import REALM_KEY, STAFF
    from kartosfera.cards.operations_services import card_activate
    from kartosfera.core.audit import Actor
    from kartosfera.processing.simulation import simulate_card_traffic
    from kartosfera.testing import factories
    from kartosfera.testing.staff import staff_person_create

    system = Actor.system("bench")
    bank = factories.bank_factory()
    customer = factories.customer_factory(bank=bank)
    user = factories.cardholder_user_factory(customer=customer)
    account = factories.account_factory(customer=customer, bank=bank)
    debit = factories.product_factory(bank=bank)
    made = []
    for n in range(cards):
        issued = factories.card_factory(customer=customer, product=debit, account=account)
        made.append(card_activate(actor=system, card=issued) if n < cards - 1 else issued)
    # The simulator plays payments for every card in the database, through the service layer.
    stats = simulate_card_traffic(days=history_days, per_day=2.0, seed=7)
    staff = staff_person_create(StaffRole.BRANCH, bank=bank, username="bench-branch")
    staff_user = staff.member.user
    cardholder_session = _session(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "kartosfera.users.backends.CustomerIdentifierBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
    )
    staff_session = _session(
        {
            SESSION_KEY: str(staff_user.pk),
            BACKEND_SESSION_KEY: "kartosfera.backoffice.backends.StaffBackend",
            HASH_SESSION_KEY: staff_user.get_session_auth_hash(),
            DEVICE_ID_SESSION_KEY: staff.device.persistent_id,
            REALM_KEY: STAFF,
        }
    )
    return {
        "card_list": "/cards/",
        "card_page": f"/cards/{made[0].pk}/",
        "customer_page": f"/backoffice/customers/{customer.pk}/",
        "cardholder_cookie": f"{settings.SESSION_COOKIE_NAME}={cardholder_session}",
        "staff_cookie": f"{settings.STAFF_SESSION_COOKIE_NAME}={staff_session}",
        "payments": sum(stats.values()),
    }
