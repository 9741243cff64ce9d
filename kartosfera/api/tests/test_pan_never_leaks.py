"""The full card number enters through the API and never comes back out: not in answers, logs or rows."""

from __future__ import annotations

import json
import logging

import pytest

from kartosfera.accounts.models import AccountKind
from kartosfera.api.models import IdempotencyRecord
from kartosfera.cards.models import Brand
from kartosfera.core.models import AuditEvent
from kartosfera.testing.factories import account_factory, card_factory, customer_factory, make_pan, product_factory

pytestmark = pytest.mark.django_db

PAN = make_pan("400000", 990_001)
NEW_PAN = make_pan("400000", 990_002)
OTHER_PAN = make_pan("400000", 990_003)
BAD_LUHN = PAN[:-1] + str((int(PAN[-1]) + 1) % 10)
NUMBERS = [PAN, NEW_PAN, OTHER_PAN, BAD_LUHN]


def _spaced(pan: str) -> str:
    return " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))


def _assert_no_number_in(text: str, where: str) -> None:
    for number in NUMBERS:
        assert number not in text, f"a full card number in {where}"
        assert _spaced(number) not in text, f"a full card number in {where}"


def test_no_answer_log_line_or_stored_row_contains_a_full_card_number(bank, caplog, settings):
    # DEBUG on: ninja's messages get more detailed and every SQL statement is logged with its
    # parameters; none of it may carry a card number either.
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    owner = customer_factory(reference="CIF-PAN")
    product_factory(code="VISA-PAN", brand=Brand.VISA)
    account_factory(customer=owner, reference="ACC-PAN", kind=AccountKind.DEBIT)
    card_factory(customer=customer_factory(), product=product_factory(), pan=OTHER_PAN)
    issue = {
        "reference": "CARD-PAN",
        "product": "VISA-PAN",
        "account": "ACC-PAN",
        "customer": "CIF-PAN",
        "pan": _spaced(PAN),
        "embossed_name": "Anna Nowak",
    }
    responses = [
        bank.post("/cards", issue, key="issue"),  # 201
        bank.post("/cards", issue, key="issue"),  # replayed
        bank.post("/cards", {**issue, "embossed_name": "X"}, key="issue"),  # key reused: 422
        bank.post("/cards", {**issue, "reference": "CARD-2", "pan": BAD_LUHN}),  # Luhn: 422
        bank.post("/cards", {**issue, "reference": "CARD-3", "pan": OTHER_PAN}),  # somebody else's: 409
        bank.post("/cards", {**issue, "reference": "CARD-4", "pan": int(PAN)}),  # wrong type: 422
        bank.post("/cards", {**issue, "reference": "CARD-5", "card_number": PAN}),  # unknown field: 422
        bank.post("/cards", {**issue, "reference": "CARD-6", "pan": PAN * 3}),  # too long: 422
        bank.post("/cards", raw='{"pan": "' + PAN + '", '),  # not JSON: 400
        bank.post("/cards", {**issue, "reference": "bad ref"}),  # schema error elsewhere: 422
        bank.get("/cards/CARD-PAN"),
        bank.post("/cards/CARD-PAN/renew", {"reference": "CARD-RENEWED"}),  # keeps the number
        bank.post("/cards/CARD-RENEWED/replace", {"reference": "CARD-REPLACED", "pan": NEW_PAN}),
        bank.post("/cards/CARD-REPLACED/replace", {"reference": "CARD-X", "pan": NEW_PAN}),  # same number: 422
        bank.get("/cards/CARD-RENEWED"),
        bank.get("/cards/CARD-REPLACED"),
    ]

    assert [r.status_code for r in responses] == [
        201, 201, 422, 422, 409, 422, 422, 422, 400, 422, 200, 201, 201, 422, 200, 200
    ]  # fmt: skip
    for response in responses:
        _assert_no_number_in(response.content.decode(), f"the answer {response.status_code}")
        _assert_no_number_in(str(response.headers), "the answer's headers")
    assert {"django.request", "django.db.backends"} <= {r.name for r in caplog.records}, "requests and SQL logged"
    _assert_no_number_in(caplog.text, "the log")
    for record in caplog.records:
        _assert_no_number_in(record.getMessage() + repr(record.args) + repr(record.__dict__), "a log record")
    for event in AuditEvent.objects.all():
        _assert_no_number_in(json.dumps([event.before, event.after]), "the audit log")
    for record in IdempotencyRecord.objects.all():
        _assert_no_number_in(record.response_body + record.fingerprint + record.key, "an idempotency record")
