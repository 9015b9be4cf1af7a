# Client area: the Python client library (client/jqm_client) and the kubectl plugin (client/jqm_kubectl).
# Their tests run with `make unit`, `make integration` and `make e2e` (tests/client, tests/kubectl).

.PHONY: lint-client

lint: lint-client

lint-client: $(INSTALLED) ## mypy --strict on the client packages
	$(BIN)/mypy

