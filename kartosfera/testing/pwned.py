"""A real HTTP server on 127.0.0.1 that plays the Pwned Passwords range API (users/pwned.py).

It knows a few breached passwords (given in plain text, hashed here as the real corpus would hold them) and
answers ``GET /range/<prefix>`` in the API's format, ``SUFFIX:COUNT`` lines in upper case with CRLF; with
``Add-Padding: true`` it adds decoys with count 0, among them the suffixes of the ``padded`` passwords. It
records every request's path and headers, so that a test can see what left the portal.
"""

from __future__ import annotations

import hashlib
import secrets
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PADDING_LINES = 40  # the real API pads to 800-1,000 lines; a few dozen show the same thing, faster


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]


class FakePwnedPasswords:
    """The range API over real HTTP; ``answer`` replaces the body (a proxy's page), ``delay`` slows every answer."""

    def __init__(
        self, breached: Iterable[str] = (), *, padded: Iterable[str] = (), delay: float = 0.0, answer: bytes = b""
    ) -> None:
        self.counts = {sha1_hex(password): 1000 + n for n, password in enumerate(breached)}
        self.decoys = {sha1_hex(password) for password in padded}
        self.delay = delay
        self.answer = answer
        self.received: list[Received] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with fake._lock:
                    fake.received.append(Received(path=self.path, headers=dict(self.headers.items())))
                if fake.delay:
                    time.sleep(fake.delay)
                prefix = self.path.removeprefix("/range/")
                if not self.path.startswith("/range/") or len(prefix) != 5:
                    self.send_error(400)
                    return
                body = fake.answer or fake.range_body(prefix, padding=self.headers.get("Add-Padding") == "true")
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (the timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    def range_body(self, prefix: str, *, padding: bool) -> bytes:
        prefix = prefix.upper()
        lines = [f"{full[5:]}:{count}" for full, count in self.counts.items() if full.startswith(prefix)]
        if padding:
            lines += [f"{full[5:]}:0" for full in self.decoys if full.startswith(prefix)]
            lines += [f"{secrets.token_hex(18)[:35].upper()}:0" for _ in range(PADDING_LINES)]
        return "\r\n".join(sorted(lines)).encode("ascii")

    def __enter__(self) -> FakePwnedPasswords:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


def unreachable_url() -> str:
    """An address on 127.0.0.1 where nothing listens (a port just bound and released): the service is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
