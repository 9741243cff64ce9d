#!/usr/bin/env bash
# The demo: migrate, load the demo bank, then run the web server, the task
# worker (it delivers the SMS to the outbox) and the scheduler (it enqueues the
# daily and periodic jobs) side by side. Ctrl-C stops all three; so does any one
# stopping (e.g. when the port is taken).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HOST=127.0.0.1
PORT=${DEMO_PORT:-8000}
if ! [[ $PORT =~ ^[0-9]+$ ]] || ((10#$PORT < 1 || 10#$PORT > 65535)); then
  echo "DEMO_PORT must be a port number from 1 to 65535, not '$PORT'." >&2
  exit 2
fi
PORT=$((10#$PORT))
# The PIN load_demo_bank gives every active demo card (kartosfera/demo/bank.py: DEMO_CARD_PIN;
# a test keeps the two equal). A development demo's published value, like the demo password.
DEMO_CARD_PIN=2468
export KARTOSFERA_ENV=${KARTOSFERA_ENV:-development}
# Everything the demo writes (the SQLite database under var/, the SMS outbox) holds PESELs and
# phone numbers: owner-only. The settings also make var/ 0700 and the database file 0600.
umask 077

"$PY" manage.py migrate --noinput
"$PY" manage.py load_demo_bank --port "$PORT"
# Three months of card history for every demo card, cleared the next day as a processor does, and
# today's traffic until now, still pending (back-filled through the service layer; some seconds).
# --statements: as the days pass, the bank's nightly statement close and the holders' repayments, so the
# credit cards (opened that long ago: kartosfera/demo/bank.py, DEMO_HISTORY_DAYS) start with at
# least three closed statements each. Play more of today's traffic over HTTP once the server runs:
#   manage.py simulate_card_traffic --url http://127.0.0.1:PORT --days 0
"$PY" manage.py simulate_card_traffic --days 95 --per-day 0.4 --statements

# Job control gives each background job its own process group, so stopping a
# group also stops runserver's child (its autoreloader serves from a child).
set -m
pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  echo "Demo stopped."
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$PY" manage.py db_worker --interval 1 --no-startup-delay &
pids+=("$!")
# The scheduler enqueues each job at its time (kartosfera/jobs; docs/operations.md, "Scheduled jobs"); at its
# start it catches up what was missed while the demo was stopped (e.g. the 60-day block expiry, the statement close).
"$PY" manage.py run_scheduler &
pids+=("$!")
"$PY" manage.py runserver "$HOST:$PORT" &
pids+=("$!")

echo
echo "Kartosfera: http://$HOST:$PORT/"
echo "SMS outbox: http://$HOST:$PORT/dev/sms-outbox/"
echo "Payment terminal: http://$HOST:$PORT/dev/terminal/ (chip and ATM: the demo cards' PIN is $DEMO_CARD_PIN)"
echo "The scheduler is running the periodic jobs (their last runs for a supervisor: http://$HOST:$PORT/backoffice/jobs/)."
echo "The task worker is running (it delivers the SMS). Press Ctrl-C to stop the demo."
echo
wait -n
