"""Real processes for the fault tests (tests/faults/) and the benchmarks: a private PostgreSQL cluster that a
test may crash, the production settings with throw-away keys, gunicorn and Django commands as subprocesses.

The shared PostgreSQL (127.0.0.1:5432) serves other test runs at the same moment: a test that stops a server
stops its own, started here from the installed PostgreSQL binaries (Debian: /usr/lib/postgresql/<major>/bin).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable
POSTGRES_LIBS = Path("/usr/lib/postgresql")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], *, timeout: float, every: float = 0.05) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def production_env(*, database_url: str, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    """The production settings (DEBUG off, HSTS, secure cookies, Redis, the database task queue, the HTTP SMS
    gateway) with throw-away keys; a client plays the TLS proxy and sends ``X-Forwarded-Proto: https``."""
    from cryptography.fernet import Fernet

    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    return {
        **os.environ,
        "KARTOSFERA_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CARD_DATA_KEYS": Fernet.generate_key().decode(),
        "CARD_FINGERPRINT_KEY": key(),
        "CARD_PIN_KEY": key(),
        "PIN_ENCRYPTION_KEY": key(),
        # A real gateway in the tests that send SMS (tests/faults/); never reached elsewhere.
        "SMS_GATEWAY_URL": "https://sms-gateway.example/send",
        "ACS_AUTHENTICATION_KEY": key(),
        "ACS_DIRECTORY_SERVER_URL": "https://directory-server.example/rreq",
        "BLIK_SYSTEM_URL": "https://blik-system.example/state",
        "TOKEN_SERVICE_URL": "https://token-service.example/v1/token-commands",
        # No outbound lookups from the test servers (an unresolvable name could stall each new password).
        "PWNED_PASSWORDS_URL": "off",
        # An example rate, as in .env.example: the bank sets the NBP's.
        "NBP_REFERENCE_RATE_PERCENT": "5.75",
        "NBP_REFERENCE_RATE_SINCE": "2023-10-05",
        "REDIS_URL": redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "DATABASE_URL": database_url,
        # No file is uploaded in these runs: the address is only what production requires.
        "CLAMD_ADDRESS": os.environ.get("CLAMD_ADDRESS", "tcp://127.0.0.1:3310"),
        # The tests call the server directly, with no TLS proxy to verify a client certificate and pass its
        # fingerprint: their API keys are bound to none (production's default requires one, docs/api.md).
        "API_KEYS_REQUIRE_CLIENT_CERT": "false",
        "DATABASE_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def django_call(env: dict[str, str], function: str, *args: Any, timeout: float = 120) -> Any:
    """Run ``function`` ("module:name", given JSON-able ``args``) in a fresh Django process under ``env``;
    its JSON-able result."""
    module, name = function.split(":")
    script = (
        "import json, sys, django\n"
        "django.setup()\n"
        f"from {module} import {name} as function\n"
        "result = function(*json.loads(sys.stdin.read()))\n"
        "print('\\nRESULT' + json.dumps(result, default=str))\n"
    )
    # The arguments go through standard input: a load's request log is more than a command line holds.
    done = subprocess.run(  # noqa: S603
        [PYTHON, "-c", script],
        cwd=ROOT,
        env=env,
        input=json.dumps(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0 or "\nRESULT" not in done.stdout:
        raise RuntimeError(f"{function} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.rsplit("\nRESULT", 1)[1])


def manage(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``manage.py <args>`` in a session of its own, so that a kill reaches every process it forks."""
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed once the child has it)
    try:
        return subprocess.Popen(  # noqa: S603
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        if not isinstance(output, int):
            output.close()


def kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process and every process of its session (a command's forked workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (gunicorn's workers, of its master), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def open_sockets(pid: int) -> int:
    """How many sockets a process has open (a gunicorn sync worker serving a request has its client's too)."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    count = 0
    for fd in fds:
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


class Gunicorn:
    """``config.wsgi`` under gunicorn with ``workers`` workers on a free port (the production way to serve)."""

    def __init__(self, env: dict[str, str], *, workers: int, log: Path) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        gunicorn = shutil.which("gunicorn", path=str(Path(PYTHON).parent)) or "gunicorn"
        with open(log, "ab") as output:  # the child keeps its own copy
            self.process = self._start(gunicorn, workers, output)
        self.workers = workers
        if not wait_for(self.healthy, timeout=60, every=0.2):
            self.stop()
            raise RuntimeError(f"gunicorn did not answer within 60 s (see {log})")
        wait_for(lambda: len(self.worker_pids()) == workers, timeout=30)

    def _start(self, gunicorn: str, workers: int, output: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603
            [
                gunicorn,
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def healthy(self) -> bool:
        health = f"{self.url}/health/"  # our own http:// URL
        request = urllib.request.Request(health, headers={"X-Forwarded-Proto": "https"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def worker_pids(self) -> list[int]:
        return children(self.process.pid)

    def busy_worker(self, *, within: float = 2.0) -> int:
        """A worker serving a request now: one with a socket more than the idlest (its client's), watched for up
        to ``within`` seconds; else any."""
        deadline = time.monotonic() + within
        pids = self.worker_pids()
        while time.monotonic() < deadline:
            sockets = {pid: open_sockets(pid) for pid in pids}
            busiest = max(sockets, key=lambda pid: sockets[pid])
            if sockets[busiest] > min(sockets.values()):
                return busiest
            time.sleep(0.001)
        return pids[0]

    def stop(self) -> None:
        if self.process.poll() is None:
            kill_group(self.process, signal.SIGTERM)


class PrivatePostgres:
    """A PostgreSQL cluster of one's own in a temporary directory, on a free port: a test may crash it.

    initdb refuses root, so as root the binaries run as the ``postgres`` user (the directory is theirs).
    """

    def __init__(self) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl) found")
        self.bin = bin_dir
        self.base = Path(tempfile.mkdtemp(prefix="kf-private-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.base, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.running = False

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)  # noqa: S603

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        # fsync off: the tests crash the server's processes, not the machine, and what the kernel took from a
        # dead process survives; with it on, a restart after a crash first syncs every file (12 s on a busy disk).
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=60 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "server.log"), "-w", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``immediate``: as a crash (no checkpoint; the next start recovers from the WAL)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(sql)

    def destroy(self) -> None:
        try:
            if self.running:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server's binaries (Debian's layout), else initdb's directory on the PATH."""
    if POSTGRES_LIBS.is_dir():
        versions = sorted(
            (p for p in POSTGRES_LIBS.iterdir() if (p / "bin" / "initdb").exists()),
            key=lambda p: int(p.name) if p.name.isdigit() else 0,
        )
        if versions:
            return versions[-1] / "bin"
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None
