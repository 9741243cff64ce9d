"""The processor simulator behind ``manage.py simulate_card_traffic`` (development and the demo only).

It plays a card processor: Polish and foreign merchants with real MCCs
(merchants.py), a mix of contactless, chip, ATM and internet payments, EUR payments
converted at the demo rate, some declines (a wrong PIN, over the limit or the funds,
an internet payment without 3-D Secure), reversals, incremental authorizations
(hotels, fuel) and some advices (stand-in approvals at ATMs). And the acquirers'
side: the clearing of every approved payment, the next day.

PSD2 soft declines are answered as the terminal and the merchant would (docs/processing.md,
"PSD2 exemptions"): taps stay within the country's no-PIN amount (a terminal asks for the PIN
above it), and a tap the card core soft-declines past its contactless counter
(``contactless_pin_required``) is paid again at once by chip; small internet payments often
claim the low-value exemption instead of 3-D Secure, and one soft-declined
(``sca_required``) is sent again with a 3-D Secure authentication.

**3-D Secure** comes from our own ACS, in-process, at the payment's moment: an AReq through
``areq_answer(now=payment.when)`` (terminal.py: ``three_ds_authenticate``). A frictionless Y
(a low-value or trusted-merchant exemption of the ACS) is used as it is. For a C the simulator
plays the holder who typed the right 3-D Secure PIN and SMS code: it ends the challenge with
``challenge_end(authenticated=True, now=…)`` (the SCA that resets the PSD2 counters); no SMS is
sent and no PIN is typed. A holder without a 3-D Secure PIN cannot pass a challenge: the payment
goes without 3-D Secure and the card core soft-declines it, as it would a real one. An N or R
(a card that cannot pay, internet payments locked) goes without 3-D Secure too.

Two ways to play, one traffic plan:

* **Past moments (back-fill)** go through the service layer with an explicit past
  ``now`` (``authorization_decide(now=…)``, ``authorization_increment(now=…)``,
  ``advice_record(now=…)``, ``clearing_post_batch(now=…)``): the API always decides
  and posts at the server's "now" and no clock can be faked across processes, so
  months of demo history can only be written this way. The requests and clearing
  records are still parsed by the API's own schemas. Reversals take no time (the
  service stamps them now). Between the days, the holds past their lifetime expire
  (``hold_expire_due``), as the periodic job would have done. Today's traffic up to
  now is back-filled so too when there is no ``--url`` (a fresh demo has today's
  pending payments); what is planned later today is skipped.
* **Today** goes over real HTTP to the processor API (``--url``), with a processor key.

**Clearing.** Each day's approved payments are cleared in the next day's batch
(06:00 Warsaw), as an acquirer presents them: most for what they hold; fuel for
less (the tank took less than the pump pre-authorized); restaurants, taxis and
hotels for more, within the MCC's over-capture tolerance (a tip, the minibar); some
online orders in two parts (a split shipment: the rest two days later, partially
settled until then); a few never (the hold expires); now and then a duplicate
presentment that the acquirer reverses the next day, a refund a few days later, or
a force post without any authorization. A batch due after ``now`` does not happen:
today's payments stay pending, they would clear tomorrow. A run first clears what
earlier runs left open on days that have passed (their "today", a split's rest),
over HTTP with ``--url``, else through the service.

The simulator never knows a card's PIN (only a keyed verification value is stored):
its chip payments go without a PIN, ATM withdrawals arrive as stand-in advices, and a
"wrong PIN" is a random PIN on a card that has a PIN set, at most one per card per run
and only while its wrong-PIN counter is 0, so the simulator never blocks a PIN. That is
also why a soft-declined tap is re-run by chip, not as a tap with the PIN as a real
terminal would: only a right PIN or a 3-D Secure challenge resets the contactless
counter, so a card that paid 5 taps in a row is soft-declined again until its next
3-D Secure challenge.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import itertools
import random
import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils import timezone

from kartosfera.acs.directory import rreq_deliver
from kartosfera.acs.models import TransStatus
from kartosfera.acs.services import challenge_end
from kartosfera.cards.models import Card
from kartosfera.cards.pan import decrypt_pan
from kartosfera.cards.usability import card_usability
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError
from kartosfera.processing.adjustments import authorization_increment, authorization_reverse, hold_expire_due
from kartosfera.processing.advices import advice_record
from kartosfera.processing.api import authorization_request_from as api_request
from kartosfera.processing.api import clearing_record_from
from kartosfera.processing.clearing import clearing_post_batch, tolerance_percent
from kartosfera.processing.codes import Reason
from kartosfera.processing.merchants import MERCHANTS, DemoMerchant, demo_billing
from kartosfera.processing.models import HOLDING_STATUSES, Authorization, Channel, ScaExemption
from kartosfera.processing.schemas import AdviceIn, AuthorizationIn, ClearingBatchIn
from kartosfera.processing.services import authorization_decide
from kartosfera.processing.terminal import ProcessorClient, authorization_body, three_ds_authenticate, three_ds_data

ACTOR = Actor.system("manage.py simulate_card_traffic")
ID_PREFIX = "sim"
# How often things happen (per payment).
ATM_SHARE = 0.07
FOREIGN_SHARE = 0.2
WRONG_PIN_SHARE = 0.03
OVER_LIMIT_SHARE = 0.03
NO_3DS_SHARE = 0.05
REVERSAL_SHARE = 0.05
CONTACTLESS_SHARE = 0.75
# A terminal takes a tap without a PIN up to the country's limit (Poland: 100 PLN; the euro countries: EUR 50,
# the RTS's ceiling); above it, the simulator pays by chip.
CONTACTLESS_MAX_MINOR = {"PLN": 10_000, "EUR": 5_000}
# Small internet payments that claim the low-value exemption (RTS art. 16) instead of 3-D Secure.
LOW_VALUE_SHARE = 0.5
LOW_VALUE_MAX_MINOR = {"PLN": 10_000, "EUR": 2_500}
# A card that cannot pay (blocked, lost, expired, not activated) is tried now and then, not daily.
UNUSABLE_SHARE = 0.05
# Clearing (per approved payment, or per payment for a force post).
CLEARING_HOUR = 6  # the acquirers' batch of the day before, Warsaw time
# When a simulated day begins for the bank's nightly jobs (``day_begins``: the statement close), Warsaw time:
# after midnight, before the acquirers' batch and the day's first payment.
DAY_START = dt.time(1, 0)
NOT_PRESENTED_SHARE = 0.03  # the merchant never clears: the hold expires
SPLIT_SHARE = 0.3  # of online orders: shipped in two parts
SPLIT_GAP_DAYS = 2  # the second part clears this long after the first
DUPLICATE_SHARE = 0.02  # presented twice; the acquirer reverses the duplicate the next day
REFUND_SHARE = 0.04
FORCE_POST_SHARE = 0.02  # cleared without any authorization (offline: on board, a toll gate)
FUEL_MCCS = frozenset({"5541", "5542"})
BATCH_LIMIT = 500  # the clearing endpoint's batch size
# The ACS's rule for a challenge of a holder without a 3-D Secure PIN (acs/decision.py): it can only end N.
NO_THREEDS_PIN_RULE = "no_threeds_pin"


@dataclass(frozen=True)
class Settlement:
    """How the acquirer clears an approved payment (shares of what it still holds when the batch runs)."""

    presented: bool = True  # False: never cleared, the hold expires
    percent: int = 100  # the cleared amount: below 100 for fuel, above (within the tolerance) for a tip
    split_percent: int = 0  # a split shipment's first part; the rest clears SPLIT_GAP_DAYS later
    duplicate: bool = False  # presented twice; the duplicate is reversed the next day
    refund_days: int = 0  # a refund this many days after the clearing (0: none)
    refund_percent: int = 0


@dataclass
class Payment:
    """One planned card payment and what follows it if approved."""

    card: Card
    merchant: DemoMerchant
    amount_minor: int
    channel: str
    when: dt.datetime  # today's: the planned time (over HTTP, the server's now)
    today: bool = False
    advice: bool = False
    wrong_pin: str | None = None
    with_3ds: bool = True
    # An internet payment without 3-D Secure that claims the low-value exemption.
    low_value_claim: bool = False
    # Follow-ups, only played when the payment was approved: ("increment" | "reversal", amount or None).
    follow_ups: list[tuple[str, int | None]] = field(default_factory=list)
    settlement: Settlement = Settlement()
    # No authorization at all: the merchant clears it straight away (the next day's batch).
    force_post: bool = False

    def key(self) -> tuple[object, ...]:
        """What makes a plan repeatable (the card, merchant, amount, channel, time, kind and clearing)."""
        return (
            self.card.pk,
            self.merchant.key,
            self.amount_minor,
            self.channel,
            self.when,
            self.advice,
            self.wrong_pin is not None,
            self.with_3ds,
            self.low_value_claim,
            tuple(self.follow_ups),
            self.settlement,
            self.force_post,
        )


def simulation_cards() -> list[Card]:
    return list(Card.objects.select_related("product", "account", "customer").order_by("pk"))


def _when(rng: random.Random, day: dt.date) -> dt.datetime:
    seconds = rng.randrange(7 * 3600, 22 * 3600)
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
    return timezone.make_aware(naive)


def _merchant(rng: random.Random) -> DemoMerchant:
    draw = rng.random()
    if draw < ATM_SHARE:
        pool = [m for m in MERCHANTS if m.atm]
    elif draw < ATM_SHARE + FOREIGN_SHARE:
        pool = [m for m in MERCHANTS if not m.atm and m.country != "PL"]
    else:
        pool = [m for m in MERCHANTS if not m.atm and m.country == "PL"]
    return rng.choice(pool)


def _settlement(rng: random.Random, merchant: DemoMerchant) -> Settlement:
    """How the payment will clear, if approved (the module's docstring: "Clearing")."""
    if merchant.atm:
        return Settlement()  # cash clears as dispensed
    if rng.random() < NOT_PRESENTED_SHARE:
        return Settlement(presented=False)
    percent = 100
    tolerance = tolerance_percent(merchant.mcc)
    if merchant.mcc in FUEL_MCCS:
        percent = rng.randrange(55, 100)  # the tank took less than the pump pre-authorized
    elif tolerance:
        percent = rng.randrange(100, 101 + tolerance // 2)  # a tip, the minibar: within the tolerance
    split = rng.randrange(30, 71) if merchant.online and rng.random() < SPLIT_SHARE else 0
    duplicate = not split and rng.random() < DUPLICATE_SHARE
    refund_days = refund_percent = 0
    if rng.random() < REFUND_SHARE:
        refund_days = rng.randrange(2, 8)
        refund_percent = 100 if rng.random() < 0.5 else rng.randrange(10, 100)
    return Settlement(
        percent=percent,
        split_percent=split,
        duplicate=duplicate,
        refund_days=refund_days,
        refund_percent=refund_percent,
    )


def _payment(rng: random.Random, card: Card, when: dt.datetime, *, pin_try: bool, today: bool = False) -> Payment:
    merchant = _merchant(rng)
    amount = rng.randrange(merchant.low_minor, merchant.high_minor + 1)
    if merchant.atm:
        amount = max(amount // 5_000 * 5_000, 5_000)  # ATMs pay out whole notes
    over_limit = rng.random() < OVER_LIMIT_SHARE
    if over_limit and not merchant.atm:
        amount *= 40
    if merchant.atm:
        channel = Channel.ATM
    elif merchant.online:
        channel = Channel.ECOMMERCE
    elif amount <= CONTACTLESS_MAX_MINOR[merchant.currency] and rng.random() < CONTACTLESS_SHARE:
        channel = Channel.POS_CONTACTLESS
    else:
        channel = Channel.POS_CHIP
    payment = Payment(card=card, merchant=merchant, amount_minor=amount, channel=channel, when=when, today=today)
    payment.with_3ds = rng.random() >= NO_3DS_SHARE
    low_value_draw = rng.random()
    small = amount <= LOW_VALUE_MAX_MINOR[merchant.currency]
    if channel == Channel.ECOMMERCE and payment.with_3ds and small and low_value_draw < LOW_VALUE_SHARE:
        payment.with_3ds, payment.low_value_claim = False, True
    wrong_pin_draw = rng.random()
    if merchant.atm:
        if pin_try and wrong_pin_draw < 0.3:
            payment.wrong_pin = f"{rng.randrange(10_000):04d}"
        else:
            payment.advice = True  # the scheme approved it in stand-in and tells us afterwards
    elif channel == Channel.POS_CHIP and pin_try and wrong_pin_draw < WRONG_PIN_SHARE:
        payment.wrong_pin = f"{rng.randrange(10_000):04d}"
    follow_draw = rng.random()
    extra = rng.randrange(max(amount // 5, 1), max(amount // 2, 2))
    if merchant.incremental and merchant.mcc == "7011":
        payment.follow_ups.append(("increment", extra))  # another night
    elif merchant.incremental:
        # Fuel: the pump tops up the pre-authorization, or releases what was not tanked.
        payment.follow_ups.append(("increment", extra) if follow_draw < 0.4 else ("reversal", amount // 3 or 1))
    elif follow_draw < REVERSAL_SHARE:
        payment.follow_ups.append(("reversal", None))  # cancelled at the till
    payment.settlement = _settlement(rng, merchant)
    if not merchant.atm and rng.random() < FORCE_POST_SHARE:
        # Offline: no authorization, no PIN, nothing to follow; the merchant clears it the next day.
        payment.force_post, payment.advice, payment.wrong_pin, payment.follow_ups = True, False, None, []
    return payment


def traffic_plan(
    cards: list[Card],
    *,
    days: int,
    per_day: float,
    seed: int,
    today: dt.date,
    pin_tries: set[int],
    unusable: set[int] | frozenset[int] = frozenset(),
) -> list[Payment]:
    """The payments to play, oldest first: on average ``per_day`` per card for each of the ``days`` past days
    and today (1.5: one or two a day, half and half), with how each will clear.

    ``pin_tries`` are the cards that may get one wrong PIN (changed as it is used); ``unusable`` cards
    (they cannot pay now) are tried on about one day in twenty.
    """
    rng = random.Random(seed)  # noqa: S311 - repeatable demo traffic, not a secret
    plan: list[Payment] = []
    for back in range(days, -1, -1):
        day = today - dt.timedelta(days=back)
        for card in cards:
            whole, part = divmod(per_day, 1)
            for _n in range(int(whole) + (rng.random() < part)):
                payment = _payment(rng, card, _when(rng, day), pin_try=card.pk in pin_tries, today=not back)
                if card.pk in unusable and rng.random() >= UNUSABLE_SHARE:
                    continue
                if payment.wrong_pin is not None:
                    pin_tries.discard(card.pk)
                plan.append(payment)
    # Every card gets some history, even one that rarely pays (a blocked card, a low --per-day).
    if days:
        paid = {p.card.pk for p in plan if not p.today and not p.force_post}
        for card in cards:
            if card.pk not in paid:
                day = today - dt.timedelta(days=rng.randrange(1, days + 1))
                payment = _payment(rng, card, _when(rng, day), pin_try=False)
                payment.force_post = False
                plan.append(payment)
    # In time order (the card core's days and counters expect history to grow); today's come last.
    return sorted(plan, key=lambda p: (p.when, p.card.pk))


class Player(Protocol):
    def moment(self, payment: Payment) -> dt.datetime: ...
    def authorize(self, body: dict[str, Any], payment: Payment) -> tuple[bool, str]: ...
    def advise(self, body: dict[str, Any], payment: Payment) -> None: ...
    def reverse(self, authorization_id: str, body: dict[str, Any], payment: Payment) -> None: ...
    def increment(self, authorization_id: str, body: dict[str, Any], payment: Payment) -> None: ...
    def clear(self, records: list[dict[str, Any]], at: dt.datetime) -> list[str]: ...


class ServicePlayer:
    """Past moments: the service layer with their own time (see the module's docstring)."""

    def moment(self, payment: Payment) -> dt.datetime:
        return payment.when

    def authorize(self, body: dict[str, Any], payment: Payment) -> tuple[bool, str]:
        request = api_request(AuthorizationIn.model_validate(body))
        decision = authorization_decide(actor=ACTOR, request=request, pin_block=body.get("pin_block"), now=payment.when)
        return decision.authorization.approved, decision.authorization.decline_reason

    def advise(self, body: dict[str, Any], payment: Payment) -> None:
        payload = AdviceIn.model_validate(body)
        advice_record(
            actor=ACTOR,
            request=api_request(payload),
            approved=payload.decision.approved,
            response_code=payload.decision.response_code,
            authorization_code=payload.decision.authorization_code,
            now=payment.when,
        )

    def reverse(self, authorization_id: str, body: dict[str, Any], payment: Payment) -> None:
        authorization_reverse(
            actor=ACTOR,
            authorization_id=authorization_id,
            reversal_id=body["id"],
            amount_minor=body.get("amount_minor"),
            billing_amount_minor=body.get("billing_amount_minor"),
        )

    def increment(self, authorization_id: str, body: dict[str, Any], payment: Payment) -> None:
        authorization_increment(
            actor=ACTOR,
            authorization_id=authorization_id,
            increment_id=body["id"],
            amount_minor=body["amount_minor"],
            billing_amount_minor=body.get("billing_amount_minor"),
            now=payment.when + dt.timedelta(hours=2),
        )

    def clear(self, records: list[dict[str, Any]], at: dt.datetime) -> list[str]:
        outcomes: list[str] = []
        for start in range(0, len(records), BATCH_LIMIT):
            batch = ClearingBatchIn.model_validate({"records": records[start : start + BATCH_LIMIT]})
            results = clearing_post_batch(
                actor=ACTOR, records=[clearing_record_from(record) for record in batch.records], now=at
            )
            outcomes += [result.outcome for result in results]
        return outcomes


class SimulationError(Exception):
    """The API refused a request the simulator built (a bug, a wrong key or URL)."""


class HttpPlayer:
    """Today: the real processor API over HTTP."""

    def __init__(self, client: ProcessorClient) -> None:
        self.client = client

    def moment(self, payment: Payment) -> dt.datetime:
        return timezone.now()  # the server decides at its own now

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.post(path, body)
        if answer.status != 200:
            raise SimulationError(f"POST {path}: {answer.status or 'unreachable'} {answer.body.get('detail', '')}")
        return answer.body

    def authorize(self, body: dict[str, Any], payment: Payment) -> tuple[bool, str]:
        answer = self._post("authorizations", body)
        return bool(answer["approved"]), answer.get("decline_reason") or ""

    def advise(self, body: dict[str, Any], payment: Payment) -> None:
        self._post("advices", body)

    def reverse(self, authorization_id: str, body: dict[str, Any], payment: Payment) -> None:
        self._post(f"authorizations/{authorization_id}/reversals", body)

    def increment(self, authorization_id: str, body: dict[str, Any], payment: Payment) -> None:
        self._post(f"authorizations/{authorization_id}/increments", body)

    def clear(self, records: list[dict[str, Any]], at: dt.datetime) -> list[str]:
        outcomes: list[str] = []
        for start in range(0, len(records), BATCH_LIMIT):
            answer = self._post("clearing", {"records": records[start : start + BATCH_LIMIT]})
            outcomes += [record["outcome"] for record in answer["records"]]
        return outcomes


def run_tag(seed: int) -> str:
    """The ids' prefix of this run: the seed and a random run id, so a second run never collides with the first.

    The seed repeats the traffic (cards, merchants, amounts, channels, times), not the ids.
    """
    return f"{ID_PREFIX}-s{seed}-{secrets.token_hex(4)}"


def _three_ds(payment: Payment, when: dt.datetime) -> dict[str, str]:
    """The payment's 3-D Secure data from our ACS at ``when`` (the module's docstring, "3-D Secure"); {} when
    the holder is not authenticated."""
    record = three_ds_authenticate(
        card=payment.card,
        merchant=payment.merchant,
        amount_minor=payment.amount_minor,
        currency=payment.merchant.currency,
        now=when,
    )
    if record.trans_status == TransStatus.CHALLENGE and record.decision_rule != NO_THREEDS_PIN_RULE:
        # The holder typed the right 3-D Secure PIN and SMS code (simulated: nothing is typed, no SMS is sent).
        record = challenge_end(actor=ACTOR, record=record, authenticated=True, now=when)
        # And the ACS tells the directory server, as after a real challenge (the demo's in-process one).
        rreq_deliver(record_id=record.pk, now=when)
    return three_ds_data(record) if record.trans_status == TransStatus.AUTHENTICATED else {}


def _body(
    payment: Payment,
    processor_id: str,
    *,
    channel: str,
    with_3ds: bool,
    claim: str = "",
    when: dt.datetime | None = None,
) -> dict[str, Any]:
    three_ds: dict[str, str] = {}
    if with_3ds and channel == Channel.ECOMMERCE and when is not None:
        three_ds = _three_ds(payment, when)
    return authorization_body(
        card=payment.card,
        merchant=payment.merchant,
        amount_minor=payment.amount_minor,
        currency=payment.merchant.currency,
        channel=channel,
        pin=payment.wrong_pin,
        processor_id=processor_id,
        network_transaction_id=f"NT-{processor_id}",
        three_ds=three_ds,
        sca_exemption=claim,
    )


# A PSD2 soft decline and how the payment is sent again: (the retry's id suffix, its channel, with 3-D Secure).
RETRIES = {
    # The terminal would ask for the PIN and take the tap again; the simulator knows no PIN: chip (module doc).
    Reason.CONTACTLESS_PIN_REQUIRED: ("chip", Channel.POS_CHIP, False),
    # The merchant's 3-D Secure server authenticates the holder and sends the payment again.
    Reason.SCA_REQUIRED: ("3ds", Channel.ECOMMERCE, True),
}


def _authorize(player: Player, payment: Payment, processor_id: str, stats: Counter[str]) -> str | None:
    """Authorize ``payment`` (and once more after a PSD2 soft decline); the approved authorization's id, or None."""
    claim = ScaExemption.LOW_VALUE if payment.low_value_claim else ""
    when = player.moment(payment)
    body = _body(payment, processor_id, channel=payment.channel, with_3ds=payment.with_3ds, claim=claim, when=when)
    approved, reason = player.authorize(body, payment)
    stats["approved" if approved else "declined"] += 1
    retry = RETRIES.get(reason)
    if approved or retry is None or (reason == Reason.SCA_REQUIRED and not payment.low_value_claim):
        # A plain internet payment without 3-D Secure stays declined: the demo's example of the soft decline.
        return processor_id if approved else None
    suffix, channel, with_3ds = retry
    retry_id = f"{processor_id}-{suffix}"
    again = _body(payment, retry_id, channel=channel, with_3ds=with_3ds, when=when)
    approved, _reason = player.authorize(again, payment)
    stats["approved" if approved else "declined"] += 1
    stats[f"re-sent after {reason}"] += 1
    return retry_id if approved else None


def _play(player: Player, payment: Payment, processor_id: str, stats: Counter[str]) -> str | None:
    """Play the payment and its follow-ups; the id of the authorization that holds money now (approved, a retry
    approved after a soft decline, or an approved advice), else None."""
    card = payment.card
    currency = payment.merchant.currency
    if payment.advice:
        body = _body(payment, processor_id, channel=payment.channel, with_3ds=payment.with_3ds)
        body["decision"] = {"approved": True, "response_code": "00", "authorization_code": processor_id[-6:].upper()}
        player.advise(body, payment)
        stats["advices"] += 1
        return processor_id
    approved_id = _authorize(player, payment, processor_id, stats)
    if approved_id is None:
        return None
    for number, (kind, amount) in enumerate(payment.follow_ups, start=1):
        follow: dict[str, Any] = {"id": f"{approved_id}-{kind[:3]}{number}"}
        if amount is not None:
            follow["amount_minor"] = amount
            billing = demo_billing(amount, currency, card.account.currency)
            if billing is not None:
                follow["billing_amount_minor"] = billing[0]
        if kind == "increment":
            player.increment(approved_id, follow, payment)
            stats["increments"] += 1
        else:
            player.reverse(approved_id, follow, payment)
            stats["reversals"] += 1
    return approved_id


def _batch_time(day: dt.date) -> dt.datetime:
    """When the acquirers' clearing batch of ``day`` - 1 comes in."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(CLEARING_HOUR)))


def _arn(record_id: str) -> str:
    """A repeatable 23-digit acquirer reference number for a record."""
    return ("74" + str(int(hashlib.sha256(record_id.encode()).hexdigest(), 16)))[:23]


Make = Callable[[dt.datetime], list[dict[str, Any]]]


class Acquirers:
    """The acquirers' side: clearing records due at set moments, sent in batches in time order.

    A record is built when its batch runs, from what the authorization holds then (after its
    increments and reversals): the simulator shares the card core's database, and reading the
    authorization is what the processor's own books would say.
    """

    def __init__(self, stats: Counter[str]) -> None:
        self.stats = stats
        self._queue: list[tuple[dt.datetime, int, Make]] = []
        self._order = itertools.count()
        self._cards: dict[int, dict[str, str]] = {}

    def next_batch_at(self) -> dt.datetime | None:
        return self._queue[0][0] if self._queue else None

    def schedule(self, at: dt.datetime, make: Make) -> None:
        heapq.heappush(self._queue, (at, next(self._order), make))

    def run_next_batch(self, player: Player) -> None:
        """Send every record due at the earliest moment as one batch."""
        at = self._queue[0][0]
        records: list[dict[str, Any]] = []
        while self._queue and self._queue[0][0] == at:
            _at, _n, make = heapq.heappop(self._queue)
            records += make(at)
        if records:
            for outcome in player.clear(records, at):
                self.stats[f"clearing records {outcome}"] += 1

    def card(self, card: Card) -> dict[str, str]:
        """The record's card (its full number only inside the record, as in the authorization's body)."""
        if card.pk not in self._cards:
            self._cards[card.pk] = {"pan": decrypt_pan(card.pan_ciphertext), "expiry": card.expiry.strftime("%Y-%m")}
        return self._cards[card.pk]

    def record(
        self, authorization: Authorization, record_id: str, billing: int, at: dt.datetime, **values: Any
    ) -> dict[str, Any]:
        """A record of ``billing`` (the account's currency) of the authorization's payment."""
        assert authorization.card is not None
        record: dict[str, Any] = {
            "id": record_id,
            "kind": "clearing",
            "network_transaction_id": authorization.network_transaction_id,
            "card": self.card(authorization.card),
            "amount_minor": billing,
            "currency": authorization.currency,
            "acquirer_reference_number": _arn(record_id),
            "processing_date": timezone.localdate(at).isoformat(),
            **values,
        }
        if authorization.currency != authorization.billing_currency:
            # The scheme converts at the payment's rate: the transaction amount that bills ``billing``.
            record["amount_minor"] = max(
                1, round(billing * authorization.amount_minor / authorization.billing_amount_minor)
            )
            record["billing_amount_minor"] = billing
            record["billing_currency"] = authorization.billing_currency
            if authorization.billing_rate is not None:
                record["billing_rate"] = str(authorization.billing_rate)
        return record

    def settle(self, processor_id: str, settlement: Settlement, payment_day: dt.date) -> None:
        """Present an approved payment in the next day's batch, as ``settlement`` says."""
        if not settlement.presented:
            self.stats["not presented (the hold expires)"] += 1
            return

        def first(at: dt.datetime) -> list[dict[str, Any]]:
            authorization = _open_authorization(processor_id)
            if authorization is None:
                return []  # reversed in full: nothing to clear
            held = authorization.held_minor
            if settlement.split_percent:
                billing = max(1, held * settlement.split_percent // 100)
                self.stats["split shipments"] += 1
                self.schedule(_batch_time(timezone.localdate(at) + dt.timedelta(days=SPLIT_GAP_DAYS)), rest)
                return [self.record(authorization, f"{processor_id}-c1", billing, at, final=False)]
            billing = max(1, held * settlement.percent // 100)
            records = [self.record(authorization, f"{processor_id}-c1", billing, at)]
            if settlement.duplicate:
                duplicate = self.record(authorization, f"{processor_id}-c1d", billing, at)
                records.append(duplicate)
                self.schedule(_batch_time(timezone.localdate(at) + dt.timedelta(days=1)), reverse(duplicate))
            if settlement.refund_days:
                refund_at = _batch_time(timezone.localdate(at) + dt.timedelta(days=settlement.refund_days))
                self.schedule(refund_at, refund(records[0]))
            return records

        def rest(at: dt.datetime) -> list[dict[str, Any]]:
            authorization = _open_authorization(processor_id)
            if authorization is None:
                return []  # the rest was reversed, or has expired
            return [self.record(authorization, f"{processor_id}-c2", authorization.held_minor, at)]

        def reverse(duplicate: dict[str, Any]) -> Make:
            def make(at: dt.datetime) -> list[dict[str, Any]]:
                self.stats["duplicate presentments reversed"] += 1
                amounts = ("card", "amount_minor", "currency", "billing_amount_minor", "billing_currency")
                body = {key: duplicate[key] for key in amounts if key in duplicate}
                return [
                    {
                        "id": f"{processor_id}-c1d-rev",
                        "kind": "clearing_reversal",
                        "original_record_id": duplicate["id"],
                        "acquirer_reference_number": duplicate["acquirer_reference_number"],
                        "processing_date": timezone.localdate(at).isoformat(),
                        **body,
                    }
                ]

            return make

        def refund(cleared: dict[str, Any]) -> Make:
            def make(at: dt.datetime) -> list[dict[str, Any]]:
                amount = max(1, cleared["amount_minor"] * settlement.refund_percent // 100)
                record = {
                    "id": f"{processor_id}-ref",
                    "kind": "refund",
                    "network_transaction_id": cleared["network_transaction_id"],
                    "card": cleared["card"],
                    "amount_minor": amount,
                    "currency": cleared["currency"],
                    "acquirer_reference_number": _arn(f"{processor_id}-ref"),
                    "processing_date": timezone.localdate(at).isoformat(),
                }
                if "billing_currency" in cleared:
                    converted = demo_billing(amount, cleared["currency"], cleared["billing_currency"])
                    if converted is not None:
                        record["billing_amount_minor"] = converted[0]
                        record["billing_currency"] = cleared["billing_currency"]
                self.stats["refunds"] += 1
                return [record]

            return make

        self.schedule(_batch_time(payment_day + dt.timedelta(days=1)), first)

    def force_post(self, payment: Payment, processor_id: str, payment_day: dt.date) -> None:
        """A payment without an authorization, cleared in the next day's batch."""

        def make(at: dt.datetime) -> list[dict[str, Any]]:
            merchant = payment.merchant
            record: dict[str, Any] = {
                "id": f"{processor_id}-fp",
                "kind": "clearing",
                "network_transaction_id": f"NT-{processor_id}",
                "card": self.card(payment.card),
                "amount_minor": payment.amount_minor,
                "currency": merchant.currency,
                "merchant": {
                    "name": merchant.name,
                    "city": merchant.city,
                    "country": merchant.country,
                    "mcc": merchant.mcc,
                },
                "channel": payment.channel,
                "acquirer_reference_number": _arn(f"{processor_id}-fp"),
                "processing_date": timezone.localdate(at).isoformat(),
            }
            billing = demo_billing(payment.amount_minor, merchant.currency, payment.card.account.currency)
            if billing is not None:
                record["billing_amount_minor"] = billing[0]
                record["billing_currency"] = payment.card.account.currency
                record["billing_rate"] = str(billing[1])
            self.stats["force posts"] += 1
            return [record]

        self.schedule(_batch_time(payment_day + dt.timedelta(days=1)), make)


def _open_authorization(processor_id: str) -> Authorization | None:
    """The authorization, if it still holds money (else there is nothing left to clear)."""
    return (
        Authorization.objects.select_related("card")
        .filter(processor_id=processor_id, status__in=HOLDING_STATUSES, held_minor__gt=0)
        .first()
    )


def _clear_earlier_runs(acquirers: Acquirers, player: Player, now: dt.datetime) -> None:
    """What earlier runs left open on a day that has passed (their today's traffic, a split's rest) clears now,
    for what it still holds. The record id is fixed per authorization: a run that failed is retried as is."""
    earlier = Authorization.objects.select_related("card").filter(
        processor_id__startswith=f"{ID_PREFIX}-",
        status__in=HOLDING_STATUSES,
        held_minor__gt=0,
        card__isnull=False,
        local_date__lt=timezone.localdate(now),
    )
    records = [acquirers.record(a, f"{a.processor_id}-late", a.held_minor, now) for a in earlier.order_by("pk")]
    if records:
        acquirers.stats["earlier runs' payments cleared"] += len(records)
        for outcome in player.clear(records, now):
            acquirers.stats[f"clearing records {outcome}"] += 1


def simulation_plan(*, days: int, per_day: float, seed: int, now: dt.datetime) -> list[Payment]:
    """The traffic plan for the cards as they are now (the same seed and cards: the same plan)."""
    cards = simulation_cards()
    # Cards that may get one wrong PIN: a PIN is set and no wrong PIN is counted (never a 3rd in a row).
    pin_tries = {c.pk for c in cards if c.pin_verification_value and c.wrong_pin_count == 0}
    unusable = {c.pk for c in cards if not card_usability(c, now=now).usable}
    return traffic_plan(
        cards,
        days=days,
        per_day=per_day,
        seed=seed,
        today=timezone.localdate(now),
        pin_tries=pin_tries,
        unusable=unusable,
    )


def simulate_card_traffic(
    *,
    days: int,
    per_day: float,
    seed: int,
    client: ProcessorClient | None = None,
    now: dt.datetime | None = None,
    day_begins: Callable[[dt.datetime], Mapping[str, int]] | None = None,
) -> Counter[str]:
    """Play ``days`` past days (and today up to ``now``) through the service layer, and their clearing the next
    day; with a ``client``, today over HTTP instead.

    ``day_begins(moment)`` is called as each simulated day begins (``DAY_START`` Warsaw, or ``now`` if that is
    later than now), before anything else of that day: the bank's nightly jobs, which see every day before it
    whole (the demo's statement close and repayments, kartosfera/statements/demo.py; passed in, so that the card
    processor's simulator knows nothing of the bank's statements). What it returns is added to the counts.
    """
    now = now or timezone.now()
    plan = simulation_plan(days=days, per_day=per_day, seed=seed, now=now)
    tag = run_tag(seed)
    stats: Counter[str] = Counter()
    service, http = ServicePlayer(), HttpPlayer(client) if client is not None else None
    acquirers = Acquirers(stats)
    _clear_earlier_runs(acquirers, http or service, now)
    day: dt.date | None = None
    # The last day whose nightly jobs ran: the day before the first simulated day, at first.
    begun = timezone.localdate(now) - dt.timedelta(days=days + 1)

    def next_day_start() -> dt.datetime | None:
        if day_begins is None or begun >= timezone.localdate(now):
            return None
        return min(timezone.make_aware(dt.datetime.combine(begun + dt.timedelta(days=1), DAY_START)), now)

    def expire_on_a_new_day(moment: dt.datetime) -> None:
        # A new day: the holds that ran out by then drop out, as the periodic job would have done.
        nonlocal day
        if timezone.localdate(moment) != day:
            day = timezone.localdate(moment)
            stats["holds expired"] += hold_expire_due(now=moment)

    def advance(moment: dt.datetime) -> None:
        """Everything the acquirers send up to ``moment``, and the days that begin meanwhile, in time order."""
        nonlocal begun
        while True:
            at = acquirers.next_batch_at()
            starts = next_day_start()
            if starts is not None and starts <= moment and (at is None or starts <= at):
                assert day_begins is not None
                expire_on_a_new_day(starts)
                stats.update(day_begins(starts))
                begun = timezone.localdate(starts)
            elif at is not None and at <= moment:
                expire_on_a_new_day(at)
                acquirers.run_next_batch(service)
            else:
                break
        expire_on_a_new_day(moment)

    for number, payment in enumerate(plan, start=1):
        processor_id = f"{tag}-{number:06d}"
        if payment.today and http is not None:
            advance(now)  # this morning's batch comes before today's traffic
            if not payment.force_post:
                _play(http, payment, processor_id, stats)
            continue
        if payment.when > now:
            stats["later today (skipped)"] += 1
            continue
        advance(payment.when)
        if payment.force_post:
            acquirers.force_post(payment, processor_id, timezone.localdate(payment.when))
            continue
        try:
            holding_id = _play(service, payment, processor_id, stats)
        except DomainError as exc:  # e.g. an unsupported currency for an account: skip, never half-done
            stats[f"refused: {exc.message}"] += 1
            continue
        if holding_id is not None:
            acquirers.settle(holding_id, payment.settlement, timezone.localdate(payment.when))
    advance(now)  # a batch due later than now does not happen (yet): today's payments stay pending
    stats["holds expired"] += hold_expire_due(now=now)
    return stats
