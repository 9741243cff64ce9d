"""An antivirus scan of untrusted bytes by ClamAV's daemon (clamd), over its INSTREAM protocol.

clamd listens on TCP or a Unix socket (``settings.CLAMD_ADDRESS``: ``tcp://host:port`` or
``unix:///path``). One scan is one connection: the command ``zINSTREAM\\0``, the bytes in chunks each
prefixed by its length (4 bytes, big-endian), a chunk of length 0 to end, then one answer ended by
``\\0``: ``stream: OK`` (nothing found), ``stream: <signature> FOUND`` (malware), or ``... ERROR``
(e.g. ``INSTREAM size limit exceeded. ERROR``). Anything other than those first two, a refused
connection or a timeout is ``ScannerUnavailable``: the caller refuses the file (fail closed).

Our own client rather than a PyPI one: docs/decisions/0022.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# clamd's default StreamMaxLength is 25 MB; our files are far smaller, so a chunk never nears it.
CHUNK_SIZE = 64 * 1024
# "stream: " + a signature name (clamd's are at most a few hundred characters) + " FOUND\0".
MAX_ANSWER = 4096
STREAM_PREFIX = "stream: "
FOUND_SUFFIX = " FOUND"


class ScannerUnavailable(Exception):
    """clamd could not say whether the bytes are clean: unreachable, too slow, or it answered an error."""


@dataclass(frozen=True)
class ClamdAddress:
    """Where clamd listens: a Unix socket's ``path``, or TCP ``host`` and ``port``."""

    path: str = ""
    host: str = ""
    port: int = 0

    def __str__(self) -> str:
        return f"unix://{self.path}" if self.path else f"tcp://{self.host}:{self.port}"


def clamd_address_parse(value: str) -> ClamdAddress:
    """``tcp://host:port`` or ``unix:///absolute/path`` as a ClamdAddress; ValueError for anything else."""
    parts = urlsplit(value.strip())
    if parts.scheme == "unix":
        path = parts.netloc + parts.path if parts.netloc else parts.path
        if not path.startswith("/") or parts.query or parts.fragment:
            raise ValueError("a Unix socket address is unix:///absolute/path")
        return ClamdAddress(path=path)
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None or parts.path not in {"", "/"} or parts.query or parts.fragment:
            raise ValueError("a TCP address is tcp://host:port")
        return ClamdAddress(host=parts.hostname, port=port)
    raise ValueError("the address must be tcp://host:port or unix:///path")


@dataclass(frozen=True)
class ScanResult:
    """clamd's verdict: ``signature`` names what it found, empty when the bytes are clean."""

    signature: str = ""

    @property
    def clean(self) -> bool:
        return not self.signature


def _connect(address: ClamdAddress, timeout: float) -> socket.socket:
    if address.path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address.path)
        except BaseException:
            sock.close()
            raise
        return sock
    sock = socket.create_connection((address.host, address.port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def _answer(sock: socket.socket) -> str:
    received = b""
    while b"\0" not in received:
        chunk = sock.recv(MAX_ANSWER)
        if not chunk:
            break
        received += chunk
        if len(received) > MAX_ANSWER:
            raise ScannerUnavailable("clamd's answer is too long")
    return received.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def instream_scan(data: bytes, *, address: ClamdAddress, timeout: float) -> ScanResult:
    """Scan ``data`` with the clamd at ``address``; ScannerUnavailable if it cannot give a verdict in time."""
    try:
        with contextlib.closing(_connect(address, timeout)) as sock:
            sock.sendall(b"zINSTREAM\0")
            view = memoryview(data)
            for start in range(0, len(view), CHUNK_SIZE):
                chunk = view[start : start + CHUNK_SIZE]
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            answer = _answer(sock)
    except OSError as exc:  # refused, reset, broken pipe, no such socket, timeout (socket.timeout is an OSError)
        raise ScannerUnavailable(f"clamd at {address} cannot be reached: {exc.__class__.__name__}: {exc}") from None
    if answer == f"{STREAM_PREFIX}OK":
        return ScanResult()
    if answer.startswith(STREAM_PREFIX) and answer.endswith(FOUND_SUFFIX):
        signature = answer[len(STREAM_PREFIX) : -len(FOUND_SUFFIX)].strip()
        if signature:
            return ScanResult(signature=signature)
    raise ScannerUnavailable(f"clamd at {address} gave no verdict: {answer[:200]!r}")


def antivirus_scan(data: bytes) -> ScanResult | None:
    """Scan ``data`` with the configured clamd; None when none is configured (development, the demo, the tests)."""
    if not settings.CLAMD_ADDRESS:
        return None
    return instream_scan(data, address=clamd_address_parse(settings.CLAMD_ADDRESS), timeout=settings.CLAMD_TIMEOUT)
