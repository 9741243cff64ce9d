"""Changing the PIN keys [ASVS 11.2.2]: CARD_PIN_KEY and PIN_ENCRYPTION_KEY take lists, newest first.

A card PIN's value records the id of the key that made it; a right PIN under an older key is rewritten under
the newest in the decision's transaction; a value under a removed key fails without counting against the holder
and is counted by ``manage.py pin_key_usage``. A PIN block that does not open under the newest PIN encryption key
is tried under the next (docs/pin.md, "Changing the PIN key", "Changing the PIN encryption key").
"""

from __future__ import annotations

import base64
import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_pin_change
from kartosfera.cards.pin import (
    PinKeysChanged,
    pin_key_id,
    pin_matches,
    pin_verification_value,
    pin_verification_values,
    threeds_pin_verification_values,
)
from kartosfera.cards.pinblock import pin_block_encipher
from kartosfera.cards.stepup_operations import run_pin_change
from kartosfera.core.models import AuditEvent
from kartosfera.processing.services import authorization_decide
from kartosfera.processing.tests.helpers import PIN, PROCESSOR, CardFixture, active_card, decide, request_for
from kartosfera.testing.factories import SYSTEM

pytestmark = pytest.mark.django_db

KEY_1 = "card-pin-key-one-" + "1" * 32
KEY_2 = "card-pin-key-two-" + "2" * 32
ID_1, ID_2 = pin_key_id(KEY_1), pin_key_id(KEY_2)
PEK_OLD = base64.b64encode(bytes(range(32))).decode()
PEK_NEW = base64.b64encode(bytes(range(100, 132))).decode()


def _set_pin(tc: CardFixture, pin: str = PIN) -> Card:
    """The holder's PIN change, confirmed (values under every configured key; the newest's is stored)."""
    card = tc.refresh()
    return card_pin_change(
        actor=SYSTEM,
        card=card,
        pvvs=pin_verification_values(pin, card=card),
        threeds_pvvs=threeds_pin_verification_values(pin, customer=card.customer),
    )


def _approved(decision) -> bool:
    return bool(decision.authorization.approved)


def test_the_key_id_names_the_key_without_revealing_it():
    assert len(ID_1) == 8 and all(c in "0123456789abcdef" for c in ID_1)
    assert ID_1 != ID_2
    assert ID_1 not in KEY_1 and pin_key_id(KEY_1) == ID_1  # stable: the same key, the same id


def test_a_pin_set_under_key_1_verifies_after_key_2_is_added_and_moves_to_key_2():
    with override_settings(CARD_PIN_KEYS=[KEY_1]):
        tc = active_card()
        card = _set_pin(tc)
        assert card.pin_key_id == ID_1
        under_1 = card.pin_verification_value
        assert under_1 == pin_verification_value(PIN, card=card)
    with override_settings(CARD_PIN_KEYS=[KEY_2, KEY_1]):
        # A wrong PIN under the old key is a wrong PIN, and rewrites nothing.
        assert not _approved(decide(tc, pin_entered=True, pin="1357"))
        card = tc.refresh()
        assert (card.pin_key_id, card.pin_verification_value, card.wrong_pin_count) == (ID_1, under_1, 1)
        # The right PIN: approved, and its value is now the newest key's, in the same transaction.
        assert _approved(decide(tc, pin_entered=True, pin=PIN))
        card = tc.refresh()
        assert card.pin_key_id == ID_2
        assert card.pin_verification_value == pin_verification_value(PIN, card=card, key_id=ID_2)
        assert card.pin_verification_value != under_1
        assert card.wrong_pin_count == 0
    # The rewrite is not a PIN change: no audit row says the PIN changed (the one is the holder's own change).
    assert AuditEvent.objects.filter(action="cards.card.pin_changed", object_id=str(card.pk)).count() == 1
    with override_settings(CARD_PIN_KEYS=[KEY_2]):
        # Key 1 removed: the card used meanwhile still verifies.
        assert _approved(decide(tc, pin_entered=True, pin=PIN))
        assert pin_matches(PIN, card=tc.refresh())


def test_a_value_made_before_key_ids_counts_under_the_oldest_key_and_gets_the_newest_id():
    # The migration leaves the stored values without an id: they were made under the one key there was.
    with override_settings(CARD_PIN_KEYS=[KEY_1]):
        tc = active_card()  # its value is stored directly, with no key id
        assert tc.refresh().pin_key_id is None
    with override_settings(CARD_PIN_KEYS=[KEY_2, KEY_1]):
        out = StringIO()
        call_command("pin_key_usage", stdout=out)
        assert f"{ID_1} (oldest): 1 card PINs" in out.getvalue()
        assert "have no key id" in out.getvalue()
        assert _approved(decide(tc, pin_entered=True, pin=PIN))
        assert tc.refresh().pin_key_id == ID_2


def test_after_key_1_is_removed_a_card_never_used_since_fails_uncounted_and_the_command_names_it(caplog):
    with override_settings(CARD_PIN_KEYS=[KEY_1]):
        used, unused = active_card(), active_card()
        _set_pin(used)
        _set_pin(unused)
    with override_settings(CARD_PIN_KEYS=[KEY_2, KEY_1]):
        assert _approved(decide(used, pin_entered=True, pin=PIN))
        out = StringIO()
        call_command("pin_key_usage", stdout=out)
        assert f"{ID_2} (newest): 1 card PINs" in out.getvalue()
        assert f"{ID_1} (oldest): 1 card PINs" in out.getvalue()
        assert "can be removed" not in out.getvalue()
    with override_settings(CARD_PIN_KEYS=[KEY_2]):
        caplog.set_level(logging.WARNING, logger="kartosfera.cards.pin")
        decision = decide(unused, pin_entered=True, pin=PIN)
        assert (decision.authorization.approved, decision.authorization.decline_reason) == (False, "pin_unverifiable")
        # Not the holder's wrong PIN: nothing counted, nothing rewritten, and the operator is told which key.
        card = unused.refresh()
        assert (card.wrong_pin_count, card.pin_key_id) == (0, ID_1)
        assert any(ID_1 in r.getMessage() and "no longer lists" in r.getMessage() for r in caplog.records)
        assert PIN not in caplog.text and card.pin_verification_value not in caplog.text
        out = StringIO()
        with pytest.raises(CommandError, match="no longer lists"):
            call_command("pin_key_usage", stdout=out)
        assert f"{ID_1} (not in CARD_PIN_KEY): 1 values cannot be verified" in out.getvalue()
        assert f"{ID_2} (newest): 1 card PINs" in out.getvalue()
        assert KEY_1 not in out.getvalue() and KEY_2 not in out.getvalue()
        # The holder's new PIN is the way out: stored under the newest key.
        card = _set_pin(unused, "5930")
        assert card.pin_key_id == ID_2
        assert _approved(decide(unused, pin_entered=True, pin="5930"))


def test_the_command_says_when_the_old_key_can_go():
    with override_settings(CARD_PIN_KEYS=[KEY_1]):
        tc = active_card()
        _set_pin(tc)
    with override_settings(CARD_PIN_KEYS=[KEY_2, KEY_1]):
        decide(tc, pin_entered=True, pin=PIN)
        out = StringIO()
        call_command("pin_key_usage", stdout=out)
        assert f"{ID_1} (oldest): 0 card PINs, 0 3-D Secure PINs: no value left, the key can be removed" in (
            out.getvalue()
        )


def test_a_pin_change_confirmed_after_the_keys_changed_is_made_again():
    with override_settings(CARD_PIN_KEYS=[KEY_1]):
        tc = active_card()
        card = tc.refresh()
        before = card.pin_verification_value
        pvvs = pin_verification_values("5930", card=card)
        threeds = threeds_pin_verification_values("5930", customer=card.customer)
    with override_settings(CARD_PIN_KEYS=[KEY_2, KEY_1]), pytest.raises(PinKeysChanged):
        card_pin_change(actor=SYSTEM, card=card, pvvs=pvvs, threeds_pvvs=threeds)
    assert tc.refresh().pin_verification_value == before


def test_a_pin_block_under_the_old_pin_encryption_key_verifies_during_the_change_over():
    tc = active_card()
    request = request_for(tc, pin_entered=True)
    old_block = pin_block_encipher(pin=PIN, pan=request.pan, key=base64.b64decode(PEK_OLD)).hex()
    with override_settings(PIN_ENCRYPTION_KEYS=[PEK_OLD]):
        assert _approved(authorization_decide(actor=PROCESSOR, request=request, pin_block=old_block))
    with override_settings(PIN_ENCRYPTION_KEYS=[PEK_NEW, PEK_OLD]):
        # The processor still on the old key, then on the new one: both open.
        again = request_for(tc, pin_entered=True)
        assert _approved(authorization_decide(actor=PROCESSOR, request=again, pin_block=old_block))
        assert _approved(decide(tc, pin_entered=True, pin=PIN))  # enciphered under the newest key
    with override_settings(PIN_ENCRYPTION_KEYS=[PEK_NEW]):
        # The change-over over: a block under the old key no longer opens, and is not a wrong PIN.
        late = request_for(tc, pin_entered=True)
        decision = authorization_decide(actor=PROCESSOR, request=late, pin_block=old_block)
        assert (decision.authorization.approved, decision.authorization.decline_reason) == (False, "pin_unverifiable")
        assert tc.refresh().wrong_pin_count == 0


def test_a_pin_change_asked_for_before_the_upgrade_is_made_again_not_a_crash():
    # A step-up payload from before the PIN values carried their keys (one value, under the old names).
    tc = active_card()
    card = tc.refresh()
    old_payload = {
        "pin_verification_value": pin_verification_value("5930", card=card),
        "threeds_pin_verification_value": pin_verification_value("5930", card=card),
    }
    with pytest.raises(PinKeysChanged):
        run_pin_change(user=card.customer, payload=old_payload, card=card, actor=SYSTEM)  # type: ignore[arg-type]
    assert tc.refresh().pin_verification_value == card.pin_verification_value


def test_a_confirmation_asked_for_before_the_upgrade_has_its_old_pin_values_wiped():
    """Its payload carries the PIN's values under the names from before the key lists: they are secrets, wiped
    when the confirmation ends or expires like the new ones (an HMAC of a 4-digit PIN falls to 10,000 guesses
    for whoever holds the key)."""
    from kartosfera.cards.stepup_operations import CARD_PIN_CHANGE
    from kartosfera.sca import stepup
    from kartosfera.secure3d.stepup_operations import PIN_SET

    registry = stepup._registry
    assert {"pin_verification_value", "threeds_pin_verification_value"} <= set(registry[CARD_PIN_CHANGE].secret_keys)
    assert "pin_verification_value" in registry[PIN_SET].secret_keys
