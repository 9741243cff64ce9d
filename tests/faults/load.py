"""The card processor's traffic for the fault tests: threads posting authorizations, reversals and clearing records
with unique ids through real HTTP, keeping every request's body and answer, and retrying a request as the
processor does (the same id and body)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from kartosfera.testing.processor import authorization_body

API = "/api/processor/v1"


@dataclass
class Request:
    kind: str  # authorization, reversal or clearing
    id: str
    path: str
    body: dict[str, Any]
    status: int | None = None  # the HTTP status, None when the connection failed or timed out
    answer: dict[str, Any] | None = None  # a 200's answer (a clearing: its one record's)
    error: str = ""
    sent_at: float = 0.0
    answered_at: float = 0.0

    def log(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "answer": self.answer}


def post(url: str, token: str, request: Request, *, timeout: float = 10) -> Request:
    """Send ``request`` once; fill in its status and answer (or error). Returns it."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    request.sent_at = time.monotonic()
    request.status, request.answer, request.error = None, None, ""
    try:
        connection.request(
            "POST",
            request.path,
            body=json.dumps(request.body),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                # As the TLS-terminating proxy says (production settings redirect plain HTTP).
                "X-Forwarded-Proto": "https",
            },
        )
        response = connection.getresponse()
        data = response.read()
        request.status = response.status
        if response.status == 200:
            answer = json.loads(data)
            request.answer = answer["records"][0] if request.kind == "clearing" else answer
            request.answered_at = time.monotonic()
        else:
            request.error = f"HTTP {response.status}"
    except (OSError, http.client.HTTPException) as error:
        request.error = type(error).__name__
    finally:
        connection.close()
    return request


class Load:
    """``threads`` threads, each sending ``per_thread`` authorizations (more while ``keep_going`` is set) over the
    cards; an approved one is then reversed (a third), cleared (a third) or left pending. A failed request is not
    followed up: the processor retries it later (``retry``)."""

    def __init__(
        self, url: str, token: str, cards: list[dict[str, str]], *, prefix: str, threads: int, per_thread: int
    ):
        self.url, self.token, self.cards, self.prefix = url, token, cards, prefix
        self.threads, self.per_thread = threads, per_thread
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        # Set while a fault is on: the threads go on past their count until the service answers again after it.
        self.keep_going = threading.Event()
        self.keep_going.set()
        self.today = dt.datetime.now(ZoneInfo("Europe/Warsaw")).date().isoformat()

    @property
    def answered(self) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.answer is not None)

    def _send(self, request: Request) -> Request:
        with self._lock:
            self.requests.append(request)
        post(self.url, self.token, request)
        if request.answer is None:
            time.sleep(0.1)  # a processor does not hammer a server that just failed
        return request

    def _thread(self, t: int) -> None:
        for n in range(self.per_thread * 4):
            if n >= self.per_thread and not self.keep_going.is_set():
                break
            number = n * self.threads + t  # unique over the threads however far each goes
            body = authorization_body(self.cards[number % len(self.cards)], f"{self.prefix}-{number}", number)
            authorization = self._send(Request("authorization", body["id"], f"{API}/authorizations", body))
            if authorization.answer is None or not authorization.answer["approved"]:
                continue
            if n % 3 == 0:
                reversal = {"id": f"{body['id']}-rev"}
                path = f"{API}/authorizations/{body['id']}/reversals"
                self._send(Request("reversal", reversal["id"], path, reversal))
            elif n % 3 == 1:
                record = {
                    "id": f"{body['id']}-clr",
                    "kind": "clearing",
                    "network_transaction_id": body["network_transaction_id"],
                    "amount_minor": authorization.answer["approved_amount_minor"],
                    "currency": "PLN",
                    "processing_date": self.today,
                }
                self._send(Request("clearing", record["id"], f"{API}/clearing", {"records": [record]}))

    def run(self) -> None:
        workers = [threading.Thread(target=self._thread, args=(t,)) for t in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)


def retry(url: str, token: str, request: Request) -> Request:
    """The processor's retry: the same id and body, until an answer comes (the service is back by now)."""
    again = Request(request.kind, request.id, request.path, request.body)
    for _ in range(3):
        if post(url, token, again).answer is not None:
            break
        time.sleep(0.5)
    return again
