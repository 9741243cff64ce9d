from __future__ import annotations

from django_tasks import task

from kartosfera.tokens.delivery import token_commands_deliver


@task()
def token_commands_deliver_task(token_id: int) -> None:
    """Send one token's queued commands to the token service provider (the queue carries only the token's id)."""
    token_commands_deliver(token_id=token_id)
