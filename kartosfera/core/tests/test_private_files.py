"""The demo's SQLite database and its folder are readable by their owner only (PESELs, phone numbers)."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from kartosfera.core.private_files import private_dir, private_file, sqlite_database_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    # The umask most machines have: files 0644, folders 0755, unless the code says otherwise.
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_folder_is_owner_only(tmp_path, usual_umask):
    folder = private_dir(tmp_path / "var")
    assert mode(folder) == 0o700


def test_a_folder_made_before_is_made_owner_only(tmp_path, usual_umask):
    folder = tmp_path / "var"
    folder.mkdir(mode=0o755)
    assert mode(folder) == 0o755

    private_dir(folder)

    assert mode(folder) == 0o700


def test_a_new_database_file_is_owner_only(tmp_path, usual_umask):
    database = private_file(tmp_path / "kartosfera.sqlite3")
    assert database.exists()
    assert mode(database) == 0o600


def test_an_existing_database_file_is_made_owner_only_and_keeps_its_data(tmp_path, usual_umask):
    database = tmp_path / "kartosfera.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE customer (pesel TEXT)")
        connection.execute("INSERT INTO customer VALUES ('85010112345')")
    connection.close()
    assert mode(database) == 0o644

    private_file(database)

    assert mode(database) == 0o600
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT pesel FROM customer").fetchall() == [("85010112345",)]
    connection.close()


def test_sqlite_gives_its_write_ahead_log_the_database_files_mode(tmp_path, usual_umask):
    database = private_file(tmp_path / "kartosfera.sqlite3")
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE customer (phone TEXT)")
        connection.commit()
        wal = tmp_path / "kartosfera.sqlite3-wal"
        assert wal.exists()
        assert mode(wal) == 0o600
    finally:
        connection.close()


@pytest.mark.parametrize("name", ["", ":memory:", "file:memorydb_default?mode=memory&cache=shared"])
def test_in_memory_databases_have_no_file(name):
    assert sqlite_database_path(name) is None


def test_the_settings_make_an_sqlite_database_and_var_owner_only(tmp_path):
    # What `make demo` does on a first run: the settings create var/ and the database file.
    database = tmp_path / "demo.sqlite3"
    env = {
        **os.environ,
        "KARTOSFERA_ENV": "development",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DATABASES"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        preexec_fn=lambda: os.umask(0o022),
    )

    assert mode(database) == 0o600
    assert mode(Path(settings.BASE_DIR) / "var") == 0o700
