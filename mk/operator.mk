# Operator area: chart lint and schema validation of what `helm template` renders.
# helm comes from cluster/build.sh (built from the Go module proxy, cached by version) when absent.

OPERATOR_CACHE := $(or $(JQM_CACHE_DIR),$(HOME)/.cache/jqm-standalone)
OPERATOR_HELM_VERSION := $(shell sed -n 's/^HELM_VERSION=//p' cluster/versions.env 2>/dev/null)
OPERATOR_KUBE_VERSION := $(patsubst v%,%,$(shell sed -n 's/^K8S_VERSION=//p' cluster/versions.env 2>/dev/null))
OPERATOR_HELM := $(OPERATOR_CACHE)/helm-$(OPERATOR_HELM_VERSION)/bin/helm
OPERATOR_CHART := charts/jqm-operator
# Value sets rendered and validated: the defaults, and every optional part switched on.
OPERATOR_RENDERS := default full
OPERATOR_SET_default :=
OPERATOR_SET_full := --set sample.enabled=true --set nodeAccess=proxy --set replicaCount=2 \
	--set 'watchNamespaces={team-a,team-b}'

.PHONY: lint-operator helm-operator

lint: lint-operator

helm-operator: ## build helm (from the Go module proxy) if the cache lacks it
	@test -x $(OPERATOR_HELM) || bash cluster/build.sh helm

lint-operator: $(INSTALLED) helm-operator ## helm lint the chart, validate helm template output against Kubernetes schemas
	$(OPERATOR_HELM) lint --strict --kube-version $(OPERATOR_KUBE_VERSION) $(OPERATOR_CHART)
	@set -e; out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	for render in $(OPERATOR_RENDERS); do \
	  case $$render in default) opts="$(OPERATOR_SET_default)";; full) opts="$(OPERATOR_SET_full)";; esac; \
	  echo "helm template ($$render) | kubernetes-validate --strict -k $(OPERATOR_KUBE_VERSION)"; \
	  eval $(OPERATOR_HELM) template jqm $(OPERATOR_CHART) --namespace jqm-system --include-crds \
	    --kube-version $(OPERATOR_KUBE_VERSION) $$opts >"$$out/$$render.yaml"; \
	  $(BIN)/kubernetes-validate --strict --quiet --no-warn -k $(OPERATOR_KUBE_VERSION) "$$out/$$render.yaml"; \
	done
