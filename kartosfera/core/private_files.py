"""Local files that hold customers' data (the demo's SQLite database): readable by their owner only.

The SQLite file holds PESELs, names and phone numbers; created with the usual umask it would be
0644 in a 0755 folder, readable by every account on the machine. Imported by the settings, so
this module must not import Django.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _owned(path: Path) -> bool:
    # Only the owner may change a mode; somebody else's file is left as its owner set it.
    return path.stat().st_uid == os.getuid()


def private_dir(path: Path) -> Path:
    """Create the folder ``path`` if it is missing and make it owner-only (0700)."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    # mkdir's mode goes through the umask, and a folder made by an earlier version kept 0755.
    if _owned(path):
        path.chmod(PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create the file ``path`` (empty) if it is missing and make it owner-only (0600); never truncates.

    SQLite accepts an empty file as an empty database, and gives its journal and WAL files the
    database file's mode, so those are owner-only too.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(fd)
    if _owned(path):
        path.chmod(PRIVATE_FILE_MODE)
    return path


def sqlite_database_path(name: str | os.PathLike[str]) -> Path | None:
    """The file of an SQLite database NAME, or None for an in-memory or URI database."""
    text = os.fspath(name)
    if not text or text == ":memory:" or text.startswith("file:"):
        return None
    return Path(text)
