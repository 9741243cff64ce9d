"""The scheduled jobs: ONE registry, read by the scheduler, the task, the commands, the back office and the docs.

Each job names the domain function that does its work (the work stays in its app's services) and when it
runs, as an APScheduler trigger. Every trigger is fixed in time: an interval counts from JOB_EPOCH, not from
the moment a scheduler started, so every scheduler process agrees on the slots (the time each run is for)
and the unique (job, slot) of a JobRun catches a slot enqueued twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kartosfera.acs.challenge import challenge_expire_due
from kartosfera.acs.directory import rreq_deliver_due
from kartosfera.api.services import idempotency_record_purge
from kartosfera.blik.models import BlikService, SyncStatus
from kartosfera.blik.sync import blik_sync_due
from kartosfera.cards.operations_services import card_block_expire_due
from kartosfera.devices.services import device_activation_codes_unshown_wipe, device_request_ids_purge
from kartosfera.notifications.services import sms_deliveries_resume
from kartosfera.processing.adjustments import hold_expire_due
from kartosfera.sca.stepup import stepup_expired_secrets_wipe
from kartosfera.statements.close import close_as_of_default, statements_close
from kartosfera.users.session_registry import session_records_purge

Counts = dict[str, int]

# The bank's time (settings.TIME_ZONE): the intervals count from its midnight.
JOB_ZONE = ZoneInfo(settings.TIME_ZONE)
# Where every interval counts from: a fixed instant, so two schedulers compute the same slots.
JOB_EPOCH = dt.datetime(2026, 1, 1, tzinfo=JOB_ZONE)


class JobFailed(Exception):
    """A job did part of its work and failed the rest: its counts are kept with the error."""

    def __init__(self, message: str, counts: Counts) -> None:
        super().__init__(message)
        self.counts = counts


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    run: Callable[[], Counts]
    # A function, not a trigger: a trigger keeps no state worth sharing, and a test may ask for a fresh one.
    trigger: Callable[[], BaseTrigger]
    # The time between two slots: the last slot before a moment is at most this far back.
    period: dt.timedelta
    title: Promise
    description: Promise
    schedule: Promise
    count_labels: Mapping[str, Promise]

    def last_slot(self, now: dt.datetime, trigger: BaseTrigger | None = None) -> dt.datetime | None:
        """The latest slot at or before ``now`` (None: the schedule had none within two periods)."""
        return last_slot(trigger or self.trigger(), now, lookback=2 * self.period)


def last_slot(trigger: BaseTrigger, now: dt.datetime, *, lookback: dt.timedelta) -> dt.datetime | None:
    """The trigger's latest fire time at or before ``now``, looking back at most ``lookback``."""
    found: dt.datetime | None = None
    candidate = trigger.get_next_fire_time(None, now - lookback)
    while candidate is not None and candidate <= now:
        found = candidate
        candidate = trigger.get_next_fire_time(candidate, candidate + dt.timedelta(microseconds=1))
    return found


def every(**interval: int) -> Callable[[], BaseTrigger]:
    return lambda: IntervalTrigger(**interval, start_date=JOB_EPOCH, timezone=JOB_ZONE)


def daily_at_utc(hour: int, minute: int) -> Callable[[], BaseTrigger]:
    # In UTC, not Warsaw's time: APScheduler 3.11's CronTrigger in a zone with summer time skips the day after the
    # spring change (29 March 2026 00:30 -> 31 March; agronholm/apscheduler#606, a test here keeps watch). UTC has
    # no change of time; Warsaw's wall clock moves by the hour in summer, which no daily job here minds.
    return lambda: CronTrigger(hour=hour, minute=minute, timezone=dt.UTC)


# --- What each job runs: the domain services the management commands call too ---------------------------------


def expire_card_blocks() -> Counts:
    return {"cancelled": card_block_expire_due()}


def expire_holds() -> Counts:
    return {"expired": hold_expire_due()}


def acs_sweep() -> Counts:
    return {"timed_out": challenge_expire_due(), "delivered": rreq_deliver_due()}


def close_statements() -> Counts:
    summary = statements_close(as_of=close_as_of_default())
    counts = {"accounts": summary.accounts, "statements": summary.statements, "failed": len(summary.failures)}
    if summary.failures:
        # The accounts' references stay out of the run's record (the command's output and the log name them):
        # the record is shown to staff of every bank's accounts.
        raise JobFailed(f"{len(summary.failures)} account(s) could not be closed; the next run tries again.", counts)
    return counts


def sms_sweep() -> Counts:
    return {"resumed": sms_deliveries_resume()}


def blik_sync() -> Counts:
    confirmed = blik_sync_due()
    return {"confirmed": confirmed, "not_confirmed": BlikService.objects.exclude(sync_status=SyncStatus.SYNCED).count()}


def wipe_expired_confirmations() -> Counts:
    return {"wiped": stepup_expired_secrets_wipe()}


IDEMPOTENCY_RECORDS_KEPT = dt.timedelta(hours=72)


def purge_idempotency_records() -> Counts:
    return {"deleted": idempotency_record_purge(older_than=IDEMPOTENCY_RECORDS_KEPT)}


# The runs' record is kept this long (the back office shows each job's last few; the audit log keeps what the jobs
# changed): about 4,000 runs a day would otherwise make the table, and the page's ranking of it, grow without end.
JOB_RUNS_KEPT = dt.timedelta(days=90)


def purge_job_runs() -> Counts:
    from kartosfera.jobs.models import JobRun, JobRunState

    deleted, _ = JobRun.objects.filter(
        state__in=[JobRunState.SUCCEEDED, JobRunState.FAILED], finished_at__lt=timezone.now() - JOB_RUNS_KEPT
    ).delete()
    return {"deleted": deleted}


def purge_expired_sessions() -> Counts:
    # A session nobody signed out of (the browser closed, the idle timeout met by nobody's request) keeps its row
    # after its expiry: its cached copy lapses with its TTL, the database's row is deleted here.
    from django.contrib.sessions.models import Session

    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    # With them, the list of sessions' rows older than any session lives (users.UserSession, docs/sessions.md).
    return {"deleted": deleted, "records": session_records_purge()}


def purge_device_request_ids() -> Counts:
    return {"deleted": device_request_ids_purge(), "wiped": device_activation_codes_unshown_wipe()}


JOBS: dict[str, ScheduledJob] = {
    job.name: job
    for job in [
        ScheduledJob(
            name="acs_sweep",
            run=acs_sweep,
            trigger=every(minutes=1),
            period=dt.timedelta(minutes=1),
            title=_("3-D Secure challenges past their time"),
            description=_(
                "Ends the 3-D Secure challenges past their 5 minutes and sends again the results due for a retry."
            ),
            schedule=_("Every minute"),
            count_labels={"timed_out": _("challenges timed out"), "delivered": _("results delivered")},
        ),
        ScheduledJob(
            name="sms_sweep",
            run=sms_sweep,
            trigger=every(minutes=1),
            period=dt.timedelta(minutes=1),
            title=_("Text messages whose delivery was lost"),
            description=_(
                "Enqueues again the delivery of every queued text message whose task died with its worker or its "
                "sender."
            ),
            schedule=_("Every minute"),
            count_labels={"resumed": _("deliveries enqueued again")},
        ),
        ScheduledJob(
            name="purge_device_request_ids",
            run=purge_device_request_ids,
            trigger=every(minutes=5),
            period=dt.timedelta(minutes=5),
            title=_("BS Pay request ids"),
            description=_(
                "Deletes the BS Pay app's request ids no replay could use and wipes activation codes that expired "
                "unseen."
            ),
            schedule=_("Every 5 minutes"),
            count_labels={"deleted": _("request ids deleted"), "wiped": _("activation codes wiped")},
        ),
        ScheduledJob(
            name="blik_sync",
            run=blik_sync,
            trigger=every(minutes=5),
            period=dt.timedelta(minutes=5),
            title=_("BLIK changes to the BLIK system"),
            description=_("Sends the BLIK system every switch of a holder's BLIK it has not confirmed yet."),
            schedule=_("Every 5 minutes"),
            count_labels={"confirmed": _("changes confirmed"), "not_confirmed": _("changes not confirmed yet")},
        ),
        ScheduledJob(
            name="expire_holds",
            run=expire_holds,
            trigger=every(minutes=15),
            period=dt.timedelta(minutes=15),
            title=_("Expired card holds"),
            description=_("Expires the pending card holds past their lifetime: they leave the available funds."),
            schedule=_("Every 15 minutes"),
            count_labels={"expired": _("holds expired")},
        ),
        ScheduledJob(
            name="wipe_expired_confirmations",
            run=wipe_expired_confirmations,
            trigger=every(minutes=15),
            period=dt.timedelta(minutes=15),
            title=_("Expired confirmations"),
            description=_("Wipes the secret payload of confirmations whose code expired unused."),
            schedule=_("Every 15 minutes"),
            count_labels={"wiped": _("confirmations wiped")},
        ),
        ScheduledJob(
            name="purge_idempotency_records",
            run=purge_idempotency_records,
            trigger=every(hours=1),
            period=dt.timedelta(hours=1),
            title=_("The provisioning API's stored answers"),
            description=_("Deletes the provisioning API's stored answers older than 72 hours."),
            schedule=_("Every hour"),
            count_labels={"deleted": _("stored answers deleted")},
        ),
        ScheduledJob(
            name="purge_job_runs",
            run=purge_job_runs,
            trigger=every(hours=1),
            period=dt.timedelta(hours=1),
            title=_("The scheduled jobs' old runs"),
            description=_("Deletes the record of the scheduled jobs' runs that ended more than 90 days ago."),
            schedule=_("Every hour"),
            count_labels={"deleted": _("runs deleted")},
        ),
        ScheduledJob(
            name="purge_expired_sessions",
            run=purge_expired_sessions,
            trigger=every(hours=1),
            period=dt.timedelta(hours=1),
            title=_("Expired sessions"),
            description=_("Deletes the stored sessions past their expiry."),
            schedule=_("Every hour"),
            count_labels={"deleted": _("sessions deleted"), "records": _("session records deleted")},
        ),
        ScheduledJob(
            name="expire_card_blocks",
            run=expire_card_blocks,
            trigger=daily_at_utc(23, 30),
            period=dt.timedelta(days=1),
            title=_("Temporary blocks after 60 days"),
            description=_("Writes down the cancellation of every temporary block not lifted within 60 days."),
            schedule=_("Daily at 00:30 (01:30 in summer time)"),
            count_labels={"cancelled": _("cards cancelled")},
        ),
        ScheduledJob(
            name="close_statements",
            run=close_statements,
            trigger=daily_at_utc(0, 0),
            period=dt.timedelta(days=1),
            title=_("Credit card statements"),
            description=_("Closes the credit accounts' billing periods that ended by yesterday."),
            schedule=_("Daily at 01:00 (02:00 in summer time)"),
            count_labels={
                "accounts": _("accounts"),
                "statements": _("statements closed"),
                "failed": _("accounts failed"),
            },
        ),
    ]
}


def job_get(name: str) -> ScheduledJob:
    """The registered job ``name`` (KeyError: no such job)."""
    return JOBS[name]
