"""Exactly one scheduler leads: a PostgreSQL session advisory lock, or on SQLite (the demo) a file lock.

Either lock belongs to the process that holds it and frees itself when the process dies (its database session
ends, its file is closed), so a standby takes over without anybody cleaning up after a crashed leader.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import Protocol

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from kartosfera.core.private_files import private_file, sqlite_database_path

# The advisory lock's key: a fixed number of our own (advisory locks are per database, so another application's
# database on the same server cannot hold it). Positive, so pg_locks' two halves of it read back as one bigint.
SCHEDULER_LOCK_KEY = int.from_bytes(hashlib.sha256(b"kartosfera.jobs.scheduler").digest()[:8], "big") >> 1


class Leadership(Protocol):
    def acquire(self) -> bool:
        """Become the leader if nobody is; whether this process leads now."""

    def held(self) -> bool:
        """Whether this process still leads (False: the lock was lost, e.g. the database session ended)."""

    def release(self) -> None: ...


# libpq's options (psycopg passes OPTIONS through): a dead peer is noticed within about a minute.
LOCK_CONNECTION_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}


class PostgresLeadership:
    """``pg_try_advisory_lock`` on a connection of its own, held for as long as the process leads.

    Not Django's connection of the thread: Django closes and reopens that one (CONN_MAX_AGE, errors), and
    a closed session gives the lock away.
    """

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self._wrapper: BaseDatabaseWrapper | None = None

    def _cursor(self) -> CursorWrapper:
        if self._wrapper is None:
            wrapper = connections.create_connection(self.alias)
            # TCP keepalives and a send timeout: a connection left half-open (a network cut, a database host gone)
            # would otherwise make held() wait for the kernel's default, hours, while another scheduler could lead.
            options = {**wrapper.settings_dict.get("OPTIONS", {}), **LOCK_CONNECTION_KEEPALIVES}
            wrapper.settings_dict = {**wrapper.settings_dict, "OPTIONS": options}
            self._wrapper = wrapper
        return self._wrapper.cursor()

    def acquire(self) -> bool:
        try:
            with self._cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [SCHEDULER_LOCK_KEY])
                return bool(cursor.fetchone()[0])
        except Exception:
            # The database is away: not the leader; the next try opens a new session.
            self._drop()
            return False

    def held(self) -> bool:
        try:
            with self._cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                    "AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = %s",
                    [SCHEDULER_LOCK_KEY],
                )
                return bool(cursor.fetchone()[0])
        except Exception:
            self._drop()
            return False

    def release(self) -> None:
        # Closing the session frees the lock (and is all there is to do when the session is already gone).
        self._drop()

    def _drop(self) -> None:
        if self._wrapper is not None:
            # A session already gone cannot be closed cleanly; it holds no lock either.
            with contextlib.suppress(Exception):
                self._wrapper.close()
            self._wrapper = None


class FileLeadership:
    """An exclusive ``flock`` on a file beside the SQLite database (owner-only, like the database)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(private_file(self.path), os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file frees the lock
            self._fd = None


class ProcessLeadership:
    """An in-memory SQLite database lives in one process: that process is alone, so it leads."""

    def acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


def leadership_for(alias: str = "default") -> Leadership:
    """The lock that fits the database: PostgreSQL's advisory lock, or a file lock beside an SQLite file."""
    vendor = connections[alias].vendor
    if vendor == "postgresql":
        return PostgresLeadership(alias)
    if vendor == "sqlite":
        path = sqlite_database_path(connections[alias].settings_dict["NAME"])
        if path is None:
            return ProcessLeadership()
        return FileLeadership(path.with_name(path.name + ".scheduler-lock"))
    raise NotImplementedError(f"No scheduler lock for the {vendor} database.")
