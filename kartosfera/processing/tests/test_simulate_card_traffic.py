"""manage.py simulate_card_traffic: repeatable demo traffic, back-filled through the services, today over HTTP,
and its clearing the next day (settled, split, over or under the authorization, refunds, force posts)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from collections import Counter
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F, Sum
from django.utils import timezone

from kartosfera.accounts.models import Account
from kartosfera.acs.models import AuthenticationRecord, RecordStatus, RReqStatus
from kartosfera.cards.models import Brand, Card
from kartosfera.cards.operations_services import card_block_temporarily
from kartosfera.core.models import AuditEvent
from kartosfera.demo.bank import demo_bank_load
from kartosfera.processing.adjustments import authorization_reverse, hold_expire_due
from kartosfera.processing.clearing import tolerance_percent
from kartosfera.processing.merchants import MERCHANTS_BY_KEY
from kartosfera.processing.models import (
    HOLDING_STATUSES,
    Authorization,
    AuthorizationAdjustment,
    AuthorizationStatus,
    Posting,
    PostingKind,
)
from kartosfera.processing.simulation import (
    ID_PREFIX,
    Acquirers,
    Payment,
    ServicePlayer,
    Settlement,
    _authorize,
    simulate_card_traffic,
    simulation_cards,
    simulation_plan,
    traffic_plan,
)
from kartosfera.processing.tests.helpers import (
    PROCESSOR,
    CardFixture,
    active_card,
    authenticate,
    books_check,
    decide,
)
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.testing import factories


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("simulate_card_traffic", *args, stdout=out)
    return out.getvalue()


def _assert_books_balance(openings: dict[int, int] | None = None) -> None:
    """The holds always; with the accounts' opening balances, every book of every card (helpers.books_check)."""
    for account in Account.objects.all():
        open_ones = Authorization.objects.filter(account=account, status__in=HOLDING_STATUSES)
        assert account.held_minor == (open_ones.aggregate(total=Sum("held_minor"))["total"] or 0), account
    if openings is not None:
        for card in Card.objects.all():
            books_check(CardFixture(card=card, pan=""), opening=openings[card.account_id])


def _openings() -> dict[int, int]:
    return dict(Account.objects.values_list("pk", "balance_minor"))


def _evening() -> dt.datetime:
    """The latest 21:00 in Warsaw that has passed: a "now" with most of a day's traffic behind it."""
    now = timezone.localtime()
    evening = now.replace(hour=21, minute=0, second=0, microsecond=0)
    return evening if evening <= now else evening - dt.timedelta(days=1)


@pytest.mark.django_db
def test_every_demo_card_gets_months_of_history_and_the_books_balance():
    demo_bank_load()
    openings = _openings()
    output = _run("--days", "62", "--per-day", "0.4", "--seed", "1")
    assert "Simulated card traffic" in output and "clearing records posted" in output
    today = timezone.localdate()
    for card in Card.objects.all():
        days = set(Authorization.objects.filter(card=card).values_list("local_date", flat=True))
        assert days, f"{card} has no history"
        assert all(today - dt.timedelta(days=62) <= day <= today for day in days)
    # The mix the issue asks for: every kind of message, foreign money, channels, declines.
    rows = Authorization.objects.all()
    assert rows.filter(approved=True).exists() and rows.filter(approved=False).exists()
    assert rows.filter(is_advice=True).exists()
    assert rows.filter(currency="EUR", billing_currency="PLN", billing_rate__isnull=False).exists()
    assert {"pos_contactless", "pos_chip", "atm", "ecommerce"} <= set(rows.values_list("channel", flat=True))
    assert {"reversal", "increment"} <= set(AuthorizationAdjustment.objects.values_list("kind", flat=True))
    assert rows.filter(status=AuthorizationStatus.EXPIRED).exists()
    assert not rows.filter(status__in=HOLDING_STATUSES, expires_at__lte=timezone.now()).exists()
    assert {"5411", "6011", "7011", "5542"} <= set(rows.values_list("mcc", flat=True))
    # Cleared the next day: most approved payments are settled; what is still open from before the day before
    # yesterday was never presented (a split's rest clears two days after its first part).
    approved = rows.filter(approved=True, local_date__lt=today - dt.timedelta(days=3))
    assert approved.filter(status=AuthorizationStatus.SETTLED).count() > 0.8 * approved.count()
    assert rows.filter(status=AuthorizationStatus.REVERSED).exists() and rows.filter(approved=False).exists()
    assert not Posting.objects.filter(authorization__in=approved.filter(status__in=HOLDING_STATUSES)).exists()
    kinds = set(Posting.objects.values_list("kind", flat=True))
    assert {PostingKind.CLEARING, PostingKind.REFUND, PostingKind.FORCE_POST} <= kinds
    # Amounts other than authorized, within the tolerance: nothing flagged but the duplicates (reversed).
    assert Posting.objects.filter(kind=PostingKind.CLEARING).exclude(released_minor=F("billing_amount_minor")).exists()
    flagged = Posting.objects.filter(needs_review=True)
    assert all(posting.record_id.endswith("-c1d") for posting in flagged)
    _assert_books_balance(openings)


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
    # The plan says how each payment clears, and varies it.
    payments = traffic_plan(cards, days=20, per_day=1.5, seed=7, today=today, pin_tries=set())
    settlements = [payment.settlement for payment in payments]
    assert {s.percent == 100 for s in settlements} == {True, False}
    assert any(s.split_percent for s in settlements) and any(s.refund_days for s in settlements)
    # And the stored traffic is the plan: the same cards, amounts and channels, in order (a force post is
    # no authorization: it comes as a clearing record alone).
    now = timezone.make_aware(dt.datetime(2026, 11, 29, 23))
    planned = [
        (p.card.pk, p.amount_minor, p.channel)
        for p in simulation_plan(days=8, per_day=1.5, seed=7, now=now)
        if not p.force_post
    ]
    simulate_card_traffic(days=8, per_day=1.5, seed=7, now=now)
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

    def moment(self, payment: Payment) -> dt.datetime:
        return timezone.now()

    def authorize(self, body: dict[str, Any], payment: Payment) -> tuple[bool, str]:
        self.sent.append(body)
        return self.answers.pop(0) if self.answers else (True, "")


@pytest.mark.django_db
def test_a_low_value_claim_soft_declined_is_sent_again_with_3d_secure():
    tc = active_card(brand=Brand.MASTERCARD)
    authenticate(tc)  # the holder has a 3-D Secure PIN (and the counters start from a challenge)
    Card.objects.filter(pk=tc.card.pk).update(psd2_remote_count=5)  # so the ACS asks for a challenge too
    merchant = MERCHANTS_BY_KEY["spotify"]
    payment = Payment(card=tc.card, merchant=merchant, amount_minor=1_799, channel="ecommerce", when=None)
    payment.with_3ds, payment.low_value_claim = False, True
    player = _Player((False, "sca_required"))
    stats: Counter[str] = Counter()
    assert _authorize(player, payment, "sim-1", stats) == "sim-1-3ds"
    claimed, again = player.sent
    assert claimed["sca_exemption"] == "low_value" and "three_ds" not in claimed
    assert again["id"] == "sim-1-3ds" and "sca_exemption" not in again
    # A real value of our ACS: the simulated holder passed the challenge, which reset the counters.
    record = AuthenticationRecord.objects.get(authentication_value=again["three_ds"]["authentication_value"])
    assert (record.exemption, record.status, again["three_ds"]["eci"]) == ("", RecordStatus.AUTHENTICATED, "02")
    assert record.challenge_ended_at is not None and tc.refresh().psd2_remote_count == 0
    # ... and its RReq went to the (in-process) directory server, as after a real challenge.
    assert record.rreq_status == RReqStatus.DELIVERED and json.loads(record.rres)["resultsStatus"] == "01"
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
    # Yesterday's run left its day open (its clearing would come this morning, after it stopped).
    simulate_card_traffic(days=0, per_day=3, seed=4, now=_yesterday_noon())
    left_open = set(Authorization.objects.filter(status__in=HOLDING_STATUSES).values_list("processor_id", flat=True))
    assert left_open
    before = set(Authorization.objects.values_list("pk", flat=True))

    output = _run("--url", live_server.url, "--days", "0", "--per-day", "3", "--seed", "5")

    assert "later today" not in output
    rows = Authorization.objects.exclude(pk__in=before)
    assert rows.count() >= 4
    assert set(rows.values_list("local_date", flat=True)) == {timezone.localdate()}
    # The API's audit rows name the API key, not the simulator's system actor: it went over HTTP.
    actors = set(
        AuditEvent.objects.filter(
            action__in=["processing.authorization.approved", "processing.authorization.declined"],
            object_id__in=[str(pk) for pk in rows.values_list("pk", flat=True)],
        ).values_list("actor_type", flat=True)
    )
    assert actors == {"api_client"}
    # Today's payments stay pending (they clear tomorrow); yesterday's were cleared over HTTP too.
    assert not Posting.objects.filter(authorization__in=rows).exists()
    late = Posting.objects.filter(authorization__processor_id__in=left_open)
    assert {posting.record_id for posting in late} == {f"{pid}-late" for pid in left_open}
    clearing_actors = set(
        AuditEvent.objects.filter(
            action="processing.clearing.posted", object_id__in=[str(p.pk) for p in late]
        ).values_list("actor_type", flat=True)
    )
    assert clearing_actors == {"api_client"}
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


# --- Clearing -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_todays_payments_stay_pending_and_yesterdays_are_settled_this_morning():
    tc = active_card()
    evening = _evening()
    openings = _openings()
    stats = simulate_card_traffic(days=2, per_day=3, seed=11, now=evening)
    today = timezone.localdate(evening)
    rows = Authorization.objects.filter(approved=True)
    todays = rows.filter(local_date=today)
    assert todays.exists()
    assert set(todays.values_list("status", flat=True)) <= {AuthorizationStatus.PENDING, AuthorizationStatus.REVERSED}
    assert not Posting.objects.filter(authorization__in=todays).exists()
    yesterdays = rows.filter(local_date=today - dt.timedelta(days=1), status=AuthorizationStatus.SETTLED)
    assert yesterdays.exists()
    # Posted at this morning's batch, for the day before, with the batch's processing date.
    for posting in Posting.objects.filter(authorization__in=yesterdays):
        assert timezone.localtime(posting.created_at).hour == 6 and posting.processing_date == today
    assert stats["clearing records posted"] == Posting.objects.count()
    _assert_books_balance(openings)
    assert tc.account.held_minor == sum(todays.values_list("held_minor", flat=True)) + sum(
        rows.filter(status__in=HOLDING_STATUSES).exclude(local_date=today).values_list("held_minor", flat=True)
    )


@pytest.mark.django_db
def test_a_run_first_clears_what_earlier_runs_left_open():
    active_card()
    evening = _evening()
    simulate_card_traffic(days=1, per_day=3, seed=12, now=evening - dt.timedelta(days=1))
    left_open = set(Authorization.objects.filter(status__in=HOLDING_STATUSES).values_list("pk", flat=True))
    assert left_open

    stats = simulate_card_traffic(days=0, per_day=1, seed=12, now=evening)

    assert stats["earlier runs' payments cleared"] == len(left_open)
    cleared = Authorization.objects.filter(pk__in=left_open)
    assert set(cleared.values_list("status", flat=True)) == {AuthorizationStatus.SETTLED}
    assert all(p.record_id.endswith("-late") for p in Posting.objects.filter(authorization__in=cleared))
    assert not Authorization.objects.filter(
        status__in=HOLDING_STATUSES, local_date__lt=timezone.localdate(evening), processor_id__startswith=ID_PREFIX
    ).exists()


_payments = itertools.count(1)


def _yesterday_noon() -> dt.datetime:
    return timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)


def _settle(tc: CardFixture, settlement: Settlement, *, merchant: str = "biedronka") -> tuple[Authorization, Acquirers]:
    """One approved payment of 100 zł yesterday at noon, to be presented as ``settlement`` says."""
    noon = _yesterday_noon()
    shop = MERCHANTS_BY_KEY[merchant]
    authorization = decide(
        tc,
        amount_minor=10_000,
        merchant_name=shop.name,
        mcc=shop.mcc,
        processor_id=f"{ID_PREFIX}-test-{next(_payments)}",
        now=noon,
    ).authorization
    assert authorization.approved
    acquirers = Acquirers(Counter())
    acquirers.settle(authorization.processor_id, settlement, timezone.localdate(noon))
    return authorization, acquirers


def _run_batches(acquirers: Acquirers, *, days_after: int) -> None:
    """Send what is due until noon ``days_after`` the payment's day (the acquirers' batches come at 06:00)."""
    until = timezone.make_aware(
        dt.datetime.combine(_yesterday_noon().date() + dt.timedelta(days=days_after), dt.time(12))
    )
    while (at := acquirers.next_batch_at()) is not None and at <= until:
        acquirers.run_next_batch(ServicePlayer())


@pytest.mark.django_db
def test_a_split_shipment_is_partially_settled_until_its_second_part():
    tc = active_card()
    authorization, acquirers = _settle(tc, Settlement(split_percent=40), merchant="allegro")
    _run_batches(acquirers, days_after=2)
    authorization.refresh_from_db()
    assert (authorization.status, authorization.held_minor) == (AuthorizationStatus.PARTIALLY_SETTLED, 6_000)
    _run_batches(acquirers, days_after=4)
    authorization.refresh_from_db()
    assert authorization.status == AuthorizationStatus.SETTLED
    parts = list(authorization.postings.order_by("pk").values_list("record_id", "billing_amount_minor"))
    assert parts == [(f"{authorization.processor_id}-c1", 4_000), (f"{authorization.processor_id}-c2", 6_000)]


@pytest.mark.django_db
@pytest.mark.parametrize(("merchant", "percent"), [("orlen", 80), ("pierogarnia", 110), ("hotel_krakow", 107)])
def test_fuel_clears_for_less_and_tips_and_hotels_for_more_within_the_tolerance(merchant, percent):
    tc = active_card()
    authorization, acquirers = _settle(tc, Settlement(percent=percent), merchant=merchant)
    _run_batches(acquirers, days_after=1)
    posting = authorization.postings.get()
    assert posting.billing_amount_minor == 10_000 * percent // 100 and not posting.needs_review
    assert percent <= 100 + tolerance_percent(MERCHANTS_BY_KEY[merchant].mcc)


@pytest.mark.django_db
def test_a_duplicate_presentment_is_reversed_the_next_day_and_a_refund_follows():
    tc = active_card()
    openings = _openings()
    _authorization, acquirers = _settle(tc, Settlement(duplicate=True, refund_days=2, refund_percent=50))
    _run_batches(acquirers, days_after=5)
    kinds = list(Posting.objects.order_by("pk").values_list("kind", "billing_amount_minor", "needs_review"))
    assert kinds == [
        (PostingKind.CLEARING, 10_000, False),
        (PostingKind.CLEARING, 10_000, True),  # the duplicate: over what was authorized
        (PostingKind.CLEARING_REVERSAL, 10_000, False),
        (PostingKind.REFUND, 5_000, False),
    ]
    assert tc.account.balance_minor == openings[tc.card.account_id] - 10_000 + 5_000
    _assert_books_balance(openings)


@pytest.mark.django_db
def test_a_force_post_comes_without_an_authorization_in_its_channel():
    tc = active_card()
    shop = MERCHANTS_BY_KEY["allegro"]
    noon = _yesterday_noon()
    payment = Payment(card=tc.card, merchant=shop, amount_minor=2_500, channel="ecommerce", when=noon, force_post=True)
    acquirers = Acquirers(Counter())
    acquirers.force_post(payment, f"{ID_PREFIX}-fp-test", timezone.localdate(noon))
    _run_batches(acquirers, days_after=1)
    posting = Posting.objects.get()
    assert (posting.kind, posting.channel, posting.authorization) == (PostingKind.FORCE_POST, "ecommerce", None)
    assert posting.merchant_name == shop.name and posting.billing_amount_minor == 2_500


@pytest.mark.django_db
def test_a_payment_never_presented_expires_and_a_reversed_one_is_not_cleared():
    tc = active_card()
    never, acquirers = _settle(tc, Settlement(presented=False))
    assert acquirers.next_batch_at() is None  # nothing to send: the hold will expire
    reversed_one, acquirers = _settle(tc, Settlement())
    authorization_reverse(actor=PROCESSOR, authorization_id=reversed_one.processor_id, reversal_id="sim-rev")
    _run_batches(acquirers, days_after=1)
    assert not Posting.objects.exists()
    assert hold_expire_due(now=timezone.now() + dt.timedelta(days=6)) == 1
    never.refresh_from_db()
    assert never.status == AuthorizationStatus.EXPIRED
