"""The fault tests' private PostgreSQL cluster (one per session: a test may crash it, never the shared one), a
database per test cloned from a migrated template, and the figures every test prints at the end of the run."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kartosfera.testing.processes import PYTHON, ROOT, PrivatePostgres, postgres_bin_dir, production_env

TEMPLATE = "kf_faults_template"
# Each test's lines of figures, printed in the terminal summary of any run that ran a fault test (CI's log too).
FIGURES: list[tuple[str, list[str]]] = []


def report(test: str, *lines: str) -> None:
    """Print the figures now (pytest -s) and keep them for the run's summary."""
    for line in lines:
        print(f"[faults] {test}: {line}")
    FIGURES.append((test, list(lines)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault tests: what survived")
    for test, lines in FIGURES:
        terminalreporter.write_line(test)
        for line in lines:
            terminalreporter.write_line(f"    {line}")


@dataclass
class Cluster:
    postgres: PrivatePostgres
    redis_url: str
    counter: list[int] = field(default_factory=lambda: [0])

    def database(self, name: str, **extra: str) -> dict[str, str]:
        """A fresh migrated database (a copy of the template) and the production settings on it."""
        self.counter[0] += 1
        database = f"kf_{name}_{self.counter[0]}"
        self.postgres.execute(f'CREATE DATABASE "{database}" TEMPLATE "{TEMPLATE}"')
        return production_env(database_url=self.postgres.url(database), redis_url=self.redis_url, **extra)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster of the session's own, with the schema migrated once into a template database."""
    if postgres_bin_dir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the fault tests need the PostgreSQL server binaries (initdb, pg_ctl)")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) to start a private cluster")
    postgres = PrivatePostgres()
    try:
        postgres.start()
        postgres.execute(f'CREATE DATABASE "{TEMPLATE}"')
        # Redis: a database number of the fault tests' own (the rate limits' counters), never flushed.
        redis_url = os.environ.get("FAULTS_REDIS_URL", "redis://127.0.0.1:6379/13")
        env = production_env(database_url=postgres.url(TEMPLATE), redis_url=redis_url)
        subprocess.run(  # noqa: S603
            [PYTHON, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        yield Cluster(postgres=postgres, redis_url=redis_url)
    finally:
        postgres.destroy()


@pytest.fixture
def logs() -> Iterator[Path]:
    """A directory for the processes' output (kept on a failure's message, removed with /tmp)."""
    yield Path(tempfile.mkdtemp(prefix="kf-faults-"))
