"""A scheduled job's runs: one row per (job, slot), the slot being the time the run is for."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobRunState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


# The state machine (services.py moves a run only along these). A failed run may run again (a retry of its slot);
# a succeeded one never does: a rerun of its slot does nothing. A run left "running" by a worker that died stays
# so: the next slot runs the job again (every job is safe to run again), and the page shows it unfinished.
JOB_RUN_TRANSITIONS: dict[str, frozenset[str]] = {
    JobRunState.QUEUED: frozenset({JobRunState.RUNNING, JobRunState.FAILED}),
    JobRunState.RUNNING: frozenset({JobRunState.SUCCEEDED, JobRunState.FAILED}),
    JobRunState.FAILED: frozenset({JobRunState.RUNNING}),
    JobRunState.SUCCEEDED: frozenset(),
}


class JobRunSource(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    CATCH_UP = "catch_up", _("Catch-up at start")
    COMMAND = "command", _("Command")


class JobRun(models.Model):
    job = models.CharField(max_length=64)
    # The time this run is for (a fire time of the job's trigger; a command's run: when it was started).
    slot = models.DateTimeField()
    source = models.CharField(max_length=16, choices=JobRunSource.choices)
    state = models.CharField(max_length=16, choices=JobRunState.choices, default=JobRunState.QUEUED)
    enqueued_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # What the job did, by the registry's count names (e.g. {"cancelled": 3}).
    counts = models.JSONField(default=dict, blank=True)
    # Why it failed: the error's type, and the message of a job's own failure only (services.error_text).
    error = models.TextField(blank=True)
    # Which process enqueued it: the scheduler that led at the time (or the command's).
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            # A slot is enqueued at most once, even if two schedulers both believed they led.
            # A command's run is not a slot of the schedule (cron may start two at once): not counted.
            models.UniqueConstraint(
                fields=["job", "slot"], condition=~models.Q(source="command"), name="jobs_jobrun_one_per_slot"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in JobRunState]), name="jobs_jobrun_state_valid"
            ),
        ]

        # The page's latest runs of each job.
        indexes = [models.Index(fields=["job", "-slot"], name="jobs_jobrun_job_slot")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot:%Y-%m-%d %H:%M:%S} ({self.state})"
