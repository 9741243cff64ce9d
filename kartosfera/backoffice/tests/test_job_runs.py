"""The scheduled jobs' page: the group's supervisors and auditors read the last runs; nobody else sees it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kartosfera.backoffice.roles import StaffRole
from kartosfera.jobs.models import JobRun, JobRunSource, JobRunState
from kartosfera.jobs.registry import JOBS
from kartosfera.jobs.services import job_slot_enqueue
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client, staff_person_create

pytestmark = pytest.mark.django_db
JOBS_URL = reverse("backoffice:job_runs")
SLOT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def run_recorded(job: str, slot: dt.datetime, state: str, counts: dict[str, int] | None = None, error: str = ""):
    now = timezone.now()
    return JobRun.objects.create(
        job=job,
        slot=slot,
        source=JobRunSource.SCHEDULE,
        state=state,
        enqueued_at=now,
        started_at=now if state != JobRunState.QUEUED else None,
        finished_at=now if state in (JobRunState.SUCCEEDED, JobRunState.FAILED) else None,
        attempts=1,
        counts=counts or {},
        error=error,
        pid=4242,
        host="scheduler-1",
    )


def test_a_group_supervisor_sees_each_jobs_last_runs(staff):
    job_slot_enqueue(job="purge_idempotency_records", slot=SLOT)  # a real run, through the task
    run_recorded("close_statements", SLOT, JobRunState.FAILED, {"statements": 4, "failed": 1}, "JobFailed: <b>1</b>")
    for minute in range(7):
        run_recorded("acs_sweep", SLOT + dt.timedelta(minutes=minute), JobRunState.SUCCEEDED, {"timed_out": minute})

    response = staff_client(staff["supervisor"]).get(JOBS_URL)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    for job in JOBS.values():
        assert f'id="job-{job.name}"' in page and f"manage.py {job.name}" in page
    assert 'class="badge badge--job-succeeded"' in page and 'class="badge badge--job-failed"' in page
    assert "usunięte odpowiedzi: 0" in page  # the real run's count, under the registry's label (in Polish)
    assert "wystawione zestawienia: 4" in page and "konta z błędem: 1" in page
    assert "JobFailed: &lt;b&gt;1&lt;/b&gt;" in page  # escaped
    # The last five runs of a job, newest first: acs_sweep's minutes 6..2.
    acs = page[page.index('id="job-acs_sweep"') : page.index('id="job-sms_sweep"')]
    assert [f"zakończone weryfikacje: {m}" in acs for m in range(7)] == [False, False, True, True, True, True, True]
    assert acs.index("zakończone weryfikacje: 6") < acs.index("zakończone weryfikacje: 2")
    assert 'href="/backoffice/activity/" aria-current="true"' in page  # the menu: under the staff activity
    assert JOBS_URL in staff_client(staff["supervisor"]).get(reverse("backoffice:activity")).content.decode()


def test_a_group_auditor_reads_the_page_in_english(staff):
    client = staff_client(staff["auditor"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(JOBS_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en"' in page and "Scheduled jobs" in page and "No run yet" in page


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.BRANCH])
def test_staff_without_oversight_are_refused(staff, role):
    run_recorded("acs_sweep", SLOT, JobRunState.SUCCEEDED, {"timed_out": 3})
    client = staff_client(staff[str(role)])
    assert client.get(JOBS_URL).status_code == 403
    assert JOBS_URL not in client.get(reverse("backoffice:home")).content.decode()


@pytest.mark.parametrize("role", [StaffRole.SUPERVISOR, StaffRole.AUDITOR])
def test_a_banks_own_supervisor_or_auditor_is_refused(role):
    """The jobs run for every bank together: their counts are the group's figures, not one bank's to see."""
    person = staff_person_create(role, bank=factories.bank_factory())
    client = staff_client(person)
    assert client.get(JOBS_URL).status_code == 403
    assert JOBS_URL not in client.get(reverse("backoffice:activity")).content.decode()


def test_signed_out_or_a_cardholder_is_sent_to_the_staff_sign_in(client, cardholder):
    response = client.get(JOBS_URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("backoffice:login"))
    client.force_login(cardholder.user)
    response = client.get(JOBS_URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("backoffice:login"))


def test_the_page_reads_the_runs_in_one_query_however_many(staff):
    client = staff_client(staff["supervisor"])
    client.get(JOBS_URL)  # warm the session and the caches
    run_recorded("acs_sweep", SLOT, JobRunState.SUCCEEDED)
    with CaptureQueriesContext(connection) as few:
        assert client.get(JOBS_URL).status_code == 200
    for job in JOBS:
        for minute in range(1, 9):
            run_recorded(job, SLOT + dt.timedelta(minutes=minute), JobRunState.SUCCEEDED, {"x": minute})
    with CaptureQueriesContext(connection) as many:
        assert client.get(JOBS_URL).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries) <= 8
    assert sum("jobs_jobrun" in query["sql"] for query in many.captured_queries) == 1
