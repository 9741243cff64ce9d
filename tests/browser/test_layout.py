"""Every page fits a phone (375 px) and a desktop (1280 px): nothing is wider than its box or the screen.

PAGES below is the one table of the pages to check: a page added to the portal or
the back office is one row (who sees it, how to get there, what must be on it).
The rows include the states that show the most: forms with errors, a customer
with a long name, a card with big limits and a long history, the read-only
auditor. Each page is checked with axe-core and for CSP violations (conftest),
then for overflow (LAYOUT_PROBLEMS) and readability (READABILITY_PROBLEMS): a date is
never broken across lines, a stacked table shows no empty labelled cell, and at desktop
width the header stays on one row.

Screenshots of every page at both widths are written when KARTOSFERA_LAYOUT_SCREENSHOTS
names a directory; look at them after a layout change:

    KARTOSFERA_LAYOUT_SCREENSHOTS=var/layout .venv/bin/pytest tests/browser/test_layout.py
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from kartosfera.backoffice.demo import demo_staff_load
from kartosfera.backoffice.roles import StaffRole
from kartosfera.backoffice.services import caller_verify, staff_action_perform
from kartosfera.cards.models import Brand, Card, Funding, Segment
from kartosfera.cards.operations_services import (
    card_activate,
    card_block_temporarily,
    card_cancel,
    card_contactless_set,
    card_limits_change,
    card_unblock,
)
from kartosfera.cards.states import StatusReason
from kartosfera.demo.identifiers import make_pan
from kartosfera.jobs.models import JobRun, JobRunSource, JobRunState
from kartosfera.jobs.services import job_slot_enqueue
from kartosfera.notifications.backends import Sms, locmem
from kartosfera.notifications.backends.file import SmsBackend as FileSmsBackend
from kartosfera.processing.adjustments import authorization_reverse
from kartosfera.processing.advices import advice_record
from kartosfera.processing.cbpr2 import conversion_charge_record, ecb_rates_set
from kartosfera.processing.clearing import ClearingRecord, clearing_post_batch
from kartosfera.processing.models import Channel
from kartosfera.processing.reviews import authorization_review_mark
from kartosfera.processing.tests.helpers import PROCESSOR, CardFixture, authenticate, decide, request_for, three_ds
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.secure3d.services import threeds_pin_set, threeds_pin_values, trusted_merchant_add
from kartosfera.statements.models import Statement
from kartosfera.statements.tests.documents_helpers import busy_month, close
from kartosfera.statements.tests.helpers import credit_card, pay_by_card
from kartosfera.testing import factories
from kartosfera.testing.staff import StaffPerson, staff_person_create
from kartosfera.users.models import User
from tests.browser.conftest import PageChecks
from tests.browser.helpers import sign_in, staff_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE, DESKTOP = 375, 1280

# Who looks at a page: somebody not signed in, the cardholder, bank staff, and a
# developer running the demo (DEBUG pages).
VISITOR, CARDHOLDER, SUPERVISOR, AUDITOR, DEMO = "visitor", "cardholder", "supervisor", "auditor", "demo"

# The full numbers of the cards that have payments (the processor sends them).
BIG_PAN = make_pan("400000", 990_001)
CREDIT_PAN = make_pan("555555", 990_002)

# A zloty amount with every digit group used: the widest a limit gets.
BIG_MAXIMUM_MINOR = 9_999_999_999_99


@dataclass
class Cast:
    """The people and cards the pages show, with the ids the rows' paths refer to."""

    holder: User
    newcomer_identifier: str
    newcomer_phone: str
    supervisor: StaffPerson
    auditor: StaffPerson
    ids: dict[str, int] = field(default_factory=dict)

    def path(self, template: str) -> str:
        return template.format(**self.ids)


Step = Callable[[Page, Cast], None]
Value = str | Callable[[Cast], str]


def go(path: str) -> Step:
    """Open ``path`` ({customer}, {big}, … are the cast's ids)."""
    return lambda page, cast: _goto(page, cast.path(path))


def submit(form: str, **values: Value) -> Step:
    """Fill the form matched by the CSS selector ``form`` (field name → value) and press its submit button."""

    def step(page: Page, cast: Cast) -> None:
        target = page.locator(cast.path(form))
        for name, value in values.items():
            # A prefixed form's field (review-12-note) is found by the end of its name.
            control = target.locator(f'[name="{name}"], [name$="-{name}"]')
            text = value(cast) if callable(value) else value
            if control.first.get_attribute("type") == "radio":
                target.locator(f'[name="{name}"][value="{text}"]').check()
            elif control.first.get_attribute("type") == "checkbox":
                control.set_checked(text == "on")
            elif control.first.evaluate("el => el.tagName") == "SELECT":
                control.select_option(text)
            else:
                control.fill(text)
        with page.expect_navigation():
            target.locator('button[type="submit"]').first.click()

    return step


def _goto(page: Page, path: str) -> None:
    page.goto(path)


def _activation_password(cast: Cast) -> str:
    texts = [m.text for m in locmem.outbox if m.to == cast.newcomer_phone]
    match = re.search(r"\b([A-Z2-9]{10})\b", texts[-1]) if texts else None
    assert match, "no activation password in the outbox"
    return match.group(1)


def _another_session(page: Page, cast: Cast) -> None:
    """The holder also signed in on a phone: the list of sessions has a row that can be ended."""
    phone = Client(
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
    )
    phone.force_login(cast.holder)


@dataclass(frozen=True)
class Row:
    audience: str
    name: str
    steps: tuple[Step, ...]
    shows: str  # a CSS selector that must be visible: proves the page is in the state meant


def row(audience: str, name: str, *steps: Step, shows: str = "main h1") -> Row:
    return Row(audience, name, steps, shows)


LOGIN_FORM = 'main form[action="/login/"]'
STAFF_LOGIN_FORM = 'main form[action^="/backoffice/login/?"]'
SEARCH_FORM = 'main form[role="search"]'
VERIFY_FORM = 'main form[action="/backoffice/customers/{customer}/verify/"]'
CODE_FORM = "main form:has(input[name='code'])"
ERROR = "main .alert--error, main .field__error"  # the page shows an error (the summary or at a field)

# The one table of pages. Rows of an audience run in order in one browser session.
PAGES: tuple[Row, ...] = (
    # --- Not signed in: the portal's sign-in and registration, the staff sign-in, errors.
    row(VISITOR, "sign-in", go("/login/")),
    row(
        VISITOR,
        "sign-in, wrong password",
        submit(LOGIN_FORM, identifier="85031410123", password="nie-to-haslo-123"),
        shows=ERROR,
    ),
    row(
        VISITOR,
        "sign-in, SMS code",
        submit(LOGIN_FORM, identifier=lambda c: c.holder.customer.pesel, password=factories.DEFAULT_PASSWORD),
    ),
    row(VISITOR, "sign-in, wrong SMS code", submit(CODE_FORM, code="000000"), shows=ERROR),
    row(VISITOR, "registration", go("/register/")),
    row(
        VISITOR,
        "registration, invalid PESEL",
        submit('main form[action="/register/"]', identifier="12345678901"),
        shows=ERROR,
    ),
    row(
        VISITOR,
        "registration, send the activation password",
        submit('main form[action="/register/"]', identifier=lambda c: c.newcomer_identifier),
    ),
    row(VISITOR, "registration, activation password", submit('main form[action="/register/phone/"]')),
    row(
        VISITOR,
        "registration, wrong activation password",
        submit('main form:has([name="activation_password"])', activation_password="ABCDEFGHJK"),
        shows=ERROR,
    ),
    row(
        VISITOR,
        "registration, own password",
        submit('main form:has([name="activation_password"])', activation_password=_activation_password),
    ),
    row(
        VISITOR,
        "registration, password too short",
        submit('main form[action="/register/password/"]', new_password="krótkie", new_password_again="krótkie"),
        shows=ERROR,
    ),
    row(VISITOR, "page not found", go("/nie-ma-takiej-strony/")),
    row(VISITOR, "help", go("/help/")),
    row(VISITOR, "help, user guide", go("/help/guide/")),
    row(VISITOR, "help, security advice", go("/help/security/")),
    row(VISITOR, "help, browser requirements", go("/help/browsers/")),
    row(VISITOR, "help, accessibility statement", go("/help/accessibility/")),
    row(VISITOR, "staff sign-in", go("/backoffice/login/")),
    row(
        VISITOR,
        "staff sign-in, wrong password",
        submit(STAFF_LOGIN_FORM, username="kto-to", password="nie-to-haslo"),
        shows=ERROR,
    ),
    row(
        VISITOR,
        "staff sign-in, authenticator code",
        submit(STAFF_LOGIN_FORM, username=lambda c: c.supervisor.username, password=lambda c: c.supervisor.password),
    ),
    row(VISITOR, "staff sign-in, wrong code", submit(CODE_FORM, code="000000"), shows=ERROR),
    # --- The cardholder (signed in through the login and code pages first).
    row(CARDHOLDER, "my cards", go("/cards/")),
    row(CARDHOLDER, "card with big limits and a history", go("/cards/{big}/"), shows="#history-heading"),
    row(CARDHOLDER, "card history", go("/cards/{big}/history/"), shows="main .decline-reason a"),
    row(
        CARDHOLDER,
        "card history, filter error",
        go("/cards/{big}/history/?date_from=2026-05-02&date_to=2026-05-01"),
        shows=ERROR,
    ),
    row(CARDHOLDER, "credit card's authorizations list", go("/cards/{credit}/history/"), shows="main table"),
    row(CARDHOLDER, "spending by category", go("/cards/{big}/spending/"), shows="main #spending-chart"),
    row(CARDHOLDER, "spending, a bad month", go("/cards/{big}/spending/?month=2026-13"), shows=ERROR),
    row(CARDHOLDER, "card controls", go("/cards/{big}/controls/"), shows="main #categories"),
    row(
        CARDHOLDER,
        "card controls with errors",
        submit('main form[action="/cards/{big}/controls/"]', countries="XX, YY, ZZ", country_rule="block"),
        shows=ERROR,
    ),
    row(CARDHOLDER, "raise the limits for a while", go("/cards/{big}/limits/temporary/")),
    row(
        CARDHOLDER,
        "what if, declined",
        go("/cards/{big}/what-if/?amount=120000&currency=PLN&channel=atm&country=US&category=gambling"),
        shows="#what-if-answer",
    ),
    row(CARDHOLDER, "limits form", go("/cards/{big}/limits/")),
    row(
        CARDHOLDER,
        "limits form with errors",
        submit('main form[action="/cards/{big}/limits/"]', cash="99999999999,99", internet="abc"),
        shows=ERROR,
    ),
    row(
        CARDHOLDER,
        "confirmation of a limit raise",
        submit(
            'main form[action="/cards/{big}/limits/"]',
            cash="9 999 999 999,99",
            noncash="9 999 999 999,99",
            internet="9 999 999 999,99",
        ),
        shows="#operation-description",
    ),
    row(CARDHOLDER, "confirmation with a wrong code", submit(CODE_FORM, code="000000"), shows=ERROR),
    row(CARDHOLDER, "PIN change", go("/cards/{big}/pin/")),
    row(
        CARDHOLDER,
        "PIN change, trivial PIN",
        submit('main form[action="/cards/{big}/pin/"]', pin="1234", pin_again="1234"),
        shows=ERROR,
    ),
    row(CARDHOLDER, "temporary block", go("/cards/{big}/block/")),
    row(CARDHOLDER, "cancellation", go("/cards/{big}/cancel/")),
    row(CARDHOLDER, "cancellation without a reason", submit('main form[action="/cards/{big}/cancel/"]'), shows=ERROR),
    row(CARDHOLDER, "blocked card", go("/cards/{blocked}/")),
    row(CARDHOLDER, "cancelled card", go("/cards/{cancelled}/")),
    row(CARDHOLDER, "credit card", go("/cards/{credit}/")),
    row(CARDHOLDER, "business card", go("/cards/{business}/")),
    row(CARDHOLDER, "new card", go("/cards/{inactive}/")),
    row(CARDHOLDER, "security history", go("/security/")),
    row(CARDHOLDER, "settings", go("/settings/")),
    row(CARDHOLDER, "password change", go("/settings/password/")),
    row(
        CARDHOLDER,
        "password change with errors",
        submit(
            'main form[action="/settings/password/"]',
            current_password="zle",
            new_password="krótkie",
            new_password_repeat="inne",
        ),
        shows=ERROR,
    ),
    row(CARDHOLDER, "own login", go("/settings/login/")),
    row(CARDHOLDER, "own login with an error", submit('main form[action="/settings/login/"]', login="a"), shows=ERROR),
    row(CARDHOLDER, "portal phone", go("/settings/phone/")),
    row(
        CARDHOLDER,
        "portal phone with an error",
        submit('main form[action="/settings/phone/"]', new_phone="123"),
        shows=ERROR,
    ),
    row(CARDHOLDER, "block own access", go("/settings/block/")),
    row(CARDHOLDER, "active sessions", _another_session, go("/settings/sessions/"), shows="main [data-end-session]"),
    row(CARDHOLDER, "end all other sessions", go("/settings/sessions/others/end/")),
    row(
        CARDHOLDER,
        "end all other sessions, wrong password",
        submit('main form[action="/settings/sessions/others/end/"]', current_password="zle"),
        shows=ERROR,
    ),
    row(CARDHOLDER, "notifications", go("/settings/notifications/")),
    row(CARDHOLDER, "3-D Secure", go("/3d-secure/")),
    row(CARDHOLDER, "3-D Secure PIN", go("/3d-secure/pin/")),
    row(
        CARDHOLDER,
        "3-D Secure PIN with errors",
        submit('main form[action="/3d-secure/pin/"]', pin="1111", pin_repeat="2222"),
        shows=ERROR,
    ),
    row(CARDHOLDER, "credit card's statements", go("/cards/{statement_card}/statements/"), shows="main table"),
    row(
        CARDHOLDER, "a statement", go("/cards/{statement_card}/statements/{statement}/"), shows="main .statement-lines"
    ),
    row(CARDHOLDER, "stop all payments", go("/stop/"), shows="#stop-now"),
    row(CARDHOLDER, "all payments stopped", submit('main form[action="/stop/"]'), shows="#stop-lift"),
    row(CARDHOLDER, "my cards while all payments are stopped", go("/cards/"), shows="#stop-banner"),
    row(CARDHOLDER, "somebody else's card", go("/cards/999999999/")),
    # --- Bank staff: the supervisor (most action forms) and the read-only auditor.
    row(SUPERVISOR, "customer search", go("/backoffice/")),
    row(SUPERVISOR, "search results", submit(SEARCH_FORM, q="Konstantynopolitańczykiewicz"), shows="main table"),
    row(SUPERVISOR, "search without results", submit(SEARCH_FORM, q="Nikt Taki")),
    row(SUPERVISOR, "customer", go("/backoffice/customers/{customer}/")),
    row(SUPERVISOR, "verification with errors", submit(VERIFY_FORM, card_last4="12"), shows=ERROR),
    row(
        SUPERVISOR,
        "verified: every action form",
        submit(
            VERIFY_FORM,
            identifier=lambda c: c.holder.customer.pesel,
            birth_date="1978-09-23",
            card_last4=lambda c: Card.objects.get(pk=c.ids["blocked"]).pan_last4,
        ),
        shows="form.action-form",
    ),
    row(
        SUPERVISOR,
        "an action without a reason",
        submit('main form[action="/backoffice/customers/{customer}/actions/portal_unlock/"]'),
        shows=ERROR,
    ),
    row(SUPERVISOR, "card decisions", go("/backoffice/customers/{customer}/cards/{big}/history/"), shows="main td"),
    row(SUPERVISOR, "customer's statements", go("/backoffice/customers/{customer}/statements/"), shows="main table"),
    row(
        SUPERVISOR,
        "a statement with the correction form",
        go("/backoffice/customers/{customer}/statements/{statement}/"),
        shows="#correct textarea",
    ),
    row(SUPERVISOR, "a correction without a reason", submit("#correct form"), shows=ERROR),
    row(SUPERVISOR, "staff activity", go("/backoffice/activity/"), shows="main table"),
    row(SUPERVISOR, "payments to review", go("/backoffice/reviews/"), shows="main .review-form textarea"),
    row(
        SUPERVISOR,
        "a review note with a card number",
        submit("main form.review-form", note=lambda c: f"Numer {BIG_PAN} podany przez klientkę"),
        shows=ERROR,
    ),
    row(SUPERVISOR, "payments reviewed", go("/backoffice/reviews/?state=reviewed"), shows="main .review-note"),
    row(
        SUPERVISOR,
        "staff activity, filter error",
        go("/backoffice/activity/?date_from=2026-05-02&date_to=2026-05-01"),
        shows=ERROR,
    ),
    row(SUPERVISOR, "scheduled jobs", go("/backoffice/jobs/"), shows="main .badge--job-failed"),
    row(SUPERVISOR, "staff accounts", go("/backoffice/staff/"), shows="main table"),
    row(
        SUPERVISOR,
        "staff accounts after a reset: where the link went",
        submit(
            'main form[action="/backoffice/staff/{agent_member}/reset/"]',
            reason="Zgubiony telefon służbowy; kadry sprawdziły dowód osobisty",
        ),
        shows="#link-heading",
    ),
    row(SUPERVISOR, "own password", go("/backoffice/password/"), shows="main form"),
    row(SUPERVISOR, "customer, before stopping all payments", go("/backoffice/customers/{customer}/")),
    row(
        SUPERVISOR,
        "customer whose payments are all stopped",
        submit(
            'main form[action="/backoffice/customers/{customer}/actions/payments_stop/"]',
            reason="Klientka zgubiła telefon i portfel",
        ),
        shows="#payments-stop",
    ),
    row(AUDITOR, "customer search (auditor)", go("/backoffice/")),
    row(AUDITOR, "search results (auditor)", submit(SEARCH_FORM, q="Konstantynopolitańczykiewicz"), shows="main table"),
    row(AUDITOR, "customer (read only)", go("/backoffice/customers/{customer}/")),
    row(
        AUDITOR,
        "advices to review (auditor)",
        go("/backoffice/customers/{customer}/cards/{big}/history/?needs_review=on"),
        shows="main .needs-review",
    ),
    row(
        AUDITOR,
        "a statement (auditor)",
        go("/backoffice/customers/{customer}/statements/{statement}/"),
        shows="main .statement-lines",
    ),
    row(AUDITOR, "staff activity (auditor)", go("/backoffice/activity/"), shows="main table"),
    row(AUDITOR, "payments to review (auditor)", go("/backoffice/reviews/?state=all"), shows="main .needs-review"),
    row(AUDITOR, "scheduled jobs (auditor)", go("/backoffice/jobs/"), shows="main .job-counts"),
    # --- The demo's developer pages (DEBUG only).
    row(DEMO, "SMS outbox", go("/dev/sms-outbox/"), shows="main table"),
    row(DEMO, "demo staff codes", go("/dev/staff-codes/"), shows="main table"),
    row(DEMO, "payment terminal", go("/dev/terminal/"), shows="main form"),
)

# Finds what sticks out. A box may scroll sideways only when it was made to
# (class "scroll-x"); everything else must fit in its parent and in the screen.
LAYOUT_PROBLEMS = """
() => {
  const viewport = document.documentElement.clientWidth;
  const describe = (el) => {
    const parts = [];
    for (let node = el; node && node !== document.body && parts.length < 4; node = node.parentElement) {
      let part = node.tagName.toLowerCase();
      if (node.id) part += "#" + node.id;
      else if (node.classList.length) part += "." + [...node.classList].join(".");
      parts.unshift(part);
    }
    const text = (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 50);
    return parts.join(" > ") + (text ? ` ("${text}")` : "");
  };
  // Not on screen: not rendered, invisible, or the 1 px clipped box of text for screen readers only.
  const hidden = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || el.getClientRects().length === 0) return true;
    return style.position === "absolute" && style.overflow === "hidden" && el.getBoundingClientRect().width <= 1;
  };
  const offScreen = (el) => {
    for (let node = el; node; node = node.parentElement) if (hidden(node)) return true;
    return false;
  };
  const problems = [];
  if (document.documentElement.scrollWidth > viewport) {
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth}px > ${viewport}px`);
  }
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("svg, .skip-link") && el.tagName.toLowerCase() !== "svg") continue;
    if (offScreen(el)) continue;
    const rect = el.getBoundingClientRect();
    const scroller = el.parentElement && el.parentElement.closest(".scroll-x");
    if (!scroller && rect.width > 0 && rect.right > viewport + 1) {
      problems.push(`${describe(el)} ends at ${Math.round(rect.right)}px, beyond the screen (${viewport}px)`);
    }
    if (["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)) continue;
    const style = getComputedStyle(el);
    const inline = style.display.startsWith("inline") && !["inline-block", "inline-flex"].includes(style.display);
    if (inline) continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      const scrolls = ["auto", "scroll"].includes(style.overflowX);
      if (!(scrolls && el.classList.contains("scroll-x"))) {
        problems.push(`${describe(el)} holds content ${el.scrollWidth}px wide in ${el.clientWidth}px`);
      }
    }
  }
  return problems;
}
"""

# How many lines a box's text takes: its text's boxes grouped into rows that overlap vertically.
READABILITY_PROBLEMS = """
(desktop) => {
  const lines = (el) => {
    const boxes = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim() || node.parentElement.closest(".visually-hidden")) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      boxes.push(...[...range.getClientRects()].filter((r) => r.width > 0));
    }
    boxes.sort((a, b) => a.top - b.top);
    let rows = 0, bottom = -Infinity;
    for (const box of boxes) {
      if (box.top >= bottom - 2) { rows += 1; bottom = box.bottom; } else bottom = Math.max(bottom, box.bottom);
    }
    return rows;
  };
  const problems = [];
  for (const time of document.querySelectorAll("main time")) {
    if (time.getClientRects().length && lines(time) > 1) {
      problems.push(`the date "${time.textContent.trim()}" takes ${lines(time)} lines`);
    }
  }
  // A table reflowed into blocks labels each cell with its column's name: never an empty one.
  for (const cell of document.querySelectorAll("main td[data-label]")) {
    const label = getComputedStyle(cell, "::before").content;
    if (cell.getClientRects().length && !cell.textContent.trim() && label !== "none" && label !== "normal") {
      problems.push(`an empty cell shows the label ${label}`);
    }
  }
  if (desktop) {
    const header = document.querySelector(".site-header__inner");
    const middles = [...header.children].map((child) => {
      const box = child.getBoundingClientRect();
      return box.top + box.height / 2;
    });
    if (middles.some((middle) => Math.abs(middle - middles[0]) > 4)) problems.push("the header wraps onto two rows");
    for (const el of header.querySelectorAll("a, span, button")) {
      if (el.closest(".visually-hidden") || !el.getClientRects().length) continue;
      if (lines(el) > 1) problems.push(`"${el.textContent.trim()}" in the header takes ${lines(el)} lines`);
    }
  }
  return problems;
}
"""


@pytest.fixture
def cast(db, settings, tmp_path) -> Cast:
    """A customer with a long name, cards in every state, one with big limits; staff with long names."""
    settings.SMS_OUTBOX_PATH = tmp_path / "sms-outbox.jsonl"
    customer = factories.customer_factory(
        first_name="Aleksandra Małgorzata",
        last_name="Konstantynopolitańczykiewicz-Wierzbicka",
        pesel=factories.make_pesel(dt.date(1978, 9, 23), 518, female=True),
        phone_on_file="+48601234567",
    )
    holder = factories.cardholder_user_factory(customer=customer)
    newcomer = factories.customer_factory(
        first_name="Bartłomiej", last_name="Szczepańczyk", pesel=factories.make_pesel(dt.date(1990, 6, 30), 303)
    )
    platinum = factories.product_factory(
        name="Visa Platinum Debit Premium",
        cash_limit_max_minor=BIG_MAXIMUM_MINOR,
        noncash_limit_max_minor=BIG_MAXIMUM_MINOR,
        internet_limit_max_minor=BIG_MAXIMUM_MINOR,
    )
    gold = factories.product_factory(name="Mastercard Gold Kredytowa", brand=Brand.MASTERCARD, funding=Funding.CREDIT)
    business = factories.product_factory(name="Visa Business Silver", segment=Segment.BUSINESS)
    name = "A M KONSTANTYNOPOLITANCZY"
    system = factories.SYSTEM

    big = card_activate(
        actor=system,
        card=factories.card_factory(
            customer=customer,
            product=platinum,
            embossed_name=name,
            pan=BIG_PAN,
            account=factories.account_factory(customer=customer, balance_minor=1_234_567_890_12),
        ),
    )
    card_limits_change(
        actor=system,
        card=big,
        limits={"cash": 8_888_888_888_88, "noncash": 9_876_543_210_98, "internet": 7_777_777_777_77},
    )
    big = card_block_temporarily(actor=system, card=Card.objects.get(pk=big.pk), note="Zgubiona w sklepie")
    big = card_unblock(actor=system, card=big)
    card_contactless_set(actor=system, card=big, enabled=False)
    blocked = card_block_temporarily(
        actor=system, card=card_activate(actor=system, card=factories.card_factory(customer=customer, product=platinum))
    )
    Card.objects.filter(pk=blocked.pk).update(wrong_pin_count=2)
    cancelled = card_cancel(
        actor=system,
        card=card_activate(actor=system, card=factories.card_factory(customer=customer, product=platinum)),
        reason=StatusReason.STOLEN,
    )
    credit = card_activate(
        actor=system,
        card=factories.card_factory(
            customer=customer,
            product=gold,
            pan=CREDIT_PAN,
            account=factories.account_factory(
                customer=customer, kind="credit", credit_limit_minor=9_999_999_999_99, balance_minor=-1_234_567_890_12
            ),
        ),
    )
    company = card_activate(actor=system, card=factories.card_factory(customer=customer, product=business))
    _card_payments(CardFixture(card=big, pan=BIG_PAN), CardFixture(card=credit, pan=CREDIT_PAN))
    statement = _statement(customer)
    inactive = factories.card_factory(customer=customer, product=platinum)

    threeds_pin_set(actor=system, customer=customer, **threeds_pin_values("4862", customer=customer))
    trusted_merchant_add(
        actor=system,
        customer=customer,
        name="Przedsiębiorstwo Handlowo-Usługowe Międzynarodowe Centrum Zaopatrzenia Gospodarstw Domowych",
        merchant_id="PL-MERCHANT-000000000123456789",
        country="PL",
    )

    supervisor = staff_person_create(
        StaffRole.SUPERVISOR, username="kierowniczka", full_name="Maria Magdalena Kierownik-Zmianowa"
    )
    # A stand-in abroad, already reviewed with a long note: the queue's "reviewed" list and the card's history.
    reviewed = advice_record(
        actor=PROCESSOR,
        request=request_for(
            CardFixture(card=credit, pan=CREDIT_PAN),
            amount_minor=250_000,
            channel=Channel.ATM,
            mcc="6011",
            merchant_name="Sparkasse Geldautomat Hauptbahnhof",
            merchant_city="Frankfurt am Main",
            merchant_country="DE",
        ),
        approved=True,
        response_code="00",
    ).authorization
    authorization_review_mark(
        reviewer=supervisor.user,
        authorization=reviewed,
        note="Klientka potwierdziła wypłatę podczas podróży służbowej; limit gotówkowy przekroczony za zgodą banku.",
    )
    auditor = staff_person_create(
        StaffRole.AUDITOR, username="rewident", full_name="Adam Bartłomiej Rewident-Kontrolny"
    )
    _job_runs()
    # Earlier calls, handled by an agent: rows for the activity page and the customer's trail.
    agent = staff_person_create(StaffRole.AGENT, username="konsultantka", full_name="Ewa Konsultantka")
    verification = caller_verify(
        staff=agent.user,
        customer=customer,
        channel="phone",
        identifier=customer.pesel or "",
        birth_date=dt.date(1978, 9, 23),
        card_last4=blocked.pan_last4,
    )
    staff_action_perform(
        staff=agent.user,
        action_name="portal_block",
        customer=customer,
        verification=verification,
        reason="Klientka zadzwoniła z prośbą o zablokowanie dostępu po utracie telefonu w podróży służbowej",
    )
    staff_action_perform(
        staff=agent.user,
        action_name="portal_unblock",
        customer=customer,
        verification=verification,
        reason="Klientka odzyskała telefon",
    )
    ids = {
        "customer": customer.pk,
        "big": big.pk,
        "blocked": blocked.pk,
        "cancelled": cancelled.pk,
        "credit": credit.pk,
        "business": company.pk,
        "inactive": inactive.pk,
        "statement_card": statement.account.cards.get().pk,
        "statement": statement.pk,
        "agent_member": agent.member.pk,
    }
    return Cast(
        holder=User.objects.get(pk=holder.pk),
        newcomer_identifier=newcomer.pesel or "",
        newcomer_phone=newcomer.phone_on_file or "",
        supervisor=supervisor,
        auditor=auditor,
        ids=ids,
    )


def _job_runs() -> None:
    """The scheduled jobs' page at its busiest: runs that did work, one that failed with a long error, one queued."""
    slot = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=2)
    job_slot_enqueue(job="purge_idempotency_records", slot=slot)  # a real run (nothing of the cast to delete)
    now = timezone.now()
    for minute in range(5):
        JobRun.objects.create(
            job="acs_sweep",
            slot=slot + dt.timedelta(minutes=minute),
            source=JobRunSource.SCHEDULE,
            state=JobRunState.SUCCEEDED,
            enqueued_at=now,
            started_at=now,
            finished_at=now,
            attempts=1,
            counts={"timed_out": minute, "delivered": 12_345},
        )
    JobRun.objects.create(
        job="close_statements",
        slot=slot + dt.timedelta(days=1),
        source=JobRunSource.CATCH_UP,
        state=JobRunState.FAILED,
        enqueued_at=now,
        started_at=now,
        finished_at=now,
        attempts=3,
        counts={"accounts": 1_234_567, "statements": 1_234_560, "failed": 7},
        error="JobFailed: 7 account(s) could not be closed; the next run tries again. " * 3,
    )
    JobRun.objects.create(
        job="expire_holds", slot=slot, source=JobRunSource.SCHEDULE, state=JobRunState.QUEUED, enqueued_at=now
    )


def _card_payments(big: CardFixture, credit: CardFixture) -> None:
    """Payments the real pipeline decided: approved, converted, reversed, declined (contactless off), an advice."""
    merchant = "Przedsiębiorstwo Handlowo-Usługowe Międzynarodowe Centrum"
    decide(big, amount_minor=9_876_543_21, merchant_name=merchant, merchant_city="Konstantynopol Wielkopolski")
    decide(big, amount_minor=12_345, currency="USD", billing_amount_minor=49_876, merchant_country="US", mcc="3501")
    reversed_one = decide(big, amount_minor=5_000, mcc="5541", merchant_name="Orlen").authorization
    authorization_reverse(actor=PROCESSOR, authorization_id=reversed_one.processor_id, reversal_id="layout-rev-1")
    decide(big, amount_minor=1_999, channel=Channel.POS_CONTACTLESS, merchant_name="Żabka", mcc="9999")
    decide(big, amount_minor=20_000, channel=Channel.ATM, mcc="6011", merchant_name="Bankomat Euronet")
    advice_record(
        actor=PROCESSOR,
        request=request_for(big, amount_minor=4_500, merchant_name="Stand-in"),
        approved=True,
        response_code="00",
        authorization_code="ADV001",
    )
    decide(credit, amount_minor=123_456, merchant_name="Hotel Bristol", mcc="7011")
    # A payment in another EEA currency, with its CBPR2 charge over the ECB's rate (the longest line of a row).
    ecb_rates_set(
        actor=PROCESSOR,
        rate_date=timezone.localdate() - dt.timedelta(days=1),
        rates={"PLN": Decimal("4.2350"), "HUF": Decimal("385.40")},
        available_from=timezone.now() - dt.timedelta(hours=1),
    )
    forint = decide(
        big, amount_minor=1_234_567_00, currency="HUF", billing_amount_minor=1_395_061, merchant_country="HU"
    )
    assert conversion_charge_record(authorization_id=forint.authorization.pk) is not None
    # Clearing: a split shipment half-way (partially settled), a tip, postings of their own.
    # An internet order authenticated by our ACS (the holder passed the challenge): its value and ECI.
    order_authentication = authenticate(big, amount_minor=30_000)
    order = decide(big, amount_minor=30_000, channel=Channel.ECOMMERCE, **three_ds(order_authentication))
    dinner = decide(big, amount_minor=10_000, mcc="5812", merchant_name="Pierogarnia").authorization
    records = [
        _record("layout-c1", order.authorization.network_transaction_id, 12_000, final=False),
        _record("layout-c2", dinner.network_transaction_id, 11_500),
        _record("layout-fp", "", 4_321, pan=big.pan, expiry=big.card.expiry, merchant_name=merchant, mcc="4511"),
        _record("layout-ref", dinner.network_transaction_id, 1_500, kind="refund"),
        _record("layout-cb", "", 2_000, kind="chargeback", original_record_id="layout-c2"),
    ]
    assert {r.outcome for r in clearing_post_batch(actor=PROCESSOR, records=records)} == {"posted"}


def _statement(customer: Any) -> Statement:
    """A credit card's first statement with every kind of line, a long merchant name and the widest amounts."""
    cc = credit_card(opened=dt.date(2026, 9, 3), customer=customer)
    busy_month(cc)
    merchant = "Przedsiębiorstwo Handlowo-Usługowe Międzynarodowe Centrum Zaopatrzenia"
    pay_by_card(cc, 9_876_543_21, dt.date(2026, 9, 7), merchant=merchant, merchant_city="Konstantynopol Wielkopolski")
    return close(dt.date(2026, 9, 10))[-1]


def _record(record_id: str, network_id: str, amount: int, **values: Any) -> ClearingRecord:
    values.setdefault("kind", "clearing")
    return ClearingRecord(
        record_id=record_id,
        network_transaction_id=network_id,
        amount_minor=amount,
        currency="PLN",
        processing_date=timezone.localdate(),
        **values,
    )


def _sign_in(page: Page, check_page: PageChecks, cast: Cast, audience: str, settings: Any) -> None:
    if audience == CARDHOLDER:
        sign_in(page, check_page, cast.holder.customer.pesel or "", factories.DEFAULT_PASSWORD)
        check_page()
    elif audience in (SUPERVISOR, AUDITOR):
        # Locked portal access and 3-D Secure: the customer page offers every action.
        an_hour_on = timezone.now() + dt.timedelta(hours=1)
        User.objects.filter(pk=cast.holder.pk).update(locked_until=an_hour_on, failed_login_count=3)
        ThreeDSProfile.objects.filter(customer=cast.holder.customer).update(locked_until=an_hour_on)
        staff_sign_in(page, check_page, cast.supervisor if audience == SUPERVISOR else cast.auditor)
    elif audience == DEMO:
        settings.DEBUG = True
        demo_staff_load()
        for n in range(3):
            text = f"Kod 48291{n}: zmiana limitu internetowego karty *1234"
            FileSmsBackend().send(Sms(to=f"+4860123456{n}", text=text, reference=f"r{n}"))


@pytest.mark.parametrize("width", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("audience", [VISITOR, CARDHOLDER, SUPERVISOR, AUDITOR, DEMO])
def test_every_page_fits_the_screen(page: Page, check_page: PageChecks, cast: Cast, settings, audience, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.set_default_timeout(10_000)
    _sign_in(page, check_page, cast, audience, settings)
    shots = os.environ.get("KARTOSFERA_LAYOUT_SCREENSHOTS")
    problems: list[str] = []
    for number, entry in enumerate(r for r in PAGES if r.audience == audience):
        for step in entry.steps:
            step(page, cast)
        expect(page.locator(entry.shows).first, f"{entry.name}: {entry.shows}").to_be_visible()
        check_page()
        found = page.evaluate(LAYOUT_PROBLEMS) + page.evaluate(READABILITY_PROBLEMS, width == DESKTOP)
        problems += [f"{entry.name} ({page.url}): {problem}" for problem in found]
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            slug = re.sub(r"[^a-z0-9]+", "-", entry.name.lower()).strip("-")
            page.screenshot(path=f"{shots}/{width}-{audience}-{number:02d}-{slug}.png", full_page=True)
    assert not problems, f"{len(problems)} layout problems at {width}px:\n" + "\n".join(problems)


def test_the_table_names_each_page_once():
    """Two rows with one name would hide a page behind another in the failure report."""
    names = [entry.name for entry in PAGES]
    assert len(names) == len(set(names))
