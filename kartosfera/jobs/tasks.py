"""The one task of the scheduled jobs: run a recorded JobRun (the queue carries only its id)."""

from __future__ import annotations

from django_tasks import task

from kartosfera.jobs.services import job_run_execute


@task()
def job_run_task(run_id: int) -> str:
    """Run the job of ``run_id`` for its slot and record the outcome; returns the run's final state."""
    return job_run_execute(run_id).state
