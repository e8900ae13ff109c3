#!/usr/bin/env bash
# Install kubeconform ${KUBECONFORM_VERSION} (github.com/yannh/kubeconform, from the Go module proxy)
# into .tools/bin/. Idempotent: does nothing if .tools/bin/kubeconform already reports that version.
# Usage: scripts/validate-tools/install-kubeconform.sh [--force]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bin="${TOOLS_BIN}/kubeconform"
if [ "${1:-}" != "--force" ] && [ -x "${bin}" ] && [ "$("${bin}" -v 2>/dev/null)" = "${KUBECONFORM_VERSION}" ]; then
  vt_log "kubeconform ${KUBECONFORM_VERSION} already installed: ${bin}"
  exit 0
fi

vt_setup_go
mkdir -p "${TOOLS_BIN}"
vt_log "installing kubeconform ${KUBECONFORM_VERSION} (go install)"
# main.version is what `kubeconform -v` prints (the upstream release build sets it the same way).
GOBIN="${TOOLS_BIN}" CGO_ENABLED=0 go install -trimpath \
  -ldflags "-s -w -X main.version=${KUBECONFORM_VERSION}" \
  "github.com/yannh/kubeconform/cmd/kubeconform@${KUBECONFORM_VERSION}"
[ "$("${bin}" -v)" = "${KUBECONFORM_VERSION}" ] || vt_die "installed kubeconform does not report ${KUBECONFORM_VERSION}"
vt_log "installed ${bin} (${KUBECONFORM_VERSION})"
