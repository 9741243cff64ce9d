"""The authorization endpoint under gunicorn on PostgreSQL, side by side with pgbench TPC-B.

    .venv/bin/python bench/authorizations.py [--seconds 20] [--clients 8] [--cards 200] [--workers 4]

Measures, in one run on this machine: (1) pgbench's TPC-B transactions per second on a scratch
database (the machine's own database limit: each TPC-B transaction is 3 UPDATEs, 1 SELECT and 1
INSERT, about what one authorization writes), (2) authorizations per second and their latency
(p50/p95/p99) through the real HTTP API: gunicorn serving config.wsgi with the production settings
(throw-away keys; the client plays the TLS proxy), PostgreSQL, Redis, real API keys,
card numbers looked up by their keyed fingerprint, holds, daily counters and audit rows written.
(3) the same load against a bare Django "hello world" under the same gunicorn (bench/hello_wsgi.py:
no middleware, no database), the ceiling any Django endpoint has here. It prints all three and the
ratios. Needs PostgreSQL at TEST_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432/...) and pgbench on the PATH. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/kartosfera").rsplit("/", 1)[0]
BENCH_DB = "kartosfera_bench_auth"
PGBENCH_DB = "kartosfera_bench_pgbench"
PYTHON = sys.executable


def run(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout  # noqa: S603


def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def pgbench_tps(*, seconds: int, clients: int) -> float:
    """TPC-B on a scale-10 scratch database with as many clients as the API gets."""
    recreate_database(PGBENCH_DB)
    url = f"{PG_SERVER}/{PGBENCH_DB}"
    host, port, user = "127.0.0.1", "5432", "postgres"
    if match := re.match(r"postgres(?:ql)?://(?:(\w+)@)?([^:/]+)(?::(\d+))?", url):
        user, host, port = match.group(1) or user, match.group(2), match.group(3) or port
    base = ["pgbench", "-h", host, "-p", port, "-U", user]
    run(*base, "-i", "-q", "-s", "10", PGBENCH_DB)
    out = run(*base, "-c", str(clients), "-j", "2", "-T", str(seconds), "-n", PGBENCH_DB)
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    print(f"pgbench TPC-B (scale 10, {clients} clients, {seconds} s): {tps:,.0f} tps", end="")
    print(f", average latency {latency.group(1)} ms" if latency else "")
    return tps


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(env: dict[str, str], cards: int) -> dict[str, object]:
    """Migrate the scratch database and create a processor key and ``cards`` funded, active cards."""
    script = f"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from bench._fixtures_authorizations import make_fixtures
print("FIXTURES" + json.dumps(make_fixtures({cards})))
"""
    out = run(PYTHON, "-c", script, env=env)
    return json.loads(out.split("FIXTURES", 1)[1])


class Client(threading.Thread):
    """One keep-alive connection sending authorizations back to back until the deadline."""

    def __init__(self, port: int, token: str, cards: list[dict[str, str]], offset: int, deadline: float) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.cards, self.offset, self.deadline = port, token, cards, offset, deadline
        self.latencies: list[float] = []
        self.errors = 0
        self.approved = 0

    def run(self) -> None:
        from _fixtures_authorizations import authorization_body

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            # As the TLS-terminating proxy in front of gunicorn says (production settings redirect plain HTTP).
            "X-Forwarded-Proto": "https",
        }
        n = self.offset
        while time.perf_counter() < self.deadline:
            card = self.cards[n % len(self.cards)]
            body = json.dumps(authorization_body(card, uuid.uuid4().hex, n))
            start = time.perf_counter()
            try:
                conn.request("POST", "/api/processor/v1/authorizations", body, headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                continue
            self.latencies.append((time.perf_counter() - start) * 1000)
            if response.status != 200:
                self.errors += 1
            elif json.loads(payload).get("approved"):
                self.approved += 1
            n += 1


def percentile(samples: list[float], q: float) -> float:
    return samples[min(len(samples) - 1, int(len(samples) * q))]


def serve(app: str, env: dict[str, str], workers: int, cwd: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(PYTHON).parent)) or "gunicorn"
    server = subprocess.Popen(  # noqa: S603
        [gunicorn, app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return server, port


def load(
    port: int, token: str, cards: list[dict[str, str]], *, seconds: int, clients: int
) -> tuple[list[float], int, int]:
    # Warm every worker (imports, connections) before measuring.
    Client(port, token, cards, 10_000_000, time.perf_counter() + 2).run()
    deadline = time.perf_counter() + seconds
    # Each client starts on its own card (and its ids differ): clients do not queue on one card's lock,
    # as real traffic spread over many cards does not.
    spread = max(1, len(cards) // clients)
    threads = [Client(port, token, cards, i * spread, deadline) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = sorted(sample for thread in threads for sample in thread.latencies)
    return latencies, sum(t.approved for t in threads), sum(t.errors for t in threads)


def report(label: str, latencies: list[float], seconds: int, approved: int, errors: int) -> float:
    rate = len(latencies) / seconds
    print(
        f"{label}: {rate:,.0f}/s; latency p50 {percentile(latencies, 0.50):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms; "
        f"{approved:,} approved, {errors} errors"
    )
    return rate


def hello_rate(*, seconds: int, clients: int, workers: int) -> float:
    """The same load against a bare Django "hello world" under the same gunicorn."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "bench")}
    server, port = serve("hello_wsgi:application", env, workers, ROOT / "bench")
    cards = [{"pan": "4000000000000002", "expiry": "2030-01"}]
    try:
        latencies, approved, errors = load(port, "none", cards, seconds=seconds, clients=clients)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return report(
        f"bare Django hello world (gunicorn {workers} workers, {clients} clients)", latencies, seconds, approved, errors
    )


def production_env() -> dict[str, str]:
    """Production settings (DEBUG off, HSTS, secure cookies, Redis) with throw-away keys, on the bench database.

    The client plays the TLS-terminating proxy in front of gunicorn and sends ``X-Forwarded-Proto: https``.
    """
    import base64
    import secrets

    from cryptography.fernet import Fernet

    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    return {
        "KARTOSFERA_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CARD_DATA_KEYS": Fernet.generate_key().decode(),
        "CARD_FINGERPRINT_KEY": key(),
        "CARD_PIN_KEY": key(),
        "PIN_ENCRYPTION_KEY": key(),
        "SMS_GATEWAY_URL": "https://sms-gateway.example/send",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "DATABASE_URL": f"{PG_SERVER}/{BENCH_DB}",
        "DATABASE_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def api_rate(*, seconds: int, clients: int, cards: int, workers: int) -> float:
    recreate_database(BENCH_DB)
    env = {**os.environ, **production_env()}
    fixtures = prepare(env, cards)
    server, port = serve("config.wsgi:application", env, workers, ROOT)
    try:
        latencies, approved, errors = load(
            port,
            str(fixtures["token"]),
            fixtures["cards"],
            seconds=seconds,
            clients=clients,  # type: ignore[arg-type]
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    label = f"authorizations over HTTP (gunicorn {workers} workers, {clients} clients, {cards} cards)"
    return report(label, latencies, seconds, approved, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    print(f"== card core: authorizations ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores)")
    tps = pgbench_tps(seconds=args.seconds, clients=args.clients)
    hello = hello_rate(seconds=args.seconds, clients=args.clients, workers=args.workers)
    rate = api_rate(seconds=args.seconds, clients=args.clients, cards=args.cards, workers=args.workers)
    print(f"ratio: {rate / tps:.0%} of pgbench TPC-B (target >= 40 %); {rate / hello:.0%} of a bare Django hello world")


if __name__ == "__main__":
    main()
