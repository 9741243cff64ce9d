"""When a lock after wrong passwords ends: at the start of the next day in Warsaw.

PRODUCT.md "Lockout" [bank]: 3 wrong passwords in a row lock portal access;
it unlocks by itself at the start of the next day (Europe/Warsaw), or the same
day when bank staff unlock it. Nothing has to run at midnight: the lock is a
timestamp compared with the clock.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# The bank's day, whatever TIME_ZONE says: the rule is the Polish banks' rule.
BANK_TIMEZONE = ZoneInfo("Europe/Warsaw")
# Failed authentication attempts in a row that lock access [bank: 3; PSD2 RTS art. 4(3)(d): at most 5].
MAX_FAILED_LOGINS = 3


def lock_end(now: dt.datetime) -> dt.datetime:
    """00:00 Europe/Warsaw of the day after ``now``, as an aware datetime.

    Computed on the calendar, not as ``now + 24h``: the day of a DST change has
    23 or 25 hours. Midnight itself is never skipped or repeated in Poland
    (the clocks change at 02:00/03:00), so the result is always unambiguous.
    """
    if now.tzinfo is None:
        raise ValueError("lock_end needs an aware datetime")
    next_day = now.astimezone(BANK_TIMEZONE).date() + dt.timedelta(days=1)
    return dt.datetime.combine(next_day, dt.time.min, tzinfo=BANK_TIMEZONE)
