# One set-up for every target: a fresh clone needs nothing but python3.11, node/npm and make.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
# checkov pins old boto3/packaging: its own venv, never mixed with ours (SPEC 11)
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
STAGE ?= dev
export CDK_DISABLE_CLI_TELEMETRY := true
# jsii compares this list with the running Node major version (a bare "1" silences nothing)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20,22
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

.PHONY: setup demo test lint typecheck unit bench bench-identity clean synth lambda-assets checkov

setup: $(STAMP) $(NPM_STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CHECKOV_STAMP):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(CHECKOV_VENV)/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)"
	@touch $@

checkov: $(CHECKOV_STAMP)

# The functions' code (ingest, imports: src/cdp + lambdas + their wheels for Lambda aarch64/cp311), the
# Glue jobs' library (src/cdp as a zip) and Splink's similarity jar (from its wheel); cached, no Docker.
lambda-assets: setup
	$(BIN)/python scripts/build_lambda_assets.py

# Every stack of STAGE into cdk.out, offline; cdk-nag runs inside the app and fails the synth on a finding.
synth: lambda-assets
	npx cdk synth -c stage=$(STAGE) --quiet

demo: setup
	$(BIN)/cdp demo --lake ./.cdp/lake

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# The one gate (STYLE 10): lint, types, every test tier (tests/infra synthesizes, runs cfn-lint and checkov).
test: lint typecheck lambda-assets checkov
	$(BIN)/python -m pytest

unit: setup
	$(BIN)/python -m pytest tests/unit -q

bench: setup bench-identity bench-batch bench-queries bench-profiles bench-lookup bench-segments bench-export bench-privacy
	$(BIN)/python -m benchmarks.ingest

# FEBRL3/FEBRL4 F1 and time beside plain Splink, and 100k synthetic records (SPEC 10)
bench-identity: setup
	$(BIN)/python -m benchmarks.identity

# Import and standardize rows/s at 100k and 1M rows beside plain pyarrow, Spark at 100k (≈ 9 min, SPEC 5/6)
.PHONY: bench-batch
bench-batch: setup
	$(BIN)/python -m benchmarks.batch

# The profiles step on DuckDB at 100k and 1M synthetic profiles (time, peak RSS) beside a plain group-by
.PHONY: bench-profiles
bench-profiles: setup
	$(BIN)/python -m benchmarks.profiles

# Bytes the analysts' raw_events queries read with and without dt partition pruning, 90 days (≈ 20 s)
.PHONY: bench-queries
bench-queries: setup
	$(BIN)/python -m benchmarks.queries

# Lookup p50/p99 through the handler on SQLite and moto DynamoDB beside raw reads, loader profiles/s, 100k (≈ 26 min)
.PHONY: bench-lookup
bench-lookup: setup
	$(BIN)/python -m benchmarks.lookup

# The example segments over 1M synthetic profiles and 10M events on DuckDB beside a hand-written query (≈ 3 min)
.PHONY: bench-segments
bench-segments: setup
	$(BIN)/python -m benchmarks.segments

# Export throughput (profiles/s) per destination adapter, 10k changes, moto in-process, beside raw calls (≈ 3 min)
.PHONY: bench-export
bench-export: setup
	$(BIN)/python -m benchmarks.export

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules cdk.out build .cdp .pytest_cache .mypy_cache .ruff_cache

# Access request and erasure on a 100,000-person lake beside reading the whole lake once (SPEC 9)
.PHONY: bench-privacy
bench-privacy: setup
	$(BIN)/python -m benchmarks.privacy
