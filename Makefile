# Every target installs what it needs by itself: a fresh machine needs only python3 and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: help venv lint unit integration e2e test bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[node,operator,client,kubectl,dev]'
	@touch $@

venv: $(INSTALLED) ## create .venv with the project and its tools

lint: $(INSTALLED) ## ruff, mypy --strict, import contracts, Dockerfile lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint node/Dockerfile operator/Dockerfile cluster/images/*.Dockerfile

unit: $(INSTALLED) ## fast tests, no processes or network
	$(BIN)/pytest -m "not integration and not e2e"

# integration and e2e run on the local cluster (mk/cluster.mk): started for the run, and stopped after
# unless it was already up (make up). The operator's and the cluster's own tests use its API server.
integration: $(INSTALLED) images ## real processes and HTTP: nodes on loopback, operator and cluster on a real API server
	$(CLUSTER) run -- $(BIN)/pytest -m "integration and not e2e"

e2e: $(INSTALLED) images ## end-to-end scenarios: operator chart and JqmClusters on the local cluster
	$(CLUSTER) run -- $(BIN)/pytest -m e2e tests/e2e tests/kubectl

bench: $(INSTALLED) ## benchmarks; figures go to docs/PERFORMANCE.md by hand
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench

clean: ## remove the virtualenv and caches (not the Kubernetes build cache)
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Each area owns a fragment: mk/<area>.mk adds its targets and prerequisites of `test`.
include $(sort $(wildcard mk/*.mk))

test: lint unit integration e2e ## the whole suite: lint, unit, integration, end-to-end
