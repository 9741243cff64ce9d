# Kartosfera: `make demo` runs the demo, `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
DEMO_ENV := KARTOSFERA_ENV=development

.PHONY: demo demo-reset test install install-dev browser serve lint typecheck layers messages bench clean

$(VENV)/bin/python:
	@bash scripts/ensure-venv.sh "$(PYTHON)" "$(VENV)"

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml constraints.txt
	@bash scripts/ensure-pango.sh
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## The demo: SQLite, the demo bank, http://127.0.0.1:$(DEMO_PORT) (8000 unless DEMO_PORT says
## otherwise: `make demo DEMO_PORT=8123`), logins printed, the task worker delivering SMS to
## the outbox page /dev/sms-outbox/. Ctrl-C stops it; `make demo-reset` deletes its data.
DEMO_PORT ?= 8000
DEMO_DATA := var/kartosfera.sqlite3 var/kartosfera.sqlite3-journal var/kartosfera.sqlite3-wal \
	var/kartosfera.sqlite3-shm var/sms-outbox.jsonl var/dev-processor-key var/dev-acs-key
demo: install
	@$(DEMO_ENV) DEMO_PORT=$(DEMO_PORT) PY=$(PY) bash scripts/demo.sh

## Deletes the demo's database and SMS outbox; the next `make demo` loads a fresh demo bank.
demo-reset:
	rm -f $(DEMO_DATA)

## Every check: lint, types, migrations, deploy check, the suite on PostgreSQL and SQLite.
test: install-dev browser
	@bash scripts/test.sh

## The system packages the tests drive: Debian's Chromium (the browser tests) and ClamAV's clamd
## (the antivirus tests start their own daemon).
browser:
	@bash scripts/ensure-chromium.sh
	@bash scripts/ensure-clamav.sh

lint: install-dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

typecheck: install-dev
	KARTOSFERA_ENV=test $(VENV)/bin/mypy kartosfera config

## The import layers (docs/architecture.md; the contracts are in pyproject.toml).
layers: install-dev
	$(VENV)/bin/lint-imports

## Re-extract and compile translations (needs gettext; the compiled .mo files are committed).
messages: install-dev
	KARTOSFERA_ENV=test $(PY) manage.py makemessages -l pl --no-obsolete --ignore=.venv --ignore=var
	KARTOSFERA_ENV=test $(PY) manage.py compilemessages -l pl --ignore=.venv

bench: install-dev
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var
