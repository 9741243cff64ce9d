"""gunicorn's settings for Kartosfera: the workers' metrics in prometheus_client's multiprocess mode.

Run ``gunicorn -c config/gunicorn_config.py config.wsgi:application --bind … --workers 4``
(docs/operations.md). Every worker is a process of its own; each writes its metric values to files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape, whichever worker answers it, sums the files of every process
(kartosfera/core/metrics.py). The directory must be known before any worker imports prometheus_client,
so it is settled here, when gunicorn reads this file, before it loads the application (even with --preload).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

# A directory the operator chose (shared with the task worker, docs/operations.md), or a private one.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kartosfera-metrics-")  # mode 0700

# prometheus_client's files: counter_<pid>.db, histogram_<pid>.db, gauge_<mode>_<pid>.db.
_PROCESS_FILE = re.compile(r"^[a-z_]+_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process: alive
    return True


def on_starting(server: Any) -> None:
    """Start from zero: drop the files of the processes of an earlier run (not of a task worker still running)."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in directory.iterdir():
        match = _PROCESS_FILE.match(path.name)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended (a restart, --max-requests, a crash): its live gauges leave the sum; its counters stay."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# --- The access log never keeps a one-time link's token (config/access_log.py) -------------------------------


def _redacting_logger_class() -> type:
    from gunicorn.glogging import Logger

    from config.access_log import redact_one_time_tokens

    class RedactingLogger(Logger):
        """gunicorn's logger, its access log's request line, path and Referer without a one-time token."""

        def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
            atoms = super().atoms(resp, req, environ, request_time)
            for key in ("r", "U", "f", "{referer}i"):
                if isinstance(atoms.get(key), str):
                    atoms[key] = redact_one_time_tokens(atoms[key])
            return atoms

    return RedactingLogger


logger_class = _redacting_logger_class()
