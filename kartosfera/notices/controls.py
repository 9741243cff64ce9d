"""Which declines tell the holder, and how a notice names the holder's control that caused it.

ONE mapping: a decline reason (processing/codes.py ``Reason``) that comes from a
control the holder set → the control's short name, for the portal's card page and
the SMS (docs/decline-notices.md). A new holder control is one line here; a test
(notices/tests/test_controls.py) fails for a reason that has a holder's setting
(``Code.setting``) and is in neither ``DECLINE_NOTICE_CONTROLS`` nor
``NOT_HOLDER_CONTROLS``.

The names are short (they share one SMS segment with the amount and the merchant) and
must read well after transliteration to GSM-7 ("płatności" → "platnosci").
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kartosfera.processing.codes import Reason

DECLINE_NOTICE_CONTROLS: dict[str, Promise] = {
    Reason.CONTACTLESS_DISABLED: _("contactless payments switched off"),
    Reason.MOBILE_PAYMENTS_DISABLED: _("mobile payments switched off"),
    Reason.INTERNET_PAYMENTS_LOCKED: _("internet payments locked"),
    Reason.CASH_LIMIT_EXCEEDED: _("daily cash withdrawal limit"),
    Reason.NONCASH_LIMIT_EXCEEDED: _("daily card payment limit"),
    Reason.INTERNET_LIMIT_EXCEEDED: _("daily internet payment limit"),
    # The finer controls (docs/controls.md).
    Reason.ATM_DISABLED: _("ATM withdrawals switched off"),
    Reason.ONLINE_DISABLED: _("internet payments switched off"),
    Reason.MAGSTRIPE_DISABLED: _("magnetic stripe payments switched off"),
    Reason.MOTO_DISABLED: _("mail and phone orders switched off"),
    Reason.ABROAD_DISABLED: _("payments abroad switched off"),
    Reason.COUNTRY_BLOCKED: _("payments in this country blocked"),
    Reason.MERCHANT_CATEGORY_BLOCKED: _("merchant category blocked"),
    Reason.ATM_COUNT_EXCEEDED: _("daily number of ATM withdrawals"),
    Reason.POS_COUNT_EXCEEDED: _("daily number of terminal payments"),
    Reason.ONLINE_COUNT_EXCEEDED: _("daily number of internet payments"),
}

# Reasons that name a setting in codes.py but are not the holder's control, so they send no notice:
# the card's state (a holder who blocked the card knows it), the phone wallet token's state (the
# token page shows it), and the PSD2 soft decline the merchant answers with 3-D Secure at once.
NOT_HOLDER_CONTROLS = frozenset(
    {
        Reason.CARD_NOT_ACTIVATED,
        Reason.CARD_BLOCKED_BY_HOLDER,
        Reason.TOKEN_SUSPENDED,
        Reason.TOKEN_NOT_USABLE,
        Reason.SCA_REQUIRED,
        # The holder stopped every payment (docs/stop-everything.md): they know, as with a card they blocked.
        Reason.CUSTOMER_STOPPED,
    }
)


def notice_control_name(reason: str) -> Promise | None:
    """The holder's control behind ``reason`` in words, or None when the decline sends no notice."""
    return DECLINE_NOTICE_CONTROLS.get(reason)
