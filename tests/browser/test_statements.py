"""Credit card statements in a real browser: the holder opens a statement and downloads its PDF and CSV; a
supervisor corrects it in the back office. axe-core and the CSP check on every page, a phone-sized screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from kartosfera.statements.models import Statement, StatementDocument
from kartosfera.statements.tests.documents_helpers import STATEMENT_DATE, statement_of_a_busy_month
from kartosfera.statements.tests.helpers import spend
from tests.browser.helpers import open_card, sign_in, staff_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page: Page) -> None:
    widths = page.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= widths["inner"], widths


def _press_enter_on(page: Page, locator) -> None:
    locator.focus()
    expect(locator).to_be_focused()
    page.keyboard.press("Enter")


def test_a_holder_opens_a_statement_and_downloads_its_pdf_and_csv(page: Page, live_server, check_page, cardholder):
    cc, statement = statement_of_a_busy_month(customer=cardholder.customer)
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()
    open_card(page, check_page, cc.card)

    _press_enter_on(page, page.locator("#statements-link"))
    expect(page).to_have_url(re.compile(rf"/cards/{cc.card.pk}/statements/$"))
    expect(page.locator(f"#statement-{statement.pk}")).to_contain_text(statement.number)
    check_page()

    _press_enter_on(page, page.locator(f"#statement-{statement.pk} th a"))
    expect(page).to_have_url(re.compile(rf"/cards/{cc.card.pk}/statements/{statement.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(statement.number)
    expect(page.locator("#line-1")).to_contain_text("Żabka Łódź-Bałuty")
    expect(page.locator("#summary-due_date")).to_contain_text("05.10.2026")
    check_page()

    with page.expect_download() as pdf_download:
        page.locator("#statement-pdf").click()
    pdf = pdf_download.value
    assert re.fullmatch(r"[A-Za-z]+-[A-Za-z0-9-]+\.pdf", pdf.suggested_filename)
    with open(pdf.path(), "rb") as file:
        assert file.read() == bytes(StatementDocument.objects.get(statement=statement).content)

    with page.expect_download() as csv_download:
        page.locator("#statement-csv").click()
    spreadsheet = csv_download.value
    assert spreadsheet.suggested_filename.endswith(".csv")
    with open(spreadsheet.path(), "rb") as file:
        content = file.read()
    assert content.startswith(b"\xef\xbb\xbf") and statement.number.encode() in content

    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    check_page()
    _fits(page)


def test_a_supervisor_corrects_the_latest_statement_in_the_back_office(
    page: Page, live_server, check_page, staff, cardholder
):
    cc, statement = statement_of_a_busy_month(customer=cardholder.customer)
    spend(cc, 2_00, STATEMENT_DATE)
    staff_sign_in(page, check_page, staff["supervisor"])

    page.goto(f"/backoffice/customers/{cardholder.customer.pk}/")
    check_page()
    _press_enter_on(page, page.locator("#statements-link"))
    expect(page.locator(f"#statement-{statement.pk}")).to_contain_text(statement.number)
    check_page()
    page.locator(f"#statement-{statement.pk} th a").click()
    expect(page.locator("#correct")).to_be_visible()
    check_page()

    page.locator("#correct button[type=submit]").click()  # no reason, no confirmation: the form says so
    expect(page.locator("#correct .field__error").first).to_be_visible()
    check_page()

    page.locator("#id_reason").fill("Brakujący zwrot od banku")
    page.locator("#id_confirm").check()
    page.locator("#correct button[type=submit]").click()
    correction = Statement.objects.get(corrects=statement)
    expect(page).to_have_url(re.compile(rf"/statements/{correction.pk}/$"))
    expect(page.locator("#statement-correction")).to_contain_text(statement.number)
    expect(page.locator("#flash")).to_contain_text(correction.number)
    check_page()

    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"/backoffice/customers/{cardholder.customer.pk}/statements/{statement.pk}/")
    expect(page.locator("#statement-corrected")).to_contain_text(correction.number)
    check_page()
    _fits(page)
