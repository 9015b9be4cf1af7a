# Client area: the Python client library (client/jqm_client) and the kubectl plugin (client/jqm_kubectl).
# Their unit and integration tests run with `make unit` and `make integration` (tests/client, tests/kubectl).

.PHONY: lint-client e2e-client

lint: lint-client

lint-client: $(INSTALLED) ## mypy --strict on the client packages
	$(BIN)/mypy

e2e-client: $(INSTALLED) cluster-build ## kubectl jqm end to end: the plugin against JqmClusters on the local cluster
	$(CLUSTER) run -- $(BIN)/pytest -m e2e tests/kubectl
