#!/usr/bin/env bash
# npm run apiserver -- start|stop|status: the project's private API server (etcd + kube-apiserver on
# 127.0.0.1, scripts/validate-tools/apiserver.sh), built on first use; prints KUBECONFIG=<path>.
# No controller-manager or kubelet: Jobs are stored, never run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in
  start)
    bash "${here}/validate-tools/install-apiserver.sh"
    bash "${here}/validate-tools/apiserver.sh" start
    ;;
  stop | status) bash "${here}/validate-tools/apiserver.sh" "$1" ;;
  *) echo "usage: npm run apiserver -- start|stop|status" >&2; exit 2 ;;
esac
if [ "$1" != stop ]; then
  bash "${here}/validate-tools/apiserver.sh" env | sed -n 's/^export //p'
fi
