"""Enqueueing a job's slot and running it, each step recorded on its JobRun (the run's state machine)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import traceback

from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kartosfera.jobs.models import JOB_RUN_TRANSITIONS, JobRun, JobRunSource, JobRunState
from kartosfera.jobs.registry import Counts, JobFailed, job_get

logger = logging.getLogger(__name__)

ERROR_MAX_LENGTH = 500
# What any other exception's message would add stays in the log (with the traceback), never on the record staff
# read: a database error quotes the values it refused, a library's message may name a person, a code or a token.
ERROR_SEE_THE_LOG = "the application log has the details"


class JobRunTransitionRefused(Exception):
    pass


def error_text(error: BaseException) -> str:
    """The error as a run records it: a job's own failure with its message (JobFailed: written for staff, with no
    personal data), any other with its type only; cut to length."""
    message = str(error).strip() if isinstance(error, JobFailed) else ERROR_SEE_THE_LOG
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text[:ERROR_MAX_LENGTH]


def _move(run: JobRun, to: str) -> None:
    if to not in JOB_RUN_TRANSITIONS[run.state]:
        raise JobRunTransitionRefused(f"{run.job} run {run.pk}: {run.state} -> {to} is not allowed")
    run.state = to


def job_run_create(*, job: str, slot: dt.datetime, source: str, now: dt.datetime | None = None) -> JobRun | None:
    """Record ``job``'s run for ``slot`` as queued; None when the slot was recorded already (by anyone)."""
    job_get(job)  # KeyError for a job the registry does not know
    try:
        with transaction.atomic():
            return JobRun.objects.create(
                job=job,
                slot=slot,
                source=source,
                state=JobRunState.QUEUED,
                enqueued_at=now or timezone.now(),
                host=socket.gethostname()[:255],
                pid=os.getpid(),
            )
    except IntegrityError:
        # The unique (job, slot): another scheduler (or this one, before a restart) enqueued the slot.
        return None


def job_slot_enqueue(*, job: str, slot: dt.datetime, source: str = JobRunSource.SCHEDULE) -> JobRun | None:
    """Enqueue ``job``'s run for ``slot`` on the task queue, once: None when the slot was enqueued already."""
    from kartosfera.jobs.tasks import job_run_task

    run = job_run_create(job=job, slot=slot, source=source)
    if run is None:
        return None
    try:
        # Through the tasks API only: whichever backend settings.TASKS names runs it (a worker, or at once in tests).
        job_run_task.enqueue(run.pk)
    except Exception as error:
        # The queue refused it: the run is recorded as failed (a later slot runs the job again).
        logger.exception("Could not enqueue job %s for %s", job, slot.isoformat())
        job_run_fail(run.pk, error)
    run.refresh_from_db()
    return run


# A run still queued this long after it was enqueued lost its task: the scheduler died between recording the run
# and enqueueing it, or the queue lost it. Longer than any backlog of a healthy queue.
QUEUED_STALE_AFTER = dt.timedelta(minutes=15)


def job_runs_stale_enqueue(*, job: str, now: dt.datetime | None = None) -> int:
    """Enqueue again ``job``'s runs still queued QUEUED_STALE_AFTER after their enqueue; how many.

    Without it such a run would stay queued for ever and its slot, being recorded, would never be caught up (for
    the statement close, a day's close). A task delivered twice runs the job once (job_run_execute); the run's
    ``enqueued_at`` moves to now, so a queue that is down is not flooded with a task every fire.
    """
    from kartosfera.jobs.tasks import job_run_task

    now = now or timezone.now()
    with transaction.atomic():
        stale = list(
            JobRun.objects.select_for_update(skip_locked=True)
            .filter(job=job, state=JobRunState.QUEUED, enqueued_at__lt=now - QUEUED_STALE_AFTER)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        JobRun.objects.filter(pk__in=stale).update(enqueued_at=now)
    for run_id in stale:
        logger.warning("Job %s: run %s was still queued; enqueued again", job, run_id)
        job_run_task.enqueue(run_id)
    return len(stale)


def job_run_fail(run_id: int, error: BaseException, counts: Counts | None = None) -> None:
    with transaction.atomic():
        run = JobRun.objects.select_for_update().get(pk=run_id)
        _move(run, JobRunState.FAILED)
        run.finished_at = timezone.now()
        run.error = error_text(error)
        if counts is not None:
            run.counts = counts
        run.save(update_fields=["state", "finished_at", "error", "counts"])


def job_run_execute(run_id: int) -> JobRun:
    """Run the job of run ``run_id`` and record it. A run that succeeded or is running does nothing again."""
    with transaction.atomic():
        run = JobRun.objects.select_for_update().get(pk=run_id)
        if run.state in (JobRunState.SUCCEEDED, JobRunState.RUNNING):
            # A rerun of a done slot (a task delivered twice, a retry asked of a success) changes nothing.
            return run
        _move(run, JobRunState.RUNNING)
        run.started_at = timezone.now()
        run.finished_at = None
        run.error = ""
        run.attempts += 1
        run.save(update_fields=["state", "started_at", "finished_at", "error", "attempts"])
    job = job_get(run.job)
    try:
        counts = job.run()
    except JobFailed as error:
        logger.error("Job %s (run %s) failed: %s", run.job, run.pk, error_text(error))
        job_run_fail(run.pk, error, counts=error.counts)
    except Exception as error:
        # Where it failed, not what the error says: a message may quote a card number, a name or a code (the
        # run keeps only the error's type for the same reason).
        where = "".join(traceback.format_tb(error.__traceback__))
        logger.error("Job %s (run %s) failed: %s\n%s", run.job, run.pk, type(error).__name__, where)
        job_run_fail(run.pk, error)
    else:
        with transaction.atomic():
            run = JobRun.objects.select_for_update().get(pk=run.pk)
            _move(run, JobRunState.SUCCEEDED)
            run.finished_at = timezone.now()
            run.counts = counts
            run.save(update_fields=["state", "finished_at", "counts"])
    run.refresh_from_db()
    return run


def job_run_now(job: str) -> JobRun:
    """Run ``job`` in this process now, recorded as the command's run (its slot: now): cron's route."""
    now = timezone.now()
    run = job_run_create(job=job, slot=now, source=JobRunSource.COMMAND, now=now)
    assert run is not None  # a command's run is never refused as a slot taken (models.py)
    return job_run_execute(run.pk)


def job_run_now_or_fail(job: str) -> Counts:
    """A management command's run of ``job`` (recorded like the scheduler's): its counts, or CommandError.

    The cron route of docs/operations.md: the command does what the scheduled run does, and staff see its run.
    """
    run = job_run_now(job)
    if run.state != JobRunState.SUCCEEDED:
        raise CommandError(f"{job} failed: {run.error}")
    return dict(run.counts)
