# SafeCode. `make help` lists the targets; a newcomer needs only `make run` and `make test`.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when pyproject.toml or the lock changes; the package itself is installed editable.
STAMP := $(VENV)/.installed
# Every distribution in .venv comes from the lock, pinned and hash-checked; `make lock` writes it.
LOCK := requirements.lock
# The same pins, runtime dependencies only: what the Docker image installs.
RUNTIME_LOCK := requirements-runtime.lock
# uv (for `make lock`) and pip-audit (for `make audit`) live apart from .venv, locked the same way.
TOOLS_VENV := .venv-tools
TOOLS_LOCK := requirements-tools.lock
TOOLS_STAMP := $(TOOLS_VENV)/.installed

.PHONY: help install run test check format bench loadtest chaos clean lock audit

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Wheels only: an sdist's build requirements would be fetched unchecked. The project goes in
# without build isolation, built by the locked setuptools, for the same reason.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --only-binary :all: -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP) ## create or update .venv with the project and its test tools

$(TOOLS_STAMP): $(TOOLS_LOCK)
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --require-hashes --only-binary :all: -r $(TOOLS_LOCK)
	touch $(TOOLS_STAMP)

# Resolved for every platform from Python 3.11 up (checked on Linux x86_64, CPython 3.11), with
# pip pinned too. uv keeps the pins it can: LOCK_ARGS=--upgrade takes the newest releases
# pyproject.toml allows, LOCK_ARGS='--upgrade-package NAME' one package's.
UV_COMPILE = $(TOOLS_VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock' $(LOCK_ARGS)

lock: $(TOOLS_STAMP) ## after changing dependencies: re-resolve the hash locks (LOCK_ARGS=--upgrade: newest)
	echo pip | $(UV_COMPILE) --extra test pyproject.toml - --output-file $(LOCK)
	echo pip | $(UV_COMPILE) --constraint $(LOCK) pyproject.toml - --output-file $(RUNTIME_LOCK)
	printf 'pip-audit\nuv\n' | $(UV_COMPILE) - --output-file $(TOOLS_LOCK)

audit: $(TOOLS_STAMP) ## look the locked versions up in PyPI's / OSV's vulnerability advisories
	$(TOOLS_VENV)/bin/python .ci/audit $(LOCK) $(TOOLS_LOCK)

run: $(STAMP) ## run everything on http://127.0.0.1:8000 (embedded PostgreSQL and Redis unless URLs are set)
	$(BIN)/safecode run

check: $(STAMP) ## ruff format check, ruff lint, mypy
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP) ## rewrite the code in ruff's format and apply safe lint fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP) check ## make check, then the whole test suite (TEST_DATABASE_URL / TEST_REDIS_URL or embedded servers)
	$(BIN)/pytest

bench: $(STAMP) ## measure the service side by side and print a table of ratios
	$(BIN)/python -m loadtests.bench

loadtest: $(STAMP) ## bounded locust load of the scan path (a resolver it starts); report in artifacts/loadtest
	$(BIN)/python -m loadtests.run

chaos: $(STAMP) ## kill Redis, PostgreSQL, the relay and a resolver worker under load; report in artifacts/chaos
	$(BIN)/python -m loadtests.chaos

clean: ## remove the virtual environment and caches (keeps ./var, the embedded data)
	rm -rf $(VENV) $(TOOLS_VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
