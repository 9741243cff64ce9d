"""The card's controls page and the temporary raise: tightening at once, loosening with the SMS code (issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kartosfera.cards.controls_services import ControlSettings, control_settings_of, loosened
from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_activate, card_cancel
from kartosfera.cards.states import StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.sca.models import SmsChallenge
from kartosfera.sca.tests.helpers import code_sent_to, texts_to
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db(transaction=True)

SYSTEM = Actor.system("tests")
PHONE = "+48601000111"


@pytest.fixture
def anna(client, cardholder):
    cardholder.user.portal_phone = PHONE
    cardholder.user.save(update_fields=["portal_phone"])
    client.force_login(cardholder.user)
    return client


@pytest.fixture
def active(card) -> Card:
    return card_activate(actor=SYSTEM, card=card)


def _url(card: Card, name: str = "controls") -> str:
    return reverse(f"portal:card_{name}", kwargs={"card_id": card.pk})


def _form(card: Card, **changes: object) -> dict[str, object]:
    """The controls form as the page fills it for ``card``, with ``changes``."""
    current = control_settings_of(card)
    data: dict[str, object] = {name: "on" for name, on in current.switches.items() if on}
    data.update({name: "" if value is None else value for name, value in current.count_limits.items()})
    data["blocked_categories"] = list(current.blocked_categories)
    data["country_rule"] = current.country_rule
    data["countries"] = ", ".join(current.countries)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)  # an unticked checkbox is absent from the form
        else:
            data[key] = value
    return data


def test_the_card_page_shows_the_controls_and_links_to_them(anna, active):
    page = anna.get(_url(active, "detail")).content.decode()
    assert 'id="controls"' in page and _url(active) in page
    assert "Każdy rodzaj płatności jest dozwolony" in page
    assert _url(active, "temporary_raise") in page


def test_switching_off_and_blocking_apply_at_once_without_a_code(anna, active):
    data = _form(active, abroad=None, atm=None, pos_count=3, blocked_categories=["gambling"])
    response = anna.post(_url(active), data)

    assert response.status_code == 302 and response["Location"] == _url(active, "detail")
    active.refresh_from_db()
    assert (active.abroad_enabled, active.atm_enabled, active.pos_count_limit) == (False, False, 3)
    assert active.category_blocks == {"gambling": None}
    assert texts_to(PHONE) == [] and not SmsChallenge.objects.exists()
    event = AuditEvent.objects.get(action="cards.card.controls_changed")
    assert event.after["abroad_enabled"] is False and event.after["pos_count_limit"] == 3
    page = anna.get(_url(active, "detail")).content.decode()
    assert "Płatności za granicą" in page and "Hazard" in page


def test_switching_back_on_waits_for_the_sms_code_naming_what_opens(anna, active):
    anna.post(_url(active), _form(active, abroad=None, country_rule="block", countries="DE"))
    active.refresh_from_db()

    started = anna.post(_url(active), _form(active, abroad="on", country_rule="none", countries=""))

    assert "/confirm/" in started["Location"]
    active.refresh_from_db()
    assert active.abroad_enabled is False and active.country_rule == "block"  # nothing yet
    sms = texts_to(PHONE)[-1]
    assert f"*{active.pan_last4}" in sms and "platnosci za granica" in sms and "wiecej krajow" in sms
    done = anna.post(started["Location"], {"code": code_sent_to(PHONE)}, follow=True)
    assert done.status_code == 200
    active.refresh_from_db()
    assert active.abroad_enabled is True and active.country_rule == "none" and active.countries == []


def test_unblocking_gambling_confirmed_with_the_code_still_waits_48_hours(anna, active):
    anna.post(_url(active), _form(active, blocked_categories=["gambling", "dating"]))
    active.refresh_from_db()
    now = timezone.now()

    started = anna.post(_url(active), _form(active, blocked_categories=[]))
    done = anna.post(started["Location"], {"code": code_sent_to(PHONE)}, follow=True)

    assert "48" in done.content.decode()
    active.refresh_from_db()
    assert set(active.category_blocks) == {"gambling"}
    lifts_at = dt.datetime.fromisoformat(active.category_blocks["gambling"])
    assert now + dt.timedelta(hours=47, minutes=59) < lifts_at <= timezone.now() + dt.timedelta(hours=48)
    page = anna.get(_url(active)).content.decode()
    assert 'id="cooling-off"' in page


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"pos_count": 100}, "pos_count"),
        ({"atm_count": "abc"}, "atm_count"),
        ({"country_rule": "allow", "countries": ""}, "countries"),
        ({"country_rule": "block", "countries": "DE, XX"}, "countries"),
        ({"country_rule": "sometimes"}, "country_rule"),
        ({"blocked_categories": ["casinos"]}, "blocked_categories"),
    ],
)
def test_bad_input_is_a_message_and_writes_nothing(anna, active, changes, field):
    before = control_settings_of(active)

    response = anna.post(_url(active), _form(active, **changes))

    assert response.status_code == 200
    assert "field--error" in response.content.decode()
    active.refresh_from_db()
    assert control_settings_of(active) == before
    assert not AuditEvent.objects.filter(action="cards.card.controls_changed").exists()


@pytest.mark.parametrize("name", ["controls", "temporary_raise", "temporary_raise_end"])
def test_another_customers_card_is_a_404(anna, second_cardholder, debit_product, name):
    theirs = card_activate(
        actor=SYSTEM, card=factories.card_factory(customer=second_cardholder.customer, product=debit_product)
    )
    assert anna.get(_url(theirs, name)).status_code in {404, 405}
    assert anna.post(_url(theirs, name), _form(theirs, abroad=None)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.abroad_enabled is True


def test_a_cancelled_card_has_no_controls_to_change(anna, active, cardholder):
    card_cancel(actor=Actor.for_user(cardholder.user), card=active, reason=StatusReason.OTHER)
    response = anna.post(_url(active), _form(active, abroad=None), follow=True)
    assert response.status_code == 200
    active.refresh_from_db()
    assert active.abroad_enabled is True


# --- what loosens (the rule of the code) ---------------------------------------------------------


def _settings(**values: object) -> ControlSettings:
    base: dict[str, object] = {
        "switches": dict.fromkeys(("atm", "online", "magstripe", "abroad", "moto"), True),
        "count_limits": {"atm_count": None, "pos_count": None, "online_count": None},
        "blocked_categories": (),
        "country_rule": "none",
        "countries": (),
    }
    base.update(values)
    return ControlSettings(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (_settings(), _settings(), []),
        (
            _settings(switches={"atm": False} | dict.fromkeys(("online", "magstripe", "abroad", "moto"), True)),
            _settings(),
            ["atm"],
        ),
        (
            _settings(),
            _settings(switches={"atm": False} | dict.fromkeys(("online", "magstripe", "abroad", "moto"), True)),
            [],
        ),
        (_settings(count_limits={"atm_count": 2, "pos_count": None, "online_count": None}), _settings(), ["atm_count"]),
        (
            _settings(count_limits={"atm_count": 2, "pos_count": None, "online_count": None}),
            _settings(count_limits={"atm_count": 1, "pos_count": 5, "online_count": None}),
            [],
        ),
        (_settings(blocked_categories=("gambling",)), _settings(), ["gambling"]),
        (_settings(), _settings(blocked_categories=("gambling",)), []),
        (_settings(country_rule="block", countries=("DE",)), _settings(), ["countries"]),
        (
            _settings(country_rule="block", countries=("DE",)),
            _settings(country_rule="block", countries=("DE", "NL")),
            [],
        ),
        (
            _settings(country_rule="block", countries=("DE", "NL")),
            _settings(country_rule="block", countries=("DE",)),
            ["countries"],
        ),
        (
            _settings(country_rule="allow", countries=("PL",)),
            _settings(country_rule="allow", countries=("PL", "CZ")),
            ["countries"],
        ),
        (
            _settings(country_rule="allow", countries=("PL", "CZ")),
            _settings(country_rule="allow", countries=("PL",)),
            [],
        ),
        (_settings(), _settings(country_rule="allow", countries=("PL",)), []),
        (_settings(country_rule="block", countries=("DE",)), _settings(country_rule="allow", countries=("PL",)), []),
        (
            _settings(country_rule="block", countries=("DE",)),
            _settings(country_rule="allow", countries=("DE",)),
            ["countries"],
        ),
        (
            _settings(country_rule="allow", countries=("PL",)),
            _settings(country_rule="block", countries=("DE",)),
            ["countries"],
        ),
    ],
)
def test_what_loosens_needs_the_code_and_what_tightens_does_not(before, after, expected):
    assert loosened(before, after) == expected


# --- the temporary raise -------------------------------------------------------------------------


def test_a_temporary_raise_needs_the_code_shows_a_countdown_and_can_end_early(anna, active, cardholder):
    own = active.noncash_limit_minor
    started = anna.post(_url(active, "temporary_raise"), {"noncash": "7 000", "minutes": "60"})

    assert "/confirm/" in started["Location"]
    sms = texts_to(PHONE)[-1]
    assert "limity karty" in sms and "na 1 h:" in sms and "7 000,00" in sms.replace("\xa0", " ")
    done = anna.post(started["Location"], {"code": code_sent_to(PHONE)}, follow=True)
    assert done.status_code == 200
    active.refresh_from_db()
    assert active.temporary_limits == {"noncash": 700_000} and active.noncash_limit_minor == own
    assert active.controls.effective_limit_minor("noncash", now=timezone.now()) == 700_000
    page = anna.get(_url(active, "detail")).content.decode()
    assert 'id="temporary-raise"' in page and "7 000,00" in page.replace("\xa0", " ")
    with time_machine.travel(active.temporary_limits_until + dt.timedelta(seconds=1)):
        later = Client()
        later.force_login(cardholder.user)
        page = later.get(_url(active, "detail"))
        assert page.status_code == 200 and 'id="controls"' in page.content.decode()
        assert 'id="temporary-raise"' not in page.content.decode()

    ended = anna.post(_url(active, "temporary_raise_end"))
    assert ended.status_code == 302
    active.refresh_from_db()
    assert active.temporary_limits == {} and active.temporary_limits_until is None
    assert AuditEvent.objects.filter(action="cards.card.temporary_raise_ended").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"noncash": "99 999 999", "minutes": "60"}, "noncash"),
        ({"noncash": "7 000", "minutes": "5"}, "minutes"),
        ({"noncash": "7 000", "minutes": "2880"}, "minutes"),
        ({"internet": "6 000", "minutes": "60"}, "internet"),
        ({"minutes": "60"}, None),
    ],
)
def test_a_temporary_raise_the_card_refuses_is_a_message_and_costs_no_sms(anna, active, data, field):
    response = anna.post(_url(active, "temporary_raise"), data)

    assert response.status_code == 200
    assert "field--error" in response.content.decode() or "form-errors" in response.content.decode()
    assert not locmem.outbox and not SmsChallenge.objects.exists()
    active.refresh_from_db()
    assert active.temporary_limits == {}


def test_staff_see_the_finer_controls_on_the_customer_file(anna, active, cardholder, staff):
    from kartosfera.testing.staff import staff_client

    anna.post(
        _url(active),
        _form(active, abroad=None, pos_count=4, blocked_categories=["gambling"], country_rule="block", countries="DE"),
    )
    page = staff_client(staff["agent"]).get(reverse("backoffice:customer", args=[cardholder.customer.pk]))
    html = page.content.decode()
    assert "<dt>Płatności za granicą</dt><dd>wyłączone</dd>" in html
    assert "<dt>Płatności w terminalach dziennie</dt><dd>4</dd>" in html
    assert "Hazard" in html and "DE" in html
