# VeoGen — `make run` starts the studio, `make test` proves it works.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed ## create the virtual environment and install VeoGen

run: $(VENV)/.installed ## start the whole studio on this machine (Ctrl-C stops it)
	$(VENV)/bin/veogen up

system-deps: ## install the Debian packages the tests use (chromium, PostgreSQL, Redis, docker-compose, Prometheus, Alertmanager, nginx)
	bash scripts/system-deps.sh

services: ## make sure PostgreSQL and Redis answer on 127.0.0.1 (start them if not)
	bash scripts/services.sh

lint: $(VENV)/.dev-installed ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(VENV)/.dev-installed system-deps services lint ## everything: unit, integration, pages, browser journey
	$(PY) -m pytest

test-unit: $(VENV)/.dev-installed ## unit tests only (no services needed)
	$(PY) -m pytest tests/unit

bench: $(VENV)/.installed ## pipeline benchmark (prints ratios; not part of the tests)
	$(PY) -m bench.pipeline

bench-inflight: $(VENV)/.installed services ## 1,000 Veo operations in flight on two workers (about 6 minutes)
	$(PY) -m bench.inflight --n 1000 --latency 60

bench-webhooks: $(VENV)/.installed services ## provider finished -> playable, with webhooks and polling only (about 6 minutes)
	$(PY) -m bench.webhooks

bench-analytics: $(VENV)/.installed services ## seed 1,000,000 generations into PostgreSQL; time the Analytics queries and an exporter scrape
	$(PY) -m bench.seed_history
	$(PY) -m bench.analytics
	$(PY) -m bench.exporter

bench-assembly: $(VENV)/.dev-installed ## a 300 s 720p film from 38 clips: stream copy and crossfades against the ffmpeg command line
	$(PY) -m bench.assembly

bench-api: $(VENV)/.dev-installed services ## the REST API under 50 Locust clients (a user with 10,000 generations) against the same calls in-process
	$(PY) -m bench.api_load

dashboard: $(VENV)/.installed ## rq-dashboard behind basic auth on 127.0.0.1:9181 (the embedded default's Redis)
	$(VENV)/bin/veogen dashboard

clean: ## remove the virtual environment and caches (keeps data/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

.PHONY: help install run system-deps services lint test test-unit bench bench-inflight bench-webhooks bench-analytics bench-assembly bench-api dashboard clean
