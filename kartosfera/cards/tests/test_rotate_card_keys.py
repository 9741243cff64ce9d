from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command

from kartosfera.cards.models import Card
from kartosfera.cards.pan import decrypt_pan, pan_fingerprint
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing.factories import card_factory

pytestmark = pytest.mark.django_db


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def old_key(settings) -> str:
    key = new_key()
    settings.CARD_DATA_KEYS = [key]
    return key


def rotate(**options) -> str:
    out = io.StringIO()
    call_command("rotate_card_keys", stdout=out, **options)
    return out.getvalue()


def issue_cards(customer, product, count: int) -> list[tuple[Card, str]]:
    cards = [card_factory(customer=customer, product=product) for _ in range(count)]
    return [(card, decrypt_pan(card.pan_ciphertext)) for card in cards]


def test_a_card_under_the_old_key_decrypts_with_the_new_key_alone_after_rotation(
    settings, old_key, cardholder, debit_product
):
    [(card, pan)] = issue_cards(cardholder.customer, debit_product, 1)
    key = new_key()
    settings.CARD_DATA_KEYS = [key, old_key]

    output = rotate()

    card.refresh_from_db()
    settings.CARD_DATA_KEYS = [key]
    assert decrypt_pan(card.pan_ciphertext) == pan
    settings.CARD_DATA_KEYS = [old_key]
    with pytest.raises(InvalidToken):
        decrypt_pan(card.pan_ciphertext)
    assert "1 re-encrypted" in output
    assert pan not in output


def test_a_rotation_writes_one_audit_row_with_counts_only(settings, old_key, cardholder, debit_product):
    pairs = issue_cards(cardholder.customer, debit_product, 3)
    settings.CARD_DATA_KEYS = [new_key(), old_key]
    audit_before = AuditEvent.objects.count()

    rotate()

    assert AuditEvent.objects.count() == audit_before + 1
    event = AuditEvent.objects.get(action="cards.keys.rotated")
    assert event.actor_type == ActorType.SYSTEM
    assert event.after == {
        "cards_checked": 3,
        "cards_reencrypted": 3,
        "fingerprints_updated": 0,
        "cards_unchanged": 0,
        "keys_configured": 2,
    }
    text = str(event.after) + str(event.before)
    assert not any(pan in text for _, pan in pairs)
    assert not any(key in text for key in settings.CARD_DATA_KEYS)


def test_rotation_works_through_many_chunks(settings, old_key, cardholder, debit_product):
    pairs = issue_cards(cardholder.customer, debit_product, 5)
    key = new_key()
    settings.CARD_DATA_KEYS = [key, old_key]

    rotate(batch_size=2)

    settings.CARD_DATA_KEYS = [key]
    for card, pan in pairs:
        card.refresh_from_db()
        assert decrypt_pan(card.pan_ciphertext) == pan


def test_a_second_rotation_changes_nothing(settings, old_key, cardholder, debit_product):
    pairs = issue_cards(cardholder.customer, debit_product, 2)
    settings.CARD_DATA_KEYS = [new_key(), old_key]
    rotate()
    stored = dict(Card.objects.values_list("pk", "pan_ciphertext"))

    output = rotate()

    assert dict(Card.objects.values_list("pk", "pan_ciphertext")) == stored
    assert "0 re-encrypted" in output
    assert "2 already current" in output
    assert AuditEvent.objects.filter(action="cards.keys.rotated").count() == 2
    assert len(pairs) == 2


def test_a_new_fingerprint_key_is_applied_to_every_card(settings, cardholder, debit_product):
    [(card, pan)] = issue_cards(cardholder.customer, debit_product, 1)
    old_fingerprint = card.pan_fingerprint
    settings.CARD_FINGERPRINT_KEY = "a-new-fingerprint-key-for-this-test-000000"

    output = rotate()

    card.refresh_from_db()
    assert card.pan_fingerprint == pan_fingerprint(pan) != old_fingerprint
    assert "1 fingerprints recomputed" in output
    assert "0 re-encrypted" in output
    assert decrypt_pan(card.pan_ciphertext) == pan


def test_a_card_without_its_pin_binding_keeps_its_pin_through_a_fingerprint_key_change(
    settings, cardholder, debit_product
):
    """A card issued by code from before Card.pin_binding (blank) binds its PIN to its fingerprint at issue: the
    rotation keeps that one as the binding, so the PIN stays right."""
    from kartosfera.cards.pin import pin_verification_value

    [(card, _)] = issue_cards(cardholder.customer, debit_product, 1)
    Card.objects.filter(pk=card.pk).update(pin_binding="")
    card.refresh_from_db()
    stored = pin_verification_value("5930", card=card)
    old_fingerprint = card.pan_fingerprint
    settings.CARD_FINGERPRINT_KEY = "a-new-fingerprint-key-for-this-test-000000"

    rotate()

    card.refresh_from_db()
    assert card.pan_fingerprint != old_fingerprint
    assert card.pin_binding == old_fingerprint
    assert pin_verification_value("5930", card=card) == stored


def test_a_card_under_a_removed_key_stops_the_run_and_leaves_its_chunk_untouched(
    settings, old_key, cardholder, second_cardholder, debit_product
):
    [(good, _)] = issue_cards(cardholder.customer, debit_product, 1)
    lost_key = new_key()
    settings.CARD_DATA_KEYS = [lost_key]
    [(orphan, _)] = issue_cards(second_cardholder.customer, debit_product, 1)
    settings.CARD_DATA_KEYS = [new_key(), old_key]
    stored = dict(Card.objects.values_list("pk", "pan_ciphertext"))

    with pytest.raises(CommandError, match=orphan.reference):
        rotate()

    # Both cards were in the failing chunk: the good one was not half-rotated either.
    assert dict(Card.objects.values_list("pk", "pan_ciphertext")) == stored
    event = AuditEvent.objects.get(action="cards.keys.rotation_failed")
    assert event.after["failed_card"] == orphan.reference
    assert event.after["cards_reencrypted"] == 0
    assert not AuditEvent.objects.filter(action="cards.keys.rotated").exists()
    assert good.pk < orphan.pk


def test_chunks_before_the_failing_one_stay_rotated(settings, old_key, cardholder, second_cardholder, debit_product):
    [(good, pan)] = issue_cards(cardholder.customer, debit_product, 1)
    settings.CARD_DATA_KEYS = [new_key()]
    [(orphan, _)] = issue_cards(second_cardholder.customer, debit_product, 1)
    key = new_key()
    settings.CARD_DATA_KEYS = [key, old_key]

    with pytest.raises(CommandError, match=orphan.reference):
        rotate(batch_size=1)

    good.refresh_from_db()
    settings.CARD_DATA_KEYS = [key]
    assert decrypt_pan(good.pan_ciphertext) == pan
    assert AuditEvent.objects.get(action="cards.keys.rotation_failed").after["cards_reencrypted"] == 1


def test_without_card_data_keys_the_command_fails(settings):
    settings.CARD_DATA_KEYS = []
    with pytest.raises(CommandError, match="CARD_DATA_KEYS"):
        rotate()


def test_the_batch_size_must_be_positive():
    with pytest.raises(CommandError, match="batch-size"):
        rotate(batch_size=0)
