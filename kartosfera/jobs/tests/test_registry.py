"""The registry's schedules: slots every scheduler agrees on, in Warsaw's time, and the latest slot before a moment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from kartosfera.jobs.registry import JOBS, last_slot
from kartosfera.jobs.scheduler import plans_for

WARSAW = ZoneInfo("Europe/Warsaw")


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=WARSAW)


DOCS = Path(__file__).resolve().parents[3] / "docs" / "operations.md"


def test_every_cron_job_of_the_operations_doc_is_registered_and_described():
    text = DOCS.read_text()
    for name, job in JOBS.items():
        assert f"`manage.py {name}" in text, name
        assert job.count_labels and str(job.description) and str(job.schedule)


@pytest.mark.parametrize(
    ("name", "now", "slot"),
    [
        ("acs_sweep", at(2026, 11, 30, 10, 0, 59), at(2026, 11, 30, 10, 0)),
        ("expire_holds", at(2026, 11, 30, 10, 44), at(2026, 11, 30, 10, 30)),
        ("purge_idempotency_records", at(2026, 7, 1, 9, 0), at(2026, 7, 1, 9, 0)),
        # The daily jobs: 00:30 and 01:00 in Warsaw's winter, an hour later in summer, every day across the changes
        # of time (29 March and 25 October 2026).
        ("expire_card_blocks", at(2026, 3, 29, 0, 29), at(2026, 3, 28, 0, 30)),
        ("expire_card_blocks", at(2026, 3, 30, 8, 0), at(2026, 3, 30, 1, 30)),
        ("expire_card_blocks", at(2026, 3, 31, 1, 29), at(2026, 3, 30, 1, 30)),
        ("close_statements", at(2026, 10, 25, 1, 59), at(2026, 10, 24, 2, 0)),
        ("close_statements", at(2026, 10, 26, 1, 0), at(2026, 10, 26, 1, 0)),
        ("close_statements", at(2026, 12, 1, 0, 59), at(2026, 11, 30, 1, 0)),
    ],
)
def test_the_latest_slot_at_or_before_a_moment(name, now, slot):
    assert JOBS[name].last_slot(now) == slot


def test_every_day_has_its_daily_slot_across_the_changes_of_time():
    """APScheduler 3.11's cron in Warsaw's zone skips 30 March 2026 (agronholm/apscheduler#606); ours, in UTC, not."""
    trigger = JOBS["expire_card_blocks"].trigger()
    slot = trigger.get_next_fire_time(None, at(2026, 3, 25, 12, 0))
    days = []
    while slot < at(2026, 11, 1, 12, 0):
        days.append(slot.astimezone(WARSAW).date())
        slot = trigger.get_next_fire_time(slot, slot + dt.timedelta(microseconds=1))
    assert days == [days[0] + dt.timedelta(days=i) for i in range(len(days))]
    assert days[0] == dt.date(2026, 3, 26) and days[-1] == dt.date(2026, 11, 1)


def test_two_schedulers_started_at_different_moments_compute_the_same_slots():
    """An interval counts from the registry's epoch, not from a process's start: every scheduler's slots agree."""
    first = JOBS["expire_holds"].trigger()
    later = JOBS["expire_holds"].trigger()
    start_a = dt.datetime(2026, 11, 30, 10, 3, 17, tzinfo=dt.UTC)
    start_b = dt.datetime(2026, 11, 30, 10, 11, 59, tzinfo=dt.UTC)
    assert first.get_next_fire_time(None, start_a) == later.get_next_fire_time(None, start_b)
    assert first.get_next_fire_time(None, start_a) == dt.datetime(2026, 11, 30, 10, 15, tzinfo=dt.UTC)
    # An interval trigger of APScheduler's own default counts from the moment it is made: it would not agree.
    assert IntervalTrigger(minutes=15).start_date != IntervalTrigger(minutes=15, start_date=start_b).start_date


def test_a_test_interval_replaces_every_schedule_and_keeps_slots_aligned():
    plans = plans_for(list(JOBS.values()), every=dt.timedelta(seconds=2))
    now = dt.datetime(2026, 11, 30, 10, 0, 3, 500_000, tzinfo=dt.UTC)
    assert {plan.last_slot(now) for plan in plans} == {dt.datetime(2026, 11, 30, 10, 0, 2, tzinfo=dt.UTC)}


def test_no_slot_within_the_lookback():
    trigger = JOBS["close_statements"].trigger()
    now = at(2026, 11, 30, 12, 0)
    assert last_slot(trigger, now, lookback=dt.timedelta(hours=1)) is None
    assert last_slot(trigger, now, lookback=dt.timedelta(hours=12)) == at(2026, 11, 30, 1, 0)
