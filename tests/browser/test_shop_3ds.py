"""The development shop (/dev/shop/) in a real browser: 3-D Secure end to end, with axe-core on every page.

The live server runs with DEBUG off; the shop, like the terminal and the SMS outbox, exists only with DEBUG on,
so the tests switch it on. The shop calls the live server's own ACS and processor APIs over HTTP; the challenge
runs in the shop's frame on the ACS's own page. The pages' strings are found by id and field name, not by their
Polish wording: the translations are added at the end of the issue.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Frame, Page, expect

from kartosfera.accounts.models import Account
from kartosfera.acs.models import AuthenticationRecord
from kartosfera.cards.models import Card
from kartosfera.cards.pin import threeds_pin_verification_value
from kartosfera.notifications.backends import locmem
from kartosfera.processing.models import Authorization
from kartosfera.secure3d.models import ThreeDSProfile, TrustedMerchant
from tests.browser.conftest import AXE_OPTIONS
from tests.browser.helpers import last_sms_code

pytestmark = pytest.mark.browser

THREEDS_PIN = "7391"
PHONE = "+48601000222"


@pytest.fixture(autouse=True)
def empty_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def dev(settings, tmp_path):
    settings.DEBUG = True
    settings.DEV_PROCESSOR_KEY_PATH = tmp_path / "dev-processor-key"
    settings.DEV_ACS_KEY_PATH = tmp_path / "dev-acs-key"
    return settings


@pytest.fixture
def card(cardholder, annas_card) -> Card:
    """Anna's debit card, with money, an internet limit, a 3DS PIN and her phone for the challenge's SMS code."""
    Account.objects.filter(pk=annas_card.account_id).update(balance_minor=500_000)
    Card.objects.filter(pk=annas_card.pk).update(internet_limit_minor=200_000)
    user = cardholder.user
    user.portal_phone = PHONE
    user.save(update_fields=["portal_phone"])
    customer = annas_card.customer
    ThreeDSProfile.objects.create(
        customer=customer, pin_verification_value=threeds_pin_verification_value(THREEDS_PIN, customer=customer)
    )
    annas_card.refresh_from_db()
    return annas_card


def _checkout(page: Page, check_page: Callable[[], None], card: Card, *, amount: str, challenge: bool) -> None:
    """Fill the shop's checkout by keyboard-friendly field ids and pay with Enter in the amount field."""
    page.goto("/dev/shop/")
    expect(page.locator("#checkout")).to_be_visible()
    check_page()
    page.locator("#id_card").select_option(str(card.pk))
    page.locator("#id_merchant").select_option("allegro")
    page.locator("#id_currency").select_option("PLN")
    page.locator("#id_challenge").set_checked(challenge)
    page.locator("#id_amount").fill(amount)
    page.locator("#id_amount").press("Enter")


def _challenge_frame(page: Page) -> Frame:
    """The ACS's page in the shop's frame, once the CReq has been posted into it."""
    frame_element = page.locator("iframe#challenge-frame")
    expect(frame_element).to_have_attribute("title", re.compile(r".+"))
    frame = page.frame(name="challenge-frame")
    assert frame is not None
    frame.wait_for_url(re.compile(r"/acs/challenge"))
    frame.wait_for_load_state("load")
    return frame


def _check_frame(frame: Frame) -> None:
    """axe-core (WCAG 2.1 A and AA) on the page inside the frame: the page-level check sees only the shop."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(frame, options=AXE_OPTIONS)  # type: ignore[arg-type]
    violations = results.response["violations"]
    assert not violations, results.generate_report()


def _pin_field(frame: Frame) -> Any:
    return frame.locator("#id_pin")


def _code_field(frame: Frame) -> Any:
    return frame.locator("#id_code")


def _answer(frame: Frame, *, pin: str) -> None:
    """Type the 3DS PIN and the SMS code the outbox shows, and send them with Enter, as a keyboard user does."""
    expect(_pin_field(frame)).to_be_visible()
    _pin_field(frame).fill(pin)
    _code_field(frame).fill(last_sms_code(PHONE))
    with frame.expect_navigation():
        _code_field(frame).press("Enter")


def _result(page: Page, check_page: Callable[[], None]) -> Any:
    """The shop's result page, reached from the frame's notification page (target=_top)."""
    expect(page).to_have_url(re.compile(r"/dev/shop/result/$"))
    decision = page.locator("#decision")
    expect(decision).to_be_visible()
    check_page()
    return decision


def test_a_trusted_shop_pays_frictionless_and_the_pages_fit_a_phone(page: Page, check_page, dev, card):
    TrustedMerchant.objects.create(customer=card.customer, merchant_id="MALLEGRO", name="Allegro.pl", country="PL")
    page.set_viewport_size({"width": 375, "height": 740})
    _checkout(page, check_page, card, amount="249,99", challenge=False)
    decision = page.locator("#decision")
    expect(decision).to_be_visible()
    check_page()
    authorization = Authorization.objects.get()
    assert authorization.approved
    expect(page.locator("#authorization-code")).to_have_text(authorization.authorization_code)
    expect(decision).to_contain_text("249,99\xa0zł")
    expect(decision).to_contain_text(f"•••• {card.pan_last4}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert AuthenticationRecord.objects.get().decision_rule == "trusted_merchant"


def test_the_shop_the_challenge_in_the_frame_and_the_approved_payment(page: Page, check_page, dev, card):
    _checkout(page, check_page, card, amount="420,00", challenge=True)
    expect(page.locator("#order-amount")).to_have_text("420,00\xa0zł")
    check_page()
    frame = _challenge_frame(page)
    _check_frame(frame)
    _answer(frame, pin=THREEDS_PIN)

    decision = _result(page, check_page)
    record = AuthenticationRecord.objects.get()
    authorization = Authorization.objects.get()
    assert record.trans_status == "Y" and authorization.approved
    assert authorization.authentication_id == record.pk
    expect(page.locator("#authorization-code")).to_have_text(authorization.authorization_code)
    expect(decision).to_contain_text("420,00\xa0zł")


def test_a_wrong_pin_three_times_locks_internet_payments_and_the_next_payment_is_declined(
    page: Page, check_page, dev, card
):
    _checkout(page, check_page, card, amount="120,00", challenge=True)
    check_page()
    frame = _challenge_frame(page)
    for attempt in range(3):
        _answer(frame, pin="0000")
        if attempt < 2:
            expect(frame.locator("#challenge-error")).to_be_visible()
            _check_frame(frame)
    # The third wrong PIN locks internet payments: the bank's page says so, and its button leads back to the shop.
    expect(frame.locator("#locked")).to_be_visible()
    _check_frame(frame)
    frame.locator("#cres-form button[type=submit]").click()
    decision = _result(page, check_page)
    first = AuthenticationRecord.objects.get()
    assert first.trans_status == "N"
    expect(decision).to_contain_text("transStatus N")
    assert not Authorization.objects.filter(approved=True).exists()

    # The next payment: the ACS answers N, reason 19 (locked) without a challenge; the card core declines it.
    _checkout(page, check_page, card, amount="20,00", challenge=False)
    decision = page.locator("#decision")
    expect(page.locator("#authentication-reason")).to_contain_text("19")
    check_page()
    second = AuthenticationRecord.objects.latest("created_at")
    assert (second.trans_status, second.trans_status_reason) == ("N", "19")
    latest = Authorization.objects.latest("pk")
    assert not latest.approved and latest.decline_reason == "internet_payments_locked"
    expect(decision).to_contain_text("internet_payments_locked")


def test_the_challenge_page_works_by_keyboard_at_phone_width(page: Page, check_page, dev, card):
    page.set_viewport_size({"width": 375, "height": 812})
    _checkout(page, check_page, card, amount="55,00", challenge=True)
    check_page()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    frame = _challenge_frame(page)
    _check_frame(frame)
    assert frame.evaluate("document.documentElement.scrollWidth") <= frame.evaluate("window.innerWidth")
    # Keyboard only: Tab from the page into the frame until the 3DS PIN field has the focus, then on to the code.
    for _press in range(40):
        page.keyboard.press("Tab")
        if frame.evaluate("document.hasFocus() && document.activeElement.id === 'id_pin'"):
            break
    else:
        pytest.fail("Tab never reached the 3DS PIN field in the challenge frame")
    page.keyboard.type(THREEDS_PIN)
    page.keyboard.press("Tab")
    assert frame.evaluate("document.activeElement.id") == "id_code"
    page.keyboard.type(last_sms_code(PHONE))
    page.keyboard.press("Enter")
    _result(page, check_page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert Authorization.objects.get().approved
