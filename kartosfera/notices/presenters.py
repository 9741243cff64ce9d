"""The card page's list of payments declined by the holder's settings, in the viewer's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kartosfera.core.money import format_amount
from kartosfera.notices.controls import notice_control_name
from kartosfera.notices.models import DeclineNotice
from kartosfera.processing.codes import CODES
from kartosfera.processing.presenters import SettingLink


@dataclass(frozen=True)
class DeclineNoticeRow:
    at: dt.datetime
    merchant: str
    amount: str
    control: str
    setting_link: SettingLink | None


def decline_notice_rows(
    notices: Iterable[DeclineNotice], *, setting_link: Callable[[str], SettingLink | None]
) -> list[DeclineNoticeRow]:
    """The lines of ``notices`` (their authorizations selected with them): no query here."""
    rows = []
    for notice in notices:
        authorization = notice.authorization
        code = CODES.get(notice.control)
        rows.append(
            DeclineNoticeRow(
                at=notice.created_at,
                merchant=authorization.merchant_name,
                amount=format_amount(authorization.amount_minor, authorization.currency),
                control=str(notice_control_name(notice.control) or (code.text if code else notice.control)),
                setting_link=setting_link(code.setting) if code is not None and code.setting else None,
            )
        )
    return rows
