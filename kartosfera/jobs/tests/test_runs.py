"""A slot enqueued through the tasks API runs its job once and records it: counts, errors, reruns, catch-up."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from kartosfera.api.models import IdempotencyRecord
from kartosfera.api.services import api_key_create
from kartosfera.core.audit import Actor
from kartosfera.jobs.models import JobRun, JobRunSource, JobRunState
from kartosfera.jobs.registry import JOBS, JobFailed, ScheduledJob, every
from kartosfera.jobs.scheduler import catch_up, plans_for, slot_fire
from kartosfera.jobs.services import JobRunTransitionRefused, _move, error_text, job_slot_enqueue
from kartosfera.jobs.tasks import job_run_task

pytestmark = pytest.mark.django_db
SLOT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def old_idempotency_records(count: int) -> None:
    api_key, _token = api_key_create(actor=Actor.system(), name="core", scopes=["provisioning"])
    for n in range(count):
        record = IdempotencyRecord.objects.create(
            api_key=api_key, key=f"k{n}", method="POST", path="/x", fingerprint="f", status_code=201
        )
        IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - dt.timedelta(days=4))


class Flaky:
    """A job of the test's own (registered for the test): fails while told to, counts its calls."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls = 0

    def __call__(self) -> dict[str, int]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return {"done": self.calls}


@pytest.fixture
def flaky(monkeypatch) -> Flaky:
    job = Flaky()
    monkeypatch.setitem(
        JOBS,
        "flaky",
        ScheduledJob(
            name="flaky",
            run=job,
            trigger=every(minutes=15),
            period=dt.timedelta(minutes=15),
            title="test",
            description="test",
            schedule="test",
            count_labels={"done": "done"},
        ),
    )
    return job


def test_an_enqueued_slot_runs_the_domain_job_and_records_its_counts():
    old_idempotency_records(2)

    run = job_slot_enqueue(job="purge_idempotency_records", slot=SLOT)

    assert run is not None and run.state == JobRunState.SUCCEEDED
    assert run.counts == {"deleted": 2} and run.error == "" and run.attempts == 1
    assert run.enqueued_at <= run.started_at <= run.finished_at
    assert run.source == JobRunSource.SCHEDULE and run.pid and run.host
    assert not IdempotencyRecord.objects.exists()


def test_a_slot_is_enqueued_once():
    assert job_slot_enqueue(job="purge_idempotency_records", slot=SLOT) is not None
    assert job_slot_enqueue(job="purge_idempotency_records", slot=SLOT) is None
    assert job_slot_enqueue(job="purge_idempotency_records", slot=SLOT + dt.timedelta(hours=1)) is not None
    assert JobRun.objects.filter(job="purge_idempotency_records").count() == 2


def test_a_failure_is_recorded_without_its_message_and_a_retry_of_the_slot_may_succeed(flaky):
    flaky.error = ValueError("card 4111 1111 1111 1111 of Jan Kowalski (PESEL 85031412345, code ab12cd) refused")

    run = job_slot_enqueue(job="flaky", slot=SLOT)

    assert run is not None and run.state == JobRunState.FAILED and run.finished_at is not None
    # Staff read the record: the message, which may quote any value, stays in the log.
    assert run.error == "ValueError: the application log has the details"
    flaky.error = None
    job_run_task.enqueue(run.pk)  # the retry
    run.refresh_from_db()
    assert run.state == JobRunState.SUCCEEDED and run.attempts == 2 and run.counts == {"done": 2} and run.error == ""


def test_a_rerun_of_a_succeeded_slot_does_nothing(flaky):
    run = job_slot_enqueue(job="flaky", slot=SLOT)
    assert run is not None and run.state == JobRunState.SUCCEEDED
    finished = run.finished_at

    assert job_run_task.enqueue(run.pk).return_value == JobRunState.SUCCEEDED

    run.refresh_from_db()
    assert flaky.calls == 1 and run.attempts == 1 and run.finished_at == finished


def test_a_job_that_did_part_of_its_work_keeps_its_counts_with_the_error(flaky):
    flaky.error = JobFailed("2 account(s) could not be closed", {"statements": 5, "failed": 2})
    run = job_slot_enqueue(job="flaky", slot=SLOT)
    assert run is not None and run.state == JobRunState.FAILED
    assert run.counts == {"statements": 5, "failed": 2} and run.error == "JobFailed: 2 account(s) could not be closed"


def test_the_run_moves_only_along_its_state_machine():
    run = JobRun(job="acs_sweep", slot=SLOT, state=JobRunState.SUCCEEDED)
    for target in (JobRunState.RUNNING, JobRunState.FAILED, JobRunState.QUEUED):
        with pytest.raises(JobRunTransitionRefused):
            _move(run, target)
    run.state = JobRunState.QUEUED
    with pytest.raises(JobRunTransitionRefused):
        _move(run, JobRunState.SUCCEEDED)  # a queued run has not run


def test_an_unknown_job_is_refused():
    with pytest.raises(KeyError):
        job_slot_enqueue(job="no_such_job", slot=SLOT)


def test_error_text_is_cut_to_length():
    assert len(error_text(JobFailed("x" * 2000, {}))) == 500
    assert error_text(JobFailed("", {})) == "JobFailed"


def test_catch_up_enqueues_the_latest_missed_slot_once(flaky):
    plans = plans_for([JOBS["flaky"], JOBS["acs_sweep"]])
    with time_machine.travel(dt.datetime(2026, 11, 30, 9, 0, 5, tzinfo=dt.UTC), tick=False):
        assert slot_fire(plans[0]) is not None  # the last run before everything went down
    # Down from 09:00 to 11:07: eight slots of "flaky" missed (09:15 ... 11:00), two hours of acs_sweep's.
    with time_machine.travel(dt.datetime(2026, 11, 30, 11, 7, 30, tzinfo=dt.UTC), tick=False):
        runs = catch_up(plans)
        assert catch_up(plans) == []  # a second start (or a second scheduler) finds them enqueued

    assert {(run.job, run.slot, run.source) for run in runs} == {
        ("flaky", dt.datetime(2026, 11, 30, 11, 0, tzinfo=dt.UTC), JobRunSource.CATCH_UP),
        ("acs_sweep", dt.datetime(2026, 11, 30, 11, 7, tzinfo=dt.UTC), JobRunSource.CATCH_UP),
    }
    assert flaky.calls == 2 and JobRun.objects.filter(job="flaky").count() == 2


def test_catch_up_leaves_a_slot_the_schedule_enqueued():
    plans = plans_for([JOBS["expire_holds"]])
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, 30, 1, tzinfo=dt.UTC), tick=False):
        assert slot_fire(plans[0]) is not None
        assert catch_up(plans) == []
    assert JobRun.objects.get().slot == dt.datetime(2026, 11, 30, 10, 30, tzinfo=dt.UTC)


def test_a_late_fire_enqueues_the_latest_slot_only():
    """APScheduler coalesces late fires into one call; that call is for the latest slot, not each missed one."""
    plans = plans_for([JOBS["acs_sweep"]])
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, 4, 59, tzinfo=dt.UTC), tick=False):
        run = slot_fire(plans[0])
    assert run is not None and run.slot == dt.datetime(2026, 11, 30, 10, 4, tzinfo=dt.UTC)


def test_the_cron_command_records_its_run():
    out = io.StringIO()
    call_command("wipe_expired_confirmations", stdout=out)
    call_command("wipe_expired_confirmations", stdout=out)  # twice at once: a command's run is not a slot
    assert out.getvalue() == "Wiped 0 expired confirmation(s).\n" * 2
    runs = JobRun.objects.filter(job="wipe_expired_confirmations")
    assert runs.count() == 2
    assert {(run.source, run.state) for run in runs} == {(JobRunSource.COMMAND, JobRunState.SUCCEEDED)}


def test_a_run_whose_task_was_lost_is_enqueued_again_at_the_next_fire_and_at_start(flaky):
    """The scheduler died between recording the run and enqueueing it: the slot is taken, so only this finds it."""
    from kartosfera.jobs.services import QUEUED_STALE_AFTER, job_run_create

    lost = job_run_create(job="flaky", slot=SLOT, source=JobRunSource.SCHEDULE, now=SLOT)
    assert lost is not None
    plans = plans_for([JOBS["flaky"]])
    with time_machine.travel(SLOT + QUEUED_STALE_AFTER - dt.timedelta(seconds=1), tick=False):
        catch_up(plans)
    lost.refresh_from_db()
    assert lost.state == JobRunState.QUEUED and flaky.calls == 0  # not yet: a busy queue may still run it

    with time_machine.travel(SLOT + QUEUED_STALE_AFTER + dt.timedelta(seconds=1), tick=False):
        catch_up(plans)

    lost.refresh_from_db()
    assert lost.state == JobRunState.SUCCEEDED
    # The lost run, and the slot that fell due at the same moment, each once.
    assert flaky.calls == 2 and JobRun.objects.filter(job="flaky", state=JobRunState.SUCCEEDED).count() == 2


def test_the_runs_that_ended_more_than_90_days_ago_are_purged_and_the_others_kept():
    from kartosfera.jobs.registry import JOB_RUNS_KEPT

    now = timezone.now()
    for n, (days, state) in enumerate(((91, JobRunState.SUCCEEDED), (91, JobRunState.FAILED), (89, "succeeded"))):
        JobRun.objects.create(
            job="acs_sweep",
            source=JobRunSource.SCHEDULE,
            slot=now - dt.timedelta(days=days, minutes=n),
            state=state,
            enqueued_at=now - dt.timedelta(days=days),
            finished_at=now - dt.timedelta(days=days),
        )
    out = io.StringIO()

    call_command("purge_job_runs", stdout=out)

    assert "Deleted 2 run(s)" in out.getvalue()
    kept = JobRun.objects.exclude(job="purge_job_runs")
    assert [run.finished_at > now - JOB_RUNS_KEPT for run in kept] == [True]
    assert JobRun.objects.get(job="purge_job_runs").counts == {"deleted": 2}
