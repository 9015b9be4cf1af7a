#!/usr/bin/env bash
# Builds the local cluster's binaries once, from the Go module proxy, cached by version:
#   $CACHE/k8s-<v>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}
#   $CACHE/etcd-<v>/bin/etcd
#   $CACHE/helm-<v>/bin/helm
# Each is built from a small wrapper module under $CACHE/<name>-<v>/src; existing binaries are kept.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
CACHE=${JQM_CACHE_DIR:-$HOME/.cache/jqm-standalone}

# Only the module proxy (no "direct": never fall back to a VCS host); static binaries.
export GOPROXY=https://proxy.golang.org GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"

log() { printf '%s build: %s\n' "$(date +%T)" "$*" >&2; }

# have DIR NAME... : true when every binary NAME exists in DIR.
have() {
  local dir=$1; shift
  local name
  for name in "$@"; do [[ -x $dir/$name ]] || return 1; done
}

# wrapper DIR MODULE_LINES... : writes DIR/src/go.mod with the given body and cds into it.
wrapper() {
  local dir=$1; shift
  mkdir -p "$dir/src"
  cd "$dir/src"
  printf '%s\n' "$@" >go.mod
  printf 'package tools\n' >tools.go
}

build_k8s() {
  local dir=$CACHE/k8s-$K8S_VERSION minor=${K8S_VERSION#v1.}
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  if have "$dir/bin" "${bins[@]}"; then log "kubernetes $K8S_VERSION cached"; return; fi
  log "kubernetes $K8S_VERSION: resolving modules"
  local gomod staging
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -nE 's/.*"GoMod": "(.*)",?/\1/p')
  # k8s.io/kubernetes requires its staging modules at v0.0.0: map each to its published v0.<minor>.
  staging=$(sed -nE "s#^\s*(k8s\.io/[a-z-]+) => \./staging/.*#  \1 => \1 v0.${minor}#p" "$gomod")
  wrapper "$dir" "module local/kbuild" "go 1.24.0" "godebug default=go1.24" \
    "require k8s.io/kubernetes $K8S_VERSION" "replace (" "$staging" ")"
  local pkgs=() b
  for b in "${bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  go get "${pkgs[@]/%/@$K8S_VERSION}"
  local x=() v
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=(-X "$v.gitVersion=$K8S_VERSION" -X "$v.gitMajor=1" -X "$v.gitMinor=${minor%%.*}"
      -X "$v.gitTreeState=clean" -X "$v.buildDate=1970-01-01T00:00:00Z")
  done
  log "kubernetes $K8S_VERSION: compiling ${bins[*]}"
  go build -trimpath -ldflags "-s -w ${x[*]}" -o "$dir/bin.tmp/" "${pkgs[@]}"
  mkdir -p "$dir/bin" && mv "$dir/bin.tmp/"* "$dir/bin/" && rmdir "$dir/bin.tmp"
  log "kubernetes $K8S_VERSION: done"
}

build_etcd() {
  local dir=$CACHE/etcd-$ETCD_VERSION
  if have "$dir/bin" etcd; then log "etcd $ETCD_VERSION cached"; return; fi
  log "etcd $ETCD_VERSION: building"
  wrapper "$dir" "module local/etcdbuild" "go 1.23"
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  # server/v3's package main is its module root; `go install` is refused because of its replace lines.
  go build -trimpath -ldflags "-s -w" -o "$dir/bin.tmp/etcd" go.etcd.io/etcd/server/v3
  mkdir -p "$dir/bin" && mv "$dir/bin.tmp/etcd" "$dir/bin/" && rmdir "$dir/bin.tmp"
  log "etcd $ETCD_VERSION: done"
}

build_helm() {
  local dir=$CACHE/helm-$HELM_VERSION minor=${K8S_VERSION#v1.}
  if have "$dir/bin" helm; then log "helm $HELM_VERSION cached"; return; fi
  log "helm $HELM_VERSION: building"
  wrapper "$dir" "module local/helmbuild" "go 1.24.0"
  go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  local x=(-X "helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    -X "helm.sh/helm/v3/internal/version.gitTreeState=clean") p
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    x+=(-X "$p.k8sVersionMajor=1" -X "$p.k8sVersionMinor=${minor%%.*}")
  done
  go build -trimpath -ldflags "-s -w ${x[*]}" -o "$dir/bin.tmp/helm" helm.sh/helm/v3/cmd/helm
  mkdir -p "$dir/bin" && mv "$dir/bin.tmp/helm" "$dir/bin/" && rmdir "$dir/bin.tmp"
  log "helm $HELM_VERSION: done"
}

start=$SECONDS
case ${1:-all} in
  all) build_k8s; build_etcd; build_helm ;;
  k8s) build_k8s ;;
  etcd) build_etcd ;;
  helm) build_helm ;;
  *) echo "usage: $0 [all|k8s|etcd|helm]" >&2; exit 2 ;;
esac
log "finished in $((SECONDS - start)) s"
