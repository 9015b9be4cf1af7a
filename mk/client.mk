# Client area: the Python client library (client/jqm_client) and the kubectl plugin (client/jqm_kubectl).
# Their tests run with `make unit`, `make integration` and `make e2e` (tests/client, tests/kubectl);
# `make lint` type-checks them with the rest (mypy --strict, files in pyproject.toml).
