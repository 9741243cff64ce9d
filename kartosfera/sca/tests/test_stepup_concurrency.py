"""Real concurrent connections on PostgreSQL: a confirmed operation runs once."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest
from django.db import connection, connections

from kartosfera.core.audit import Actor
from kartosfera.sca import stepup
from kartosfera.sca.models import ChallengePurpose, SmsChallenge
from kartosfera.sca.services import ChallengeError, challenge_verify
from kartosfera.sca.tests.helpers import code_sent_to

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks"),
    pytest.mark.django_db(transaction=True),
]


def test_two_requests_finishing_the_same_confirmation_run_it_once(monkeypatch, cardholder):
    monkeypatch.setattr(stepup, "_registry", dict(stepup._registry))
    runs: list[int] = []

    @stepup.register("tests.race", describe=lambda **kwargs: "race")
    def run(*, user: Any, payload: Mapping[str, Any], card: Any, actor: Actor) -> stepup.StepUpResult:
        runs.append(user.pk)
        return stepup.StepUpResult(message="done")

    user = cardholder.user
    actor = Actor.for_user(user)
    for attempt in range(5):
        new_phone = f"+4860299900{attempt}"
        challenge = stepup.stepup_issue(
            actor=actor, user=user, operation="tests.race", payload={}, verify_phone=new_phone
        )
        linked = SmsChallenge.objects.get(purpose=ChallengePurpose.PHONE_VERIFICATION, phone=new_phone)
        challenge_verify(actor=actor, challenge=challenge, code=code_sent_to(cardholder.customer.phone_on_file))
        challenge_verify(actor=actor, challenge=linked, code=code_sent_to(new_phone))

        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def worker(
            target: SmsChallenge = challenge, barrier: threading.Barrier = barrier, outcomes: list[str] = outcomes
        ) -> None:
            try:
                barrier.wait()
                stepup.stepup_complete(actor=actor, user=user, challenge=target)
                outcomes.append("done")
            except ChallengeError:
                outcomes.append("refused")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(outcomes) == ["done", "refused"]
    assert len(runs) == 5
