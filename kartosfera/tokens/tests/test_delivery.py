"""The outbox of commands to the token service provider: the log backend, and the HTTP one against a real server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.testing.tasks import Queued
from kartosfera.testing.tokens import token_factory
from kartosfera.tokens.backends import TokenServiceError, TokenServiceRequest
from kartosfera.tokens.backends.http import TokenServiceBackend
from kartosfera.tokens.delivery import token_command_retry_delay, token_commands_deliver
from kartosfera.tokens.models import CommandStatus, TokenServiceCommand
from kartosfera.tokens.services import token_resume, token_suspend
from kartosfera.tokens.states import ProviderSync

HOLDER = Actor(type=ActorType.CUSTOMER, id="1", label="user:1")
pytestmark = pytest.mark.django_db


class _Provider:
    """A token service provider on a real socket: answers each POST with the next status of ``answers``."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.received: list[tuple[dict[str, str], dict[str, object]]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                provider.received.append((dict(self.headers), body))
                status = provider.answers.pop(0) if provider.answers else 200
                payload = json.dumps({"id": f"tsp-{len(provider.received)}"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/token-commands"


@pytest.fixture
def provider(settings) -> Iterator[_Provider]:
    running = _Provider()
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    settings.TOKEN_SERVICE_BACKEND = "kartosfera.tokens.backends.http.TokenServiceBackend"
    settings.TOKEN_SERVICE_BACKEND_OPTIONS = {"url": running.url, "api_key": "tsp-test-key", "timeout": 2}
    settings.TOKEN_COMMAND_MAX_ATTEMPTS = 3
    yield running
    running.server.shutdown()
    running.server.server_close()


def test_the_log_backend_confirms_and_logs_the_command_without_a_card_number(payable_card, caplog):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))

    with caplog.at_level("INFO", logger="kartosfera.tokens.service"):
        token = token_commands_deliver(token_id=token.pk)

    assert token.provider_sync == ProviderSync.CONFIRMED
    record = next(r for r in caplog.records if r.name == "kartosfera.tokens.service")
    assert (record.token_reference, record.command) == (token.token_reference, "suspend")  # type: ignore[attr-defined]
    assert payable_card.pan_last4 not in caplog.text


def test_the_http_backend_sends_the_command_with_its_key_and_an_idempotency_key(payable_card, provider):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))

    token = token_commands_deliver(token_id=token.pk)

    headers, body = provider.received[0]
    command = TokenServiceCommand.objects.get(token=token)
    assert body == {"token_reference": token.token_reference, "command": "suspend", "reference": str(command.pk)}
    assert headers["Authorization"] == "Bearer tsp-test-key"
    assert headers["Idempotency-Key"] == f"kartosfera-token-{command.pk}"
    assert (command.status, command.provider_reference, command.attempts) == (CommandStatus.CONFIRMED, "tsp-1", 1)
    assert token.provider_sync == ProviderSync.CONFIRMED
    confirmed = AuditEvent.objects.get(action="tokens.command.confirmed")
    assert confirmed.after["command"] == "suspend"


def test_a_provider_outage_keeps_the_command_queued_and_pending_then_a_retry_confirms_it(
    payable_card, provider, django_capture_on_commit_callbacks
):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))
    provider.answers = [503]

    with django_capture_on_commit_callbacks() as retries:
        token = token_commands_deliver(token_id=token.pk)

    command = TokenServiceCommand.objects.get(token=token)
    assert (command.status, command.attempts, command.last_error) == (
        CommandStatus.QUEUED,
        1,
        "token service answered HTTP 503",
    )
    assert token.provider_sync == ProviderSync.PENDING
    assert len(retries) == 1  # the retry, enqueued after commit

    token = token_commands_deliver(token_id=token.pk)

    command.refresh_from_db()
    assert (command.status, command.attempts) == (CommandStatus.CONFIRMED, 2)
    assert token.provider_sync == ProviderSync.CONFIRMED


def test_a_resume_never_overtakes_the_suspend_before_it(payable_card, provider):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))
    token = token_resume(actor=HOLDER, token=token)
    provider.answers = [500]

    token_commands_deliver(token_id=token.pk)

    assert [body["command"] for _, body in provider.received] == ["suspend"]
    token = token_commands_deliver(token_id=token.pk)
    assert [body["command"] for _, body in provider.received] == ["suspend", "suspend", "resume"]
    assert token.provider_sync == ProviderSync.CONFIRMED


def test_a_final_refusal_fails_the_command_audits_it_for_staff_and_the_next_command_still_goes(payable_card, provider):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))
    token = token_resume(actor=HOLDER, token=token)
    provider.answers = [422]

    token = token_commands_deliver(token_id=token.pk)

    suspend, resume = TokenServiceCommand.objects.filter(token=token).order_by("pk")
    assert (suspend.status, resume.status) == (CommandStatus.FAILED, CommandStatus.CONFIRMED)
    assert token.provider_sync == ProviderSync.FAILED
    failed = AuditEvent.objects.get(action="tokens.command.failed")
    assert failed.after["status_code"] == 422


def test_the_last_try_fails_the_command(payable_card, provider):
    token = token_suspend(actor=HOLDER, token=token_factory(card=payable_card))
    provider.answers = [503, 503, 503]

    for _ in range(3):
        token = token_commands_deliver(token_id=token.pk)

    command = TokenServiceCommand.objects.get(token=token)
    assert (command.status, command.attempts) == (CommandStatus.FAILED, 3)
    assert token.provider_sync == ProviderSync.FAILED


def test_the_full_chain_runs_after_commit_through_the_task(payable_card, provider, django_capture_on_commit_callbacks):
    token = token_factory(card=payable_card)

    with django_capture_on_commit_callbacks(execute=True):
        token_suspend(actor=HOLDER, token=token)

    token.refresh_from_db()
    assert token.provider_sync == ProviderSync.CONFIRMED
    assert [body["command"] for _, body in provider.received] == ["suspend"]


def test_an_unreachable_provider_is_a_retryable_error():
    backend = TokenServiceBackend(url="http://127.0.0.1:9/", timeout=1)

    with pytest.raises(TokenServiceError) as failed:
        backend.send(TokenServiceRequest(token_reference="DNITHE1", command="suspend", reference="1"))

    assert failed.value.retryable


def test_a_url_with_credentials_or_another_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured):
        TokenServiceBackend(url="https://user:pass@tsp.example/")
    with pytest.raises(ImproperlyConfigured):
        TokenServiceBackend(url="ftp://tsp.example/")


def test_the_retry_delay_doubles(settings):
    settings.TOKEN_COMMAND_RETRY_DELAY = 30

    assert [token_command_retry_delay(attempts=n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]


@pytest.mark.django_db(transaction=True)
def test_a_command_is_queued_after_its_commit_and_delivered_by_each_production_queue(
    payable_card, provider, task_queue
):
    token = token_factory(card=payable_card)
    task_queue.work()  # whatever making the token queued

    token = token_suspend(actor=HOLDER, token=token)

    # Only the token's id on the queue, never the card's number; nothing sent before the worker runs.
    assert task_queue.queued() == [Queued("token_commands_deliver_task", args=[token.pk], run_after=None)]
    assert provider.received == []
    task_queue.work()

    token.refresh_from_db()
    assert token.provider_sync == ProviderSync.CONFIRMED
    assert [body["command"] for _, body in provider.received] == ["suspend"]
