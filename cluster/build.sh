#!/usr/bin/env bash
# Builds the local cluster's binaries once, from the Go module proxy, cached by version:
#   $CACHE/k8s-<v>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl,kubelet,kube-proxy,pause}
#   $CACHE/etcd-<v>/bin/etcd
#   $CACHE/helm-<v>/bin/helm
#   $CACHE/crictl-<v>/bin/crictl
#   $CACHE/coredns-<v>/bin/coredns      (the plugins a cluster DNS needs, see build_coredns)
#   $CACHE/traefik-<v>/bin/traefik
# Each is built from a small wrapper module under $CACHE/<name>-<v>/src; existing binaries are kept.
# pause (the pod sandbox's process) is compiled from Kubernetes' own pause.c with gcc -static.
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
  local all=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy) bins=() b
  for b in "${all[@]}"; do have "$dir/bin" "$b" || bins+=("$b"); done
  if [[ ${#bins[@]} -eq 0 ]]; then log "kubernetes $K8S_VERSION cached"; build_pause; return; fi
  log "kubernetes $K8S_VERSION: resolving modules"
  local gomod staging
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -nE 's/.*"GoMod": "(.*)",?/\1/p')
  # k8s.io/kubernetes requires its staging modules at v0.0.0: map each to its published v0.<minor>.
  staging=$(sed -nE "s#^\s*(k8s\.io/[a-z-]+) => \./staging/.*#  \1 => \1 v0.${minor}#p" "$gomod")
  wrapper "$dir" "module local/kbuild" "go 1.24.0" "godebug default=go1.24" \
    "require k8s.io/kubernetes $K8S_VERSION" "replace (" "$staging" ")"
  local pkgs=()
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
  build_pause
}

# The pod sandbox image's only binary, from the k8s.io/kubernetes module already downloaded above.
build_pause() {
  local dir=$CACHE/k8s-$K8S_VERSION src
  if have "$dir/bin" pause; then return; fi
  src=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -nE 's/.*"Dir": "(.*)",?/\1/p')
  log "pause: compiling $src/build/pause/linux/pause.c"
  mkdir -p "$dir/bin"
  gcc -Os -Wall -Werror -static -DVERSION="$K8S_VERSION-jqm" -o "$dir/bin/pause.tmp" "$src/build/pause/linux/pause.c"
  strip "$dir/bin/pause.tmp" && mv "$dir/bin/pause.tmp" "$dir/bin/pause"
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

build_crictl() {
  local dir=$CACHE/crictl-$CRICTL_VERSION
  if have "$dir/bin" crictl; then log "crictl $CRICTL_VERSION cached"; return; fi
  log "crictl $CRICTL_VERSION: building"
  wrapper "$dir" "module local/crictlbuild" "go 1.24.1"
  go get "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  go build -trimpath -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    -o "$dir/bin.tmp/crictl" sigs.k8s.io/cri-tools/cmd/crictl
  mkdir -p "$dir/bin" && mv "$dir/bin.tmp/crictl" "$dir/bin/" && rmdir "$dir/bin.tmp"
  log "crictl $CRICTL_VERSION: done"
}

# CoreDNS with the plugins a cluster DNS uses (as CoreDNS documents for custom builds: a main package
# that imports coremain and the chosen plugins). Leaving out the cloud, etcd and tracing plugins halves
# the build and the binary. The order of Directives is CoreDNS's own plugin order.
build_coredns() {
  local dir=$CACHE/coredns-$COREDNS_VERSION
  if have "$dir/bin" coredns; then log "coredns $COREDNS_VERSION cached"; return; fi
  log "coredns $COREDNS_VERSION: building"
  wrapper "$dir" "module local/corednsbuild" "go 1.24.0" "require github.com/coredns/coredns $COREDNS_VERSION"
  rm -f tools.go
  local plugins=(errors log health ready kubernetes loadbalance cache reload)
  {
    printf 'package main\n\nimport (\n'
    printf '\t"github.com/coredns/coredns/core/dnsserver"\n\t"github.com/coredns/coredns/coremain"\n'
    local p
    for p in "${plugins[@]}"; do printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "$p"; done
    printf ')\n\nfunc init() {\n\tdnsserver.Directives = []string{'
    printf '"errors", "log", "health", "ready", "kubernetes", "loadbalance", "cache", "reload"'
    printf '}\n}\n\nfunc main() { coremain.Run() }\n'
  } >main.go
  go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$dir/bin.tmp/coredns" .
  mkdir -p "$dir/bin" && mv "$dir/bin.tmp/coredns" "$dir/bin/" && rmdir "$dir/bin.tmp"
  log "coredns $COREDNS_VERSION: done"
}

# Traefik's go.mod has replace directives, so `go install` refuses it: build inside a copy of its module.
build_traefik() {
  local dir=$CACHE/traefik-$TRAEFIK_VERSION module=github.com/traefik/traefik/v3 src
  if have "$dir/bin" traefik; then log "traefik $TRAEFIK_VERSION cached"; return; fi
  log "traefik $TRAEFIK_VERSION: downloading"
  src=$(go mod download -json "$module@$TRAEFIK_VERSION" | sed -nE 's/.*"Dir": "(.*)",?/\1/p')
  rm -rf "$dir/src" && mkdir -p "$dir" && cp -r "$src" "$dir/src" && chmod -R u+w "$dir/src"
  cd "$dir/src"
  log "traefik $TRAEFIK_VERSION: compiling"
  go build -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$dir/bin.tmp/traefik" ./cmd/traefik
  mkdir -p "$dir/bin" && mv "$dir/bin.tmp/traefik" "$dir/bin/" && rmdir "$dir/bin.tmp"
  log "traefik $TRAEFIK_VERSION: done"
}

start=$SECONDS
case ${1:-all} in
  all) build_k8s; build_etcd; build_helm; build_crictl; build_coredns; build_traefik ;;
  k8s) build_k8s ;;
  etcd) build_etcd ;;
  helm) build_helm ;;
  crictl) build_crictl ;;
  coredns) build_coredns ;;
  traefik) build_traefik ;;
  *) echo "usage: $0 [all|k8s|etcd|helm|crictl|coredns|traefik]" >&2; exit 2 ;;
esac
log "finished in $((SECONDS - start)) s"
