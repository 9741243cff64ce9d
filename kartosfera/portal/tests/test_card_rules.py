"""Issue 9's card rules on the cardholder's pages: cancelled cards, bank blocks, the 60-day rule, limits."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import (
    card_activate,
    card_block_temporarily,
    card_cancel,
    card_mobile_payments_activate,
)
from kartosfera.cards.services import card_replace
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.core.money import Money
from kartosfera.notifications.backends import locmem
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")
STAFF = Actor(type=ActorType.STAFF, id="0", label="agent")
HELPLINE = "+48 86 215 50 00"


@pytest.fixture(autouse=True)
def helpline_number(settings):
    settings.HELPLINE_PHONE = HELPLINE


@pytest.fixture
def active(card) -> Card:
    return card_activate(actor=SYSTEM, card=card)


def _url(card: Card, name: str) -> str:
    return reverse(f"portal:card_{name}", kwargs={"card_id": card.pk})


def _page(client, card: Card) -> str:
    return html.unescape(client.get(_url(card, "detail")).content.decode())


# --- A cancelled card (point 3) ---------------------------------------------------------------


def test_a_cancelled_card_shows_no_operations_no_limits_and_what_to_do_next(anna, active):
    card_mobile_payments_activate(actor=HOLDER, card=active)
    card_cancel(actor=HOLDER, card=active, reason=StatusReason.LOST)

    page = _page(anna, active)

    assert "Aktywne: kartę można dodać" not in page  # mobile payments no longer "active"
    assert re.search(r'id="mobile-payments-state">\s*Nie dotyczy', page)
    assert "Dzienne limity" not in page and "Limit gotówkowy" not in page
    assert 'id="actions-heading"' not in page
    assert not any(f"/cards/{active.pk}/" in url for url in re.findall(r'action="([^"]+)"', page))
    assert "Co dalej" in page
    assert "poproś bank o kartę w miejsce zastrzeżonej" in page
    assert f'href="tel:+48862155000">{HELPLINE}</a>' in page


def test_a_replaced_card_links_to_its_successor(anna, active):
    new = card_replace(actor=SYSTEM, card=active, reference="REPL-PAGE", pan=factories.make_pan("400000", 999_201))

    page = _page(anna, active)

    assert _url(new, "detail") in page
    assert f"*{new.pan_last4}" in page


def test_switching_mobile_payments_off_needs_no_code_and_is_audited(anna, cardholder, active):
    card_mobile_payments_activate(actor=HOLDER, card=active)
    assert f'action="{_url(active, "mobile_payments_off")}"' in _page(anna, active)

    response = anna.post(_url(active, "mobile_payments_off"))

    assert response.status_code == 302 and response["Location"] == _url(active, "detail")
    active.refresh_from_db()
    assert active.mobile_payments_enabled is False
    assert locmem.outbox == []  # no SMS code
    event = AuditEvent.objects.get(action="cards.card.mobile_payments_deactivated")
    assert (event.actor_type, event.actor_id) == (ActorType.CUSTOMER, str(cardholder.user.pk))
    assert "Płatności mobilne tej karty są wyłączone." in _page(anna, active)


def test_switching_mobile_payments_off_on_a_cancelled_card_is_refused_with_a_reason(anna, active):
    card_cancel(actor=HOLDER, card=active, reason=StatusReason.LOST)

    page = html.unescape(anna.post(_url(active, "mobile_payments_off"), follow=True).content.decode())

    assert "Karta jest zastrzeżona" in page
    assert AuditEvent.objects.filter(action="cards.card.operation_refused").count() == 1


def test_switching_mobile_payments_off_refuses_get_and_others_cards(anna, second_cardholder, debit_product):
    theirs = factories.card_factory(customer=second_cardholder.customer, product=debit_product)

    assert anna.get(_url(theirs, "mobile_payments_off")).status_code == 405
    assert anna.post(_url(theirs, "mobile_payments_off")).status_code == 404


# --- Bank blocks (point 11) -------------------------------------------------------------------


def test_a_bank_block_cannot_be_lifted_in_the_portal_and_the_page_says_whom_to_call(anna, active):
    card_block_temporarily(actor=STAFF, card=active)

    page = _page(anna, active)

    assert "Zablokowana przez bank" in page
    assert _url(active, "unblock") not in page
    note = re.search(r'id="bank-block-note">(.*?)</p>', page, re.S)
    assert note and "Kartę zablokował bank" in note.group(1) and HELPLINE in note.group(1)
    assert "Blokada zmieni się w zastrzeżenie" not in page  # a bank block does not lapse

    response = anna.post(_url(active, "unblock"), follow=True)

    assert "tylko bank może ją odblokować" in html.unescape(response.content.decode())
    assert locmem.outbox == []  # no SMS code sent for a refused unblock
    active.refresh_from_db()
    assert (active.status, active.status_reason) == (CardStatus.BLOCKED, StatusReason.BLOCKED_BY_BANK)


def test_the_cardholders_own_block_still_offers_the_unblock(anna, active):
    card_block_temporarily(actor=HOLDER, card=active)

    page = _page(anna, active)

    assert _url(active, "unblock") in page
    assert 'id="bank-block-note"' not in page


# --- The 60-day rule at read time (point 12) --------------------------------------------------


def test_a_block_older_than_60_days_shows_as_cancelled_before_the_job_runs(anna, active):
    with time_machine.travel(timezone.now() - dt.timedelta(days=61), tick=False):
        card_block_temporarily(actor=HOLDER, card=active)

    page = _page(anna, active)

    assert "Zastrzeżona" in page
    assert "Czasowa blokada niezdjęta w ciągu 60 dni" in page
    assert _url(active, "unblock") not in page
    assert "Co dalej" in page

    anna.post(_url(active, "unblock"))
    assert locmem.outbox == []
    active.refresh_from_db()
    assert active.status == CardStatus.BLOCKED  # still as stored: the daily job writes it down


def test_the_card_list_shows_a_lapsed_block_as_cancelled(anna, active):
    with time_machine.travel(timezone.now() - dt.timedelta(days=61), tick=False):
        card_block_temporarily(actor=HOLDER, card=active)

    page = html.unescape(anna.get(reverse("portal:card_list")).content.decode())

    assert "card-tile--cancelled" in page and "card-tile--blocked" not in page


# --- Limits (point 4) -------------------------------------------------------------------------


def _help_text(page: str, field: str) -> str:
    match = re.search(rf'id="id_{field}_helptext"[^>]*>(.*?)</', page, re.S)
    assert match, f"no help text for {field}"
    return re.sub(r"[ \t\n]+", " ", match.group(1)).strip()


def zl(minor: int) -> str:
    """An amount as the pages write it (the one money formatter), in Polish."""
    with translation.override("pl"):
        return Money(minor, "PLN").format()


def test_the_limits_form_shows_each_limits_real_range(anna, active):
    # The factory's card: cash 2 000 of 10 000, non-cash 5 000 of 30 000, internet 0 of 30 000.
    page = html.unescape(anna.get(_url(active, "limits")).content.decode())

    assert f"Od 0 do {zl(1_000_000)}" in _help_text(page, "cash")
    assert f"Od 0 do {zl(3_000_000)}" in _help_text(page, "noncash")
    internet = _help_text(page, "internet")
    assert f"Od 0 do {zl(500_000)}" in internet  # the non-cash limit, not the product's 30 000
    assert f"Od 0 do {zl(3_000_000)}" not in internet
    assert "Limit 0 wyłącza płatności internetowe." in internet


def test_with_a_high_non_cash_limit_the_internet_range_is_its_maximum(anna, active):
    Card.objects.filter(pk=active.pk).update(noncash_limit_minor=3_000_000, internet_limit_max_minor=1_000_000)

    page = html.unescape(anna.get(_url(active, "limits")).content.decode())

    internet = _help_text(page, "internet")
    assert f"Od 0 do {zl(1_000_000)}" in internet and "nie więcej niż limit bezgotówkowy" in internet


def test_an_internet_limit_of_zero_is_explained_on_the_card_page(anna, active):
    page = _page(anna, active)
    assert "Płatności internetowe są wyłączone: ustaw limit, aby płacić w internecie." in page

    Card.objects.filter(pk=active.pk).update(internet_limit_minor=10_000)
    assert "Płatności internetowe są wyłączone" not in _page(anna, active)
