#!/usr/bin/env bash
# Everything CI checks, in order. Under CI=true a missing browser, database or
# Redis fails the run; outside CI a missing PostgreSQL or Redis is reported and
# skipped (the task tests' RQ runs are then skipped with the reason).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
PY=$VENV/bin/python
PG_URL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/kartosfera}
# The task tests' RQ queue (kartosfera/testing/tasks.py): a db of its own, emptied with FLUSHDB per test.
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}

echo "== ruff"
$VENV/bin/ruff check .
$VENV/bin/ruff format --check .

echo "== mypy"
KARTOSFERA_ENV=test $VENV/bin/mypy kartosfera config

echo "== import layers"
$VENV/bin/lint-imports

echo "== migrations are complete"
KARTOSFERA_ENV=test $PY manage.py makemigrations --check --dry-run

# Production's settings with fresh secrets; extra VAR=value arguments are added to them.
deploy_check() {
  env KARTOSFERA_ENV=production \
    SECRET_KEY="$($PY -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    ALLOWED_HOSTS=kartosfera.example \
    NBP_REFERENCE_RATE_PERCENT=5.75 NBP_REFERENCE_RATE_SINCE=2023-10-05 \
    CARD_DATA_KEYS="$($PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    CARD_FINGERPRINT_KEY="$(head -c 32 /dev/urandom | base64)" \
    CARD_PIN_KEY="$(head -c 32 /dev/urandom | base64)" \
    PIN_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)" \
    ACS_AUTHENTICATION_KEY="$(head -c 32 /dev/urandom | base64)" \
    SMS_GATEWAY_URL=https://sms-gateway.example/send \
    ACS_DIRECTORY_SERVER_URL=https://ds.example/rreq \
    BLIK_SYSTEM_URL=https://blik.example/state \
    TOKEN_SERVICE_URL=https://tsp.example/v1/token-commands \
    PWNED_PASSWORDS_URL=https://pwned-passwords.example \
    BACKOFFICE_BASE_URL=https://zaplecze.example \
    REDIS_URL=redis://127.0.0.1:6379/0 \
    TRUSTED_PROXY_IPS=127.0.0.1 \
    CLAMD_ADDRESS=unix:///run/clamav/clamd.ctl \
    METRICS_TOKEN="$($PY -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    DATABASE_URL=sqlite:///:memory: \
    "$@" \
    $PY manage.py check --deploy --fail-level WARNING
}

echo "== deploy check with production settings"
deploy_check
echo "== deploy check with production settings and the RQ task queue"
deploy_check TASKS_BACKEND=rq

redis_ready() { $PY scripts/redis_ready.py "$TEST_REDIS_URL"; }
if ! redis_ready && command -v redis-server >/dev/null; then
  echo "Redis is down; starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 20); do redis_ready && break; sleep 1; done
fi
if ! redis_ready; then
  if [ "${CI:-}" = "true" ]; then
    echo "Redis is not reachable at $TEST_REDIS_URL: CI cannot pass without it (the task tests' RQ runs)" >&2
    exit 1
  fi
  echo "!! Redis is not reachable at $TEST_REDIS_URL: the task tests' RQ runs will be SKIPPED (CI would fail)" >&2
fi

pg_ready() { $PY scripts/pg_ready.py "$PG_URL"; }
if ! pg_ready; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is down; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 20); do pg_ready && break; sleep 1; done
  fi
fi

# The suite runs in TEST_WORKERS processes (pytest-xdist; the machine's 2 cores by default), each with its own
# test database and Redis db, a test file's tests in one worker (their module fixtures are made once). The fault
# tests kill and time real processes (gunicorn workers, a private PostgreSQL), so they run alone afterwards.
PARALLEL=(-n "${TEST_WORKERS:-2}" --dist loadfile)

if pg_ready; then
  echo "== test suite on PostgreSQL"
  DATABASE_URL="$PG_URL" $VENV/bin/pytest "${PARALLEL[@]}" -m "not faults"
  echo "== fault tests on PostgreSQL (alone)"
  DATABASE_URL="$PG_URL" $VENV/bin/pytest -m faults tests/faults
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable at $PG_URL: CI cannot pass without it" >&2
  exit 1
else
  echo "!! PostgreSQL is not reachable at $PG_URL: SKIPPING the PostgreSQL run, the fault tests and the browser tests (CI would fail)" >&2
fi

# The browser tests drive pages, scripts and styles that do not depend on the database: they run once, on
# PostgreSQL, but for the ones marked embedded_db (the demo's journeys on SQLite). docs/testing.md says why.
echo "== test suite on SQLite (the embedded default)"
DATABASE_URL="sqlite:///$(pwd)/var/test.sqlite3" $VENV/bin/pytest "${PARALLEL[@]}" -m "not browser or embedded_db"
