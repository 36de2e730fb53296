# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: install run up test check lint typecheck pytest bench clean

install: $(PY_STAMP) $(NODE_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## make run: install, start the platform, drive the demo, keep serving.
run: install
	$(PY) -m emulators up --demo

## make up: install and start the platform without the demo.
up: install
	$(PY) -m emulators up

## make test: lint, type-check and the whole test suite.
test: install check pytest

check: lint typecheck

lint: $(PY_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(PY_STAMP)
	$(PY) -m mypy

pytest: install
	$(PY) -m pytest

## make bench: every benchmark in bench/, each printing its ratios.
bench: install
	$(PY) -m bench all

clean:
	rm -rf .local .mypy_cache .ruff_cache .pytest_cache
