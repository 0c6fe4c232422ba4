# SafeCode. `make help` lists the targets; a newcomer needs only `make run` and `make test`.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when the project's metadata changes; the package itself is installed editable.
STAMP := $(VENV)/.installed

.PHONY: help install run test check format bench loadtest clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) ## create or update .venv with the project and its test tools

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

clean: ## remove the virtual environment and caches (keeps ./var, the embedded data)
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
