# envgrid — set-up and the two everyday commands.
#   make serve   create .venv, install, start envgrid on its embedded PostgreSQL
#   make test    same set-up, then ruff, mypy and the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test setup lint typecheck pytest bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

serve: setup
	$(BIN)/envgrid serve

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check protocol

typecheck: setup
	$(BIN)/mypy protocol store ingest aggregates alerts web bench simulators

pytest: setup
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
