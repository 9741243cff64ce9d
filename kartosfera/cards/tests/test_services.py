from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kartosfera.accounts.models import AccountKind
from kartosfera.cards.models import Card
from kartosfera.cards.pan import decrypt_pan, pan_fingerprint
from kartosfera.cards.services import (
    card_issue,
    card_product_update,
    card_renew,
    card_replace,
    card_transition,
    default_expiry,
)
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.audit import Actor
from kartosfera.core.errors import Conflict, InvalidTransition, ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.testing.factories import account_factory, card_factory, make_pan

SYSTEM = Actor.system("tests")
pytestmark = pytest.mark.django_db


def test_a_new_card_is_inactive_with_the_product_defaults(card, debit_product):
    assert card.status == CardStatus.INACTIVE
    assert card.cash_limit_minor == debit_product.cash_limit_default_minor
    assert card.internet_limit_minor == 0
    assert card.noncash_limit_max_minor == debit_product.noncash_limit_max_minor
    assert card.contactless_enabled is True
    assert card.expiry == default_expiry(debit_product)
    assert card.expiry.month == (timezone.localdate().month - 1 + 48) % 12 + 1
    event = AuditEvent.objects.get(action="cards.card.issued")
    assert event.after["last4"] == card.pan_last4
    assert decrypt_pan(card.pan_ciphertext) not in str(event.after)


def test_a_card_number_failing_luhn_is_refused(cardholder, debit_product):
    pan = make_pan("400000", 1)
    bad = pan[:-1] + str((int(pan[-1]) + 1) % 10)
    with pytest.raises(ValidationFailed) as exc:
        card_factory(customer=cardholder.customer, product=debit_product, pan=bad)
    assert set(exc.value.field_errors) == {"pan"}
    assert not Card.objects.exists()


def test_a_card_number_already_held_by_someone_else_is_a_conflict(card, second_cardholder, debit_product):
    with pytest.raises(Conflict):
        card_factory(customer=second_cardholder.customer, product=debit_product, pan=decrypt_pan(card.pan_ciphertext))


def test_a_credit_card_needs_a_credit_account(cardholder, credit_product):
    debit_account = account_factory(customer=cardholder.customer, kind=AccountKind.DEBIT)
    with pytest.raises(ValidationFailed) as exc:
        card_factory(customer=cardholder.customer, product=credit_product, account=debit_account)
    assert "account" in exc.value.field_errors


def test_an_individual_card_goes_to_the_account_owner(cardholder, second_cardholder, debit_product):
    account = account_factory(customer=cardholder.customer)
    with pytest.raises(ValidationFailed):
        card_factory(customer=second_cardholder.customer, product=debit_product, account=account)


def test_a_business_card_may_be_held_by_an_employee(business_user, cardholder, business_product):
    company_account = account_factory(customer=cardholder.customer)
    card = card_factory(customer=business_user.customer, product=business_product, account=company_account)
    assert card.customer == business_user.customer


def test_a_contactless_incapable_product_issues_cards_with_contactless_off(cardholder):
    from kartosfera.testing.factories import product_factory

    product = product_factory(contactless_capable=False)
    assert card_factory(customer=cardholder.customer, product=product).contactless_enabled is False


def test_renewal_keeps_the_number_and_issues_an_inactive_successor(card):
    card = card_transition(actor=SYSTEM, card=card, to_status=CardStatus.ACTIVE, reason=StatusReason.ACTIVATED)
    renewal = card_renew(actor=SYSTEM, card=card, reference="RENEW-1")
    assert renewal.replaces == card
    assert renewal.pan_fingerprint == card.pan_fingerprint
    assert renewal.expiry > card.expiry
    assert renewal.status == CardStatus.INACTIVE and renewal.status_reason == StatusReason.RENEWAL_ISSUED
    card.refresh_from_db()
    assert card.status == CardStatus.ACTIVE  # the old card works until the renewal is activated
    with pytest.raises(Conflict):
        card_renew(actor=SYSTEM, card=card, reference="RENEW-2")


def test_a_cancelled_card_is_replaced_not_renewed(card):
    card = card_transition(actor=SYSTEM, card=card, to_status=CardStatus.CANCELLED, reason=StatusReason.STOLEN)
    with pytest.raises(InvalidTransition):
        card_renew(actor=SYSTEM, card=card, reference="RENEW-1")


def test_replacement_gets_a_new_number_and_cancels_the_old_card(card):
    new_pan = make_pan("400000", 999_999)
    replacement = card_replace(actor=SYSTEM, card=card, reference="REPL-1", pan=new_pan)
    card.refresh_from_db()
    assert card.status == CardStatus.CANCELLED and card.status_reason == StatusReason.REPLACED
    assert replacement.pan_fingerprint == pan_fingerprint(new_pan)
    assert replacement.replaces == card
    with pytest.raises(ValidationFailed):
        card_replace(actor=SYSTEM, card=replacement, reference="REPL-2", pan=new_pan)


def test_a_card_cannot_be_issued_already_expired(cardholder, debit_product):
    with pytest.raises(ValidationFailed) as exc:
        card_factory(customer=cardholder.customer, product=debit_product, expiry=dt.date(2020, 1, 1))
    assert "expiry" in exc.value.field_errors


def test_lowering_a_product_maximum_brings_card_limits_down_with_an_audit_row(card, debit_product):
    Card.objects.filter(pk=card.pk).update(cash_limit_minor=900_000)
    card_product_update(
        actor=SYSTEM, product=debit_product, cash_limit_max_minor=500_000, cash_limit_default_minor=100_000
    )
    card.refresh_from_db()
    assert card.cash_limit_max_minor == 500_000
    assert card.cash_limit_minor == 500_000
    event = AuditEvent.objects.get(action="cards.card.product_terms_applied")
    assert event.before["cash_limit_minor"] == 900_000 and event.after["cash_limit_minor"] == 500_000


def test_raising_a_maximum_keeps_card_limits(card, debit_product):
    card_product_update(actor=SYSTEM, product=debit_product, noncash_limit_max_minor=5_000_000)
    card.refresh_from_db()
    assert card.noncash_limit_max_minor == 5_000_000
    assert card.noncash_limit_minor == debit_product.noncash_limit_default_minor


def test_product_update_refuses_broken_invariants(debit_product):
    with pytest.raises(ValidationFailed) as exc:
        card_product_update(actor=SYSTEM, product=debit_product, internet_limit_max_minor=99_000_000)
    assert "internet_limit_max_minor" in exc.value.field_errors


def test_withdrawing_contactless_from_a_product_switches_it_off_on_its_cards(card, debit_product):
    card_product_update(actor=SYSTEM, product=debit_product, contactless_capable=False)
    card.refresh_from_db()
    assert card.contactless_enabled is False


def test_issue_with_an_explicit_expiry_uses_the_last_day_of_that_month(cardholder, debit_product):
    card = card_issue(
        actor=SYSTEM,
        reference="X1",
        product=debit_product,
        account=account_factory(customer=cardholder.customer),
        customer=cardholder.customer,
        pan=make_pan("400000", 31337),
        embossed_name="anna nowak",
        expiry=dt.date(2031, 2, 1),
    )
    assert card.expiry == dt.date(2031, 2, 28)
    assert card.embossed_name == "ANNA NOWAK"
