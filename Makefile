# treatyflow: the two commands of the quickstart are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test check test-long bench docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job: build the 2025 Ottawa example in an embedded SQLite file, tick it to
## today, print what is pending and the matrix, and write the reports.
demo: $(STAMP)
	rm -f demo.db demo.db-wal demo.db-shm
	$(BIN)/treatyflow --db demo.db demo --out reports --force

## Lint, format check and strict types.
check: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

## The whole default suite (a few minutes); long soak and fuzz runs are in test-long.
test: check
	$(BIN)/python -m pytest -q

test-long: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

## Benchmarks against a raw-sqlite3 reference measured in the same run (about 10 minutes):
## prints the table and writes bench/results.json; see docs/performance.md.
bench: $(STAMP)
	$(BIN)/python bench/run.py

## Regenerate docs/cli-reference.md and workflows/schema/{treaty,procedure}.schema.json from
## the code (python -m treatyflow.docgen; tests/test_docs.py fails when they are stale).
docs: $(STAMP)
	$(BIN)/python -m treatyflow.docgen

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo.db* reports
