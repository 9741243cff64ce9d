"""manage.py simulate_card_traffic: repeatable demo traffic, back-filled through the services, today over HTTP."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from kartosfera.accounts.models import Account
from kartosfera.cards.models import Brand, Card
from kartosfera.cards.operations_services import card_block_temporarily
from kartosfera.core.demo.bank import demo_bank_load
from kartosfera.core.models import AuditEvent
from kartosfera.processing.merchants import MERCHANTS_BY_KEY
from kartosfera.processing.models import Authorization, AuthorizationAdjustment, AuthorizationStatus
from kartosfera.processing.simulation import (
    Payment,
    _authorize,
    simulate_card_traffic,
    simulation_cards,
    simulation_plan,
    traffic_plan,
)
from kartosfera.processing.tests.helpers import active_card
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.testing import factories


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("simulate_card_traffic", *args, stdout=out)
    return out.getvalue()


def _assert_books_balance() -> None:
    for account in Account.objects.all():
        pending = Authorization.objects.filter(account=account, status=AuthorizationStatus.PENDING)
        assert account.held_minor == (pending.aggregate(total=Sum("held_minor"))["total"] or 0), account


@pytest.mark.django_db
def test_every_demo_card_gets_months_of_history_and_the_books_balance():
    demo_bank_load()
    output = _run("--days", "62", "--per-day", "0.4", "--seed", "1")
    assert "Simulated card traffic" in output and "today skipped (no --url)" in output
    today = timezone.localdate()
    for card in Card.objects.all():
        days = set(Authorization.objects.filter(card=card).values_list("local_date", flat=True))
        assert days, f"{card} has no history"
        assert all(today - dt.timedelta(days=62) <= day < today for day in days)
    # The mix the issue asks for: every kind of message, foreign money, channels, declines.
    rows = Authorization.objects.all()
    assert rows.filter(approved=True).exists() and rows.filter(approved=False).exists()
    assert rows.filter(is_advice=True).exists()
    assert rows.filter(currency="EUR", billing_currency="PLN", billing_rate__isnull=False).exists()
    assert {"pos_contactless", "pos_chip", "atm", "ecommerce"} <= set(rows.values_list("channel", flat=True))
    assert {"reversal", "increment"} <= set(AuthorizationAdjustment.objects.values_list("kind", flat=True))
    assert rows.filter(status=AuthorizationStatus.EXPIRED).exists()
    assert not rows.filter(status=AuthorizationStatus.PENDING, expires_at__lte=timezone.now()).exists()
    assert {"5411", "6011", "7011", "5542"} <= set(rows.values_list("mcc", flat=True))
    _assert_books_balance()


@pytest.mark.django_db
def test_running_it_twice_adds_traffic_and_breaks_nothing():
    active_card()
    active_card(brand=Brand.MASTERCARD)
    _run("--days", "5", "--per-day", "2", "--seed", "3")
    first = Authorization.objects.count()
    _run("--days", "5", "--per-day", "2", "--seed", "3")
    assert Authorization.objects.count() == 2 * first
    assert Authorization.objects.values("processor_id").distinct().count() == 2 * first
    _assert_books_balance()


@pytest.mark.django_db
def test_the_same_seed_plays_the_same_traffic_and_another_seed_other_traffic():
    for _n in range(3):
        active_card()
    cards = simulation_cards()
    today = dt.date(2026, 11, 29)

    def plan(seed: int) -> list[tuple[object, ...]]:
        payments = traffic_plan(cards, days=20, per_day=1.5, seed=seed, today=today, pin_tries=set())
        return [payment.key() for payment in payments]

    assert plan(7) == plan(7)
    assert plan(7) != plan(8)
    # And the stored traffic is the plan: the same cards, amounts and channels, in order.
    now = timezone.make_aware(dt.datetime(2026, 11, 29, 23))
    planned = [
        (p.card.pk, p.amount_minor, p.channel)
        for p in simulation_plan(days=20, per_day=1.5, seed=7, now=now)
        if p.when is not None
    ]
    simulate_card_traffic(days=20, per_day=1.5, seed=7, now=now)
    # (A payment sent again after a PSD2 soft decline is the plan's payment once more: not in the plan.)
    stored = list(
        Authorization.objects.exclude(processor_id__regex=r"-(chip|3ds)$")
        .order_by("processor_id")
        .values_list("card_id", "amount_minor", "channel")
    )
    assert stored == planned


@pytest.mark.django_db
def test_a_tap_soft_declined_for_its_pin_is_paid_again_by_chip():
    tc = active_card()
    # Five taps without a PIN already: every tap now needs the PIN until an authenticated payment, and with
    # internet payments locked (3-D Secure failures) none comes.
    Card.objects.filter(pk=tc.card.pk).update(psd2_contactless_count=5)
    ThreeDSProfile.objects.create(customer_id=tc.card.customer_id, locked_until=timezone.now() + dt.timedelta(days=1))
    stats = simulate_card_traffic(days=10, per_day=3, seed=4)
    retries = Authorization.objects.filter(processor_id__endswith="-chip")
    assert retries.exists()
    assert stats["re-sent after contactless_pin_required"] == retries.count()
    for retry in retries:
        tapped = Authorization.objects.get(processor_id=retry.processor_id.removesuffix("-chip"))
        assert (tapped.channel, tapped.decline_reason) == ("pos_contactless", "contactless_pin_required")
        assert (retry.channel, retry.amount_minor, retry.local_date) == (
            "pos_chip",
            tapped.amount_minor,
            tapped.local_date,
        )
    # No tap above Poland's 100 PLN was sent without a PIN: the terminal asks for it first (here: chip).
    taps = Authorization.objects.filter(channel="pos_contactless")
    assert not taps.filter(currency="PLN", amount_minor__gt=10_000).exists()
    assert not taps.filter(currency="EUR", amount_minor__gt=5_000).exists()
    assert tc.refresh().psd2_contactless_count <= 5


class _Player:
    """Answers the first authorization with ``first`` and approves the rest; keeps what it was sent."""

    def __init__(self, first: tuple[bool, str]) -> None:
        self.answers = [first]
        self.sent: list[dict[str, Any]] = []

    def authorize(self, body: dict[str, Any], payment: Payment) -> tuple[bool, str]:
        self.sent.append(body)
        return self.answers.pop(0) if self.answers else (True, "")


@pytest.mark.django_db
def test_a_low_value_claim_soft_declined_is_sent_again_with_3d_secure():
    tc = active_card(brand=Brand.MASTERCARD)
    merchant = MERCHANTS_BY_KEY["spotify"]
    payment = Payment(card=tc.card, merchant=merchant, amount_minor=1_799, channel="ecommerce", when=None)
    payment.with_3ds, payment.low_value_claim, payment.auth_value = False, True, "AAAB"
    player = _Player((False, "sca_required"))
    stats: Counter[str] = Counter()
    assert _authorize(player, payment, "sim-1", stats) == "sim-1-3ds"
    claimed, again = player.sent
    assert claimed["sca_exemption"] == "low_value" and "three_ds" not in claimed
    assert again["id"] == "sim-1-3ds" and "sca_exemption" not in again
    assert again["three_ds"] == {"eci": "02", "authentication_value": "AAAB"}
    assert stats == Counter({"declined": 1, "approved": 1, "re-sent after sca_required": 1})
    # A plain payment without 3-D Secure (no claim) stays declined: the demo's example of the soft decline.
    payment.low_value_claim = False
    player = _Player((False, "sca_required"))
    assert _authorize(player, payment, "sim-2", Counter()) is None
    assert len(player.sent) == 1


@pytest.mark.django_db
def test_a_wrong_pin_never_blocks_a_cards_pin():
    tc = active_card()
    for seed in range(4):
        simulate_card_traffic(days=30, per_day=3, seed=seed)
    assert tc.refresh().wrong_pin_count <= 1
    assert Authorization.objects.filter(decline_reason="pin_wrong").count() <= 1


@pytest.mark.django_db
def test_a_card_that_cannot_pay_is_tried_seldom_and_declined():
    tc = active_card()
    card_block_temporarily(actor=factories.SYSTEM, card=tc.card)
    simulate_card_traffic(days=40, per_day=1, seed=2)
    rows = Authorization.objects.filter(card=tc.card)
    assert 1 <= rows.count() <= 10
    assert not rows.filter(approved=True, is_advice=False).exists()


@pytest.mark.django_db(transaction=True)
def test_todays_traffic_goes_over_http_with_a_processor_key(live_server, settings, tmp_path):
    settings.DEV_PROCESSOR_KEY_PATH = tmp_path / "key"
    active_card()
    active_card(brand=Brand.MASTERCARD)
    output = _run("--url", live_server.url, "--days", "0", "--per-day", "3", "--seed", "5")
    assert "today skipped" not in output
    rows = Authorization.objects.all()
    assert rows.count() >= 4
    assert set(rows.values_list("local_date", flat=True)) == {timezone.localdate()}
    # The API's audit rows name the API key, not the simulator's system actor: it went over HTTP.
    actors = set(
        AuditEvent.objects.filter(
            action__in=["processing.authorization.approved", "processing.authorization.declined"]
        ).values_list("actor_type", flat=True)
    )
    assert actors == {"api_client"}
    _assert_books_balance()


@pytest.mark.django_db
def test_bad_arguments_and_a_wrong_url_are_clear_errors(settings, tmp_path):
    settings.DEV_PROCESSOR_KEY_PATH = tmp_path / "key"
    active_card()
    with pytest.raises(CommandError, match="--url must start with http"):
        _run("--url", "ftp://example.org")
    with pytest.raises(CommandError, match="refused the simulator"):
        _run("--url", "http://127.0.0.1:9", "--days", "0", "--per-day", "1")
    with pytest.raises(CommandError):
        _run("--days", "-1")


@pytest.mark.django_db
def test_never_in_production(settings):
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError, match="never runs in production"):
        _run("--days", "1")
