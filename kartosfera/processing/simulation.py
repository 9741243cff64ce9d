"""The processor simulator behind ``manage.py simulate_card_traffic`` (development and the demo only).

It plays a card processor: Polish and foreign merchants with real MCCs
(merchants.py), a mix of contactless, chip, ATM and internet payments, EUR payments
converted at the demo rate, some declines (a wrong PIN, over the limit or the funds,
an internet payment without 3-D Secure), reversals, incremental authorizations
(hotels, fuel) and some advices (stand-in approvals at ATMs).

PSD2 soft declines are answered as the terminal and the merchant would (docs/processing.md,
"PSD2 exemptions"): taps stay within the country's no-PIN amount (a terminal asks for the PIN
above it), and a tap the card core soft-declines past its contactless counter
(``contactless_pin_required``) is paid again at once by chip; small internet payments often
claim the low-value exemption instead of 3-D Secure, and one soft-declined
(``sca_required``) is sent again with a 3-D Secure authentication, which resets the counters.

Two ways to play, one traffic plan:

* **Past days (back-fill)** go through the service layer with an explicit past
  ``now`` (``authorization_decide(now=…)``, ``authorization_increment(now=…)``,
  ``advice_record(now=…)``): the API always decides at the server's "now" and no clock
  can be faked across processes, so months of demo history can only be written this
  way. The request is still parsed by the API's own schema. Reversals take no time
  (the service stamps them now). Afterwards the holds past their lifetime expire
  (``hold_expire_due``), as the periodic job would have done.
* **Today** goes over real HTTP to the processor API (``--url``), with a processor key.

Clearing does not exist yet (issue 10 clearing endpoint comes later): the approved
authorizations stay pending until their hold expires.

The simulator never knows a card's PIN (only a keyed verification value is stored):
its chip payments go without a PIN, ATM withdrawals arrive as stand-in advices, and a
"wrong PIN" is a random PIN on a card that has a PIN set, at most one per card per run
and only while its wrong-PIN counter is 0, so the simulator never blocks a PIN. That is
also why a soft-declined tap is re-run by chip, not as a tap with the PIN as a real
terminal would: only a right PIN or a 3-D Secure authentication resets the contactless
counter, so a card that paid 5 taps in a row is soft-declined again until its next
authenticated internet payment.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils import timezone

from kartosfera.cards.models import Brand, Card
from kartosfera.cards.usability import card_usability
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError
from kartosfera.processing.adjustments import authorization_increment, authorization_reverse, hold_expire_due
from kartosfera.processing.advices import advice_record
from kartosfera.processing.api import authorization_request_from as api_request
from kartosfera.processing.codes import Reason
from kartosfera.processing.merchants import MERCHANTS, DemoMerchant, demo_billing
from kartosfera.processing.models import Channel, ScaExemption
from kartosfera.processing.schemas import AdviceIn, AuthorizationIn
from kartosfera.processing.services import authorization_decide
from kartosfera.processing.terminal import ProcessorClient, authorization_body

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


@dataclass
class Payment:
    """One planned card payment and what follows it if approved."""

    card: Card
    merchant: DemoMerchant
    amount_minor: int
    channel: str
    when: dt.datetime | None  # None: today, over HTTP
    advice: bool = False
    wrong_pin: str | None = None
    with_3ds: bool = True
    # An internet payment without 3-D Secure that claims the low-value exemption.
    low_value_claim: bool = False
    auth_value: str = ""
    # Follow-ups, only played when the payment was approved: ("increment" | "reversal", amount or None).
    follow_ups: list[tuple[str, int | None]] = field(default_factory=list)

    def key(self) -> tuple[object, ...]:
        """What makes a plan repeatable (the card, merchant, amount, channel, time and kind)."""
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


def _payment(rng: random.Random, card: Card, when: dt.datetime | None, *, pin_try: bool) -> Payment:
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
    payment = Payment(card=card, merchant=merchant, amount_minor=amount, channel=channel, when=when)
    payment.auth_value = base64.b64encode(rng.randbytes(20)).decode()
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
    and today (1.5: one or two a day, half and half).

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
                when = _when(rng, day) if back else None
                payment = _payment(rng, card, when, pin_try=card.pk in pin_tries)
                if card.pk in unusable and rng.random() >= UNUSABLE_SHARE:
                    continue
                if payment.wrong_pin is not None:
                    pin_tries.discard(card.pk)
                plan.append(payment)
    # Every card gets some history, even one that rarely pays (a blocked card, a low --per-day).
    if days:
        paid = {p.card.pk for p in plan if p.when is not None}
        for card in cards:
            if card.pk not in paid:
                day = today - dt.timedelta(days=rng.randrange(1, days + 1))
                plan.append(_payment(rng, card, _when(rng, day), pin_try=False))
    # Past payments in time order (the card core's days and counters expect history to grow).
    past = sorted((p for p in plan if p.when is not None), key=lambda p: (p.when, p.card.pk))
    return past + [p for p in plan if p.when is None]


class Player(Protocol):
    def authorize(self, body: dict[str, Any], payment: Payment) -> tuple[bool, str]: ...
    def advise(self, body: dict[str, Any], payment: Payment) -> None: ...
    def reverse(self, authorization_id: str, body: dict[str, Any], payment: Payment) -> None: ...
    def increment(self, authorization_id: str, body: dict[str, Any], payment: Payment) -> None: ...


class ServicePlayer:
    """Past days: the service layer with the payment's own time (see the module's docstring)."""

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
            now=payment.when + dt.timedelta(hours=2) if payment.when else None,
        )


class SimulationError(Exception):
    """The API refused a request the simulator built (a bug, a wrong key or URL)."""


class HttpPlayer:
    """Today: the real processor API over HTTP."""

    def __init__(self, client: ProcessorClient) -> None:
        self.client = client

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


def run_tag(seed: int) -> str:
    """The ids' prefix of this run: the seed and a random run id, so a second run never collides with the first.

    The seed repeats the traffic (cards, merchants, amounts, channels, times), not the ids.
    """
    return f"{ID_PREFIX}-s{seed}-{secrets.token_hex(4)}"


def _body(payment: Payment, processor_id: str, *, channel: str, with_3ds: bool, claim: str = "") -> dict[str, Any]:
    brand = payment.card.product.brand
    three_ds: dict[str, str] = {}
    if with_3ds:
        three_ds = {"eci": "05" if brand == Brand.VISA else "02", "authentication_value": payment.auth_value}
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
    body = _body(payment, processor_id, channel=payment.channel, with_3ds=payment.with_3ds, claim=claim)
    approved, reason = player.authorize(body, payment)
    stats["approved" if approved else "declined"] += 1
    retry = RETRIES.get(reason)
    if approved or retry is None or (reason == Reason.SCA_REQUIRED and not payment.low_value_claim):
        # A plain internet payment without 3-D Secure stays declined: the demo's example of the soft decline.
        return processor_id if approved else None
    suffix, channel, with_3ds = retry
    retry_id = f"{processor_id}-{suffix}"
    approved, _reason = player.authorize(_body(payment, retry_id, channel=channel, with_3ds=with_3ds), payment)
    stats["approved" if approved else "declined"] += 1
    stats[f"re-sent after {reason}"] += 1
    return retry_id if approved else None


def _play(player: Player, payment: Payment, processor_id: str, stats: Counter[str]) -> None:
    card = payment.card
    currency = payment.merchant.currency
    if payment.advice:
        body = _body(payment, processor_id, channel=payment.channel, with_3ds=payment.with_3ds)
        body["decision"] = {"approved": True, "response_code": "00", "authorization_code": processor_id[-6:].upper()}
        player.advise(body, payment)
        stats["advices"] += 1
        return
    approved_id = _authorize(player, payment, processor_id, stats)
    if approved_id is None:
        return
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
    *, days: int, per_day: float, seed: int, client: ProcessorClient | None = None, now: dt.datetime | None = None
) -> Counter[str]:
    """Play ``days`` past days through the service layer and, with a ``client``, today over HTTP."""
    now = now or timezone.now()
    plan = simulation_plan(days=days, per_day=per_day, seed=seed, now=now)
    tag = run_tag(seed)
    stats: Counter[str] = Counter()
    service, http = ServicePlayer(), HttpPlayer(client) if client is not None else None
    day: dt.date | None = None
    for number, payment in enumerate(plan, start=1):
        processor_id = f"{tag}-{number:06d}"
        if payment.when is not None and timezone.localdate(payment.when) != day:
            # A new past day: the holds that ran out by then drop out, as the periodic job would have done.
            day = timezone.localdate(payment.when)
            stats["holds expired"] += hold_expire_due(now=payment.when)
        if payment.when is not None:
            try:
                _play(service, payment, processor_id, stats)
            except DomainError as exc:  # e.g. an unsupported currency for an account: skip, never half-done
                stats[f"refused: {exc.message}"] += 1
        elif http is not None:
            _play(http, payment, processor_id, stats)
        else:
            stats["today skipped (no --url)"] += 1
    stats["holds expired"] += hold_expire_due(now=now)
    return stats
