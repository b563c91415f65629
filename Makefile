# Set-up and everyday commands. Only Python 3.11 is needed on the machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check -q
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` always serves the SQLite demo with Celery eager, whatever the shell exports.
DEV_ENV := DEBUG=1 DATABASE_URL=sqlite:///db.sqlite3 REDIS_URL= CELERY_BROKER_URL=

.PHONY: run test bench install messages check lint clean browser-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements-test.txt $(VENV)/.installed
	$(PIP) install -r requirements-test.txt
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py seed_demo --once
	@echo ""
	@echo "  Public site:   http://$(HOST):$(PORT)/"
	@echo "  Staff pages:   http://$(HOST):$(PORT)/staff/"
	@echo "  Admin:         http://$(HOST):$(PORT)/admin/"
	@echo "  API docs:      http://$(HOST):$(PORT)/api/docs/"
	@echo "  Site calendar: http://$(HOST):$(PORT)/calendar/all.ics"
	@$(DEV_ENV) $(BIN)/python manage.py seed_demo --print-logins
	@echo ""
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.test-installed browser-deps
	$(BIN)/python -m pytest

# The browser tests drive Debian's chromium, and make the fake camera's video with ffmpeg.
browser-deps:
	@command -v chromium >/dev/null && command -v ffmpeg >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ffmpeg)

bench: $(VENV)/.test-installed
	$(BIN)/python -m bench

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .

messages: $(VENV)/.installed
	$(DEV_ENV) $(BIN)/python manage.py makemessages -l vi --ignore=.venv --ignore=bench --ignore=tests
	$(DEV_ENV) $(BIN)/python manage.py compilemessages --ignore=.venv

check: $(VENV)/.installed
	DEBUG=0 SECRET_KEY=check-only-$$(date +%s)-not-a-real-secret-key-0123456789abcdef ALLOWED_HOSTS=example.org \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .test-media
