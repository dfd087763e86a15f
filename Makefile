# textstream: verb targets. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROTO := protos/textstream.proto
# The generated code lives in the client distribution (client/), package textstream_client.protos.
GENERATED := client/textstream_client
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: install protos check-protos run test pytest lint typecheck bench bench-hub ops-check clean

install: $(STAMP)

# Reinstall only when the project's dependencies change. The client (client/, its own
# distribution) comes from the checkout: the server depends on it and no index has it. The
# server alone goes first: it replaces an older install that owned the `textstream` script
# (now the client's), so that uninstall cannot delete the client's script afterwards.
$(STAMP): pyproject.toml client/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip install --quiet -e ./client -e '.[dev]'
	touch $(STAMP)

# protoc with -I . (the descriptor's file name stays protos/textstream.proto), then the
# generated import rewritten into the package: see client/generate_protos.py.
protos: $(STAMP)
	$(BIN)/python client/generate_protos.py $(GENERATED)

check-protos: $(STAMP)
	@tmp=$$(mktemp -d) && \
	$(BIN)/python client/generate_protos.py $$tmp && \
	for f in textstream_pb2.py textstream_pb2.pyi textstream_pb2_grpc.py; do \
	  diff -u $(GENERATED)/protos/$$f $$tmp/protos/$$f >/dev/null || { echo "$(GENERATED)/protos/$$f is stale: run make protos"; rm -rf $$tmp; exit 1; }; \
	done; rm -rf $$tmp; echo "generated code matches $(PROTO)"

run: $(STAMP)
	$(BIN)/textstream serve

# Style, then the import contracts of .importlinter (the layers: core, transports, client).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy server analyzers client/textstream_client

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: check-protos lint typecheck pytest

# Image, Kubernetes manifests and contract guards (hadolint, kubernetes-validate, buf).
ops-check: $(STAMP)
	.ci/ops-checks

bench: $(STAMP)
	$(BIN)/python -m bench.throughput
	$(BIN)/python -m bench.feed

# The hub profile's generative models (random-weight seed architectures) with continuous batching.
bench-hub: $(STAMP)
	$(BIN)/python -m bench.hub

clean:
	rm -rf $(VENV) .tools build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .hypothesis test-output bench/results examples/node/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
