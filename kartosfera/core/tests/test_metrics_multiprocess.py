"""Under gunicorn with several workers, one scrape sums every worker's counts, the ended ones' too.

A real gunicorn runs config/gunicorn_config.py with 2 workers. One worker is held by a request whose
headers have not all arrived, so the other serves the rest; whichever answers the scrape must report
the requests of both.
The application gets an empty SQLite file of its own: /health/ needs no table, and the scrape answers
without the SMS queue's gauge when its table cannot be read (notifications/metrics.py).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kartosfera.testing.metrics import METRICS_URL, TEST_METRICS_TOKEN, parse

ROOT = Path(__file__).resolve().parents[3]
REQUESTS = 6


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (our own server on 127.0.0.1)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 200
        return response.read()


def _wait_for_port(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn ended"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("gunicorn did not listen")


@pytest.fixture
def gunicorn(tmp_path):
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # A file left by a process of an earlier run (a pid that cannot be running): gunicorn drops it at start.
    (metrics_dir / "counter_999999999.db").write_bytes(b"")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "PROMETHEUS_"))},
        "KARTOSFERA_ENV": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "METRICS_TOKEN": TEST_METRICS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_LEVEL": "CRITICAL",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn_config.py", "config.wsgi:application"]
    options = ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--no-control-socket", "--log-level", "warning"]
    server = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [*command, *options], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_port(port, server)
        yield port, metrics_dir
    finally:
        server.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
        server.wait(timeout=20)


def test_a_scrape_sums_the_counts_of_every_worker(gunicorn):
    port, metrics_dir = gunicorn
    base = f"http://127.0.0.1:{port}"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as held:
        # A sync worker reads this request until its headers end: it serves nobody else meanwhile.
        held.sendall(b"GET /health/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(REQUESTS):
            assert b'"ok"' in _get(f"{base}/health/")
        held.sendall(b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := held.recv(65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and b'"ok"' in answer
    scraped = parse(_get(f"{base}{METRICS_URL}", {"Authorization": f"Bearer {TEST_METRICS_TOKEN}"}).decode())

    health = {"view": "/health/", "method": "GET", "status": "2xx"}
    assert scraped.value("kartosfera_http_request_duration_seconds_count", **health) == REQUESTS + 1
    assert scraped.value("kartosfera_http_request_duration_seconds_bucket", le="+Inf", **health) == REQUESTS + 1
    # Both workers wrote their own files ...
    pids = {re.sub(r"\D", "", path.name) for path in metrics_dir.glob("histogram_*.db")}
    assert len(pids) == 2, pids
    # ... and the stale file of an earlier run is gone.
    assert not (metrics_dir / "counter_999999999.db").exists()
    # No per-process sample (python_gc_*, process_*) is served as if it were the whole's.
    assert not any(name.startswith(("python_gc", "process_")) for name, _labels in scraped.samples)


def test_a_worker_that_ends_leaves_the_live_gauges(tmp_path, monkeypatch):
    """gunicorn's child_exit hook: a dead worker's live gauges leave the sum (its counters stay, being totals)."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    config: dict[str, object] = {}
    exec(compile((ROOT / "config" / "gunicorn_config.py").read_text(), "gunicorn_config.py", "exec"), config)  # noqa: S102
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")
    config["child_exit"](None, type("Worker", (), {"pid": 4242})())  # type: ignore[operator]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["counter_4242.db"]
