"""SMS metrics: the queue's depth and age (computed when scraped) and the deliveries' outcomes.

The queue is read at scrape time, with one query on a partial index of the queued messages
(``sms_queued_idx``): a gauge kept by the processes would drift when a worker dies mid-delivery. The
purpose label is the code's own name of a message (``users.locked``, ``sca.challenge``): never a number
or a text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kartosfera.core.metrics import scrape_collector_register
from kartosfera.notifications.models import OutboundSms, SmsStatus

logger = logging.getLogger(__name__)

SMS_SENT = Counter("kartosfera_sms_sent_total", "Text messages the gateway took, by purpose.", ["purpose"])
SMS_FAILURES = Counter(
    "kartosfera_sms_delivery_failures_total",
    "Text message deliveries the gateway did not take, by purpose and whether it was the last try "
    "(final=true: the message is given up).",
    ["purpose", "final"],
)


class SmsQueueCollector(Collector):
    """kartosfera_sms_queued_messages and kartosfera_sms_oldest_queued_age_seconds, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        try:
            queued = OutboundSms.objects.filter(status=SmsStatus.QUEUED).aggregate(
                count=Count("pk"), oldest=Min("created_at")
            )
        except DatabaseError:
            # A scrape while the database is down still answers with every other metric.
            logger.exception("metrics: the SMS queue could not be read")
            return
        yield GaugeMetricFamily(
            "kartosfera_sms_queued_messages",
            "Text messages not yet delivered (queued or waiting for a retry).",
            value=queued["count"],
        )
        oldest = queued["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "kartosfera_sms_oldest_queued_age_seconds",
            "How long the oldest undelivered text message has waited (0 when none waits).",
            value=max(0.0, age),
        )


scrape_collector_register(SmsQueueCollector())
