# The two commands a new user needs: `make demo` and `make test`. See README.md.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# pip on some machines names local index folders that do not exist; drop that noise only.
PIP_QUIET := sed -u '/is ignored: it is neither a file nor a directory/d'

# The local settings have one source, scripts/local_env.py: the demo's (an Airflow home in .airflow/
# with SQLite metadata, this repo's dags/ and plugins/, no examples, the sample database and the
# request store in .demo/, deliveries in demo-output/) become target-specific exports here;
# `make env` prints them, with make airflow's own, as shell exports. Its output is one line
# (Make's $(shell) joins lines with spaces), the line breaks marked for the $(subst) below.
define NEWLINE


endef
$(eval $(subst <<newline>>,$(NEWLINE),$(shell $(PYTHON) scripts/local_env.py make --dir "$(CURDIR)" demo trail:AIRFLOW_CONN_REPORTING_REQUEST_STORE)))
# make airflow / make env: PORT=<port> for another port, LOCAL_AIRFLOW_DIR=<folder> for another
# folder than the repository (its .airflow/, .demo/ and demo-output/ are used instead).
PORT ?= 8080
LOCAL_AIRFLOW_DIR ?= $(CURDIR)
DEMO_DAG := report__sales_summary

.PHONY: help install install-dev demo lint test validate schema trail bench up down clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt constraints.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt 2>&1 | $(PIP_QUIET)
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install -q -r requirements-dev.txt -c constraints.txt 2>&1 | $(PIP_QUIET)
	touch $@

install: $(VENV)/.runtime  ## create .venv and install the runtime requirements

install-dev: $(VENV)/.dev  ## install runtime and test requirements

demo: install  ## run the sample report once, end to end, on embedded defaults
	@$(PY) scripts/local_airflow.py --dir "$(CURDIR)" --fail-if-running
	$(PY) scripts/create_sample_db.py .demo/sample.db
	@$(PY) scripts/request_store.py schema
	@echo "Preparing the Airflow home in .airflow/ (SQLite metadata)..."
	@$(VENV)/bin/airflow db migrate > .demo/airflow-db.log 2>&1 || { cat .demo/airflow-db.log; exit 1; }
	@echo "Running $(DEMO_DAG) once with 'airflow dags test' (log: .demo/dags-test.log)..."
	@$(VENV)/bin/airflow dags test $(DEMO_DAG) > .demo/dags-test.log 2>&1 || { tail -60 .demo/dags-test.log; exit 1; }
	@$(PY) scripts/demo_summary.py $(DEMO_DAG) .demo/dags-test.log

.PHONY: airflow env
airflow: install  ## run a local Airflow (UI and REST API on :8080, admin/admin) on the demo's defaults; Ctrl-C stops it
	@exec $(PY) scripts/local_airflow.py --dir "$(LOCAL_AIRFLOW_DIR)" --port $(PORT)

env:  ## print make airflow's settings for another shell: eval "$(make -s env)"
	@$(PYTHON) scripts/local_env.py exports --dir "$(LOCAL_AIRFLOW_DIR)" --port $(PORT)

# Settings (paths, rules, the strict modules) are in pyproject.toml, so editors run the same checks.
lint: install-dev  ## lint (ruff), formatting (ruff format --check) and types (mypy)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: install-dev lint  ## lint, then the whole test suite (installs the OS packages of the test servers when missing)
	scripts/install_test_servers.sh
	$(PY) -m pytest

validate: install  ## check every report definition; non-zero exit lists all errors
	$(PY) scripts/validate_definitions.py

CONN ?= reporting_request_store
schema: install  ## apply the request-store schema to an Airflow connection: make schema CONN=<conn id>
	$(PY) scripts/request_store.py schema --conn $(CONN)

trail: install  ## print a request's status history, errors and deliveries: make trail REQUEST=<id>
	@test -n "$(REQUEST)" || { echo "usage: make trail REQUEST=<request id> [CONN=<conn id>]"; exit 2; }
	@$(PY) scripts/request_store.py trail $(REQUEST) --conn $(CONN)

# Benchmark-only packages (bench/requirements.txt, e.g. dag-factory) go to their own folder, put on
# PYTHONPATH for `make bench` only: .venv and the requirements files stay as they are. --no-deps
# because their dependencies are Airflow's own, already in .venv at our pinned versions.
BENCH_SITE := .bench-site
$(BENCH_SITE)/.installed: bench/requirements.txt $(VENV)/.dev
	rm -rf $(BENCH_SITE)
	$(PY) -m pip install -q --no-deps --target $(BENCH_SITE) -r bench/requirements.txt 2>&1 | $(PIP_QUIET)
	PYTHONPATH=$(CURDIR)/$(BENCH_SITE) $(PY) -c "import dagfactory"
	touch $@

bench: $(BENCH_SITE)/.installed  ## run the benchmarks, print a table, write bench/results.json (never part of make test)
	PYTHONPATH=$(CURDIR)/$(BENCH_SITE) $(PY) bench/run_all.py

up:  ## the full stack in Docker: CeleryExecutor, PostgreSQL, Redis, S3/SFTP/SMTP stand-ins (UI :8080, admin/admin)
	mkdir -p .compose/logs .compose/staging .compose/output
	AIRFLOW_UID=$$(id -u) docker compose up -d

down:  ## stop the docker compose stack (keeps its PostgreSQL volume)
	docker compose down

clean:  ## remove the demo's Airflow home and outputs (keeps .venv)
	rm -rf .airflow .demo demo-output
