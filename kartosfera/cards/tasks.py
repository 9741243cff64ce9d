"""Background jobs of the cards app (Django's tasks API)."""

from __future__ import annotations

from django_tasks import task

from kartosfera.cards.operations_services import card_block_expire_due


@task()
def card_block_expire_due_task() -> int:
    """Cancel the cards whose temporary block has lasted 60 days (run daily; see docs/card-operations.md)."""
    return card_block_expire_due()
