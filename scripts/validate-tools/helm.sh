#!/usr/bin/env bash
# Run the pinned helm (installing it first if needed), offline and isolated from the user's Helm setup:
# config, cache and data live in .tools/run/helm/. `lint` and `template` get
# --kube-version ${K8S_VERSION} (the version the schemas and the local API server have), so
# capabilities and the deprecation lint match the target cluster.
# Usage: scripts/validate-tools/helm.sh ARGS...   e.g. helm.sh lint --strict chart/
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"${VT_SCRIPT_DIR}/install-helm.sh" >/dev/null 2>&1 || "${VT_SCRIPT_DIR}/install-helm.sh" >&2

helm_home="${TOOLS_RUN}/helm"
mkdir -p "${helm_home}"
export HELM_CONFIG_HOME="${helm_home}/config" HELM_CACHE_HOME="${helm_home}/cache" HELM_DATA_HOME="${helm_home}/data"

case "${1:-}" in
  lint | template) exec "${TOOLS_BIN}/helm" "$1" --kube-version "${K8S_VERSION_NUM}" "${@:2}" ;;
  *) exec "${TOOLS_BIN}/helm" "$@" ;;
esac
