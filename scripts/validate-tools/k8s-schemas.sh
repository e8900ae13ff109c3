#!/usr/bin/env bash
# Kubernetes JSON schemas for kubeconform, generated offline from the pinned Kubernetes release.
#
#   k8s-schemas.sh [--force]         build .tools/schemas/${K8S_VERSION}-standalone-strict/ (idempotent) and
#                                    print that directory
#   k8s-schemas.sh swagger [vX.Y.Z]  fetch api/openapi-spec/swagger.json of that Kubernetes release
#                                    (default ${K8S_VERSION}) and print its path
#
# swagger.json comes from the k8s.io/kubernetes module on the Go module proxy
# (`go mod download -json k8s.io/kubernetes@vX.Y.Z`, ~15 MB zip, a few seconds) and is copied to
# .tools/src/swagger/vX.Y.Z/swagger.json. The conversion is done by openapi2jsonschema.mjs (plain Node).
#
# Use with kubeconform:
#   kubeconform -strict -summary -kubernetes-version ${K8S_VERSION#v} \
#     -schema-location '.tools/schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json' FILES
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

fetch_swagger() { # VERSION -> prints path
  local version="$1" dest="${TOOLS_SRC}/swagger/$1/swagger.json" dir
  if [ ! -s "${dest}" ]; then
    vt_setup_go
    dir="$(vt_go_mod_dir k8s.io/kubernetes "${version}")"
    [ -s "${dir}/api/openapi-spec/swagger.json" ] || vt_die "no api/openapi-spec/swagger.json in k8s.io/kubernetes@${version}"
    mkdir -p "$(dirname "${dest}")"
    cp "${dir}/api/openapi-spec/swagger.json" "${dest}.tmp"
    chmod u+w "${dest}.tmp"
    mv "${dest}.tmp" "${dest}"
    vt_log "fetched swagger.json of Kubernetes ${version}"
  fi
  printf '%s\n' "${dest}"
}

case "${1:-}" in
  swagger)
    fetch_swagger "${2:-${K8S_VERSION}}"
    exit 0
    ;;
  --force | "") ;;
  *) vt_die "usage: $0 [--force] | swagger [vX.Y.Z]" ;;
esac

vt_need_node
swagger="$(fetch_swagger "${K8S_VERSION}")"
out="${TOOLS_SCHEMAS}/${K8S_VERSION}-standalone-strict"
converter="${VT_SCRIPT_DIR}/openapi2jsonschema.mjs"
stamp="$(cat "${swagger}" "${converter}" | sha256sum | cut -d' ' -f1)"

if [ "${1:-}" != "--force" ] && [ -f "${out}/.stamp" ] && [ "$(cat "${out}/.stamp")" = "${stamp}" ]; then
  vt_log "schemas up to date: ${out}"
  printf '%s\n' "${out}"
  exit 0
fi

tmp="${out}.tmp.$$"
rm -rf "${tmp}"
trap 'rm -rf "${tmp}"' EXIT
node "${converter}" --swagger "${swagger}" --output "${tmp}" --strict
printf '%s\n' "${stamp}" >"${tmp}/.stamp"
rm -rf "${out}"
mv "${tmp}" "${out}"
trap - EXIT
vt_log "schemas written to ${out}"
printf '%s\n' "${out}"
