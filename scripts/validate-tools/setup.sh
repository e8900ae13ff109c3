#!/usr/bin/env bash
# Install/build every validation tool into .tools/ (idempotent; each step is skipped when up to date).
#   setup.sh                 kubeconform + schemas + kube-apiserver/kubectl
#   setup.sh --no-apiserver  kubeconform + schemas only (seconds)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"${VT_SCRIPT_DIR}/install-kubeconform.sh"
"${VT_SCRIPT_DIR}/k8s-schemas.sh" >/dev/null
if [ "${1:-}" != "--no-apiserver" ]; then
  "${VT_SCRIPT_DIR}/install-apiserver.sh"
fi
