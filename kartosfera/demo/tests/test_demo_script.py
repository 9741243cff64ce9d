"""scripts/demo.sh: the port it serves on is the port every printed address names; its files are owner-only."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from kartosfera.demo.bank import DEMO_CARD_PIN, DEMO_HISTORY_DAYS

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "demo.sh"


def run_demo(tmp_path: Path, port: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run demo.sh with a stand-in Python that records each manage.py call and the umask it ran under."""
    log = tmp_path / "calls.log"
    fake_python = tmp_path / "python"
    # The server and the worker run until stopped: the stand-ins stay up a moment too, or the
    # first to exit would make demo.sh stop the other before it wrote its line (a flaky test).
    fake_python.write_text(
        f'#!/bin/sh\necho "$(umask) $*" >> {log}\ncase "$2" in runserver|db_worker|run_scheduler) sleep 1;; esac\n'
    )
    fake_python.chmod(0o755)
    env = {**os.environ, "PY": str(fake_python), "DEMO_PORT": port}
    bash = shutil.which("bash")
    assert bash is not None
    # Our own script with a fixed argument list: nothing untrusted reaches the command line.
    result = subprocess.run(  # noqa: S603
        [bash, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_the_demo_passes_its_port_to_every_address_it_prints(tmp_path):
    result, calls = run_demo(tmp_path, "8101")

    assert "0077 manage.py load_demo_bank --port 8101" in calls
    assert "0077 manage.py runserver 127.0.0.1:8101" in calls
    assert "http://127.0.0.1:8101/" in result.stdout
    assert "http://127.0.0.1:8101/dev/sms-outbox/" in result.stdout
    assert "http://127.0.0.1:8101/dev/terminal/" in result.stdout
    assert ":8000" not in result.stdout


def test_the_demo_tells_the_demo_cards_pin_for_the_terminal(tmp_path):
    result, _ = run_demo(tmp_path, "8000")
    assert (
        f"Payment terminal: http://127.0.0.1:8000/dev/terminal/ (chip and ATM: the demo cards' PIN is {DEMO_CARD_PIN})"
        in result.stdout
    )


def test_the_demo_back_fills_card_history_before_the_server_starts(tmp_path):
    _, calls = run_demo(tmp_path, "8000")
    simulate = f"0077 manage.py simulate_card_traffic --days {DEMO_HISTORY_DAYS} --per-day 0.4 --statements"
    assert simulate in calls
    assert calls.index("0077 manage.py load_demo_bank --port 8000") < calls.index(simulate)


def test_everything_the_demo_runs_creates_owner_only_files(tmp_path):
    _, calls = run_demo(tmp_path, "8000")
    assert calls
    assert all(call.startswith("0077 ") for call in calls), calls


@pytest.mark.parametrize("port", ["abc", "0", "70000", "80 80"])
def test_a_demo_port_that_is_no_port_stops_before_anything_runs(tmp_path, port):
    result, calls = run_demo(tmp_path, port)

    assert result.returncode == 2
    assert "DEMO_PORT must be a port number" in result.stderr
    assert calls == []


def test_the_demo_starts_the_scheduler_beside_the_worker_and_the_server(tmp_path):
    result, calls = run_demo(tmp_path, "8101")
    # Started side by side (the order of their lines in the log is the processes' race).
    assert {"0077 manage.py run_scheduler", "0077 manage.py db_worker --interval 1 --no-startup-delay"} <= set(calls)
    assert "The scheduler is running the periodic jobs (their last runs for a supervisor: " in result.stdout
    assert "http://127.0.0.1:8101/backoffice/jobs/)" in result.stdout
