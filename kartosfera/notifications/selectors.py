from __future__ import annotations

import datetime as dt
import json
from collections import deque
from dataclasses import dataclass

from kartosfera.notifications.backends.file import outbox_path


@dataclass(frozen=True)
class OutboxEntry:
    time: dt.datetime
    to: str
    text: str
    reference: str


@dataclass(frozen=True)
class Outbox:
    entries: list[OutboxEntry]  # newest first
    version: str  # changes whenever a message is added; lets the page skip unchanged refreshes


def outbox_read(*, limit: int = 50) -> Outbox:
    """The newest ``limit`` messages of the file backend's outbox (the demo's), newest first."""
    path = outbox_path()
    try:
        with path.open(encoding="utf-8") as lines:
            # The file only grows (one line per message): its size is its version.
            version = str(path.stat().st_size)
            tail = deque(lines, maxlen=limit)
    except FileNotFoundError:
        return Outbox(entries=[], version="0")
    entries = [entry for entry in map(_parse, reversed(tail)) if entry is not None]
    return Outbox(entries=entries, version=version)


def _parse(line: str) -> OutboxEntry | None:
    try:
        data = json.loads(line)
        time = dt.datetime.fromisoformat(data["time"])
        return OutboxEntry(time=time, to=str(data["to"]), text=str(data["text"]), reference=str(data.get("id", "")))
    except (ValueError, KeyError, TypeError):
        # A line cut short by a crash must not hide the others.
        return None
