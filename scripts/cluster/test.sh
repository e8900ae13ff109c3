#!/usr/bin/env bash
# npm run test:cluster: build (or reuse) the node's binaries, bring the single-node cluster up,
# run the cluster suite (jest.cluster.config.js; extra jest arguments pass through), take the
# cluster down again, also on failure or Ctrl-C. Prints each phase's time; on success the last line is
#   cluster: <N> images built, pushed and pulled on Kubernetes v1.27.16 (<S> s)
# CLUSTER_STATE_DIR (default .tools/cluster) holds the cluster's state and logs; CLUSTER_KEEP=1 leaves it up.
set -Eeuo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${REPO_ROOT}"
# shellcheck source=../validate-tools/versions.env
source scripts/validate-tools/versions.env
export CLUSTER_STATE_DIR="${CLUSTER_STATE_DIR:-${REPO_ROOT}/.tools/cluster}"

started=${SECONDS}
phase_name="" phase_t0=${SECONDS}
phase() {
  [ -z "${phase_name}" ] || printf 'test:cluster: %-40s %4d s\n' "${phase_name}" $((SECONDS - phase_t0))
  phase_name="$1" phase_t0=${SECONDS}
}
teardown() {
  if [ "${CLUSTER_KEEP:-0}" = 1 ]; then
    echo "test:cluster: cluster left up (CLUSTER_KEEP=1); stop it with: scripts/cluster/cluster.sh down ${CLUSTER_STATE_DIR}"
    phase ""
    return 0
  fi
  phase "cluster down"
  bash scripts/cluster/cluster.sh down "${CLUSTER_STATE_DIR}" || return 1
  phase ""
}
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  teardown || true
  echo "test:cluster: FAILED (exit ${rc}; logs in ${CLUSTER_STATE_DIR}/logs)"
  exit "${rc}"
}

phase "Debian packages (group cluster)"
bash scripts/lib/packages.sh ensure cluster
phase "Kubernetes binaries (.tools/bin)"
bash scripts/validate-tools/install-k8s.sh kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler kube-proxy
phase "helm (.tools/bin, for the Helm route)"
bash scripts/validate-tools/install-helm.sh
phase "CoreDNS (.tools/bin, the cluster DNS)"
bash scripts/cluster/install-coredns.sh
phase "BuildKit (.tools/bin, for the buildkit image stand-in)"
bash scripts/e2e/install-buildkit.sh
trap on_exit EXIT
trap 'exit 130' INT TERM
phase "cluster up"
rm -f "${CLUSTER_STATE_DIR}/images-pulled.txt"
bash scripts/cluster/cluster.sh up "${CLUSTER_STATE_DIR}"
phase "cluster suite (jest)"
npx jest -c jest.cluster.config.js --runInBand "$@"
images=$(sort -u "${CLUSTER_STATE_DIR}/images-pulled.txt" 2>/dev/null | grep -c . || true)
trap - EXIT INT TERM
teardown
printf 'cluster: %d images built, pushed and pulled on Kubernetes %s (%d s)\n' "${images}" "${K8S_VERSION}" $((SECONDS - started))
