"""Where an authorization's time goes: the endpoint in-process (WSGI handler, middleware, database).


    .venv/bin/python bench/profile_authorizations.py [--requests 2000] [--profile out.prof] [--top 30]

Builds a scratch PostgreSQL database with funded cards (as bench/authorizations.py does), then sends
``--requests`` authorizations through Django's real WSGI handler in this one process (no HTTP, no
gunicorn), printing the mean time per request, the SQL statements per request, and with ``--profile``
the cProfile of the run (the functions taking the most cumulative time). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from authorizations import BENCH_DB, prepare, production_env, recreate_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cards", type=int, default=50)
    parser.add_argument("--profile", default="")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    recreate_database(BENCH_DB)
    env = production_env()
    fixtures = prepare({**os.environ, **env}, args.cards)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application
    from django.db import connection, reset_queries

    from kartosfera.testing.processor import authorization_body

    if os.environ.get("LEAN"):
        from django.conf import settings

        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m.split(".")[-1] in os.environ["LEAN"].split(",")]
    application = get_wsgi_application()
    cards = fixtures["cards"]
    token = fixtures["token"]

    def one(n: int) -> int:
        body = json.dumps(authorization_body(cards[n % len(cards)], uuid.uuid4().hex, n)).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/processor/v1/authorizations",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_X_FORWARDED_PROTO": "https",
            "REMOTE_ADDR": "127.0.0.1",
        }
        status: list[str] = []
        chunks = application(environ, lambda s, h, *a: status.append(s))
        payload = b"".join(chunks)
        if not status[0].startswith("200") or not json.loads(payload)["approved"]:
            raise SystemExit(f"unexpected answer: {status[0]} {payload[:300]!r}")
        return 0

    for n in range(200):  # warm up: imports, the connection, caches
        one(n)
    connection.force_debug_cursor = True
    reset_queries()
    one(10_001)
    statements = [q["sql"] for q in connection.queries]
    connection.force_debug_cursor = False
    print(f"SQL statements per authorization: {len(statements)}")
    for sql in statements:
        print("   ", str(sql)[:150])

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    cpu = time.process_time()
    for n in range(args.requests):
        one(20_000 + n)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
        import pstats

        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(args.top)
    print(
        f"{args.requests} authorizations in-process: {wall / args.requests * 1000:.2f} ms each "
        f"({cpu / args.requests * 1000:.2f} ms of this process's CPU), {args.requests / wall:,.0f}/s on one core"
    )


if __name__ == "__main__":
    main()
