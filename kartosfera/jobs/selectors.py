"""Reads of the scheduled jobs' runs (the back office's page)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils.functional import Promise

from kartosfera.jobs.models import JobRun
from kartosfera.jobs.registry import JOBS, ScheduledJob

RUNS_PER_JOB = 5


@dataclass(frozen=True)
class RunRow:
    run: JobRun
    # The run's counts with the registry's labels, in the registry's order.
    counts: list[tuple[Promise | str, int]]


@dataclass(frozen=True)
class JobOverview:
    job: ScheduledJob
    runs: list[RunRow]  # newest slot first

    @property
    def last(self) -> RunRow | None:
        return self.runs[0] if self.runs else None


def _labelled(job: ScheduledJob, counts: dict[str, int]) -> list[tuple[Promise | str, int]]:
    known = [(job.count_labels[key], counts[key]) for key in job.count_labels if key in counts]
    # A count the registry no longer names (a run recorded before a change) is still shown, under its key.
    return known + [(key, value) for key, value in counts.items() if key not in job.count_labels]


def job_overviews(*, per_job: int = RUNS_PER_JOB) -> list[JobOverview]:
    """Every registered job with its latest ``per_job`` runs, in one query (the registry's order)."""
    ranked = (
        JobRun.objects.filter(job__in=list(JOBS))
        .annotate(rank=Window(RowNumber(), partition_by=[F("job")], order_by=[F("slot").desc(), F("pk").desc()]))
        .filter(rank__lte=per_job)
        .order_by("job", "-slot", "-pk")
    )
    runs: dict[str, list[RunRow]] = {}
    for run in ranked:
        runs.setdefault(run.job, []).append(RunRow(run=run, counts=_labelled(JOBS[run.job], run.counts or {})))
    return [JobOverview(job=job, runs=runs.get(name, [])) for name, job in JOBS.items()]
