"""Where a page's time goes: the card list, a card page and the staff customer page in-process.

    .venv/bin/python bench/profile_pages.py [--requests 300] [--page card_list|card_page|customer_page]
                                            [--profile out.prof] [--top 40]

Builds the scratch PostgreSQL database of bench/pages.py (a cardholder with cards and a month of history,
a branch employee, their stored sessions) with the production settings, then requests the page through
Django's real WSGI handler in this one process (no HTTP, no gunicorn): prints the SQL statements of one
request, the mean wall and CPU time per request, and with ``--profile`` the cProfile of the run. Not part
of the test suite.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from authorizations import BENCH_DB, production_env, recreate_database  # noqa: E402
from pages import prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--page", choices=["card_list", "card_page", "customer_page"], default="card_list")
    parser.add_argument("--cards", type=int, default=3)
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--profile", default="")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    recreate_database(BENCH_DB)
    env = production_env()
    fixtures = prepare({**os.environ, **env}, cards=args.cards, history_days=args.history_days)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application
    from django.db import connection, reset_queries

    application = get_wsgi_application()
    path = str(fixtures[args.page])
    cookie = str(fixtures["staff_cookie" if args.page == "customer_page" else "cardholder_cookie"])

    def one() -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "HTTP_HOST": "127.0.0.1",
            "HTTP_COOKIE": cookie,
            "HTTP_ACCEPT_LANGUAGE": "pl",
            "HTTP_X_FORWARDED_PROTO": "https",
            "REMOTE_ADDR": "127.0.0.1",
        }
        status: list[str] = []
        chunks = application(environ, lambda s, h, *a: status.append(s))
        payload = b"".join(chunks)
        if not status[0].startswith("200"):
            raise SystemExit(f"unexpected answer: {status[0]} {payload[:300]!r}")

    for _ in range(30):  # warm up: imports, the connection, template loaders
        one()
    connection.force_debug_cursor = True
    reset_queries()
    one()
    statements = [q["sql"] for q in connection.queries]
    connection.force_debug_cursor = False
    print(f"{path}: {len(statements)} SQL statements per request")
    for sql in statements:
        print("   ", str(sql)[:160])

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    cpu = time.process_time()
    for _ in range(args.requests):
        one()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
        import pstats

        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(args.top)
    print(
        f"{args.requests} requests in-process: {wall / args.requests * 1000:.2f} ms each "
        f"({cpu / args.requests * 1000:.2f} ms of this process's CPU)"
    )


if __name__ == "__main__":
    main()
