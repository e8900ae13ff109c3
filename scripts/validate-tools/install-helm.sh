#!/usr/bin/env bash
# Install helm ${HELM_VERSION} (helm.sh/helm/v3, from the Go module proxy) into .tools/bin/.
# Idempotent: does nothing if .tools/bin/helm already reports that version.
# Usage: scripts/validate-tools/install-helm.sh [--force]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bin="${TOOLS_BIN}/helm"
installed_version() { "${bin}" version --template '{{.Version}}' 2>/dev/null || true; }
if [ "${1:-}" != "--force" ] && [ -x "${bin}" ] && [ "$(installed_version)" = "${HELM_VERSION}" ]; then
  vt_log "helm ${HELM_VERSION} already installed: ${bin}"
  exit 0
fi

vt_setup_go
mkdir -p "${TOOLS_BIN}"
# Stamp what helm's own Makefile stamps: the version `helm version` prints, and the Kubernetes version
# its capabilities and deprecation lint default to (client-go v0.M.N -> 1.M, read from helm's go.mod).
helm_gomod="$(cd / && go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" |
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -f "${helm_gomod}" ] || vt_die "could not download helm.sh/helm/v3@${HELM_VERSION} from the Go module proxy"
client_go_minor="$(sed -n 's#^[[:space:]]*k8s\.io/client-go v0\.\([0-9]*\)\..*#\1#p' "${helm_gomod}" | head -n1)"
[ -n "${client_go_minor}" ] || vt_die "no k8s.io/client-go requirement in ${helm_gomod}"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X ${pkg}.k8sVersionMajor=1 -X ${pkg}.k8sVersionMinor=${client_go_minor}"
done
start=$(date +%s)
vt_log "installing helm ${HELM_VERSION} (go install; first build: several minutes on 2 cores, cached: seconds)"
GOBIN="${TOOLS_BIN}" CGO_ENABLED=0 go install -trimpath -ldflags "${ldflags}" \
  "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
[ "$(installed_version)" = "${HELM_VERSION}" ] || vt_die "installed helm does not report ${HELM_VERSION}"
vt_log "installed ${bin} (${HELM_VERSION}) in $(($(date +%s) - start))s"
