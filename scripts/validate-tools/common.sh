# shellcheck shell=bash disable=SC2034  # (variables are used by the scripts that source this file)
# Shared helpers for scripts/validate-tools/*.sh. Source it; do not execute it.
#
# Layout (all git-ignored):
#   .tools/bin/       kubeconform, helm, kube-apiserver, kubectl
#   .tools/schemas/   kubeconform JSON schemas (v1.27.N-standalone-strict/...)
#   .tools/src/       swagger.json copies, throwaway Go module used to build kube-apiserver/kubectl
#   .tools/run/       etcd data, certificates, kubeconfig, pid files and logs of the local API server;
#                     helm/ (helm's config, cache and data: helm.sh)
#
# The Go module cache and build cache stay in Go's default per-user locations
# (GOMODCACHE=$(go env GOMODCACHE), GOCACHE=$(go env GOCACHE)): they are shared by every
# checkout on the machine, so a fresh clone (e.g. CI) on a machine that already built once
# only re-links (seconds) instead of recompiling Kubernetes.

set -euo pipefail

VT_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${VT_SCRIPT_DIR}/../.." && pwd)"
TOOLS_DIR="${VALIDATE_TOOLS_DIR:-${REPO_ROOT}/.tools}"
TOOLS_BIN="${TOOLS_DIR}/bin"
TOOLS_SRC="${TOOLS_DIR}/src"
TOOLS_SCHEMAS="${TOOLS_DIR}/schemas"
TOOLS_RUN="${TOOLS_DIR}/run"

# shellcheck source=versions.env
source "${VT_SCRIPT_DIR}/versions.env"

# "v1.27.16" -> "1.27.16"
K8S_VERSION_NUM="${K8S_VERSION#v}"

vt_log() { printf '[validate-tools] %s\n' "$*" >&2; }
vt_die() { printf '[validate-tools] ERROR: %s\n' "$*" >&2; exit 1; }

# Locate Go and pin its behaviour: never download a toolchain, never stamp VCS info
# (the throwaway build module lives inside this git checkout).
vt_setup_go() {
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
      export PATH="/usr/local/go/bin:${PATH}"
    else
      vt_die "Go is required (https://go.dev/dl/); 'go' not found on PATH or in /usr/local/go/bin"
    fi
  fi
  # Go needs a home for its caches; without HOME (unusual CI setups) keep them inside .tools/.
  if [ -z "${HOME:-}" ] && [ -z "${GOCACHE:-}" ]; then
    export GOCACHE="${TOOLS_DIR}/go-build-cache" GOPATH="${TOOLS_DIR}/gopath"
  fi
  export GOTOOLCHAIN=local
  export GOFLAGS="-buildvcs=false"
  export GO111MODULE=on
  # GOPROXY / GOSUMDB are left as configured (defaults: proxy.golang.org, sum.golang.org).
}

vt_need_node() {
  command -v node >/dev/null 2>&1 || vt_die "Node.js is required"
}

# Print the directory of a downloaded Go module (downloads it into GOMODCACHE if needed).
# usage: vt_go_mod_dir MODULE VERSION
vt_go_mod_dir() {
  local json dir
  # `go mod download` works outside a module; replace directives in the target's go.mod are irrelevant here.
  json="$(cd / && go mod download -json "$1@$2" 2>&1)" || true
  dir="$(printf '%s\n' "${json}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "${dir}" ] && [ -d "${dir}" ] && { printf '%s\n' "${dir}"; return 0; }
  vt_die "could not download Go module $1@$2: $(printf '%s\n' "${json}" | grep -m1 -i error)"
}

# A throwaway build module's go.mod was just generated as DIR/go.mod.new. When it differs from the
# last one (DIR/go.mod.in, kept pristine), start over from it: go.mod and go.sum are then completed by
# the go command. Unchanged, the completed go.mod/go.sum are kept, so reruns only re-link.
# usage: vt_use_generated_go_mod DIR
vt_use_generated_go_mod() {
  if ! cmp -s "$1/go.mod.new" "$1/go.mod.in" 2>/dev/null; then
    mv "$1/go.mod.new" "$1/go.mod.in"
    cp "$1/go.mod.in" "$1/go.mod"
    rm -f "$1/go.sum"
  else
    rm -f "$1/go.mod.new"
  fi
}
