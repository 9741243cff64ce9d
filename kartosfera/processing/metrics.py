"""The card core's metrics: authorization decisions by response code and scheme, and how long each took.

Counted in ``authorization_decide`` after its transaction (services.py): a decision that rolled back
is not counted, a retry answered from the stored decision is counted apart (``…_replays_total``).
Response codes are the ISO 8583 codes of codes.py and schemes the card brands: both short, fixed
lists, so the label sets stay small; the card, the merchant and the amount never become a label.
Updating them costs a few microseconds and no query (docs/processing.md, "Speed").
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from kartosfera.core.metrics import Children

AUTHORIZATIONS = Counter(
    "kartosfera_authorizations_total",
    "Authorization decisions, by ISO 8583 response code (00 approved, 05, 51, 91, ...) and card scheme.",
    ["response_code", "scheme"],
)
AUTHORIZATION_REPLAYS = Counter(
    "kartosfera_authorization_replays_total",
    "Retries of a known authorization id, answered with the stored decision.",
)
# A decision takes about 3 ms of CPU and a few database round trips; the processor's timeout is seconds.
DECISION_SECONDS = Histogram(
    "kartosfera_authorization_decision_seconds",
    "Time to decide an authorization (locks, checks and writes, in its transaction), by card scheme.",
    ["scheme"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

# The children by label values, without labels()' checks and lock on every decision (core/metrics.py).
authorizations = Children(AUTHORIZATIONS)
decision_seconds = Children(DECISION_SECONDS)
