# Switchboard: the two commands a new user needs are `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# llama-cpp-python (the embedded model server) compiles llama.cpp. Its default native build
# uses instructions some virtual CPUs lack ("Illegal instruction" at the first inference); this
# portable AVX2 build runs on x86-64 CPUs since Haswell. pip caches the wheel after one build.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: up down logs status test test-fast lint audit typecheck format bench soak eval eval-redaction eval-escalation schemas system-deps promtool clean seed vendor

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --quiet -e '.[dev,llm]'
	@touch $(STAMP)

# The dashboard's browser libraries (uPlot), pinned in package-lock.json, copied next to the page
# that serves them (git-ignored). A file target: `npm ci` runs again only when the lock changes.
VENDOR := services/analytics/entrypoints/static/vendor
UPLOT := $(VENDOR)/uPlot.iife.min.js
$(UPLOT): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(VENDOR)
	cp node_modules/uplot/dist/uPlot.min.css node_modules/uplot/dist/uPlot.iife.min.js $(VENDOR)/
	@touch $(UPLOT)

## vendor: install the dashboard's browser libraries (`make up` and `make test` do it)
vendor: $(UPLOT)

## up: start the whole platform on this machine; returns once every part answers its health check
up: $(STAMP) $(UPLOT)
	@$(PY) -m infra.localstack up

## seed: (re)load the CRM's deterministic demo data (replaces what it holds; `make up` seeds
## only an empty CRM). DATABASE_URL / TOOLS_DB_SCHEMA choose where.
seed: $(STAMP)
	$(PY) -m services.tools.seed

## down: stop exactly what `make up` started
down:
	@test -x $(PY) && $(PY) -m infra.localstack down || echo "nothing to stop"

logs: $(STAMP)
	@$(PY) -m infra.localstack logs

status: $(STAMP)
	@$(PY) -m infra.localstack status

## system-deps: Debian packages the tests use: a compose validator, espeak-ng (a light voice,
## and test callers), LibriVox recordings with transcripts (pocketsphinx-testdata), Chromium
## for the browser tests, and promtool (checks and unit-tests the Prometheus alert rules)
SYSTEM_PACKAGES := espeak-ng pocketsphinx-testdata chromium
system-deps:
	@missing=""; \
	command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing="docker-compose"; \
	for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v promtool >/dev/null || $(MAKE) --no-print-directory promtool

# promtool alone, from Debian's prometheus package: installing the package would also enable a
# Prometheus server on :9090 (the local stack's own Prometheus runs in Docker).
PROMTOOL_DEST ?= /usr/local/bin/promtool
promtool:
	@echo "installing promtool (from Debian's prometheus package) to $(PROMTOOL_DEST)"
	@tmp=$$(mktemp -d) && chmod 755 $$tmp && cd $$tmp && \
	{ apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus >/dev/null; }; } && \
	dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xO ./usr/bin/promtool > $$tmp/promtool && \
	install -m 755 $$tmp/promtool $(PROMTOOL_DEST); status=$$?; rm -rf $$tmp; exit $$status

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m infra.dependency_audit

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## audit: known vulnerabilities in the installed dependencies (pip-audit against PyPI's
## vulnerability service, judged by infra/dependency_audit.py). Part of `lint`: a vulnerable pin
## fails it. Where no vulnerability data is reachable (a machine that reaches packages only
## through a mirror) it prints NOT AUDITED and passes; AUDIT_REQUIRED=1 makes that a failure too.
audit: $(STAMP)
	$(PY) -m infra.dependency_audit

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## test: lint, then unit, contract, integration and e2e tests against real infrastructure
test: $(STAMP) $(UPLOT) system-deps lint
	$(PY) -m pytest -p no:cacheprovider -ra --durations=30

## test-fast: unit and contract tests only (no infrastructure)
test-fast: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider tests/unit tests/contract

PIPECAT_VENV := .switchboard/bench/pipecat-venv
$(PIPECAT_VENV)/bin/python:
	$(PYTHON) -m venv $(PIPECAT_VENV)
	$(PIPECAT_VENV)/bin/pip install --quiet 'pipecat-ai[websocket]==1.14.0' fastapi uvicorn

## eval: PII redaction on the labelled corpus (recall, precision, keep rate per type, beside
## vanilla Presidio), then scripted demo-line conversations per dialogue provider (flows; the
## model at LLM_BASE_URL, else the embedded model server it starts)
eval: eval-redaction eval-escalation $(STAMP)
	$(PY) -m bench.eval

## eval-escalation: scripted conversations through the escalation rules (per kind: in time, late,
## missed, false), on the repository's set or ESCALATION_CONVERSATIONS="held-out.yaml ..."
ESCALATION_CONVERSATIONS ?= tests/escalation/conversations.yaml
eval-escalation: $(STAMP)
	$(PY) -m bench.escalation_eval $(ESCALATION_CONVERSATIONS)

## eval-redaction: the redaction figures only (seconds; fails below the acceptance bars), on the
## repository's corpora or REDACTION_CORPORA="held-out.yaml ..."
REDACTION_CORPORA ?= tests/redaction/corpus.yaml tests/redaction/dev.yaml $(sort $(wildcard tests/redaction/validation*.yaml))
eval-redaction: $(STAMP)
	$(PY) -m bench.redaction_eval $(REDACTION_CORPORA)

## bench: backbone, voice-to-voice and echo-capacity figures (Pipecat side by side, its own venv),
## and a 2-minute soak (`make soak` runs the 10-minute one)
bench: $(STAMP) $(PIPECAT_VENV)/bin/python
	$(PY) -m bench

## soak: SOAK_SESSIONS sessions for SOAK_MINUTES minutes on one gateway with no-op models: memory
## per session, RSS growth over time (fails on a steady climb), voice-to-voice and reply-frame
## jitter per 10 s window, errors (fails on a spike). Opt-in: not part of `make test`
SOAK_SESSIONS ?= 20
SOAK_MINUTES ?= 10
soak: $(STAMP)
	$(PY) -m bench.soak --sessions $(SOAK_SESSIONS) --minutes $(SOAK_MINUTES)

## schemas: snapshot the JSON Schemas of new event versions (refuses to change published ones)
schemas: $(STAMP)
	$(PY) -m shared.events.schema tests/contract/schemas

clean: down
	rm -rf .switchboard
