"""The "what if" check: the real pipeline, run dry (processing/what_if.py, issue 15)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import reverse

from kartosfera.cards.controls_services import card_controls_change, control_settings_clean, control_settings_of
from kartosfera.cards.operations_services import card_contactless_set
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType
from kartosfera.processing import pipeline
from kartosfera.processing.tests.helpers import active_card, decide
from kartosfera.processing.what_if import WHAT_IF_CHECKS, Scenario, what_if

pytestmark = pytest.mark.django_db

HOLDER = Actor(type=ActorType.CUSTOMER, id="0", label="tests")


def _scenario(**values: object) -> Scenario:
    base: dict[str, object] = {
        "amount_minor": 5_000,
        "currency": "PLN",
        "channel": "contactless",
        "merchant_country": "PL",
        "category": "groceries",
    }
    base.update(values)
    return Scenario(**base)  # type: ignore[arg-type]


def _set(card, **changes):
    current = control_settings_of(card)
    values = {
        "switches": {**current.switches, **changes.pop("switches", {})},
        "counts": {**current.count_limits, **changes.pop("counts", {})},
        "blocked_categories": changes.pop("blocked_categories", current.blocked_categories),
        "country_rule": changes.pop("country_rule", current.country_rule),
        "countries": changes.pop("countries", current.countries),
    }
    return card_controls_change(actor=HOLDER, card=card, settings=control_settings_clean(**values))


def _database() -> dict[str, list[dict[str, object]]]:
    """Every row of every table, for comparing before and after."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def test_the_same_checks_as_a_payment_bar_the_pin_and_3_d_secure():
    names = [check.__name__ for check in WHAT_IF_CHECKS]
    assert "check_sca" not in names and "check_pin" not in names and "_pin_as_typed" in names
    real = [check.__name__ for check in pipeline.CHECKS if check not in {pipeline.check_pin, pipeline.check_sca}]
    assert [name for name in names if name != "_pin_as_typed"] == real


def test_an_ordinary_payment_would_be_approved_and_nothing_is_written():
    tc = active_card(internet_limit_default_minor=100_000)
    decide(tc)  # some history: a hold and the day's counters exist
    before = _database()

    for channel in ("contactless", "chip_and_pin", "atm", "online"):
        answer = what_if(tc.card, _scenario(channel=channel, category="fuel"))
        assert answer.approved, (channel, answer)
    card = _set(tc.card, country_rule="block", countries="DE")
    after_setting = _database()
    assert not what_if(card, _scenario(merchant_country="DE")).approved

    assert _database() == after_setting
    assert before != after_setting  # the comparison sees a change when there is one


@pytest.mark.parametrize(
    ("setup", "scenario", "reason", "setting"),
    [
        ({"country_rule": "block", "countries": "DE"}, {"merchant_country": "DE"}, "country_blocked", "controls"),
        ({"switches": {"abroad": False}}, {"merchant_country": "US"}, "abroad_disabled", "controls"),
        ({"switches": {"atm": False}}, {"channel": "atm"}, "atm_disabled", "controls"),
        ({"switches": {"online": False}}, {"channel": "online"}, "online_disabled", "controls"),
        ({"blocked_categories": ["gambling"]}, {"category": "gambling"}, "merchant_category_blocked", "controls"),
        ({"counts": {"pos_count": 0}}, {}, "pos_count_exceeded", "controls"),
    ],
)
def test_a_payment_a_control_would_stop_names_the_control(setup, scenario, reason, setting):
    tc = active_card(internet_limit_default_minor=100_000)
    card = _set(tc.card, **setup)

    answer = what_if(card, _scenario(**scenario))

    assert (answer.approved, answer.reason, answer.setting) == (False, reason, setting)
    assert answer.text


def test_limits_funds_contactless_and_the_pin_need():
    tc = active_card(balance_minor=1_000_000)
    card = tc.card
    assert what_if(card, _scenario(amount_minor=card.noncash_limit_minor + 1, channel="chip_and_pin")).reason == (
        "noncash_limit_exceeded"
    )
    assert what_if(card, _scenario(channel="online")).reason == "internet_limit_exceeded"  # the default 0
    assert what_if(card, _scenario(amount_minor=20_000, channel="contactless")).pin_needed
    card = card_contactless_set(actor=HOLDER, card=card, enabled=False)
    assert what_if(card, _scenario()).reason == "contactless_disabled"
    poor = active_card(balance_minor=1_000)
    assert what_if(poor.card, _scenario(channel="chip_and_pin")).reason == "insufficient_funds"


def test_the_page_answers_links_to_the_setting_and_never_500s(client, cardholder, debit_product, second_cardholder):
    from kartosfera.cards.operations_services import card_activate
    from kartosfera.testing import factories

    card = card_activate(actor=HOLDER, card=factories.card_factory(customer=cardholder.customer, product=debit_product))
    _set(card, country_rule="allow", countries="PL")
    client.force_login(cardholder.user)
    url = reverse("portal:card_what_if", kwargs={"card_id": card.pk})
    query = {"amount": "120,00", "currency": "PLN", "channel": "chip_and_pin", "country": "de", "category": "groceries"}

    page = client.get(url, query).content.decode()

    assert "Odrzucona" in page or "odrzucona" in page.lower()
    assert reverse("portal:card_controls", kwargs={"card_id": card.pk}) in page
    approved = client.get(url, {**query, "country": "PL"}).content.decode()
    assert "Zostałaby zaakceptowana" in approved
    for bad in ({"amount": "abc"}, {"country": "XX"}, {"channel": "teleport"}, {"category": "nope"}, {"amount": "0"}):
        response = client.get(url, {**query, **bad})
        assert response.status_code == 200 and "form-errors" in response.content.decode()
    theirs = factories.card_factory(customer=second_cardholder.customer, product=debit_product)
    assert client.get(reverse("portal:card_what_if", kwargs={"card_id": theirs.pk}), query).status_code == 404


def test_a_stopped_customers_payment_would_be_declined_for_the_stop():
    from kartosfera.stops.services import customer_stop

    tc = active_card()
    customer_stop(actor=HOLDER, customer=tc.card.customer, channel="portal")

    answer = what_if(tc.card, _scenario())

    assert (answer.approved, answer.reason) == (False, "customer_stopped")
