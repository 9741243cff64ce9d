"""Writes of a card's finer controls: the switches, count limits, merchant categories and countries, and the
temporary raise of its limits (docs/controls.md).

Each change is asked for through the step-up mechanism (kartosfera/cards/stepup_operations.py): a change
that only tightens runs at once; one that loosens anything (a switch back on, a higher or removed count
limit, a category unblocked, a country allowed) waits for the SMS code [PRODUCT.md: "limits up" need a
code; ours: the same for every control]. A gambling block switched off lifts only after its cooling-off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.cards.controls import FINE_SWITCHES, amount_limits, control, count_limits
from kartosfera.cards.merchant_categories import blockable_category, blockable_keys
from kartosfera.cards.models import COUNT_LIMIT_MAX, Card, CountryRule
from kartosfera.cards.operations import Operation, acts_for_bank, require_operation
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import ValidationFailed

# How long a temporary raise may last [issue 15: 10 minutes to 24 hours], in minutes: a fixed choice, so that
# the SMS can name the duration in a few characters ("2 h") and three raised limits still fit one segment.
TEMPORARY_RAISE_MINUTES: tuple[int, ...] = (10, 30, 60, 120, 360, 720, 1440)


def _country_codes() -> frozenset[str]:
    from kartosfera.secure3d.services import COUNTRY_CODES

    return COUNTRY_CODES


@dataclass(frozen=True)
class ControlSettings:
    """What the holder sets on the controls page, as plain values (the step-up payload stores them)."""

    switches: dict[str, bool]
    count_limits: dict[str, int | None]
    blocked_categories: tuple[str, ...]
    country_rule: str
    countries: tuple[str, ...]

    def as_payload(self) -> dict[str, Any]:
        return {
            "switches": dict(self.switches),
            "count_limits": dict(self.count_limits),
            "blocked_categories": list(self.blocked_categories),
            "country_rule": self.country_rule,
            "countries": list(self.countries),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ControlSettings:
        return cls(
            switches={name: bool(value) for name, value in payload["switches"].items()},
            count_limits=dict(payload["count_limits"]),
            blocked_categories=tuple(payload["blocked_categories"]),
            country_rule=str(payload["country_rule"]),
            countries=tuple(payload["countries"]),
        )


def control_settings_of(card: Card) -> ControlSettings:
    """The card's controls as they stand: a category whose block is lifting (cooling-off) counts as unblocked."""
    controls = card.controls
    return ControlSettings(
        switches={name: bool(getattr(card, control(name).value_field)) for name in FINE_SWITCHES},
        count_limits=controls.count_limits(),
        blocked_categories=tuple(
            key for key in blockable_keys() if key in card.category_blocks and not card.category_blocks[key]
        ),
        country_rule=card.country_rule,
        countries=tuple(card.countries),
    )


def control_settings_clean(
    *,
    switches: Mapping[str, bool],
    counts: Mapping[str, int | None],
    blocked_categories: list[str] | tuple[str, ...],
    country_rule: str,
    countries: list[str] | tuple[str, ...] | str,
) -> ControlSettings:
    """Check and normalise what the holder sent; ValidationFailed names each wrong field."""
    errors: dict[str, str] = {}
    unknown_switches = set(switches) - set(FINE_SWITCHES)
    for name in sorted(unknown_switches):
        errors[name] = _("This field cannot be changed.")
    cleaned_counts: dict[str, int | None] = {}
    for definition in count_limits():
        value = counts.get(definition.name)
        if value is not None and not (0 <= value <= COUNT_LIMIT_MAX):
            errors[definition.name] = _("Enter a number from 0 to %(maximum)s, or leave it empty for no limit.") % {
                "maximum": COUNT_LIMIT_MAX
            }
        cleaned_counts[definition.name] = value
    for name in sorted(set(counts) - {d.name for d in count_limits()}):
        errors[name] = _("This field cannot be changed.")
    known = set(blockable_keys())
    categories = tuple(key for key in blockable_keys() if key in set(blocked_categories))
    if set(blocked_categories) - known:
        errors["blocked_categories"] = _("Choose categories from the list.")
    if country_rule not in CountryRule.values:
        errors["country_rule"] = _("Choose one of the options.")
    raw = countries.replace(";", ",").split(",") if isinstance(countries, str) else list(countries)
    codes = sorted({str(code).strip().upper() for code in raw if str(code).strip()})
    wrong = [code for code in codes if code not in _country_codes()]
    if wrong:
        errors["countries"] = _("These are not two-letter country codes: %(codes)s.") % {"codes": ", ".join(wrong)}
    elif country_rule in {CountryRule.ALLOW, CountryRule.BLOCK} and not codes:
        errors["countries"] = _("Enter at least one country, e.g. PL.")
    elif country_rule == CountryRule.ALLOW and len(codes) > 60:
        errors["countries"] = _("Choose at most 60 countries.")
    if errors:
        raise ValidationFailed(errors)
    return ControlSettings(
        switches={name: bool(switches.get(name, True)) for name in FINE_SWITCHES},
        count_limits=cleaned_counts,
        blocked_categories=categories,
        country_rule=country_rule,
        countries=tuple(codes) if country_rule != CountryRule.NONE else (),
    )


def _allowed_more(before: ControlSettings, after: ControlSettings) -> bool:
    """Does ``after``'s country rule allow some country ``before``'s did not?"""
    old, new = before.country_rule, after.country_rule
    old_set, new_set = set(before.countries), set(after.countries)
    if new == CountryRule.NONE:
        return old != CountryRule.NONE
    if old == CountryRule.NONE:
        return False
    if old == CountryRule.BLOCK and new == CountryRule.BLOCK:
        return bool(old_set - new_set)
    if old == CountryRule.BLOCK and new == CountryRule.ALLOW:
        return bool(new_set & old_set)
    if old == CountryRule.ALLOW and new == CountryRule.ALLOW:
        return bool(new_set - old_set)
    return True  # from "only these" to "all but those": nearly every country opens


def loosened(before: ControlSettings, after: ControlSettings) -> list[str]:
    """What ``after`` loosens compared with ``before``, as control names ("countries", a category key, ...).

    The rule of the step-up: any loosening needs the SMS code; tightening never does.
    """
    changes = [name for name in FINE_SWITCHES if after.switches[name] and not before.switches[name]]
    for definition in count_limits():
        old, new = before.count_limits.get(definition.name), after.count_limits.get(definition.name)
        if old is not None and (new is None or new > old):
            changes.append(definition.name)
    changes += [key for key in before.blocked_categories if key not in after.blocked_categories]
    if _allowed_more(before, after):
        changes.append("countries")
    return changes


def _category_blocks(card: Card, wanted: tuple[str, ...], *, now: dt.datetime) -> dict[str, str | None]:
    """The card's new ``category_blocks``: a category unblocked with a cooling-off lifts later, the others at once."""
    current = card.controls
    blocks: dict[str, str | None] = {}
    for key in blockable_keys():
        state = current.category_block(key, now=now)
        if key in wanted:
            blocks[key] = None  # blocked until the holder lifts it (again, if it was lifting)
        elif state is not None:
            cooling_off = blockable_category(key).cooling_off
            if cooling_off is None:
                continue
            # Already lifting: the cooling-off keeps its end; else it starts now.
            lifts_at = state.lifts_at or now + cooling_off
            blocks[key] = lifts_at.isoformat()
    return blocks


def _audit_view(card: Card) -> dict[str, Any]:
    view: dict[str, Any] = {
        control(name).value_field: getattr(card, control(name).value_field) for name in FINE_SWITCHES
    }
    view.update({d.value_field: getattr(card, d.value_field) for d in count_limits()})
    view.update(
        {"category_blocks": dict(card.category_blocks), "country_rule": card.country_rule, "countries": card.countries}
    )
    return view


def _lock(card: Card) -> Card:
    return Card.objects.select_for_update(of=("self",)).select_related("product").get(pk=card.pk)


@transaction.atomic
def card_controls_change(
    *, actor: Actor, card: Card, settings: ControlSettings, now: dt.datetime | None = None
) -> Card:
    """Set the card's finer controls to ``settings`` (checked by control_settings_clean), under the card's lock."""
    now = now or timezone.now()
    card = _lock(card)
    require_operation(card, Operation.CONTROLS_CHANGE, by_bank=acts_for_bank(actor))
    before = _audit_view(card)
    for name, enabled in settings.switches.items():
        setattr(card, control(name).value_field, enabled)
    for name, value in settings.count_limits.items():
        setattr(card, control(name).value_field, value)
    card.category_blocks = _category_blocks(card, settings.blocked_categories, now=now)
    card.country_rule = settings.country_rule
    card.countries = list(settings.countries)
    after = _audit_view(card)
    changed = sorted(key for key in after if after[key] != before[key])
    if not changed:
        return card
    card.save()
    audit_record(
        actor=actor,
        action="cards.card.controls_changed",
        obj=card,
        customer_id=card.customer_id,
        before={key: before[key] for key in changed},
        after={key: after[key] for key in changed},
    )
    return card


# --- The temporary raise -----------------------------------------------------------------------------


def temporary_raise_clean(card: Card, *, limits: Mapping[str, int], minutes: int) -> dict[str, int]:
    """The raised limits to keep (only those above the card's own), checked against the maxima and each other."""
    errors: dict[str, str] = {}
    if minutes not in TEMPORARY_RAISE_MINUTES:
        errors["minutes"] = _("Choose from 10 minutes to 24 hours.")
    controls = card.controls
    unknown = sorted(set(limits) - {d.name for d in amount_limits()})
    for name in unknown:
        errors[name] = _("This field cannot be changed.")
    raised = {name: value for name, value in limits.items() if name not in unknown}
    for name, value in raised.items():
        if value < 0:
            errors[name] = _("A limit cannot be negative.")
        elif value > controls.limit_max_minor(name):
            errors[name] = _("The limit cannot exceed the maximum of %(maximum)s.") % {
                "maximum": controls.limit_max(name).format()
            }
    if errors:
        raise ValidationFailed(errors)
    effective = {**controls.limits_minor(), **{n: max(v, controls.limit_minor(n)) for n, v in raised.items()}}
    for definition in amount_limits():
        if definition.part_of is not None and effective[definition.name] > effective[definition.part_of]:
            errors[definition.name] = str(definition.part_of_rule)
    if errors:
        raise ValidationFailed(errors)
    kept = {name: value for name, value in raised.items() if value > controls.limit_minor(name)}
    if not kept:
        raise ValidationFailed({"__all__": _("Raise at least one limit above its current value.")})
    return kept


@transaction.atomic
def card_limits_raise_temporarily(
    *, actor: Actor, card: Card, limits: Mapping[str, int], minutes: int, now: dt.datetime | None = None
) -> Card:
    """Raise some daily limits until now + ``minutes`` (confirmed with the SMS code); they fall back by themselves."""
    now = now or timezone.now()
    card = _lock(card)
    require_operation(card, Operation.LIMITS_CHANGE, by_bank=acts_for_bank(actor))
    kept = temporary_raise_clean(card, limits=limits, minutes=minutes)
    card.temporary_limits = kept
    card.temporary_limits_until = now + dt.timedelta(minutes=minutes)
    card.save(update_fields=["temporary_limits", "temporary_limits_until", "updated_at"])
    audit_record(
        actor=actor,
        action="cards.card.limits_raised_temporarily",
        obj=card,
        customer_id=card.customer_id,
        after={"temporary_limits": kept, "until": card.temporary_limits_until.isoformat()},
    )
    return card


@transaction.atomic
def card_temporary_raise_end(*, actor: Actor, card: Card, now: dt.datetime | None = None) -> Card:
    """End a temporary raise now (no code: lowering never needs one); nothing to end is not an error."""
    now = now or timezone.now()
    card = _lock(card)
    if not card.controls.temporary_raise_active(now):
        return card
    card.temporary_limits = {}
    card.temporary_limits_until = None
    card.save(update_fields=["temporary_limits", "temporary_limits_until", "updated_at"])
    audit_record(action="cards.card.temporary_raise_ended", actor=actor, obj=card, customer_id=card.customer_id)
    return card
