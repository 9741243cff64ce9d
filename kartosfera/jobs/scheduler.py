"""The scheduler process: wait to lead, then let APScheduler enqueue each job at its slots.

APScheduler keeps the time (triggers, coalescing, one instance at a time); this module adds what it does not
know: who leads (leadership.py), the catch-up of a slot missed while no scheduler ran, and that a slot is
enqueued through the tasks API with its JobRun recorded (services.job_slot_enqueue). The jobs themselves run
on the task workers, not here.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from django.db import close_old_connections, connection
from django.utils import timezone

from kartosfera.jobs.leadership import Leadership
from kartosfera.jobs.models import JobRun, JobRunSource
from kartosfera.jobs.registry import JOB_ZONE, ScheduledJob, last_slot
from kartosfera.jobs.services import job_runs_stale_enqueue, job_slot_enqueue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """A job as this scheduler runs it: its trigger (the registry's, or a test's shorter one) and period."""

    job: ScheduledJob
    trigger: Callable[[], BaseTrigger]
    period: dt.timedelta

    def last_slot(self, now: dt.datetime) -> dt.datetime | None:
        return last_slot(self.trigger(), now, lookback=2 * self.period)


def plans_for(jobs: list[ScheduledJob], every: dt.timedelta | None = None) -> list[Plan]:
    """The plans of ``jobs``; ``every``: run each at that interval instead (tests, a quick look in the demo)."""
    if every is None:
        return [Plan(job, job.trigger, job.period) for job in jobs]
    from apscheduler.triggers.interval import IntervalTrigger

    from kartosfera.jobs.registry import JOB_EPOCH

    seconds = every.total_seconds()
    return [
        Plan(job, lambda: IntervalTrigger(seconds=seconds, start_date=JOB_EPOCH, timezone=JOB_ZONE), every)
        for job in jobs
    ]


def slot_fire(plan: Plan, source: str = JobRunSource.SCHEDULE, now: dt.datetime | None = None) -> JobRun | None:
    """Enqueue ``plan``'s latest slot (the one due now); None when it was enqueued already or there is none.

    APScheduler calls this at a fire time without telling which: the latest slot at or before now is that
    time, or, if the call came late past several slots (coalesced), the latest of them, which is the one
    that matters (each job does everything due, whatever the slot).
    """
    now = now or timezone.now()
    job_runs_stale_enqueue(job=plan.job.name, now=now)
    slot = plan.last_slot(now)
    if slot is None:
        return None
    return job_slot_enqueue(job=plan.job.name, slot=slot, source=source)


def catch_up(plans: list[Plan], now: dt.datetime | None = None) -> list[JobRun]:
    """Enqueue, once, each job whose latest slot was never enqueued (everything was down, or the leader died).

    Coalesced: however many slots were missed, only the latest runs, and only once.
    """
    now = now or timezone.now()
    enqueued = []
    for plan in plans:
        job_runs_stale_enqueue(job=plan.job.name, now=now)
        slot = plan.last_slot(now)
        if slot is None or JobRun.objects.filter(job=plan.job.name, slot=slot).exists():
            continue
        run = job_slot_enqueue(job=plan.job.name, slot=slot, source=JobRunSource.CATCH_UP)
        if run is not None:
            enqueued.append(run)
    return enqueued


def _fire_in_thread(plan: Plan) -> None:
    # APScheduler's worker thread has its own database connection: fresh for each fire, closed after it.
    close_old_connections()
    try:
        slot_fire(plan)
    except Exception:
        logger.exception("The scheduler could not enqueue job %s", plan.job.name)
    finally:
        connection.close()


class JobScheduler:
    def __init__(
        self,
        *,
        leadership: Leadership,
        plans: list[Plan],
        standby_seconds: float = 5.0,
        say: Callable[[str], None] = logger.info,
    ) -> None:
        self.leadership = leadership
        self.plans = plans
        self.standby_seconds = standby_seconds
        self.say = say
        self.stop = threading.Event()

    def run(self) -> None:
        """Until stopped: stand by until this process leads, then lead until stopped or the lock is lost."""
        standing_by = False
        while not self.stop.is_set():
            if not self.leadership.acquire():
                if not standing_by:
                    self.say("Another scheduler leads; this one stands by and takes over if it stops.")
                    standing_by = True
                self.stop.wait(self.standby_seconds)
                continue
            standing_by = False
            try:
                self._lead()
            finally:
                self.leadership.release()

    def _lead(self) -> None:
        scheduler = BackgroundScheduler(
            timezone=JOB_ZONE,
            # One thread: the fires only enqueue, and one at a time keeps the database connections to one.
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            # A fire late by any time still runs (the catch-up's rule while running), and late fires of one
            # job coalesce into one.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        for plan in self.plans:
            scheduler.add_job(
                _fire_in_thread, trigger=plan.trigger(), args=[plan], id=plan.job.name, name=plan.job.name
            )
        scheduler.start()
        try:
            names = ", ".join(plan.job.name for plan in self.plans)
            self.say(f"This scheduler leads: {len(self.plans)} job(s) ({names}).")
            for run in catch_up(self.plans):
                self.say(f"Caught up {run.job} for {run.slot.isoformat()} (missed while no scheduler ran).")
            close_old_connections()
            while not self.stop.wait(self.standby_seconds):
                if not self.leadership.held():
                    self.say("This scheduler lost its lock (the database went away); it stands by again.")
                    return
        finally:
            scheduler.shutdown(wait=True)
