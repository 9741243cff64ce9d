"""A card's controls as data: one registry of definitions, and one value object over the card.

Every reader of a card's limits and switches goes through here: the portal's
limits form and card page, the back office's customer file, the provisioning
API, the card services and the decision pipeline (docs/decisions/0011). A new
control is a new ``ControlDefinition`` in ``CONTROLS``; the readers iterate it.

The values stay columns of ``Card`` (and the product's maxima and defaults
columns of ``CardProduct``), named after the control, so that the database
itself checks each row: the CHECK constraints in cards/models.py are generated
from these definitions (0 ≤ limit ≤ maximum, internet ≤ non-cash). This module
is the only one that reads or writes those columns by a computed name.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from kartosfera.core.errors import ValidationFailed
from kartosfera.core.money import Money, amount_error

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from kartosfera.cards.models import Card, CardProduct


class ControlKind(StrEnum):
    AMOUNT_LIMIT = "amount_limit"  # a daily amount per channel, 0 to the product's maximum
    SWITCH = "switch"  # a channel on or off
    COUNT_LIMIT = "count_limit"  # at most so many payments a day per channel, or none


@dataclass(frozen=True)
class ControlDefinition:
    """One control a cardholder (or the bank) sets on a card, and how it is stored and shown."""

    name: str
    kind: ControlKind
    label: StrOrPromise
    # The payments it governs (the pipeline's daily counter group for an amount limit).
    channel: str
    hint: StrOrPromise = ""
    # An amount limit that is part of another one (internet ⊂ non-cash): never above that one's value;
    # the message when it would be, and the limits form's help: capped by the whole now, or not.
    part_of: str | None = None
    part_of_rule: StrOrPromise = ""
    help_capped: StrOrPromise = ""
    help_full: StrOrPromise = ""
    # What a limit of 0 means: on the card page when it is 0, and on the limits form.
    zero_note: StrOrPromise | None = None
    zero_help: StrOrPromise = ""
    # The SMS text of a raise (docs/sms.md): this limit alone, and as one part of several.
    sms_change: StrOrPromise = ""
    sms_part: StrOrPromise = ""
    # The columns; by default named after the control (cash → cash_limit_minor, ...).
    value_field: str = ""
    max_field: str = ""
    product_max_field: str = ""
    product_default_field: str = ""
    # A switch: the card's column, and the product's column saying the card can have it at all.
    product_capable_field: str | None = None

    def __post_init__(self) -> None:
        if self.kind == ControlKind.AMOUNT_LIMIT:
            defaults = {
                "value_field": f"{self.name}_limit_minor",
                "max_field": f"{self.name}_limit_max_minor",
                "product_max_field": f"{self.name}_limit_max_minor",
                "product_default_field": f"{self.name}_limit_default_minor",
            }
        elif self.kind == ControlKind.COUNT_LIMIT:
            defaults = {"value_field": f"{self.name}_limit"}
        else:
            defaults = {"value_field": f"{self.name}_enabled"}
        for attr, value in defaults.items():
            if not getattr(self, attr):
                object.__setattr__(self, attr, value)
        # Checked without translating (the texts are lazy and this runs while the apps load): an empty str.
        texts = (self.part_of_rule, self.help_capped, self.help_full)
        if self.part_of is not None and any(isinstance(t, str) and not t for t in texts):
            raise ValueError(f"control {self.name!r} is part of {self.part_of!r}: say so in its texts")


CASH = ControlDefinition(
    name="cash",
    kind=ControlKind.AMOUNT_LIMIT,
    channel="cash",
    label=gettext_lazy("Cash limit"),
    hint=gettext_lazy("ATM withdrawals per day"),
    sms_change=gettext_lazy("change of the cash limit of card %(card)s to %(amount)s"),
    sms_part=pgettext_lazy("new limits of a card", "cash %(amount)s"),
)
NONCASH = ControlDefinition(
    name="noncash",
    kind=ControlKind.AMOUNT_LIMIT,
    channel="noncash",
    label=gettext_lazy("Non-cash limit"),
    hint=gettext_lazy("Payments in shops and online per day"),
    sms_change=gettext_lazy("change of the non-cash limit of card %(card)s to %(amount)s"),
    sms_part=pgettext_lazy("new limits of a card", "non-cash %(amount)s"),
)
INTERNET = ControlDefinition(
    name="internet",
    kind=ControlKind.AMOUNT_LIMIT,
    channel="internet",
    part_of="noncash",
    part_of_rule=gettext_lazy("The internet limit is part of the non-cash limit and cannot exceed it."),
    help_capped=gettext_lazy(
        "From 0 to %(ceiling)s: the internet limit is part of the non-cash limit and cannot exceed it. "
        "Raise the non-cash limit too to allow up to %(maximum)s."
    ),
    help_full=gettext_lazy("From 0 to %(maximum)s, and no more than the non-cash limit, which it is part of."),
    label=gettext_lazy("Internet limit"),
    hint=gettext_lazy("Online payments per day, part of the non-cash limit"),
    # An internet limit of 0 is the product's default: say what it means and what to do.
    zero_note=gettext_lazy("Internet payments are switched off: set a limit to pay online."),
    zero_help=gettext_lazy("A limit of 0 switches internet payments off."),
    sms_change=gettext_lazy("change of the internet limit of card %(card)s to %(amount)s"),
    sms_part=pgettext_lazy("new limits of a card", "internet %(amount)s"),
)
CONTACTLESS = ControlDefinition(
    name="contactless",
    kind=ControlKind.SWITCH,
    channel="contactless",
    label=gettext_lazy("Contactless payments"),
    product_capable_field="contactless_capable",
)
MOBILE_PAYMENTS = ControlDefinition(
    name="mobile_payments",
    kind=ControlKind.SWITCH,
    channel="wallet",
    label=gettext_lazy("Mobile payments"),
)

# The finer switches (issue 15, docs/controls.md): each governs one kind of payment, the pipeline's
# check of the same name declines it while off.
ATM = ControlDefinition(
    name="atm",
    kind=ControlKind.SWITCH,
    channel="atm",
    label=gettext_lazy("Cash withdrawals at ATMs"),
    hint=gettext_lazy("Off: no ATM gives cash with this card."),
)
ONLINE = ControlDefinition(
    name="online",
    kind=ControlKind.SWITCH,
    channel="ecommerce",
    label=gettext_lazy("Internet payments"),
    hint=gettext_lazy("Off: no online shop can charge the card, whatever the internet limit."),
)
MAGSTRIPE = ControlDefinition(
    name="magstripe",
    kind=ControlKind.SWITCH,
    channel="magstripe",
    label=gettext_lazy("Magnetic stripe payments"),
    hint=gettext_lazy("Off: a terminal that only swipes the card is refused (the stripe is easy to copy)."),
)
ABROAD = ControlDefinition(
    name="abroad",
    kind=ControlKind.SWITCH,
    channel="abroad",
    label=gettext_lazy("Payments abroad"),
    hint=gettext_lazy("Off: only merchants and ATMs in Poland accept the card, online shops included."),
)
MOTO = ControlDefinition(
    name="moto",
    kind=ControlKind.SWITCH,
    channel="manual",
    label=gettext_lazy("Mail and telephone orders"),
    hint=gettext_lazy("Off: a merchant cannot charge the card with its number typed in from an order."),
)
ATM_COUNT = ControlDefinition(
    name="atm_count",
    kind=ControlKind.COUNT_LIMIT,
    channel="cash",
    label=gettext_lazy("ATM withdrawals per day"),
)
POS_COUNT = ControlDefinition(
    name="pos_count",
    kind=ControlKind.COUNT_LIMIT,
    channel="pos",
    label=gettext_lazy("Payments at terminals per day"),
    hint=gettext_lazy("In shops, with the card or a phone."),
)
ONLINE_COUNT = ControlDefinition(
    name="online_count",
    kind=ControlKind.COUNT_LIMIT,
    channel="internet",
    label=gettext_lazy("Internet payments per day"),
)

# The registry, in display order. The three limits' columns and CHECK constraints
# exist in the database; the order of the limits is the order of the migrations' columns.
CONTROLS: dict[str, ControlDefinition] = {
    d.name: d
    for d in (
        CASH,
        NONCASH,
        INTERNET,
        CONTACTLESS,
        MOBILE_PAYMENTS,
        ATM,
        ONLINE,
        MAGSTRIPE,
        ABROAD,
        MOTO,
        ATM_COUNT,
        POS_COUNT,
        ONLINE_COUNT,
    )
}
# The switches the holder sets on the card's controls page (contactless and mobile payments have their
# own operations and pages).
FINE_SWITCHES: tuple[str, ...] = ("atm", "online", "magstripe", "abroad", "moto")


def amount_limits() -> list[ControlDefinition]:
    """The amount-limit definitions, in display order."""
    return [d for d in CONTROLS.values() if d.kind == ControlKind.AMOUNT_LIMIT]


def switches() -> list[ControlDefinition]:
    """The switch definitions, in display order."""
    return [d for d in CONTROLS.values() if d.kind == ControlKind.SWITCH]


def count_limits() -> list[ControlDefinition]:
    """The count-limit definitions, in display order."""
    return [d for d in CONTROLS.values() if d.kind == ControlKind.COUNT_LIMIT]


def control(name: str) -> ControlDefinition:
    """The definition registered under ``name`` (KeyError for an unknown one: a programming error)."""
    return CONTROLS[name]


@contextlib.contextmanager
def registered(definition: ControlDefinition) -> Iterator[ControlDefinition]:
    """Register a control for the duration of a block (tests: a throwaway control)."""
    if definition.name in CONTROLS:
        raise ValueError(f"control {definition.name!r} is already registered")
    CONTROLS[definition.name] = definition
    try:
        yield definition
    finally:
        del CONTROLS[definition.name]


# --- The database's guard, generated from the definitions (cards/models.py) ----------


def card_limit_fields() -> list[str]:
    """The card's limit columns, then their maxima' columns."""
    limits = amount_limits()
    return [d.value_field for d in limits] + [d.max_field for d in limits]


def product_limit_fields() -> list[str]:
    """The product's limit columns: each limit's maximum and default."""
    return [f for d in amount_limits() for f in (d.product_max_field, d.product_default_field)]


def missing_columns() -> list[str]:
    """The columns a registered control names that the models lack (a control registered without its migration)."""
    from django.apps import apps

    card, product = apps.get_model("cards", "Card"), apps.get_model("cards", "CardProduct")
    wanted: list[tuple[Any, str]] = []
    for d in CONTROLS.values():
        if d.kind == ControlKind.AMOUNT_LIMIT:
            wanted += [(card, d.value_field), (card, d.max_field)]
            wanted += [(product, d.product_max_field), (product, d.product_default_field)]
        elif d.kind == ControlKind.COUNT_LIMIT:
            wanted.append((card, d.value_field))
        else:
            wanted.append((card, d.value_field))
            if d.product_capable_field:
                wanted.append((product, d.product_capable_field))
    return [
        f"cards.{model.__name__}.{name}"
        for model, name in wanted
        if name not in {f.name for f in model._meta.concrete_fields}
    ]


# --- The product's terms ---------------------------------------------------------------


def product_limits_errors(values: Mapping[str, Any]) -> dict[str, str]:
    """What is wrong with a product's maxima and defaults: each an amount, default ≤ maximum, part ≤ whole."""
    errors: dict[str, str] = {}
    for name in product_limit_fields():
        if values[name] is None or values[name] < 0:
            errors[name] = _("A limit cannot be negative.")
        elif limit_error := amount_error(values[name]):
            errors[name] = limit_error
    if errors:  # the comparisons below need amounts
        return errors
    for d in amount_limits():
        if values[d.product_default_field] > values[d.product_max_field]:
            errors[d.product_default_field] = _("The default cannot exceed the maximum.")
    for d in amount_limits():
        if d.part_of is None:
            continue
        whole = control(d.part_of)
        for mine, theirs in (
            (d.product_max_field, whole.product_max_field),
            (d.product_default_field, whole.product_default_field),
        ):
            if values[mine] > values[theirs]:
                errors[mine] = str(d.part_of_rule)
    return errors


def product_maxima_changed(changed: list[str] | set[str]) -> bool:
    """Did any limit maximum change (so that the product's cards follow)?"""
    return any(d.product_max_field in changed for d in amount_limits())


@dataclass(frozen=True)
class ProductTerm:
    """A product's side of one control: an amount limit's maximum and default, or whether a switch is allowed."""

    definition: ControlDefinition
    max_minor: int | None
    default_minor: int | None
    available: bool | None

    @property
    def name(self) -> str:
        return self.definition.name


def product_terms(product: CardProduct) -> list[ProductTerm]:
    """The product's terms for every registered control: the amount limits, then the switches."""
    terms = []
    for d in [*amount_limits(), *switches()]:
        if d.kind == ControlKind.AMOUNT_LIMIT:
            maximum, default = getattr(product, d.product_max_field), getattr(product, d.product_default_field)
            terms.append(ProductTerm(definition=d, max_minor=maximum, default_minor=default, available=None))
        else:
            capable = d.product_capable_field is None or bool(getattr(product, d.product_capable_field))
            terms.append(ProductTerm(definition=d, max_minor=None, default_minor=None, available=capable))
    return terms


# --- The value object ------------------------------------------------------------------


@dataclass(frozen=True)
class LimitControl:
    """One amount limit of one card, as the pages, the API and the pipeline read it."""

    definition: ControlDefinition
    amount: Money
    maximum: Money
    ceiling: Money  # the highest value allowed now: its maximum, and a part never above its whole

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def label(self) -> str:
        return str(self.definition.label)

    @property
    def hint(self) -> str:
        return str(self.definition.hint)

    @property
    def note(self) -> str:
        """What the amount means when it needs saying (an internet limit of 0 switches internet payments off)."""
        if self.definition.zero_note is not None and self.amount.minor == 0:
            return str(self.definition.zero_note)
        return ""


@dataclass(frozen=True)
class SwitchControl:
    """One switch of one card: whether it is on, and whether the card's product allows it at all."""

    definition: ControlDefinition
    enabled: bool
    available: bool

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def label(self) -> str:
        return str(self.definition.label)

    @property
    def on(self) -> bool:
        return self.enabled and self.available


@dataclass(frozen=True)
class BlockState:
    """A blocked merchant category: until the holder lifts it (``lifts_at`` None), or until its cooling-off ends."""

    key: str
    lifts_at: dt.datetime | None


class CardControls:
    """A card's controls, read and written through the registry; ``card.controls``.

    A view over the card row, not a copy: it reads the card's current values, so
    the pipeline reading it under the card's row lock sees the locked values.
    """

    def __init__(self, card: Card) -> None:
        self.card = card

    @property
    def currency(self) -> str:
        return self.card.product.currency

    # -- amount limits

    def limit_minor(self, name: str) -> int:
        """The card's own daily ``name`` limit (what the limits form changes)."""
        value: int = getattr(self.card, control(name).value_field)
        return value

    def temporary_raise_active(self, now: dt.datetime) -> bool:
        until = self.card.temporary_limits_until
        return until is not None and now < until and bool(self.card.temporary_limits)

    def effective_limit_minor(self, name: str, *, now: dt.datetime) -> int:
        """The limit a payment at ``now`` is held to: a temporary raise while it lasts, else the card's own.

        A raise falls back by itself: past ``temporary_limits_until`` it is simply not read.
        """
        own = self.limit_minor(name)
        if self.temporary_raise_active(now):
            return max(own, int(self.card.temporary_limits.get(name, own)))
        return own

    def limit_max_minor(self, name: str) -> int:
        value: int = getattr(self.card, control(name).max_field)
        return value

    def limit(self, name: str) -> Money:
        """The card's daily ``name`` limit."""
        return Money(self.limit_minor(name), self.currency)

    def limit_max(self, name: str) -> Money:
        """The product's maximum of the ``name`` limit (copied on the card, decision 0002)."""
        return Money(self.limit_max_minor(name), self.currency)

    def limits_minor(self) -> dict[str, int]:
        """Every amount limit's current value: name → minor units."""
        return {d.name: self.limit_minor(d.name) for d in amount_limits()}

    def ceiling_minor(self, name: str, *, proposed: Mapping[str, int] | None = None) -> int:
        """The highest ``name`` limit allowed: its maximum and, for a part, its whole's value.

        ``proposed``: new values the part is checked against (default: the card's current ones).
        """
        definition = control(name)
        ceiling = self.limit_max_minor(name)
        if definition.part_of is not None:
            whole = (proposed or {}).get(definition.part_of, self.limit_minor(definition.part_of))
            ceiling = min(ceiling, whole)
        return ceiling

    @property
    def limits(self) -> list[LimitControl]:
        """The amount limits in display order, with their maxima and current ceilings."""
        return [
            LimitControl(
                definition=d,
                amount=self.limit(d.name),
                maximum=self.limit_max(d.name),
                ceiling=Money(self.ceiling_minor(d.name), self.currency),
            )
            for d in amount_limits()
        ]

    def merged(self, proposed: Mapping[str, int]) -> dict[str, int]:
        """The limits after ``proposed`` (name → minor units; a limit not named stays as it is)."""
        unknown = sorted(set(proposed) - {d.name for d in amount_limits()})
        if unknown:
            raise ValidationFailed({name: _("This field cannot be changed.") for name in unknown})
        return {**self.limits_minor(), **proposed}

    def check(self, proposed: Mapping[str, int]) -> None:
        """Raise ValidationFailed unless 0 ≤ each limit ≤ its maximum and each part ≤ its whole."""
        new = self.merged(proposed)
        errors: dict[str, str] = {}
        for d in amount_limits():
            value = new[d.name]
            if value < 0:
                errors[d.name] = _("A limit cannot be negative.")
            elif value > self.limit_max_minor(d.name):
                errors[d.name] = _("The limit cannot exceed the maximum of %(maximum)s.") % {
                    "maximum": self.limit_max(d.name).format()
                }
        for d in amount_limits():
            if d.part_of is None or d.name in errors or d.part_of in errors:
                continue
            if new[d.name] > self.ceiling_minor(d.name, proposed=new):
                errors[d.name] = str(d.part_of_rule)
        if errors:
            raise ValidationFailed(errors)

    def raised(self, proposed: Mapping[str, int]) -> bool:
        """Would ``proposed`` raise any current limit? (Raising needs an SMS code.)"""
        current = self.limits_minor()
        return any(value > current[name] for name, value in self.merged(proposed).items())

    def changes(self, proposed: Mapping[str, int]) -> dict[str, tuple[int, int]]:
        """The limits ``proposed`` changes: name → (before, after), in display order."""
        current = self.limits_minor()
        new = self.merged(proposed)
        return {name: (current[name], new[name]) for name in current if new[name] != current[name]}

    def assign(self, proposed: Mapping[str, int]) -> list[str]:
        """Set the limits on the card (not saved); returns the changed columns (the caller checked first)."""
        changed = []
        for name, (_before, after) in self.changes(proposed).items():
            column = control(name).value_field
            setattr(self.card, column, after)
            changed.append(column)
        return changed

    # -- switches

    def switch(self, name: str) -> SwitchControl:
        definition = control(name)
        capable = definition.product_capable_field
        return SwitchControl(
            definition=definition,
            enabled=bool(getattr(self.card, definition.value_field)),
            available=capable is None or bool(getattr(self.card.product, capable)),
        )

    def is_on(self, name: str) -> bool:
        """Is the ``name`` switch on (and the product allows it)? What the pipeline asks."""
        return self.switch(name).on

    @property
    def switches(self) -> list[SwitchControl]:
        return [self.switch(d.name) for d in switches()]

    # -- count limits, merchant categories, countries

    def count_limit(self, name: str) -> int | None:
        """At most this many payments a day (None: no count limit)."""
        value: int | None = getattr(self.card, control(name).value_field)
        return value

    def count_limits(self) -> dict[str, int | None]:
        return {d.name: self.count_limit(d.name) for d in count_limits()}

    def category_block(self, key: str, *, now: dt.datetime) -> BlockState | None:
        """Is the merchant category ``key`` blocked at ``now``, and until when (None: not blocked)."""
        if key not in self.card.category_blocks:
            return None
        lifts = self.card.category_blocks[key]
        lifts_at = dt.datetime.fromisoformat(lifts) if lifts else None
        if lifts_at is not None and now >= lifts_at:
            return None  # the cooling-off ended: the category is allowed again
        return BlockState(key=key, lifts_at=lifts_at)

    def blocked_categories(self, *, now: dt.datetime) -> dict[str, BlockState]:
        """The categories blocked at ``now`` (key → state), in the registry's order."""
        from kartosfera.cards.merchant_categories import blockable_keys

        states = {key: self.category_block(key, now=now) for key in blockable_keys()}
        return {key: state for key, state in states.items() if state is not None}

    # -- for the pages (the back office reads these without a clock of its own)

    @property
    def count_limit_items(self) -> list[tuple[str, int]]:
        """(label, payments a day) of every count limit that is set."""
        return [(str(d.label), v) for d in count_limits() if (v := self.count_limit(d.name)) is not None]

    @property
    def blocked_category_items(self) -> list[tuple[str, dt.datetime | None]]:
        """(label, lifts at or None) of every merchant category blocked now."""
        from django.utils import timezone

        from kartosfera.cards.merchant_categories import blockable_category

        blocked = self.blocked_categories(now=timezone.now())
        return [(str(blockable_category(key).label), state.lifts_at) for key, state in blocked.items()]

    @property
    def temporary_raise_until(self) -> dt.datetime | None:
        from django.utils import timezone

        return self.card.temporary_limits_until if self.temporary_raise_active(timezone.now()) else None

    def country_allowed(self, country: str) -> bool:
        """May the card pay with a merchant in ``country`` (ISO alpha-2)? An unknown ("") country is not judged."""
        from kartosfera.cards.models import CountryRule

        rule = self.card.country_rule
        if rule == CountryRule.NONE or not country:
            return True
        listed = country.upper() in self.card.countries
        return listed if rule == CountryRule.ALLOW else not listed

    # -- the product's terms

    def take_product_defaults(self, product: CardProduct) -> None:
        """A new card's limits: the product's defaults and maxima; its switches as the product allows."""
        for d in amount_limits():
            setattr(self.card, d.value_field, getattr(product, d.product_default_field))
            setattr(self.card, d.max_field, getattr(product, d.product_max_field))
        for d in switches():
            if d.product_capable_field is not None:
                setattr(self.card, d.value_field, bool(getattr(product, d.product_capable_field)))

    def follow_product(self, product: CardProduct) -> None:
        """Take the product's current maxima; a limit above its ceiling comes down; a withdrawn switch goes off."""
        for d in amount_limits():
            maximum = getattr(product, d.product_max_field)
            setattr(self.card, d.max_field, maximum)
            setattr(self.card, d.value_field, min(self.limit_minor(d.name), maximum))
        for d in amount_limits():  # a part after every whole has come down
            if d.part_of is not None:
                setattr(self.card, d.value_field, min(self.limit_minor(d.name), self.ceiling_minor(d.name)))
        for d in switches():
            if d.product_capable_field is not None and not getattr(product, d.product_capable_field):
                setattr(self.card, d.value_field, False)

    def audit_view(self) -> dict[str, Any]:
        """The controls as an audit row records them: column → value."""
        # The switches a product can withdraw (contactless), then each limit and its maximum.
        view: dict[str, Any] = {
            d.value_field: getattr(self.card, d.value_field) for d in switches() if d.product_capable_field
        }
        for d in amount_limits():
            view[d.value_field] = self.limit_minor(d.name)
            view[d.max_field] = self.limit_max_minor(d.name)
        return view
