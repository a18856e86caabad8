# The README's two commands: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := demo
TENDERS ?= 20000

.PHONY: demo test lint docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: set up, generate a demo data set, ingest it, print what the store holds
demo: $(STAMP)
	$(BIN)/aiqyn generate --tenders $(TENDERS) --seed 42 --out $(DEMO)/data
	$(BIN)/aiqyn ingest --db $(DEMO)/aiqyn.duckdb $(DEMO)/data/releases.jsonl
	$(BIN)/aiqyn stats --db $(DEMO)/aiqyn.duckdb

## test: the whole test suite
test: $(STAMP)
	$(BIN)/pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/aiqyn store docs --out docs/schema.md
	$(BIN)/aiqyn flags docs --out docs/indicators

bench: $(STAMP)
	$(BIN)/python bench/ingest_bench.py

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info
