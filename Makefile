# Plain entry points. `make test` is the test command CI runs; `make demo` is the offline demo.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= $(shell scripts/find-python)
PYTEST_ARGS ?=

.PHONY: install test lint demo bench migrate clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]"
	touch $@

test: install
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

demo: install
	$(VENV)/bin/quorum demo

bench: install
	$(VENV)/bin/python bench/bench_cycle_parts.py

migrate: install
	$(VENV)/bin/quorum admin migrate

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
