"""Spending by category on a phone: from the card's page to the chart and its table, then another month."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import zoneinfo

import pytest
from playwright.sync_api import Page, expect

from kartosfera.processing.clearing import ClearingRecord, RecordOutcome, clearing_post_record
from kartosfera.processing.forms import month_param
from kartosfera.processing.spending import month_start
from kartosfera.processing.tests.helpers import PROCESSOR, CardFixture, card_of, decide
from tests.browser.helpers import open_card, sign_in

pytestmark = pytest.mark.browser
WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")
_records = itertools.count(1)


def _pay(tc: CardFixture, amount: int, mcc: str, now: dt.datetime | None = None) -> None:
    authorization = decide(tc, amount_minor=amount, mcc=mcc, now=now).authorization
    assert authorization.approved
    result = clearing_post_record(
        actor=PROCESSOR,
        record=ClearingRecord(
            record_id=f"browser-spend-{next(_records)}",
            kind="clearing",
            amount_minor=amount,
            currency="PLN",
            processing_date=authorization.local_date,
            network_transaction_id=authorization.network_transaction_id,
        ),
    )
    assert result.outcome == RecordOutcome.POSTED


def test_the_chart_and_its_table_of_this_and_last_month_on_a_phone(page: Page, check_page, cardholder, debit_product):
    page.set_viewport_size({"width": 375, "height": 740})
    holder_card = card_of(cardholder.customer, debit_product, balance_minor=1_000_000)
    _pay(holder_card, 123_456, "5411")  # groceries
    _pay(holder_card, 25_000, "5541")  # fuel
    _pay(holder_card, 4_550, "5812")  # restaurants
    last_month = month_start(month_start(dt.datetime.now(WARSAW).date()) - dt.timedelta(days=1))
    _pay(holder_card, 7_777, "6011", now=dt.datetime.combine(last_month.replace(day=15), dt.time(12), WARSAW))
    card = holder_card.card
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    open_card(page, check_page, card)

    page.locator("#spending-link").click()
    expect(page).to_have_url(re.compile(rf"/cards/{card.pk}/spending/$"))
    chart = page.locator("svg#spending-chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("role", "img")
    expect(page.locator("#spending-chart-title")).to_have_count(1)
    rows = page.locator("#spending-table tbody tr")
    expect(rows).to_have_count(3)
    # Largest first, in Polish format, the same figures in the chart and in the table.
    expect(rows.nth(0)).to_contain_text("Zakupy spożywcze")
    expect(rows.nth(0)).to_contain_text("1 234,56 zł")
    expect(rows.nth(1)).to_contain_text("Paliwo")
    expect(rows.nth(2)).to_contain_text("45,50 zł")
    expect(page.locator("#spending-total")).to_contain_text("1 530,06 zł")
    chart_amounts = chart.locator(".spending-chart__amount").all_text_contents()
    table_amounts = page.locator("#spending-table tbody td").all_text_contents()
    assert [a.replace("\xa0", " ") for a in chart_amounts] == [a.strip().replace("\xa0", " ") for a in table_amounts]
    assert chart_amounts == ["1\xa0234,56\xa0zł", "250,00\xa0zł", "45,50\xa0zł"]
    # Phone-sized: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    box = chart.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 375
    check_page()

    page.locator("#id_month").select_option(month_param(last_month))
    page.locator("form.filter-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"month={month_param(last_month)}"))
    expect(page.locator("#spending-table tbody tr")).to_have_count(1)
    expect(page.locator("#spending-table tbody tr").first).to_contain_text("Wypłata gotówki")
    expect(page.locator("#spending-total")).to_contain_text("77,77 zł")
    expect(chart.locator(".spending-chart__amount")).to_have_text(["77,77\xa0zł"])
    check_page()


def test_a_month_without_payments_and_a_bad_month(page: Page, check_page, cardholder, debit_product):
    page.set_viewport_size({"width": 375, "height": 740})
    card = card_of(cardholder.customer, debit_product).card
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()

    page.goto(f"/cards/{card.pk}/spending/?month=2026-13")
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#spending-empty")).to_be_visible()
    expect(page.locator("svg#spending-chart")).to_have_count(0)
    check_page()
