# The README's two commands: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := demo
TENDERS ?= 20000
PORT ?= 8000
DEMO_PASSWORD ?= aiqyn-demo-password

.PHONY: demo test lint docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: set up, generate a demo data set, ingest it, run the analytics, then serve the web application
demo: $(STAMP)
	$(BIN)/aiqyn generate --tenders $(TENDERS) --seed 42 --out $(DEMO)/data
	$(BIN)/aiqyn ingest --db $(DEMO)/aiqyn.duckdb $(DEMO)/data/releases.jsonl
	$(BIN)/aiqyn stats --db $(DEMO)/aiqyn.duckdb
	$(BIN)/aiqyn registers import unreliable $(DEMO)/data/unreliable_suppliers.csv --db $(DEMO)/aiqyn.duckdb
	$(BIN)/aiqyn flags run --db $(DEMO)/aiqyn.duckdb
	for kind in officials relatives companies; do $(BIN)/aiqyn registers import $$kind $(DEMO)/data/$$kind.csv \
		--db $(DEMO)/aiqyn.duckdb; done
	$(BIN)/aiqyn meetings import $(DEMO)/data/meetings.csv --db $(DEMO)/aiqyn.duckdb
	$(BIN)/aiqyn entities resolve --db $(DEMO)/aiqyn.duckdb
	$(BIN)/aiqyn entities flags --db $(DEMO)/aiqyn.duckdb
	$(BIN)/aiqyn meetings check --db $(DEMO)/aiqyn.duckdb || test $$? -eq 1  # 1: violations found
	$(BIN)/aiqyn prices run --db $(DEMO)/aiqyn.duckdb
	$(BIN)/aiqyn queue import $(DEMO)/data/queue_events.csv --db $(DEMO)/aiqyn.duckdb --key-file $(DEMO)/data/queue.key
	$(BIN)/aiqyn queue check --db $(DEMO)/aiqyn.duckdb || test $$? -eq 1  # 1: out-of-turn findings
	$(BIN)/aiqyn queue seal --db $(DEMO)/aiqyn.duckdb  # publish the roots: /public/queues
	for kind in offences statements; do $(BIN)/aiqyn accountability import $$kind $(DEMO)/data/$$kind.csv \
		--db $(DEMO)/aiqyn.duckdb; done
	$(BIN)/aiqyn accountability check --db $(DEMO)/aiqyn.duckdb  # supervisor: /accountability
	$(BIN)/aiqyn evaluate --truth $(DEMO)/data/truth.json --db $(DEMO)/aiqyn.duckdb
	$(BIN)/aiqyn app-db upgrade --app-db $(DEMO)/app.sqlite
	for role in analyst supervisor; do AIQYN_DEMO_PASSWORD=$(DEMO_PASSWORD) $(BIN)/aiqyn users add $$role --role $$role \
		--password-env AIQYN_DEMO_PASSWORD --exist-ok --app-db $(DEMO)/app.sqlite; done
	AIQYN_DEMO_PASSWORD=$(DEMO_PASSWORD) $(BIN)/aiqyn users add compliance --role compliance --exist-ok \
		--org $$(sed -n 2p $(DEMO)/data/officials.csv | cut -d, -f4) --password-env AIQYN_DEMO_PASSWORD \
		--app-db $(DEMO)/app.sqlite --db $(DEMO)/aiqyn.duckdb  # records the meetings of its first official's body
	$(BIN)/aiqyn index compute --db $(DEMO)/aiqyn.duckdb --app-db $(DEMO)/app.sqlite  # the regional index: /regions
	@echo "web application: sign in as analyst, supervisor or compliance, password $(DEMO_PASSWORD); /public without"
	test -n "$(NO_SERVE)" || $(BIN)/aiqyn serve --db $(DEMO)/aiqyn.duckdb --app-db $(DEMO)/app.sqlite --page-cache $(DEMO)/pages.sqlite --port $(PORT)

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

## collusion-model: retrain the shipped collusion model and its report (fixed seed) from ../shared/data
COLLUSION_DATA ?= ../shared/data/bid-rigging-collusion-labeled
collusion-model: $(STAMP)
	$(BIN)/aiqyn collusion train $(COLLUSION_DATA)/DB_Collusion_*_processed.csv --seed 42 --evaluate \
		--model src/aiqyn/collusion/models/default.skops

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info
