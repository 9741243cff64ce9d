"""ONE mapping says which declines tell the holder and in which words; every holder control is in it."""

from __future__ import annotations

import pytest
from django.utils import translation

from kartosfera.core.money import Money
from kartosfera.notices.controls import DECLINE_NOTICE_CONTROLS, NOT_HOLDER_CONTROLS
from kartosfera.notices.sms_texts import SMS_DECLINE_NOTICE, decline_sms, decline_sms_values
from kartosfera.notifications import gsm7
from kartosfera.notifications.texts import LONGEST_SMS_NAME
from kartosfera.processing.codes import CODES, Reason

# A control's name shares one SMS with the amount and the merchant: short enough to leave the merchant room.
NAME_MAX_SEPTETS = 40
MERCHANT_MIN_ROOM = 20
LANGUAGES = ["pl", "en"]


def test_every_reason_with_a_holders_setting_has_a_notice_name_or_is_named_as_no_control():
    """A reason the lead adds with a setting (codes.py ``Code.setting``) fails here until it is placed: one line
    in DECLINE_NOTICE_CONTROLS (a holder's control: the holder is told) or in NOT_HOLDER_CONTROLS."""
    with_setting = {code.reason for code in CODES.values() if code.setting}
    unplaced = with_setting - DECLINE_NOTICE_CONTROLS.keys() - NOT_HOLDER_CONTROLS
    assert unplaced == set(), f"give these decline reasons a notice name in notices/controls.py: {sorted(unplaced)}"
    assert not DECLINE_NOTICE_CONTROLS.keys() & NOT_HOLDER_CONTROLS


def test_every_notice_names_a_known_reason_with_a_setting_to_link_to():
    for reason in DECLINE_NOTICE_CONTROLS:
        assert reason in CODES and CODES[reason].setting, reason


def test_the_holders_controls_of_the_brief_are_counted_and_the_others_not():
    assert set(DECLINE_NOTICE_CONTROLS) >= {
        Reason.CONTACTLESS_DISABLED,
        Reason.MOBILE_PAYMENTS_DISABLED,
        Reason.INTERNET_PAYMENTS_LOCKED,
        Reason.CASH_LIMIT_EXCEEDED,
        Reason.NONCASH_LIMIT_EXCEEDED,
        Reason.INTERNET_LIMIT_EXCEEDED,
    }
    for reason in (Reason.CARD_BLOCKED_BY_HOLDER, Reason.SCA_REQUIRED, Reason.TOKEN_SUSPENDED, Reason.PIN_WRONG):
        assert reason not in DECLINE_NOTICE_CONTROLS


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("reason", sorted(DECLINE_NOTICE_CONTROLS))
def test_each_name_is_short_and_gsm7_once_transliterated(reason, language):
    with translation.override(language):
        name = gsm7.transliterate(str(DECLINE_NOTICE_CONTROLS[reason]))
    assert "?" not in name and gsm7.septets(name) <= NAME_MAX_SEPTETS, name


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("reason", sorted(DECLINE_NOTICE_CONTROLS))
def test_a_realistic_payment_leaves_the_merchant_room_in_the_sms(reason, language):
    merchant = "M" * 100
    with translation.override(language):
        values = decline_sms_values(
            bank=LONGEST_SMS_NAME,
            last4="9999",
            amount=Money(99_999_999, "PLN"),
            merchant=merchant,
            control=DECLINE_NOTICE_CONTROLS[reason],
        )
        text = SMS_DECLINE_NOTICE.render(**values).text
    assert len(str(values["merchant"])) >= MERCHANT_MIN_ROOM
    assert gsm7.fits_one_segment(text)


def test_a_short_merchant_is_kept_whole_and_the_extension_table_counts_twice():
    with translation.override("pl"):
        short = decline_sms(
            bank="BS", last4="1234", amount=Money(12_000, "EUR"), merchant="  AMAZON\n EU ", control="x"
        ).text
        braces = decline_sms(
            bank=LONGEST_SMS_NAME, last4="1234", amount=Money(12_000, "EUR"), merchant="{" * 100, control="x"
        ).text
    assert "120,00 EUR" in short and "AMAZON EU" in short
    assert gsm7.septets(braces) in (gsm7.SEGMENT_SEPTETS - 1, gsm7.SEGMENT_SEPTETS)
