# Two commands: `make run` (set up, load the reference ledger, show its status) and
# `make test` (set up with the test extras and run the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PostgreSQL for the contract tests; CI (CI=true) fails if it is unreachable.
TREATY_TEST_POSTGRES_DSN ?= postgresql://postgres@127.0.0.1:5432/test
export TREATY_TEST_POSTGRES_DSN
PORT ?= 8000

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/treaty load ccm-2018
	$(BIN)/treaty status --as-of 2018-06-30 | head -3
	$(BIN)/treaty users add admin --role isu --if-missing
	$(BIN)/treaty serve --host 127.0.0.1 --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/bench_ledger.py
	$(BIN)/python bench/bench_report.py
	$(BIN)/python bench/bench_http.py

clean:
	rm -rf $(VENV) var build *.egg-info
