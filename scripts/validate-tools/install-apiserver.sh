#!/usr/bin/env bash
# Build kube-apiserver and kubectl ${K8S_VERSION} from the Go module proxy into .tools/bin/
# (the validation layer's API server). Idempotent. See install-k8s.sh for how.
# Usage: scripts/validate-tools/install-apiserver.sh [--force]
exec "$(dirname "${BASH_SOURCE[0]}")/install-k8s.sh" "$@" kube-apiserver kubectl
