"""A real ClamAV daemon for the antivirus tests, started from Debian's clamav-daemon package.

freshclam cannot download the virus signatures here (no internet), so each daemon gets a signature
database of its own, written here: one body signature (``.ndb``) matching the EICAR test string
anywhere in a file, the string every antivirus treats as malware by agreement. Each daemon has its
own directory, configuration, Unix socket and TCP port, and is stopped by the test that started it.

Without clamd installed the tests are skipped with the reason, except under ``CI=true``, where they
fail: CI must never pass without having scanned (``make browser`` installs it: scripts/ensure-clamav.sh).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from kartosfera.testing.processes import free_port, wait_for

CLAMD = Path("/usr/sbin/clamd")
# The EICAR test file (https://www.eicar.org/download-anti-malware-testfile/): harmless, and recognised as malware.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Kartosfera.Test.EICAR"
# clamd names a signature that is not from ClamAV's own databases so in its answers.
SIGNATURE_FOUND = f"{SIGNATURE}.UNOFFICIAL"
# Above the largest logo (100 KB), as production's default (25 MB) is; a larger stream is clamd's ERROR.
STREAM_MAX_LENGTH = 256 * 1024


def clamd_binary() -> Path:
    """The clamd executable; fails the test under CI=true when it is missing, else skips it with the reason."""
    binary = CLAMD if CLAMD.exists() else Path(shutil.which("clamd") or CLAMD)
    if not binary.exists():
        problem = f"ClamAV's clamd is not installed at {CLAMD} (Debian's clamav-daemon: `make browser` installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem}: CI cannot pass without it", pytrace=False)
        pytest.skip(problem)
    return binary


def _pong(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(path))
            sock.sendall(b"zPING\0")
            return sock.recv(16) == b"PONG\0"
    except OSError:
        return False


@dataclass
class Clamd:
    """A running clamd of the tests' own: its Unix socket and TCP port, and how long it took to answer PING."""

    process: subprocess.Popen[bytes]
    directory: Path
    socket_path: Path
    port: int
    started_in: float

    @property
    def unix_address(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def tcp_address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.directory / "clamd.log").read_text(errors="replace")[-4000:]
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def clamd_start(directory: Path, *, timeout: float = 60) -> Clamd:
    """Start clamd in the foreground with its configuration and signature database under ``directory``."""
    binary = clamd_binary()
    database = directory / "db"
    database.mkdir(parents=True)
    (database / "kartosfera-test.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
    socket_path = directory / "clamd.sock"
    port = free_port()
    config = directory / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                "Foreground yes",
                f"DatabaseDirectory {database}",
                f"LocalSocket {socket_path}",
                "TCPAddr 127.0.0.1",
                f"TCPSocket {port}",
                f"TemporaryDirectory {directory}",
                f"LogFile {directory / 'clamd.log'}",
                f"PidFile {directory / 'clamd.pid'}",
                f"StreamMaxLength {STREAM_MAX_LENGTH}",
                # No self-check reloads during a run, no bytecode (none is installed).
                "SelfCheck 0",
                "Bytecode no",
                "",
            ]
        )
    )
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603
        [str(binary), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    clamd = Clamd(process=process, directory=directory, socket_path=socket_path, port=port, started_in=0.0)
    if not wait_for(lambda: process.poll() is not None or _pong(socket_path), timeout=timeout, every=0.02):
        clamd.stop()
        raise RuntimeError(f"clamd did not answer PING within {timeout} s:\n{clamd.log()}")
    if process.poll() is not None:
        raise RuntimeError(f"clamd exited with {process.returncode}:\n{clamd.log()}")
    clamd.started_in = time.monotonic() - started
    return clamd
