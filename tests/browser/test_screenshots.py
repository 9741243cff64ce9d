"""Screenshots for the docs, taken from a realistic customer with cards in every state.

The test always runs (and checks the page like any other journey); the image
goes to a temporary directory unless KARTOSFERA_SCREENSHOT_DIR names another:

    KARTOSFERA_SCREENSHOT_DIR=docs/screenshots .venv/bin/pytest tests/browser -k screenshot
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import Page, expect

from kartosfera.cards.models import Brand, Funding, Segment
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.testing import factories
from kartosfera.users.models import User
from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser

WARSAW = dt.timezone(dt.timedelta(hours=1))


def _move(card, *steps: tuple[str, str]) -> None:
    for to_status, reason in steps:
        card_transition(actor=factories.SYSTEM, card=card, to_status=to_status, reason=reason)


@pytest.fixture
def malgorzata(db) -> User:
    customer = factories.customer_factory(
        first_name="Małgorzata",
        last_name="Kowalczyk",
        pesel=factories.make_pesel(dt.date(1978, 9, 23), 518, female=True),
    )
    user = factories.cardholder_user_factory(customer=customer)
    name = "MALGORZATA KOWALCZYK"
    visa = factories.product_factory(code="SHOT-VISA", name="Visa Debit Classic")
    mc_debit = factories.product_factory(code="SHOT-MC", name="Mastercard Debit", brand=Brand.MASTERCARD)
    gold = factories.product_factory(
        code="SHOT-GOLD", name="Mastercard Gold", brand=Brand.MASTERCARD, funding=Funding.CREDIT
    )
    business = factories.product_factory(code="SHOT-BIZ", name="Visa Business", segment=Segment.BUSINESS)

    with time_machine.travel(dt.datetime(2021, 6, 14, 10, 0, tzinfo=WARSAW), tick=False):
        factories.card_factory(customer=customer, product=visa, embossed_name=name, expiry=dt.date(2025, 6, 30))
    with time_machine.travel(dt.datetime(2024, 2, 3, 9, 15, tzinfo=WARSAW), tick=False):
        stolen = factories.card_factory(customer=customer, product=visa, embossed_name=name)
        _move(stolen, (CardStatus.ACTIVE, StatusReason.ACTIVATED))
    _move(stolen, (CardStatus.CANCELLED, StatusReason.STOLEN))
    with time_machine.travel(dt.datetime(2025, 1, 20, 12, 0, tzinfo=WARSAW), tick=False):
        company = factories.card_factory(customer=customer, product=business, embossed_name=name)
        _move(company, (CardStatus.ACTIVE, StatusReason.ACTIVATED))
    _move(company, (CardStatus.BLOCKED, StatusReason.BLOCKED_BY_CUSTOMER))
    with time_machine.travel(dt.datetime(2025, 3, 2, 8, 30, tzinfo=WARSAW), tick=False):
        credit = factories.card_factory(customer=customer, product=gold, embossed_name=name)
        _move(credit, (CardStatus.ACTIVE, StatusReason.ACTIVATED))
        everyday = factories.card_factory(customer=customer, product=visa, embossed_name=name)
        _move(everyday, (CardStatus.ACTIVE, StatusReason.ACTIVATED))
    factories.card_factory(customer=customer, product=mc_debit, embossed_name=name)
    return user


def test_card_list_screenshot(page: Page, check_page, malgorzata, tmp_path):
    target = Path(os.environ.get("KARTOSFERA_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    sign_in(page, check_page, malgorzata.customer.pesel, factories.DEFAULT_PASSWORD)
    check_page()
    expect(page.locator(".card-tile")).to_have_count(6)
    for label in ("Aktywna", "Nieaktywowana", "Czasowo zablokowana", "Zastrzeżona", "Wygasła"):
        expect(page.locator(".badge", has_text=label).first).to_be_visible()

    page.screenshot(path=str(target / "card-list.png"), full_page=True)
    assert (target / "card-list.png").stat().st_size > 10_000
