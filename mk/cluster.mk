# Cluster area: a local Kubernetes built from source (cluster/build.sh), run by cluster/jqm_localcluster:
# control plane, containerd + kubelet + kube-proxy, CoreDNS and Traefik in-cluster, load balancers on
# 127.0.0.100+. State in .state/cluster; binaries and images cached by version/inputs outside the repo.

CLUSTER_CACHE := $(or $(JQM_CACHE_DIR),$(HOME)/.cache/jqm-standalone)
CLUSTER_K8S_VERSION := $(shell sed -n 's/^K8S_VERSION=//p' cluster/versions.env)
CLUSTER_VERSION = $(shell sed -n 's/^$(1)_VERSION=//p' cluster/versions.env)
CLUSTER_K8S_BIN := $(CLUSTER_CACHE)/k8s-$(CLUSTER_K8S_VERSION)/bin
CLUSTER_BINARIES := $(addprefix $(CLUSTER_K8S_BIN)/,kube-apiserver kube-controller-manager kube-scheduler kubectl \
	kubelet kube-proxy pause) \
	$(CLUSTER_CACHE)/etcd-$(call CLUSTER_VERSION,ETCD)/bin/etcd $(CLUSTER_CACHE)/helm-$(call CLUSTER_VERSION,HELM)/bin/helm \
	$(CLUSTER_CACHE)/crictl-$(call CLUSTER_VERSION,CRICTL)/bin/crictl \
	$(CLUSTER_CACHE)/coredns-$(call CLUSTER_VERSION,COREDNS)/bin/coredns \
	$(CLUSTER_CACHE)/traefik-$(call CLUSTER_VERSION,TRAEFIK)/bin/traefik
CLUSTER_KUBECTL := $(CLUSTER_K8S_BIN)/kubectl
CLUSTER_HELM := $(CLUSTER_CACHE)/helm-$(call CLUSTER_VERSION,HELM)/bin/helm
CLUSTER_KUBECONFIG := $(CURDIR)/.state/cluster/kubeconfig
CLUSTER := $(BIN)/python -m jqm_localcluster
# What `make up` installs and waits for.
UP_RELEASE := jqm-operator
UP_NAMESPACE := jqm-system
UP_EXAMPLE := examples/jqmcluster.yaml
UP_TIMEOUT := 300s

.PHONY: cluster-packages cluster-build images cluster-up cluster-down cluster-status up down

cluster-packages: $(INSTALLED) ## install the Debian packages of the node (containerd, runc, CNI plugins, nftables, gcc)
	@$(CLUSTER) packages

cluster-build: cluster-packages ## build Kubernetes, etcd, helm, crictl, CoreDNS, Traefik, pause from source, once (cached by version)
	@if ls $(CLUSTER_BINARIES) >/dev/null 2>&1; then echo "cluster binaries cached in $(CLUSTER_CACHE)"; \
	else bash cluster/build.sh; fi

images: $(INSTALLED) cluster-build ## build the images whose inputs changed (Docker, else buildah), import them if the cluster runs
	$(CLUSTER) images

cluster-up: images ## start the local cluster and its system workloads (idempotent)
	$(CLUSTER) up

cluster-down: ## stop the local cluster: nothing it started keeps running (idempotent)
	@if [ -x $(BIN)/python ]; then $(CLUSTER) down; fi

cluster-status: ## show the local cluster's processes
	@$(CLUSTER) status

up: cluster-up ## local cluster + operator chart + examples/jqmcluster.yaml, wait until Available, print how to use it
	KUBECONFIG=$(CLUSTER_KUBECONFIG) $(CLUSTER_HELM) upgrade --install $(UP_RELEASE) charts/jqm-operator \
	  --namespace $(UP_NAMESPACE) --create-namespace --wait --timeout $(UP_TIMEOUT) \
	  --set image.tag=latest --set image.pullPolicy=Never
	KUBECONFIG=$(CLUSTER_KUBECONFIG) $(CLUSTER_KUBECTL) apply -f $(UP_EXAMPLE)
	KUBECONFIG=$(CLUSTER_KUBECONFIG) $(CLUSTER_KUBECTL) wait --for=condition=Available --timeout=$(UP_TIMEOUT) \
	  -f $(UP_EXAMPLE)
	@set -e; export KUBECONFIG=$(CLUSTER_KUBECONFIG); k=$(CLUSTER_KUBECTL); \
	name=$$($$k get -f $(UP_EXAMPLE) -o jsonpath='{.metadata.name}'); \
	ns=$$($$k get -f $(UP_EXAMPLE) -o jsonpath='{.metadata.namespace}'); \
	ip=$$($$k get service -n $$ns $$name -o jsonpath='{.status.loadBalancer.ingress[0].ip}'); \
	port=$$($$k get service -n $$ns $$name -o jsonpath='{.spec.ports[0].port}'); \
	ingress=$$($$k get service -n jqm-ingress traefik -o jsonpath='{.status.loadBalancer.ingress[0].ip}'); \
	replicas=$$($$k get -f $(UP_EXAMPLE) -o jsonpath='{.spec.replicas}'); \
	$(BIN)/python -m jqm_localcluster.lbcheck http://$$ip:$$port/ws/simple/localnode/health $$replicas; \
	$(BIN)/python -m jqm_localcluster.lbcheck http://$$ingress/ws/simple/localnode/health $$replicas; \
	echo; echo "JqmCluster $$ns/$$name is Available: $$replicas containers behind the load balancer and the ingress."; \
	echo "  export KUBECONFIG=$(CLUSTER_KUBECONFIG)"; \
	echo "  export PATH=$(CLUSTER_K8S_BIN):\$$PATH   # kubectl $(CLUSTER_K8S_VERSION)"; \
	echo "  load balancer: http://$$ip:$$port    ingress: http://$$ingress"; \
	echo "  web console: http://$$ip:$$port/console/ or http://$$ingress/console/ (user admin, password below)"; \
	echo "  curl http://$$ingress/ws/simple/localnode/health      # the only call without credentials"; \
	echo "  password=\$$(kubectl get secret -n $$ns $$name-auth -o jsonpath='{.data.admin-password}' | base64 -d)"; \
	echo "  curl -u \"admin:\$$password\" -d applicationname=DemoEcho -d parameterNames=p1 -d parameterValues=hello http://$$ip:$$port/ws/simple/ji"; \
	echo "  kubectl get jqmc,pods,ingress -o wide -n $$ns"; \
	echo "  make down"

down: cluster-down ## stop everything `make up` started (the cluster's state stays in .state/cluster)
