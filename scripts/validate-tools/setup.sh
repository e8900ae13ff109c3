#!/usr/bin/env bash
# Install/build every validation tool into .tools/ (idempotent; each step is skipped when up to date).
#   setup.sh                 kubeconform + schemas + helm + kube-apiserver/kubectl
#   setup.sh --no-apiserver  kubeconform + schemas + helm (what `npm test` needs)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"${VT_SCRIPT_DIR}/install-kubeconform.sh"
"${VT_SCRIPT_DIR}/k8s-schemas.sh" >/dev/null
"${VT_SCRIPT_DIR}/install-helm.sh"
if [ "${1:-}" != "--no-apiserver" ]; then
  "${VT_SCRIPT_DIR}/install-apiserver.sh"
fi
