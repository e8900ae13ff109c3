#!/usr/bin/env bash
# A real, local Kubernetes API server for validation: etcd + kube-apiserver ${K8S_VERSION}, loopback only,
# no controller-manager/scheduler/kubelet (objects are validated, defaulted and stored, never run).
#
#   apiserver.sh start    start etcd and kube-apiserver if not running; wait for /readyz; write .tools/run/kubeconfig
#   apiserver.sh stop     stop both, remove pid files (data is kept)
#   apiserver.sh status   print state; exit 0 if ready, 3 if not running/ready
#   apiserver.sh reset    stop and delete .tools/run (etcd data, certificates, kubeconfig, logs)
#   apiserver.sh env      print `export KUBECONFIG=...`
#
# Then:  .tools/bin/kubectl --kubeconfig .tools/run/kubeconfig apply --dry-run=server -f x.yaml
#
# Prerequisites: .tools/bin/kube-apiserver (install-apiserver.sh); etcd >= ${ETCD_MIN_VERSION}, openssl, curl
# (group "server" of scripts/debian-packages.txt; installed with apt-get when run as root).
#
# Configuration notes:
#  * Authentication: client certificate CN=validate-admin,O=system:masters (RBAC superuser); CA, serving
#    certificate (SAN 127.0.0.1/localhost/kubernetes.default...), client cert and the service-account
#    signing key are created once with openssl under .tools/run/pki/.
#  * Admission: the defaults of ${K8S_VERSION} minus ServiceAccount, which needs the controller-manager's
#    token/serviceaccount controllers (without it, Pods fail with 'serviceaccount "default" not found').
#  * --endpoint-reconciler-type=none: the "kubernetes" Service endpoint would be 127.0.0.1, which Endpoints
#    validation rejects (loopback); nothing here needs that Service. Unless APISERVER_ADDRESS names another
#    address of this machine (the cluster test: the node's Pod bridge address): then the API server listens
#    there instead of on loopback, its certificate names that address too, and the "kubernetes" Service's
#    Endpoints point at it, so Pods reach the API server at kubernetes.default (10.96.0.1:443).
#  * --allow-privileged=true as on kubeadm clusters, so privileged build containers validate like there.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# APISERVER_RUN_DIR: another state dir (the cluster test keeps its own); APISERVER_PROFILE=cluster keeps
# the ServiceAccount admission plugin (a controller-manager runs there) and reaches the kubelet.
RUN_DIR="${APISERVER_RUN_DIR:-${TOOLS_RUN}}"
PROFILE="${APISERVER_PROFILE:-validate}"
PKI="${RUN_DIR}/pki"
ETCD_DATA="${RUN_DIR}/etcd-data"
KUBECONFIG_FILE="${RUN_DIR}/kubeconfig"
ETCD_PID="${RUN_DIR}/etcd.pid"
APISERVER_PID="${RUN_DIR}/kube-apiserver.pid"
ETCD_LOG="${RUN_DIR}/etcd.log"
APISERVER_LOG="${RUN_DIR}/kube-apiserver.log"
ETCD_URL="http://127.0.0.1:${ETCD_CLIENT_PORT}"
# The address the API server listens on and advertises (APISERVER_ADDRESS: see the notes above).
APISERVER_ADDRESS="${APISERVER_ADDRESS:-127.0.0.1}"
APISERVER_URL="https://${APISERVER_ADDRESS}:${APISERVER_PORT}"
SERVICE_CIDR="10.96.0.0/12" # virtual ClusterIP range (allocation only; no traffic, no kube-proxy)

# ---------------------------------------------------------------- process helpers
# daemon_start/daemon_pid/daemon_stop/daemon_wait/port_in_use (one implementation for every environment)
DAEMON_LOG_PREFIX="[validate-tools]"
# shellcheck source=../lib/daemon.sh
source "${VT_SCRIPT_DIR}/../lib/daemon.sh"

# ---------------------------------------------------------------- prerequisites
find_etcd() {
  if [ -n "${ETCD_BIN:-}" ]; then printf '%s\n' "${ETCD_BIN}"; return; fi
  if [ -x "${TOOLS_BIN}/etcd" ]; then printf '%s\n' "${TOOLS_BIN}/etcd"; return; fi
  command -v etcd
}

check_etcd_version() { # BIN
  local v
  v="$("$1" --version 2>/dev/null | sed -n 's/^etcd Version: //p')"
  # sort -V: minimum first means v >= min
  if [ -z "$v" ] || [ "$(printf '%s\n%s\n' "${ETCD_MIN_VERSION}" "$v" | sort -V | head -n1)" != "${ETCD_MIN_VERSION}" ]; then
    vt_die "etcd $1 is '${v:-unknown}', need >= ${ETCD_MIN_VERSION}"
  fi
}

# ---------------------------------------------------------------- certificates
make_pki() {
  mkdir -p "${PKI}"
  chmod 700 "${PKI}"
  local days=3650
  if [ ! -s "${PKI}/ca.crt" ] || [ ! -s "${PKI}/ca.key" ]; then
    rm -f "${PKI}"/*.crt "${PKI}"/*.key "${PKI}"/*.csr
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "${days}" \
      -keyout "${PKI}/ca.key" -out "${PKI}/ca.crt" -subj "/CN=validate-tools-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  fi
  # (again when an earlier certificate lacks the address it is to serve on)
  if [ ! -s "${PKI}/apiserver.crt" ] ||
    ! openssl x509 -in "${PKI}/apiserver.crt" -noout -ext subjectAltName 2>/dev/null | grep -qE "IP Address:${APISERVER_ADDRESS//./\\.}(,|$)"; then
    openssl req -newkey rsa:2048 -nodes -keyout "${PKI}/apiserver.key" -out "${PKI}/apiserver.csr" \
      -subj "/CN=kube-apiserver" 2>/dev/null
    printf '%s\n' \
      "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,IP:10.96.0.1$([ "${APISERVER_ADDRESS}" = 127.0.0.1 ] || echo ",IP:${APISERVER_ADDRESS}"),DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      >"${PKI}/apiserver.ext"
    openssl x509 -req -sha256 -days "${days}" -in "${PKI}/apiserver.csr" -CA "${PKI}/ca.crt" -CAkey "${PKI}/ca.key" \
      -CAcreateserial -extfile "${PKI}/apiserver.ext" -out "${PKI}/apiserver.crt" 2>/dev/null
  fi
  if [ ! -s "${PKI}/admin.crt" ]; then
    openssl req -newkey rsa:2048 -nodes -keyout "${PKI}/admin.key" -out "${PKI}/admin.csr" \
      -subj "/O=system:masters/CN=validate-admin" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >"${PKI}/admin.ext"
    openssl x509 -req -sha256 -days "${days}" -in "${PKI}/admin.csr" -CA "${PKI}/ca.crt" -CAkey "${PKI}/ca.key" \
      -CAcreateserial -extfile "${PKI}/admin.ext" -out "${PKI}/admin.crt" 2>/dev/null
  fi
  if [ ! -s "${PKI}/sa.key" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "${PKI}/sa.key" 2>/dev/null
    openssl pkey -in "${PKI}/sa.key" -pubout -out "${PKI}/sa.pub" 2>/dev/null
  fi
  chmod 600 "${PKI}"/*.key
}

write_kubeconfig() {
  local b64="base64 -w0"
  cat >"${KUBECONFIG_FILE}.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: validate-tools
    cluster:
      server: ${APISERVER_URL}
      certificate-authority-data: $(${b64} <"${PKI}/ca.crt")
users:
  - name: validate-admin
    user:
      client-certificate-data: $(${b64} <"${PKI}/admin.crt")
      client-key-data: $(${b64} <"${PKI}/admin.key")
contexts:
  - name: validate-tools
    context:
      cluster: validate-tools
      user: validate-admin
      namespace: default
current-context: validate-tools
EOF
  chmod 600 "${KUBECONFIG_FILE}.tmp"
  mv "${KUBECONFIG_FILE}.tmp" "${KUBECONFIG_FILE}"
}

api_get() { # PATH -> body (fails on HTTP error)
  curl -sf --max-time 5 --cacert "${PKI}/ca.crt" --cert "${PKI}/admin.crt" --key "${PKI}/admin.key" \
    "${APISERVER_URL}$1"
}

etcd_healthy() { curl -sf --max-time 3 "${ETCD_URL}/health" 2>/dev/null | grep -q '"health":"true"'; }
apiserver_ready() { [ "$(api_get /readyz 2>/dev/null)" = "ok" ]; }

wait_for() { # SECONDS DESCRIPTION PIDFILE LOG CHECK...
  daemon_wait "$@" || vt_die "$2 did not start"
}

# ---------------------------------------------------------------- commands
start() {
  local t0=${SECONDS}
  if [ -f "${KUBECONFIG_FILE}" ] && daemon_pid "${ETCD_PID}" "${ETCD_DATA}" >/dev/null &&
    daemon_pid "${APISERVER_PID}" "${PKI}/" >/dev/null && apiserver_ready; then
    vt_log "already running and ready: ${APISERVER_URL} (kubeconfig ${KUBECONFIG_FILE})"
    return 0
  fi
  [ -x "${TOOLS_BIN}/kube-apiserver" ] ||
    vt_die "${TOOLS_BIN}/kube-apiserver missing; run scripts/validate-tools/install-apiserver.sh"
  # etcd-server, openssl, curl (scripts/debian-packages.txt, group "server"): installed when root, else exit 3
  "${VT_SCRIPT_DIR}/../lib/packages.sh" ensure server
  local etcd_bin
  etcd_bin="$(find_etcd)"
  check_etcd_version "${etcd_bin}"
  mkdir -p "${RUN_DIR}"
  make_pki
  write_kubeconfig

  if ! daemon_pid "${ETCD_PID}" "${ETCD_DATA}" >/dev/null; then
    rm -f "${ETCD_PID}"
    port_in_use "${ETCD_CLIENT_PORT}" && vt_die "port ${ETCD_CLIENT_PORT} (ETCD_CLIENT_PORT) is already in use"
    port_in_use "${ETCD_PEER_PORT}" && vt_die "port ${ETCD_PEER_PORT} (ETCD_PEER_PORT) is already in use"
    mkdir -p "${ETCD_DATA}"
    chmod 700 "${ETCD_DATA}"
    [ "$(uname -m)" = aarch64 ] && export ETCD_UNSUPPORTED_ARCH=arm64
    vt_log "starting etcd ($("${etcd_bin}" --version | sed -n 's/^etcd Version: //p')) on ${ETCD_URL}"
    daemon_start "${ETCD_PID}" "${ETCD_LOG}" "${etcd_bin}" \
      --name validate-tools \
      --data-dir "${ETCD_DATA}" \
      --listen-client-urls "${ETCD_URL}" \
      --advertise-client-urls "${ETCD_URL}" \
      --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" \
      --initial-cluster "validate-tools=http://127.0.0.1:${ETCD_PEER_PORT}" \
      --logger zap --log-level warn
  fi
  wait_for 30 etcd "${ETCD_PID}" "${ETCD_LOG}" etcd_healthy

  if ! daemon_pid "${APISERVER_PID}" "${PKI}/" >/dev/null; then
    rm -f "${APISERVER_PID}"
    port_in_use "${APISERVER_PORT}" && vt_die "port ${APISERVER_PORT} (APISERVER_PORT) is already in use"
    vt_log "starting kube-apiserver $("${TOOLS_BIN}/kube-apiserver" --version | awk '{print $2}') on ${APISERVER_URL}"
    local admission=(--disable-admission-plugins ServiceAccount) reconciler=none
    # Pods can reach a non-loopback address: the "kubernetes" Service gets it as its endpoint
    [ "${APISERVER_ADDRESS}" = 127.0.0.1 ] || reconciler=lease
    if [ "${PROFILE}" = cluster ]; then
      # a kubelet runs: reach it by its InternalIP (no DNS for the node name), as admin (logs, exec)
      admission=(--kubelet-preferred-address-types InternalIP
        --kubelet-client-certificate "${PKI}/admin.crt" --kubelet-client-key "${PKI}/admin.key")
    fi
    daemon_start "${APISERVER_PID}" "${APISERVER_LOG}" "${TOOLS_BIN}/kube-apiserver" \
      --etcd-servers "${ETCD_URL}" \
      --bind-address "${APISERVER_ADDRESS}" \
      --advertise-address "${APISERVER_ADDRESS}" \
      --secure-port "${APISERVER_PORT}" \
      --tls-cert-file "${PKI}/apiserver.crt" \
      --tls-private-key-file "${PKI}/apiserver.key" \
      --client-ca-file "${PKI}/ca.crt" \
      --authorization-mode RBAC \
      --service-account-issuer https://kubernetes.default.svc.cluster.local \
      --service-account-key-file "${PKI}/sa.pub" \
      --service-account-signing-key-file "${PKI}/sa.key" \
      --service-cluster-ip-range "${SERVICE_CIDR}" \
      "${admission[@]}" \
      --endpoint-reconciler-type "${reconciler}" \
      --allow-privileged=true \
      --profiling=false \
      --v=1
  fi
  wait_for 120 kube-apiserver "${APISERVER_PID}" "${APISERVER_LOG}" apiserver_ready
  # The "default" namespace is created by a bootstrap loop shortly after readiness.
  local deadline=$((SECONDS + 30))
  until api_get /api/v1/namespaces/default >/dev/null 2>&1; do
    [ "${SECONDS}" -lt "${deadline}" ] || vt_die "namespace default not created (log: ${APISERVER_LOG})"
    sleep 0.5
  done
  vt_log "ready in $((SECONDS - t0))s: ${APISERVER_URL}; kubeconfig ${KUBECONFIG_FILE}"
}

stop() {
  daemon_stop "${APISERVER_PID}" kube-apiserver "${PKI}/"
  daemon_stop "${ETCD_PID}" etcd "${ETCD_DATA}"
}

status() {
  local rc=0 pid
  if pid="$(daemon_pid "${ETCD_PID}" "${ETCD_DATA}")"; then
    echo "etcd:           running (pid ${pid}), $(etcd_healthy && echo healthy || echo unhealthy), ${ETCD_URL}"
  else
    echo "etcd:           not running"; rc=3
  fi
  if pid="$(daemon_pid "${APISERVER_PID}" "${PKI}/")"; then
    echo "kube-apiserver: running (pid ${pid}), readyz: $(api_get /readyz 2>/dev/null || echo not-ready), ${APISERVER_URL}"
    apiserver_ready || rc=3
  else
    echo "kube-apiserver: not running"; rc=3
  fi
  echo "kubeconfig:     ${KUBECONFIG_FILE}"
  return "${rc}"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) stop; rm -rf "${RUN_DIR}"; vt_log "removed ${RUN_DIR}" ;;
  env) printf 'export KUBECONFIG=%q\n' "${KUBECONFIG_FILE}" ;;
  *) echo "usage: $0 start|stop|status|reset|env" >&2; exit 2 ;;
esac
