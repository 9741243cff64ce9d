"""The 3-D Secure PIN across a change of CARD_PIN_KEY [ASVS 11.2.2] (docs/pin.md, "Changing the PIN key").

Its value records the id of the key that made it, as a card PIN's does; a right PIN under an older key is
rewritten under the newest under the profile's lock; a value under a removed key fails without counting as a
failure; the comparisons between the two PINs use the key each stored value was made with.
"""

from __future__ import annotations

import datetime as dt
import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from kartosfera.cards.operations_services import card_activate, card_pin_change
from kartosfera.cards.pin import (
    PinSameAsOtherPin,
    pin_key_id,
    pin_verification_values,
    threeds_pin_verification_value,
    threeds_pin_verification_values,
)
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.secure3d import services
from kartosfera.testing import factories

pytestmark = pytest.mark.django_db

KEY_1 = "card-pin-key-one-" + "1" * 32
KEY_2 = "card-pin-key-two-" + "2" * 32
ID_1, ID_2 = pin_key_id(KEY_1), pin_key_id(KEY_2)
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _set(customer, pin):
    return services.threeds_pin_set(
        actor=Actor.system(), customer=customer, **services.threeds_pin_values(pin, customer=customer)
    )


def _card_with_pin(customer, pin):
    card = card_activate(actor=Actor.system(), card=factories.card_factory(customer=customer))
    return card_pin_change(
        actor=Actor.system(),
        card=card,
        pvvs=pin_verification_values(pin, card=card),
        threeds_pvvs=threeds_pin_verification_values(pin, customer=customer),
    )


def test_a_3ds_pin_set_under_key_1_verifies_after_key_2_is_added_and_moves_to_key_2(cardholder):
    customer = cardholder.customer
    with override_settings(CARD_PIN_KEYS=[KEY_1]):
        profile = _set(customer, "5830")
        assert profile.pin_key_id == ID_1
        under_1 = profile.pin_verification_value
    with override_settings(CARD_PIN_KEYS=[KEY_2, KEY_1]):
        assert services.threeds_pin_check(customer=customer, pin="6135", now=NOW) is False
        profile.refresh_from_db()
        assert (profile.pin_key_id, profile.pin_verification_value, profile.failed_attempts) == (ID_1, under_1, 1)
        assert services.threeds_pin_check(customer=customer, pin="5830", now=NOW) is True
        profile.refresh_from_db()
        assert profile.pin_key_id == ID_2
        assert profile.pin_verification_value == threeds_pin_verification_value("5830", customer=customer, key_id=ID_2)
        assert profile.failed_attempts == 0
    # Not a PIN change: the one "set" row of the holder's own setting, no "changed" row.
    assert AuditEvent.objects.filter(action__startswith="secure3d.pin.").count() == 1
    with override_settings(CARD_PIN_KEYS=[KEY_2]):
        assert services.threeds_pin_check(customer=customer, pin="5830", now=NOW) is True


def test_after_key_1_is_removed_a_3ds_pin_never_used_since_fails_uncounted_and_is_counted(cardholder, caplog):
    customer = cardholder.customer
    with override_settings(CARD_PIN_KEYS=[KEY_1]):
        _set(customer, "5830")
    with override_settings(CARD_PIN_KEYS=[KEY_2]):
        caplog.set_level(logging.WARNING, logger="kartosfera.cards.pin")
        assert services.threeds_pin_check(customer=customer, pin="5830", now=NOW) is False
        profile = services.threeds_profile_get(customer=customer)
        assert (profile.failed_attempts, profile.locked_until, profile.pin_key_id) == (0, None, ID_1)
        assert any("3-D Secure" in r.getMessage() and ID_1 in r.getMessage() for r in caplog.records)
        assert "5830" not in caplog.text
        out = StringIO()
        with pytest.raises(CommandError):
            call_command("pin_key_usage", stdout=out)
        assert f"{ID_1} (not in CARD_PIN_KEY): 1 values cannot be verified" in out.getvalue()
        assert f"{ID_2} (newest): 0 card PINs, 0 3-D Secure PINs" in out.getvalue()
        # A new 3DS PIN is the way out (the old value, dead, is not compared with anything).
        assert _set(customer, "6135").pin_key_id == ID_2
        assert services.threeds_pin_check(customer=customer, pin="6135", now=NOW) is True


def test_the_two_pins_are_compared_under_the_key_each_was_made_with(cardholder):
    customer = cardholder.customer
    with override_settings(CARD_PIN_KEYS=[KEY_1]):
        _card_with_pin(customer, "5830")
        _set(customer, "7391")
    with override_settings(CARD_PIN_KEYS=[KEY_2, KEY_1]):
        # The card PIN is still under key 1: a new 3DS PIN equal to it is refused all the same.
        with pytest.raises(PinSameAsOtherPin):
            _set(customer, "5830")
        # And the 3DS PIN is under key 1: a new card PIN equal to it is refused.
        with pytest.raises(PinSameAsOtherPin):
            _card_with_pin(customer, "7391")
        assert services.threeds_pin_check(customer=customer, pin="7391", now=NOW) is True
