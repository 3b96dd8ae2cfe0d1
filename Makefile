# iamgate developer tasks. Every target that runs Python first makes sure .venv exists and holds
# editable installs of *this* checkout's two distributions, iamgate (server/) and iamgate-client
# (client/), matching their pyproject.toml files (the stamp file records a hash of both and the
# checkout's path), so a fresh clone needs only python3 >= 3.11 and make.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.iamgate-installed
VENV_KEY := $(shell cat pyproject.toml client/pyproject.toml | sha256sum | cut -c1-16) $(CURDIR)
IAMGATE_ARGS ?=
PYTEST_ARGS ?=

.PHONY: venv venv-bench serve test lint proto lint-proto bench bench-service bench-cerbos bench-js difftest clean-venv

## venv: create .venv if needed and (re)install iamgate-client and iamgate[dev] (both editable) when
## either pyproject.toml or the path changed. One pip command: the server's dependency on
## iamgate-client is satisfied by the checkout's client/, never by an index.
venv:
	@if [ ! -x $(BIN)/python ]; then $(PYTHON) -m venv --clear $(VENV); fi
	@if [ "$$(cat $(STAMP) 2>/dev/null)" != "$(VENV_KEY) dev" ]; then \
		echo "installing iamgate-client and iamgate[dev] into $(VENV)"; \
		$(BIN)/python -m pip install --quiet -e ./client -e '.[dev]' && echo "$(VENV_KEY) dev" > $(STAMP); \
	fi

venv-bench: venv
	@if [ "$$(cat $(STAMP).bench 2>/dev/null)" != "$(VENV_KEY) bench" ]; then \
		echo "installing iamgate-client and iamgate[dev,bench] into $(VENV)"; \
		$(BIN)/python -m pip install --quiet -e ./client -e '.[dev,bench]' && echo "$(VENV_KEY) bench" > $(STAMP).bench; \
	fi

## serve: start the sidecar on the embedded default bundle (127.0.0.1:50051, metrics :9464)
serve: venv
	$(BIN)/iamgate serve $(IAMGATE_ARGS)

## test: run the whole test suite
test: venv
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

## lint: ruff over the Python sources
lint: venv
	$(BIN)/ruff check .

## proto: regenerate client/iamgate_client/api from protos/
proto: venv
	$(BIN)/python scripts/gen_protos.py

## lint-proto: buf lint the public contract (needs Node.js: npx fetches @bufbuild/buf)
lint-proto:
	npx --yes @bufbuild/buf lint

## bench: run the benchmarks (installs the bench extra)
bench: venv-bench
	$(BIN)/python bench/run.py

BENCH_SERVICE_ARGS ?= --seconds 3 --rounds 3 --aio-floor --write

## bench-service: `iamgate serve` (1 worker and --workers auto, cache on/off) beside an empty-handler
## server of the same stack, driven by a load generator in its own process; table in docs/performance.md
bench-service: venv
	$(BIN)/python bench/service.py $(BENCH_SERVICE_ARGS)

BENCH_JS_ARGS ?=

## bench-cerbos: bench-service with Cerbos 0.55 (Go) beside iamgate on the same decisions (needs npm: it
## installs Cerbos's release binary into bench/cerbos/node_modules, which git ignores; the bench extra
## brings Cerbos's gRPC stubs). bench-service measures Cerbos too whenever it is installed.
bench-cerbos: venv-bench
	cd bench/cerbos && npm install --no-audit --no-fund --silent
	$(BIN)/python bench/service.py $(BENCH_SERVICE_ARGS)

## bench-js: `iamgate simulate` beside the JavaScript simulator @cloud-copilot/iam-simulate on real AWS
## managed policies (needs Node.js; npm installs it into bench/js/node_modules, which git ignores)
bench-js: venv
	cd bench/js && npm install --no-audit --no-fund --silent
	$(BIN)/python bench/simulate_vs_js.py $(BENCH_JS_ARGS)

DIFFTEST_SEEDS ?= 40
DIFFTEST_SIZE ?= 3
DIFFTEST_REQUESTS ?= 500

## difftest: random bundles served vs simulate (many seeds, larger sizes); then iamgate vs the
## conformance cases' oracle on mutated cases (needs Node.js)
difftest: venv
	IAMGATE_DIFFTEST_SEEDS=$(DIFFTEST_SEEDS) IAMGATE_DIFFTEST_SIZE=$(DIFFTEST_SIZE) \
		IAMGATE_DIFFTEST_REQUESTS=$(DIFFTEST_REQUESTS) \
		$(BIN)/python -m pytest -q -n auto tests/differential/test_bundle_vs_simulate.py
	cd tests/differential && npm install --no-audit --no-fund --silent
	$(BIN)/python tests/differential/compare.py $(DIFFTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
