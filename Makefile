# Compass developer entry points. `make run` and `make test` work on a fresh clone with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench fmt clean venv

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)  ## start the product on the embedded defaults (SQLite, rules, local target)
	$(BIN)/compass serve

test: $(STAMP)  ## every test, SQLite and PostgreSQL
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)  ## performance figures recorded in docs/PERFORMANCE.md (several minutes)
	$(BIN)/python -m tests.bench
	$(BIN)/python -m manifests.bench
	$(BIN)/python -m kb.estimator.calibration report

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .compass .pytest_cache .mypy_cache .ruff_cache
