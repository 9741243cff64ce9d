"""The range of dates Kartosfera accepts from outside (the bank's systems, forms)."""

from __future__ import annotations

import datetime as dt

# Nothing Kartosfera stores happened before 1900: no living customer was born earlier, and no
# card was issued then. A floor also keeps every date arithmetic far from datetime's limits.
EARLIEST_DATE = dt.date(1900, 1, 1)
