"""Delivering the outbox of commands to the token service provider (after commit, with retries and backoff).

One token's commands go out in the order they were written, under the token's row lock, so that a
resume never overtakes the suspend before it and two workers never send the same command. The lock
is held while the provider is called (TOKEN_SERVICE_TIMEOUT at most per command): a holder's action
on that token waits that long at worst, as an SMS's row waits for its gateway.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kartosfera.core.audit import Actor, audit_record
from kartosfera.tokens.backends import TokenServiceError, TokenServiceRequest, get_token_service_backend
from kartosfera.tokens.models import CommandStatus, Token, TokenServiceCommand
from kartosfera.tokens.states import ProviderSync

logger = logging.getLogger(__name__)

TOKEN_SERVICE_ACTOR = Actor.system("token-service")


def token_commands_delivery_enqueue(*, token_id: int, delay: dt.timedelta | None = None) -> None:
    """Put one delivery of the token's queued commands on the task queue, not before ``delay`` when it can wait."""
    from kartosfera.tokens.tasks import token_commands_deliver_task

    task = token_commands_deliver_task
    # The immediate backend (tests) cannot defer: it runs the retry at once.
    if delay is not None and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay)
    task.enqueue(token_id)


def token_command_retry_delay(*, attempts: int) -> dt.timedelta:
    """How long to wait before the next try after ``attempts`` failed ones (exponential backoff)."""
    return dt.timedelta(seconds=settings.TOKEN_COMMAND_RETRY_DELAY * 2 ** max(0, attempts - 1))


def _audit_command(command: TokenServiceCommand, token: Token, *, confirmed: bool, **after: object) -> None:
    action = "tokens.command.confirmed" if confirmed else "tokens.command.failed"
    audit_record(
        actor=TOKEN_SERVICE_ACTOR,
        action=action,
        obj=token,
        customer_id=token.card.customer_id,
        bank_id=token.card.bank_id,
        after={
            "card_id": token.card_id,
            "wallet": token.wallet,
            "token_last4": token.token_last4,
            "command": command.command,
            "command_id": command.pk,
            "attempts": command.attempts,
            **after,
        },
    )


def token_commands_deliver(*, token_id: int) -> Token:
    """Send the token's queued commands in order; stop at one the provider may still take later, and retry it."""
    backend = get_token_service_backend()
    with transaction.atomic():
        token = Token.objects.select_for_update(of=("self",)).select_related("card").get(pk=token_id)
        queued = list(token.commands.filter(status=CommandStatus.QUEUED).order_by("pk"))
        for command in queued:
            command.attempts += 1
            try:
                provider_reference = backend.send(
                    TokenServiceRequest(
                        token_reference=token.token_reference, command=command.command, reference=str(command.pk)
                    )
                )
            except TokenServiceError as exc:
                if _failed(token, command, error=str(exc), retryable=exc.retryable, status_code=exc.status_code):
                    return token
                continue
            except Exception as exc:
                # A bug or a broken backend must not leave the command queued for ever; the class name
                # only, as an exception's message may quote what it was given.
                logger.exception("token service backend raised unexpectedly", extra={"token_command_id": command.pk})
                if _failed(
                    token, command, error=f"backend error: {type(exc).__name__}", retryable=True, status_code=None
                ):
                    return token
                continue
            command.status = CommandStatus.CONFIRMED
            command.confirmed_at = timezone.now()
            command.provider_reference = provider_reference[:100]
            command.last_error = ""
            command.save()
            _audit_command(command, token, confirmed=True)
            logger.info(
                "token command confirmed",
                extra={"token_command_id": command.pk, "command": command.command, "attempt": command.attempts},
            )
        if queued and token.provider_sync == ProviderSync.PENDING:
            token.provider_sync = (
                ProviderSync.FAILED
                if token.commands.filter(pk__in=[c.pk for c in queued], status=CommandStatus.FAILED).exists()
                else ProviderSync.CONFIRMED
            )
            token.save(update_fields=["provider_sync", "updated_at"])
        return token


def _failed(
    token: Token, command: TokenServiceCommand, *, error: str, retryable: bool, status_code: int | None
) -> bool:
    """Record a failed try; returns True when the delivery stops here to be retried later."""
    final = not retryable or command.attempts >= settings.TOKEN_COMMAND_MAX_ATTEMPTS
    command.last_error = error[:300]
    if final:
        command.status = CommandStatus.FAILED
    command.save(update_fields=["attempts", "last_error", "status"])
    logger.error(
        "token command failed",
        extra={
            "token_command_id": command.pk,
            "command": command.command,
            "status_code": status_code,
            "attempt": command.attempts,
            "will_retry": not final,
            "error": command.last_error,
        },
    )
    if final:
        # Given up: staff see it in the trail; the later commands still go out (a delete after a
        # failed suspend must still reach the wallet).
        _audit_command(command, token, confirmed=False, status_code=status_code, error=command.last_error)
        return False
    delay = token_command_retry_delay(attempts=command.attempts)
    transaction.on_commit(lambda: token_commands_delivery_enqueue(token_id=token.pk, delay=delay))
    return True
