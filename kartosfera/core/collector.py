"""Python's cyclic garbage collector paused around a burst of short-lived objects.

A statement's PDF (kartosfera/statements/documents.py) makes about a million short-lived objects in
some 200 ms: enough to set off one or two full collections of the collector's oldest generation, which
walk every object of the process (Django's, the fonts', the templates') and added a third to the
render, measured (bench/statements.py: p95 341 ms with the collector, 212 ms without). Paused for the
render, the objects it makes are freed by their reference counts as usual; the few in reference
cycles wait for the collector's next run, after it.

The collector is one per process: the pause is counted, so that threads (the development server's)
rendering at once resume it only when the last one is done.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0
_was_enabled = False


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()
