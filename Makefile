# Zijwijzer: the single entry point. `make run` and `make test` set up everything on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

export PYTHONPATH := $(CURDIR)
# No model hub, no telemetry, nothing fetched at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

VENV      := .venv
VENV_RASA := .venv-rasa
PY        := $(VENV)/bin/python
PY_RASA   := $(VENV_RASA)/bin/python
RASA      := $(VENV_RASA)/bin/rasa
# The locked packages are installed by uv (pinned in requirements/bootstrap.txt, itself
# installed by pip into .venv): parallel downloads and unpacking, a fresh setup in about a
# minute instead of four. Bytecode is compiled at install, and that is needed: where
# PYTHONDONTWRITEBYTECODE is set (these machines, CI) Python would otherwise compile each
# module in every process (tried without: `make test` 40 % slower).
PIP_FLAGS := -q --disable-pip-version-check
UV        := $(VENV)/bin/uv
UV_INSTALL = $(UV) pip install --quiet --compile-bytecode --python

.PHONY: help setup run test lint format typecheck validate pytest pytest-unit pytest-engine train bench bench-console catalogue clean browser prod

help:
	@echo "make run    - set up on first use, load the catalogue, train when needed, start the bot (SQLite)"
	@echo "make test   - lint, type checks, data validation and all tests"
	@echo "make train  - train the Rasa model when data or config changed"
	@echo "make bench  - benchmarks, a few minutes (figures in docs/performance.md)"
	@echo "make fuzz   - long fuzzing run, 50,000 inputs per target (FUZZ_EXAMPLES=N to change)"
	@echo "make nlu-eval - NLU on a held-out split, 2-4 minutes (figures in docs/quality.md)"
	@echo "make purge  - delete conversations older than the retention period (DAYS=N to override)"
	@echo "make prod   - production shape: HAProxy, 2 engines, 2 action servers, PostgreSQL, Redis"
	@echo "make prod-status - state, restarts and health of each process of the running make prod"
	@echo "make prod-reload - rolling update: the engines of make prod replaced one at a time"
	@echo "make bench-prod - locust against the production shape at 10, 50 and 200 users, ~10 minutes"

# ---- the two runtimes -------------------------------------------------------------------
$(UV): requirements/bootstrap.txt
	@py=$$(tools/find-python.sh 3.12 3.11) || exit 1; \
	  [ -x $(PY) ] || $$py -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -r requirements/bootstrap.txt
	@touch $@

$(VENV)/.installed: requirements/app.lock $(UV)
	$(UV_INSTALL) $(PY) -r requirements/app.lock
	@touch $@

$(VENV_RASA)/.installed: requirements/rasa.lock $(UV)
	@py=$$(tools/find-python.sh 3.10) || exit 1; \
	  [ -x $(PY_RASA) ] || $$py -m venv $(VENV_RASA)
	$(UV_INSTALL) $(PY_RASA) -r requirements/rasa.lock
	@touch $@

# pytest for the engine's tests, beside the engine's packages (apart: the image has no tests).
$(VENV_RASA)/.tests-installed: requirements/rasa-test.lock $(VENV_RASA)/.installed
	$(UV_INSTALL) $(PY_RASA) -r requirements/rasa-test.lock
	@touch $@

setup: $(VENV)/.installed $(VENV_RASA)/.installed

# ---- catalogue ----------------------------------------------------------------------------
# Loading is idempotent: an unchanged catalogue (same checksum) is not written again.
catalogue: $(VENV)/.installed
	@mkdir -p var
	$(PY) -m catalogue load

# The plans of the replay corpus against the accepted ones (catalogue/data/README.md).
.PHONY: replay replay-corpus
replay: $(VENV)/.installed
	$(PY) -m catalogue replay

replay-corpus: $(VENV)/.installed
	$(PY) -m tests.catalogue.replay.corpus

# ---- retention (for cron) -------------------------------------------------------------------
# Deletes conversations whose last event is older than ZIJWIJZER_RETENTION_DAYS (180), or
# DAYS=N; erasing one: `$(PY) -m bot.app.retention erase CONVERSATION_ID`.
.PHONY: purge
purge: $(VENV)/.installed
	$(PY) -m bot.app.retention purge $(if $(DAYS),--older-than-days $(DAYS))

# ---- assistant (engine + action server) -----------------------------------------------------
include make/assistant.mk
include make/prod.mk

# ---- checks --------------------------------------------------------------------------------
# lint-imports: the import contracts of pyproject.toml (who may import whom), under a second.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Three runs: everything as Python 3.12 (the app); what the engine loads (bot/engine,
# bot/common) as Python 3.10 against .venv-rasa's own packages (Rasa, SQLAlchemy 1.4, aiohttp
# 3.9), about 8 s of CPU cold (SQLAlchemy 1.4 is untyped, so its decorators are too); the
# engine's tests as 3.10 code (only their own errors; `conftest` is imported by name, as
# pytest puts tests/engine first on the path).
typecheck: $(VENV)/.installed $(VENV_RASA)/.tests-installed
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --python-version 3.10 --python-executable $(PY_RASA) \
		--allow-untyped-decorators bot/engine bot/common
	MYPYPATH=tests/engine $(VENV)/bin/mypy --cache-dir .mypy_cache/engine-tests \
		--explicit-package-bases --follow-imports=silent \
		--python-version 3.10 --python-executable $(PY_RASA) tests/engine/*.py

# All tests: those that need no trained model first (they run beside the training in
# `make test`), then the integration tests, which start the engine with the trained model
# (the `integration` marker, added in tests/conftest.py for the engine fixtures): the
# production shape's (tests/prod, HAProxy, two engines, faults under load) apart, so that
# `make test` can run them beside the others.
pytest: pytest-unit pytest-catalogue pytest-engine-runtime pytest-engine pytest-engine-model pytest-prod

# The tests that need no model in two parts, so that `make test` can spread them: the
# catalogue's and the fuzz tests (CPU-bound, about a quarter of them), and the rest.
CATALOGUE_TESTS := tests/catalogue tests/fuzz
pytest-unit: $(VENV)/.installed $(VENV_RASA)/.installed browser
	$(PY) -m pytest -m "not integration" $(addprefix --ignore=,$(CATALOGUE_TESTS))

pytest-catalogue: $(VENV)/.installed
	$(PY) -m pytest -m "not integration" $(CATALOGUE_TESTS)

pytest-engine: $(VENV)/.installed $(VENV_RASA)/.tests-installed browser
	$(PY) -m pytest -m integration --ignore=tests/prod

pytest-prod: $(VENV)/.installed $(VENV_RASA)/.installed browser
	$(PY) -m pytest -m integration tests/prod

# The engine's tests (tests/engine) run in the engine's runtime, as the engine does: Python
# 3.10 with only its plugin folder on the path (tools/assistant.py `plugin_path`; no project
# root, whose `catalogue` would hide spaCy's), from an empty directory. Those that need the
# trained model (`integration`) run in their own part as soon as the training is done.
ENGINE_TESTS = cd $(RASA_CWD) && $(RASA_ENV) \
	PYTHONPATH=$$($(abspath $(PY)) -c 'from tools.assistant import plugin_path; print(plugin_path())') \
	$(abspath $(PY_RASA)) -m pytest $(CURDIR)/tests/engine -c $(CURDIR)/pyproject.toml \
	--rootdir $(CURDIR) --confcutdir $(CURDIR)/tests/engine -p no:cacheprovider
.PHONY: pytest-engine-runtime
pytest-engine-runtime: $(VENV)/.installed $(VENV_RASA)/.tests-installed
	@mkdir -p $(RASA_CWD)
	$(ENGINE_TESTS) -m "not integration"

.PHONY: pytest-engine-model
pytest-engine-model: train $(VENV)/.installed $(VENV_RASA)/.tests-installed
	@mkdir -p $(RASA_CWD)
	$(ENGINE_TESTS) -m integration

# The fuzz tests (tests/fuzz) run in `make test` with 600 inputs per target; this runs
# them longer. Failing inputs are kept in .hypothesis/ and tried first on the next run.
.PHONY: fuzz
fuzz: $(VENV)/.installed
	FUZZ_PROFILE=fuzz-long $(PY) -m pytest tests/fuzz -q --hypothesis-show-statistics

# Browser tests drive Debian's Chromium with Playwright (never a downloaded browser).
# Installed with apt on first use when missing and we may (root); otherwise say how.
CHROMIUM := /usr/bin/chromium
browser: axe
	@[ -x $(CHROMIUM) ] || { [ "$$(id -u)" = 0 ] && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; } || \
	  { echo "Browser tests need Debian's Chromium: apt-get install chromium chromium-driver"; exit 1; }

# axe-core, the accessibility checker the browser tests inject into the pages they check: the
# version pinned in package-lock.json, installed by npm into node_modules/ (git-ignored) at
# install time, never fetched while tests run.
AXE := node_modules/axe-core/axe.min.js
.PHONY: axe
axe: $(AXE)
$(AXE): package.json package-lock.json
	@command -v npm >/dev/null || { echo "The accessibility tests need npm to install axe-core" \
	  "(package.json): apt-get install npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# nlu-eval is the NLU gate: it fails when intent macro-F1 on the held-out split drops below 0.90
# (figures in docs/quality.md). Three jobs at a time on two cores, in this order as a job ends:
# the training and, beside it, the checks; the tests that need no model (about one core, in
# three parts: the app's, the catalogue's and fuzz, the engine's in its own runtime); the
# production shape's tests as soon as the model is there (about half a core: most of their
# time waits on restarts, probes and faults); the other integration tests, the engine's model
# test and the gate.
# Each part's output is printed whole when it ends (-O).
test:
	@$(MAKE) --no-print-directory -j3 -O test-parts

.PHONY: test-parts nlu-gate pytest-prod pytest-catalogue
test-parts: train lint typecheck validate pytest-prod pytest-unit pytest-catalogue \
	pytest-engine-runtime pytest-engine pytest-engine-model nlu-gate

# The gate after the main training, not beside it: two trainings at once only share the cores.
nlu-gate: train $(VENV)/.installed
	@$(PY) tools/nlu_eval.py

# bench/chat.py starts Zijwijzer and a plain `rasa init` assistant (trained once, cached
# under build/bench) and drives conversations at 1, 10 and 50 users: about 4 minutes,
# a minute more the first time.
bench: $(VENV)/.installed $(VENV_RASA)/.installed catalogue train
	$(PY) bench/advice.py
	$(PY) bench/regions.py
	@echo "Chat benchmark: Zijwijzer against a plain rasa init assistant, about 4 minutes"
	$(PY) bench/chat.py
	$(PY) bench/long_conversation.py
	$(MAKE) bench-console

# Staff console list pages at 100,000 conversations (SQLite; PostgreSQL too when
# ZIJWIJZER_BENCH_POSTGRES_URL is set): a few minutes.
bench-console: $(VENV)/.installed
	$(PY) bench/console.py

clean:
	rm -rf var models build test-output data/nlu/generated

# The dialogue simulator (tools/simulate.py): seeded conversations of simulated people through
# a real engine of its own; `make test` runs 300 of them (tests/tools/test_simulate.py).
# CONVERSATIONS=N SEED=S to change; about 2 conversations a second on 2 cores.
.PHONY: simulate
simulate: $(VENV)/.installed $(VENV_RASA)/.installed catalogue train
	$(PY) tools/simulate.py --conversations $(or $(CONVERSATIONS),5000) --seed $(or $(SEED),1)
