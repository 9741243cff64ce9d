"""Exit 0 when PostgreSQL answers at the URL given (creating its database if needed)."""

import sys
from urllib.parse import urlparse

import psycopg
from psycopg import sql

url = urlparse(sys.argv[1])
params = {"host": url.hostname, "port": url.port or 5432, "user": url.username or "postgres", "connect_timeout": 3}
if url.password:
    params["password"] = url.password
try:
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        name = url.path.lstrip("/")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
except psycopg.Error as exc:
    print(f"PostgreSQL: {exc}".strip(), file=sys.stderr)
    sys.exit(1)
