# Two commands set up everything on a fresh machine:
#   make demo   install, load the seed scenario into ./fundledger.sqlite, serve the API
#   make test   install, lint, type-check and run every test (SQLite and PostgreSQL)
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install demo test lint bench

$(BIN)/fundledger: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/fundledger

demo: install
	$(BIN)/fundledger demo
	$(BIN)/fundledger serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python -m bench --quick
