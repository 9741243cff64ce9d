"""Running operations at the same moment on real, separate database connections (PostgreSQL tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def run_together(*operations: Callable[[], Any], expected: tuple[type[BaseException], ...] = ()) -> list[Any]:
    """Start every operation in its own thread at once; return each one's result or expected exception.

    An exception not listed in ``expected`` is re-raised, so a crash never passes for a refusal.
    """
    barrier = threading.Barrier(len(operations))
    outcomes: list[Any] = [None] * len(operations)

    def worker(index: int, operation: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = operation()
        except BaseException as exc:
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, op)) for i, op in enumerate(operations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, expected):
            raise outcome
    return outcomes
