#!/usr/bin/env bash
# Build CoreDNS ${COREDNS_VERSION} (github.com/coredns/coredns, from the Go module proxy) into
# .tools/bin/coredns: the cluster test's DNS (scripts/cluster/cluster.sh runs it on the node).
#
# `go install github.com/coredns/coredns@<v>`: the main package with the plugin set upstream compiles
# in by default (core/plugin/zplugin.go, generated from plugin.cfg), i.e. the binary upstream ships.
# Stamped as upstream's Makefile does (coremain.GitCommit), so `coredns -version` names the release.
# Idempotent: does nothing when .tools/bin/coredns already reports ${COREDNS_VERSION}.
# Usage: scripts/cluster/install-coredns.sh [--force]
source "$(dirname "${BASH_SOURCE[0]}")/../validate-tools/common.sh"

bin="${TOOLS_BIN}/coredns"
installed() { "${bin}" -version 2>/dev/null | grep -qx "CoreDNS-${COREDNS_VERSION#v}"; }
if [ "${1:-}" != "--force" ] && installed; then
  vt_log "coredns ${COREDNS_VERSION} already installed: ${bin}"
  exit 0
fi

vt_setup_go
mkdir -p "${TOOLS_BIN}"
info="$(cd / && go mod download -json "github.com/coredns/coredns@${COREDNS_VERSION}" 2>&1)" || true
commit="$(printf '%s\n' "${info}" | sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)",\{0,1\}$/\1/p' | head -n1)"
printf '%s\n' "${info}" | grep -q '"Dir"' || vt_die "could not download github.com/coredns/coredns@${COREDNS_VERSION} from the Go module proxy"
start=$(date +%s)
vt_log "installing coredns ${COREDNS_VERSION} (go install; first build: several minutes on 2 cores, cached: seconds)"
GOBIN="${TOOLS_BIN}" CGO_ENABLED=0 go install -trimpath \
  -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=${commit:-${COREDNS_VERSION}}" \
  "github.com/coredns/coredns@${COREDNS_VERSION}"
installed || vt_die "installed coredns does not report ${COREDNS_VERSION}: $("${bin}" -version 2>&1 | head -n1)"
vt_log "installed ${bin} (${COREDNS_VERSION}) in $(($(date +%s) - start))s"
