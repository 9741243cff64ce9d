"""The card core's metrics: each decision through the processor API counted by code and scheme, and timed."""

from __future__ import annotations

import pytest

from kartosfera.api.models import ApiScope
from kartosfera.cards.models import Brand
from kartosfera.cards.operations_services import card_contactless_set
from kartosfera.processing.tests.helpers import active_card
from kartosfera.processing.tests.test_api import HOLDER, _client, body, post
from kartosfera.testing.metrics import scrape

pytestmark = pytest.mark.django_db
DECISIONS = "kartosfera_authorizations_total"
TIMED = "kartosfera_authorization_decision_seconds_count"


@pytest.fixture
def processor():
    return _client(ApiScope.PROCESSOR)


@pytest.mark.parametrize(("brand", "declined_code"), [(Brand.VISA, "9G"), (Brand.MASTERCARD, "57")])
def test_each_decision_is_counted_by_its_code_and_scheme_and_timed(processor, metrics_token, brand, declined_code):
    tc = active_card(brand=brand)
    before = scrape()
    approved = post(processor, body(tc)).json()
    assert approved["response_code"] == "00"
    card_contactless_set(actor=HOLDER, card=tc.card, enabled=False)
    declined = post(processor, body(tc)).json()
    assert declined["response_code"] == declined_code
    after = scrape()

    assert (
        after.value(DECISIONS, response_code="00", scheme=brand)
        == before.value(DECISIONS, response_code="00", scheme=brand) + 1
    )
    assert (
        after.value(DECISIONS, response_code=declined_code, scheme=brand)
        == before.value(DECISIONS, response_code=declined_code, scheme=brand) + 1
    )
    assert after.value(TIMED, scheme=brand) == before.value(TIMED, scheme=brand) + 2
    # The decision took some time, and less than the slowest bucket says.
    assert after.value("kartosfera_authorization_decision_seconds_sum", scheme=brand) > before.value(
        "kartosfera_authorization_decision_seconds_sum", scheme=brand
    )
    assert after.value("kartosfera_authorization_decision_seconds_bucket", scheme=brand, le="+Inf") == after.value(
        TIMED, scheme=brand
    )


def test_a_retry_is_a_replay_not_another_decision(processor, metrics_token):
    tc = active_card()
    data = body(tc)
    post(processor, data)
    before = scrape()
    assert post(processor, data).status_code == 200
    after = scrape()
    assert after.value(DECISIONS, response_code="00", scheme="visa") == before.value(
        DECISIONS, response_code="00", scheme="visa"
    )
    assert (
        after.value("kartosfera_authorization_replays_total")
        == before.value("kartosfera_authorization_replays_total") + 1
    )


def test_an_unknown_card_is_counted_too(processor, metrics_token):
    tc = active_card()
    before = scrape()
    answer = post(processor, body(tc, card={"pan": "4000000000000002", "expiry": "2030-01"})).json()
    after = scrape()
    code = answer["response_code"]
    assert (
        after.value(DECISIONS, response_code=code, scheme="visa")
        == before.value(DECISIONS, response_code=code, scheme="visa") + 1
    )
