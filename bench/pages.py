"""Pages under gunicorn with production settings, side by side with a bare Django "hello world".

    .venv/bin/python bench/pages.py [--seconds 15] [--connections 32] [--workers 3] [--threads 1]

Measures, in one run on this machine: a bare Django "hello world" (bench/hello_wsgi.py: no middleware,
no template, no database) under the same gunicorn settings, then the cardholder's card list, a card's
page and the back office's customer page, each signed in (a stored session cookie, as after both
factors), served by config.wsgi with the production settings (throw-away keys; the client plays the
TLS proxy), PostgreSQL and Redis, under gunicorn with config/gunicorn_config.py as production runs it.
The load comes from wrk (bench/pages.lua). For each page it prints requests per second, latency
p50/p95/p99, the CPU per request (wrk, gunicorn, PostgreSQL, from /proc) and the ratio to the hello
world. Targets (issue 16): the card list >= 20 % of hello world with p95 <= 50 ms at 32 connections;
a card page and the staff customer page >= 10 %.
Needs PostgreSQL at TEST_POSTGRES_URL, Redis at REDIS_URL (default 127.0.0.1:6379) and wrk (Debian: wrk).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from authorizations import (
    BENCH_DB,
    PYTHON,
    ROOT,
    CpuSplit,
    production_env,
    recreate_database,
    run,
)
from authorizations import serve as serve_app

LOG = Path(tempfile.gettempdir()) / "kartosfera-bench-pages-gunicorn.log"
TARGETS = {"card list": 0.20, "card page": 0.10, "staff customer page": 0.10}


def prepare(env: dict[str, str], *, cards: int, history_days: int) -> dict[str, object]:
    script = f"""
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
# Production serves hashed static names from the manifest collectstatic writes.
call_command("collectstatic", interactive=False, verbosity=0)
from bench._fixtures_pages import make_fixtures
print("FIXTURES" + json.dumps(make_fixtures(cards={cards}, history_days={history_days})))
"""
    out = run(PYTHON, "-c", script, env=env)
    return json.loads(out.split("FIXTURES", 1)[1])  # type: ignore[no-any-return]


def serve(
    app: str, env: dict[str, str], cwd: Path, args: argparse.Namespace, *, config: Path | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    extra = ["--no-control-socket"]
    if config is not None:
        extra += ["-c", str(config)]
    if args.threads > 1:
        extra += ["--threads", str(args.threads)]
    return serve_app(app, env, args.workers, cwd, extra=tuple(extra), log=LOG)


def wrk(port: int, path: str, cookie: str, *, seconds: int, connections: int) -> dict[str, float]:
    binary = shutil.which("wrk")
    if binary is None:
        sys.exit("wrk is needed (Debian: apt-get install -y wrk)")
    script = str(ROOT / "bench" / "pages.lua")
    threads = min(2, connections)
    url = f"http://127.0.0.1:{port}"
    out = run(binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script, url, "--", path, cookie)
    return json.loads(out.split("WRK ", 1)[1].splitlines()[0])  # type: ignore[no-any-return]


def load(label: str, port: int, server: subprocess.Popen[bytes], path: str, cookie: str, args: argparse.Namespace):
    wrk(port, path, cookie, seconds=2, connections=args.workers)  # warm every worker (not measured)
    split = CpuSplit(server.pid)
    result = wrk(port, path, cookie, seconds=args.seconds, connections=args.connections)
    cpu = split.per_request_ms(int(result["requests"]))
    rate = result["requests"] * 1_000_000 / result["duration_us"]
    errors = int(result["failed"] + result["socket_errors"])
    print(
        f"{label:<22} {rate:8,.0f} req/s; p50 {result['p50_us'] / 1000:6.1f} ms, "
        f"p95 {result['p95_us'] / 1000:6.1f} ms, p99 {result['p99_us'] / 1000:6.1f} ms; {errors} errors"
    )
    print(
        f"{'':<22} CPU per request: wrk {cpu['client']:.2f} ms, gunicorn {cpu['server']:.2f} ms, "
        f"PostgreSQL {cpu['postgres']:.2f} ms ({cpu['busy']:.2f} cores busy)"
    )
    if errors:
        status = int(result["other_status"])
        print(f"{'':<22} !! {errors} answers were not 200 (e.g. {status}): not measured; see {LOG}")
    return rate, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread when > 1)")
    parser.add_argument("--cards", type=int, default=3)
    parser.add_argument("--history-days", type=int, default=30)
    args = parser.parse_args()
    server_kind = f"{args.workers} workers" + (f" x {args.threads} threads" if args.threads > 1 else " (sync)")
    print(
        f"== pages ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores; gunicorn {server_kind}, "
        f"wrk {args.connections} connections, {args.seconds} s each)"
    )
    LOG.unlink(missing_ok=True)
    recreate_database(BENCH_DB)
    env = {**os.environ, **production_env()}
    fixtures = prepare(env, cards=args.cards, history_days=args.history_days)
    print(f"fixtures: a cardholder with {args.cards} cards and {fixtures['payments']} simulated payments")

    hello_env = {**os.environ, "PYTHONPATH": str(ROOT / "bench")}
    server, port = serve("hello_wsgi:application", hello_env, ROOT / "bench", args)
    try:
        hello, _ = load("bare Django hello", port, server, "/hello/", "", args)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    pages = [
        ("card list", str(fixtures["card_list"]), str(fixtures["cardholder_cookie"])),
        ("card page", str(fixtures["card_page"]), str(fixtures["cardholder_cookie"])),
        ("staff customer page", str(fixtures["customer_page"]), str(fixtures["staff_cookie"])),
    ]
    results = {}
    # As production runs it (docs/operations.md): the metrics of every worker in multiprocess mode.
    server, port = serve("config.wsgi:application", env, ROOT, args, config=ROOT / "config" / "gunicorn_config.py")
    try:
        for label, path, cookie in pages:
            results[label] = load(label, port, server, path, cookie, args)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print("ratios to the bare hello world (target):")
    for label, (rate, result) in results.items():
        verdict = "meets" if rate / hello >= TARGETS[label] else "BELOW"
        extra = ""
        if label == "card list":
            p95 = result["p95_us"] / 1000
            extra = f"; p95 {p95:.1f} ms ({'meets' if p95 <= 50 else 'ABOVE'} the 50 ms target)"
        print(f"    {label:<22} {rate / hello:6.1%} (>= {TARGETS[label]:.0%}: {verdict}){extra}")


if __name__ == "__main__":
    main()
