# aftersale — `make run` serves the demo on http://127.0.0.1:8000, `make test` runs everything.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
export UV_LINK_MODE := copy
SCALE ?= small

.PHONY: help install run test lint types unit integration e2e browser bench fuzz clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install: ## Install Python deps (uv, the locked environment), compiled to bytecode
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@uv sync --frozen --quiet --compile-bytecode
	@# (with PYTHONDONTWRITEBYTECODE set, every process would otherwise compile every module)
	@uv run --frozen python -m compileall -q src >/dev/null

browser-deps: ## Install Debian's Chromium for the browser tests if missing
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

prometheus-deps: ## Install Debian's Prometheus (and promtool) for the metrics e2e test if missing
	@command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq prometheus >/dev/null)

run: install ## Serve on http://127.0.0.1:8000 with SQLite and demo data
	@AFTERSALE_DEMO=1 uv run aftersale demo
	@AFTERSALE_DEMO=1 AFTERSALE_WEBHOOK_ALLOW_PRIVATE=1 uv run aftersale serve --host 127.0.0.1 --port 8000

lint: install ## ruff and the import-layer contracts
	uv run ruff check src tests bench
	uv run ruff format --check src tests bench
	uv run lint-imports

types: install ## mypy, strict on domain/ and services/
	uv run mypy

test: install browser-deps prometheus-deps lint types ## Lint, types and the whole test suite (SQLite and PostgreSQL)
	uv run pytest -q -p no:cacheprovider -n 2 --dist loadfile --durations=25

FUZZ_EXAMPLES ?= 5
fuzz: install ## schemathesis on both databases as admin, buyer and seller, coverage phase on (figures: tests/README.md)
	FUZZ_ALL=1 FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_REPORT=$(CURDIR)/data/fuzz-report.jsonl uv run pytest -q -p no:cacheprovider -p no:xdist tests/e2e/test_contract_fuzz.py

bench: install ## Benchmarks; SCALE=full for the recorded figures
	uv run python -m bench.run --scale $(SCALE)
	uv run python -m bench.reads --scale $(SCALE)
	uv run python -m bench.import_bench --scale $(SCALE)
	uv run python -m bench.reference --scale $(SCALE)

clean: ## Remove local data and caches
	rm -rf data .pytest_cache .mypy_cache .ruff_cache .hypothesis
