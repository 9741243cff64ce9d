"""The authorization endpoint under gunicorn on PostgreSQL, side by side with pgbench TPC-B.

    .venv/bin/python bench/authorizations.py [--seconds 20] [--clients 8] [--cards 200] [--workers 4]

Measures, in one run on this machine: (1) pgbench's TPC-B transactions per second on a scratch
database (the machine's own database limit: each TPC-B transaction is 3 UPDATEs, 1 SELECT and 1
INSERT, about what one authorization writes), (2) authorizations per second and their latency
(p50/p95/p99) through the real HTTP API: gunicorn serving config.wsgi with the production settings
(throw-away keys; the client plays the TLS proxy), PostgreSQL, Redis, real API keys,
card numbers looked up by their keyed fingerprint, holds, daily counters and audit rows written.
(3) the same load against a bare Django "hello world" under the same gunicorn (bench/hello_wsgi.py:
no middleware, no database), the ceiling any Django endpoint has here. The load comes from wrk (C,
keep-alive connections, bench/authorizations.lua), so that the load generator takes little of the
two cores the servers share with it. For each run it reads from /proc the CPU that the load generator,
gunicorn and PostgreSQL spent per request, and it prints the rates, the ratios and what the CPU
figures say about the target. Needs PostgreSQL at TEST_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432/...), pgbench and wrk on the PATH (Debian: postgresql-client, wrk).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
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


def pgbench_tps(*, seconds: int, clients: int) -> tuple[float, dict[str, float]]:
    """TPC-B on a scale-10 scratch database with as many clients as the API gets."""
    recreate_database(PGBENCH_DB)
    url = f"{PG_SERVER}/{PGBENCH_DB}"
    host, port, user = "127.0.0.1", "5432", "postgres"
    if match := re.match(r"postgres(?:ql)?://(?:(\w+)@)?([^:/]+)(?::(\d+))?", url):
        user, host, port = match.group(1) or user, match.group(2), match.group(3) or port
    base = ["pgbench", "-h", host, "-p", port, "-U", user]
    run(*base, "-i", "-q", "-s", "10", PGBENCH_DB)
    split = CpuSplit(None)
    out = run(*base, "-c", str(clients), "-j", "2", "-T", str(seconds), "-n", PGBENCH_DB)
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    transactions = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))  # type: ignore[union-attr]
    cpu = split.per_request_ms(transactions)
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    print(f"pgbench TPC-B (scale 10, {clients} clients, {seconds} s): {tps:,.0f} tps", end="")
    print(f", average latency {latency.group(1)} ms" if latency else "")
    print(
        f"    CPU per transaction: pgbench {cpu['client']:.2f} ms, PostgreSQL {cpu['postgres']:.2f} ms "
        f"({cpu['busy']:.2f} cores busy)"
    )
    return tps, cpu


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
from kartosfera.testing.processor import make_fixtures
print("FIXTURES" + json.dumps(make_fixtures({cards})))
"""
    out = run(PYTHON, "-c", script, env=env)
    return json.loads(out.split("FIXTURES", 1)[1])


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int, *, with_waited_children: bool = False) -> float:
    """CPU seconds (user + system) of one live process, from /proc; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_waited_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children that ended and were waited for
    return ticks / CLOCK_TICKS


def processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every live process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            found.append((int(entry.name), int(stat.rsplit(")", 1)[1].split()[1]), name))
    return found


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and its live descendants (gunicorn's master and its workers)."""
    live = processes()
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, parent, _ in live:
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(process_cpu(pid) for pid in tree)


def postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL server: its live processes plus the backends that already ended.

    Backends are the postmaster's children; an ended one's time lands in the postmaster's cutime, so
    the difference of two readings counts connections opened and closed in between.
    """
    live = [(pid, parent) for pid, parent, name in processes() if name == "postgres"]
    pids = {pid for pid, _ in live}
    postmasters = {pid for pid, parent in live if parent not in pids}
    return sum(process_cpu(pid, with_waited_children=pid in postmasters) for pid, _ in live)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuSplit:
    """Where the machine's CPU went during a measured stretch: the load generator, the server, PostgreSQL."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.start = self.read()
        self.started = time.perf_counter()

    def read(self) -> tuple[float, float, float]:
        server = tree_cpu(self.server_pid) if self.server_pid else 0.0
        return children_cpu(), server, postgres_cpu()

    def per_request_ms(self, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request; ``client`` is every child this script ran in between."""
        end = self.read()
        wall = time.perf_counter() - self.started
        busy = (sum(end) - sum(self.start)) / wall
        client, server, database = ((e - s) * 1000 / max(1, requests) for s, e in zip(self.start, end, strict=True))
        total = client + server + database
        return {"client": client, "server": server, "postgres": database, "total": total, "busy": busy}


def wrk_load(port: int, token: str, templates: list[str], *, seconds: int, clients: int) -> dict[str, float]:
    """Run wrk (C, 2 threads, keep-alive) against the server; its Lua script prints one JSON line."""
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is needed (Debian: apt-get install -y wrk), as pgbench is")
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as file:
        file.write("\n".join(templates) + "\n")
    script = str(ROOT / "bench" / "authorizations.lua")
    url = f"http://127.0.0.1:{port}"

    def once(duration: int, threads: int, connections: int) -> dict[str, float]:
        nonce = uuid.uuid4().hex[:12]
        options = [f"-t{threads}", f"-c{connections}", f"-d{duration}s", "-s", script, url]
        out = run(wrk, *options, "--", token, file.name, nonce)
        return json.loads(out.split("WRK ", 1)[1].splitlines()[0])  # type: ignore[no-any-return]

    try:
        return once(seconds, min(2, clients), clients)
    finally:
        os.unlink(file.name)


def templates_for(cards: list[dict[str, str]]) -> list[str]:
    """Request bodies with ``@ID@`` where each request's unique id goes: cards, merchants and amounts rotate."""
    from kartosfera.testing.processor import authorization_body

    return [json.dumps(authorization_body(cards[n % len(cards)], "@ID@", n)) for n in range(max(1000, len(cards)))]


def measure(
    label: str, app: str, env: dict[str, str], cwd: Path, token: str, templates: list[str], args: argparse.Namespace
) -> tuple[float, dict[str, float]]:
    """Serve ``app`` under gunicorn, load it with wrk, print the rate, latency and CPU per request."""
    server, port = serve(app, env, args.workers, cwd)
    try:
        wrk_load(port, token, templates, seconds=2, clients=args.workers)  # warm every worker (not measured)
        split = CpuSplit(server.pid)
        result = wrk_load(port, token, templates, seconds=args.seconds, clients=args.clients)
        cpu = split.per_request_ms(int(result["requests"]))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    rate = result["requests"] * 1_000_000 / result["duration_us"]
    print(
        f"{label} (gunicorn {args.workers} workers, wrk {args.clients} connections): {rate:,.0f}/s; "
        f"latency p50 {result['p50_us'] / 1000:.1f} ms, p95 {result['p95_us'] / 1000:.1f} ms, "
        f"p99 {result['p99_us'] / 1000:.1f} ms; {int(result['approved']):,} approved, "
        f"{int(result['failed'] + result['socket_errors'])} errors"
    )
    print(
        f"    CPU per request: wrk {cpu['client']:.2f} ms, gunicorn {cpu['server']:.2f} ms, "
        f"PostgreSQL {cpu['postgres']:.2f} ms; {cpu['total']:.2f} ms in all ({cpu['busy']:.2f} cores busy)"
    )
    return rate, cpu


def serve(
    app: str, env: dict[str, str], workers: int, cwd: Path, *, extra: tuple[str, ...] = (), log: Path | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn serving ``app`` on a free port (more options in ``extra``, its output to ``log``), once it listens."""
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(PYTHON).parent)) or "gunicorn"
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    server = subprocess.Popen(  # noqa: S603
        [gunicorn, app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers), *extra],
        cwd=cwd,
        env=env,
        stdout=output,
        stderr=output,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return server, port


def hello_rate(args: argparse.Namespace) -> tuple[float, dict[str, float]]:
    """The same load against a bare Django "hello world" under the same gunicorn."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "bench")}
    templates = templates_for([{"pan": "4000000000000002", "expiry": "2030-01"}])
    return measure("bare Django hello world", "hello_wsgi:application", env, ROOT / "bench", "none", templates, args)


def production_env() -> dict[str, str]:
    """Production settings (DEBUG off, HSTS, secure cookies, Redis) with throw-away keys, on the bench database.

    The client plays the TLS-terminating proxy in front of gunicorn and sends ``X-Forwarded-Proto: https``.
    """
    from kartosfera.testing.processes import production_env as production_settings

    return production_settings(database_url=f"{PG_SERVER}/{BENCH_DB}")


def api_rate(args: argparse.Namespace) -> tuple[float, dict[str, float]]:
    recreate_database(BENCH_DB)
    env = {**os.environ, **production_env()}
    fixtures = prepare(env, args.cards)
    templates = templates_for(fixtures["cards"])  # type: ignore[arg-type]
    label = f"POST /api/processor/v1/authorizations ({args.cards} cards)"
    return measure(label, "config.wsgi:application", env, ROOT, str(fixtures["token"]), templates, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"== card core: authorizations ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {cores} cores)")
    tps, pgbench_cpu = pgbench_tps(seconds=args.seconds, clients=args.clients)
    hello, hello_cpu = hello_rate(args)
    rate, api_cpu = api_rate(args)
    print(f"ratio: {rate / tps:.0%} of pgbench TPC-B (target >= 40 %); {rate / hello:.0%} of a bare Django hello world")
    # What the CPU figures say about the target: every request's CPU, client and servers together,
    # comes out of the same cores, so cores / (CPU per request) caps the rate whatever the concurrency.
    budget = cores / (0.4 * tps) * 1000
    floor = hello_cpu["client"] + hello_cpu["server"] + api_cpu["postgres"]
    print(
        f"CPU: 40 % of pgbench leaves {budget:.2f} ms of CPU per authorization, client and servers together; "
        f"this run used {api_cpu['total']:.2f} ms (cap {cores / api_cpu['total'] * 1000:,.0f}/s). "
        f"A hello world's HTTP and Django ({hello_cpu['client'] + hello_cpu['server']:.2f} ms) plus this "
        f"authorization's PostgreSQL work ({api_cpu['postgres']:.2f} ms) is {floor:.2f} ms "
        f"(cap {cores / floor * 1000:,.0f}/s = {cores / floor * 1000 / tps:.0%} of pgbench); pgbench's own "
        f"transaction used {pgbench_cpu['total']:.2f} ms (PostgreSQL {pgbench_cpu['postgres']:.2f} ms)."
    )


if __name__ == "__main__":
    main()
