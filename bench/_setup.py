"""Shared set-up for the benchmarks: Django on a throw-away database."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    """Configure Django in test mode on a fresh SQLite file unless DATABASE_URL says otherwise."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("KARTOSFERA_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='kf-bench-')}/bench.sqlite3"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(label: str, fn: Callable[[], object], *, repeat: int) -> float:
    """Run ``fn`` ``repeat`` times; print and return the median time per call in milliseconds."""
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    median = samples[len(samples) // 2]
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    print(f"{label:<58} median {median:8.3f} ms   p95 {p95:8.3f} ms   n={repeat}")
    return median
