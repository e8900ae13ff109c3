#!/usr/bin/env bash
# Run the pinned kubeconform against the locally generated schemas (fully offline):
#   kubeconform -strict -summary -kubernetes-version <K8S_VERSION> -schema-location '<.tools/schemas template>' "$@"
# Installs kubeconform / generates the schemas first if needed (both idempotent and cached in .tools/).
# Extra kubeconform flags may precede the files, e.g.: kubeconform.sh -output json dist/*.yaml
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"${VT_SCRIPT_DIR}/install-kubeconform.sh" >/dev/null 2>&1 || "${VT_SCRIPT_DIR}/install-kubeconform.sh"
"${VT_SCRIPT_DIR}/k8s-schemas.sh" >/dev/null 2>&1 || "${VT_SCRIPT_DIR}/k8s-schemas.sh" >/dev/null

exec "${TOOLS_BIN}/kubeconform" -strict -summary \
  -kubernetes-version "${K8S_VERSION_NUM}" \
  -schema-location "${TOOLS_SCHEMAS}/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
  "$@"
