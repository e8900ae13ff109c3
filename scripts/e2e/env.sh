#!/usr/bin/env bash
# End-to-end test environment: a Docker-API socket (podman), a real registry
# (Distribution 2.8) behind its auth proxy (nginx: anonymous pulls, pushes with
# credentials) and a git daemon, all on loopback, all state in one dir.
#
#   scripts/e2e/env.sh up   <statedir> [registryPort]   # port 0 / omitted = pick a free one
#   scripts/e2e/env.sh down <statedir>                  # stops only what `up` started; idempotent
#   scripts/e2e/env.sh status <statedir>
#
# After `up`, <statedir>/env.json has the same as JSON, and `. <statedir>/env` exports DOCKER_HOST, DOCKER_CONFIG, DOCKER_BUILDKIT,
# GIT_BASE, GIT_ROOT, GIT_PORT, REGISTRY, REGISTRY_PORT, REGISTRY_URL, BASE_IMAGE,
# E2E_STATE_DIR, REGISTRY_USERNAME, REGISTRY_PASSWORD (the push credentials), and
# REGISTRY_BACKEND_URL (the registry itself, behind the proxy), REGISTRY_CONFIG,
# REGISTRY_DATA, MAINTENANCE_DIR (the garbage collector's read-only flag goes there).
# The registry and proxy configurations come from lib/constructs/registry-config.ts
# (scripts/e2e/registry-configs.ts), the same text the manifests carry.
#
# Nothing is installed here. Required: the Debian packages of group "e2e" in scripts/debian-packages.txt
# (scripts/lib/packages.sh ensure e2e), plus the docker CLI (client only) for whatever talks to DOCKER_HOST.
#
# Layout of <statedir>:
#   conf/      containers.conf storage.conf registries.conf registry.yml nginx.conf htpasswd
#   nginx/     the proxy's temp files    maintenance/  read-only flag of the GC window
#   podman/    root/ runroot/ tmp/       (vfs storage, never /var/lib/containers)
#   registry/  registry blobs
#   git/       served by git daemon as git://127.0.0.1:<port>/<name>  (export-all, receive-pack on)
#   base/      build context of the busybox base image
#   run/       docker.sock        pids/ *.pid        logs/ *.log
#   home/      HOME for the git daemon     docker-config/  DOCKER_CONFIG
#   env        shell-sourceable summary
set -Eeuo pipefail

BASE_IMAGE_REF="localhost/e2e-busybox:1"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# The push credentials of the test registry (a test-only account; the password is random per `up`).
REGISTRY_USER_NAME=e2e-builder
READY_TIMEOUT="${E2E_READY_TIMEOUT:-60}"

die() { echo "env.sh: error: $*" >&2; exit 1; }
log() { echo "env.sh: $*" >&2; }

usage() {
  sed -n '2,12p' "$0" >&2
  exit 2
}

# ---------------------------------------------------------------- prereqs
check_prereqs() {
  local missing=() pkgs=()
  need() { # need <cmd-or-path> <debian package>
    if [[ "$1" == /* ]]; then [[ -x "$1" ]] || { missing+=("$1"); pkgs+=("$2"); }
    else command -v "$1" >/dev/null 2>&1 || { missing+=("$1"); pkgs+=("$2"); }
    fi
  }
  need podman podman
  need conmon conmon
  need runc runc
  need docker-registry docker-registry
  need git git
  need /usr/lib/git-core/git-daemon git
  need /bin/busybox busybox-static
  need curl curl
  need nginx nginx-light
  need htpasswd apache2-utils
  need setsid util-linux
  [[ -x "$ROOT/node_modules/.bin/ts-node" ]] || { missing+=("$ROOT/node_modules/.bin/ts-node"); pkgs+=("(npm ci)"); }
  if [[ -x /bin/busybox ]] && ldd /bin/busybox >/dev/null 2>&1; then
    missing+=("static /bin/busybox (found a dynamic one)"); pkgs+=(busybox-static)
  fi
  [[ -f /etc/containers/policy.json ]] || { missing+=(/etc/containers/policy.json); pkgs+=(golang-github-containers-common); }
  if ((${#missing[@]})); then
    echo "env.sh: missing prerequisites: ${missing[*]}" >&2
    echo "env.sh: install them with (as root): scripts/lib/packages.sh ensure e2e" >&2
    echo "  = apt-get install -y --no-install-recommends $(bash "$(dirname "${BASH_SOURCE[0]}")/../lib/packages.sh" list e2e | tr '\n' ' ')" >&2
    exit 3
  fi
  if ! getent ahosts localhost | grep -q '^127\.0\.0\.1'; then
    die "'localhost' does not resolve to 127.0.0.1 (see /etc/hosts); pushes to localhost:<port> would miss the registry"
  fi
}

# ---------------------------------------------------------------- helpers
json_str() { local v=${1//\\/\\\\}; v=${v//\"/\\\"}; printf '"%s"' "$v"; }

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd -P); }

# daemon_start/daemon_stop/pid_alive/port_in_use/free_port: one implementation for every environment
DAEMON_LOG_PREFIX=env.sh
# shellcheck source=../lib/daemon.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/daemon.sh"
alive() { pid_alive "${1:-}"; }
pick_port() { free_port 20000 "$(($(cut -f1 /proc/sys/net/ipv4/ip_local_port_range) - 1))" || die "could not find a free TCP port"; }

cmdline_of() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null || true; }

# start <name> [VAR=value...] <cmd...> : detached (own session), with a clean
# environment (env -i: no inherited REGISTRY_*/DOCKER_*/proxy variables — docker-registry
# reads every REGISTRY_* variable as a config override), stdin /dev/null, output to
# logs/<name>.log, pid file pids/<name>.pid (= the service's pid).
start() {
  local name=$1; shift
  daemon_start "$S/pids/$name.pid" "$S/logs/$name.log" \
    env -i PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" LANG=C.UTF-8 \
    HOME="$S/home" TMPDIR="$S/podman/tmp" "$@" || { log "$name: did not start (no pid file)"; return 1; }
}

pid_of() { cat "$S/pids/$1.pid" 2>/dev/null || true; }

fail_with_log() { # fail_with_log <name> <message>
  log "$2"
  if [[ -f "$S/logs/$1.log" ]]; then
    echo "---- last lines of $S/logs/$1.log" >&2
    tail -n 20 "$S/logs/$1.log" >&2
    echo "----" >&2
  fi
  return 1
}

# Podman (containers/image) hard-codes two host paths for root: the blob-info cache
# /var/lib/containers/cache/blob-info-cache-v1.boltdb and runc's state dir /run/runc
# (used by RUN steps). Podman runs in a private mount namespace where both are
# bind-mounted from the state dir, so nothing is written there (only the empty
# mount-point directories are created if missing). Mounts made by podman/runc also
# stay inside that namespace and vanish with it.
NS_PREFIX=()
setup_ns_prefix() {
  NS_PREFIX=()
  [[ "${E2E_NO_MOUNTNS:-0}" == 1 ]] && return 0
  if ! unshare --mount --propagation private true 2>/dev/null; then
    log "warning: cannot create a mount namespace (unshare); podman will write /var/lib/containers/cache and /run/runc"
    return 0
  fi
  mkdir -p "$S/podman/host-cache" "$S/podman/runc" /var/lib/containers/cache /run/runc
  # shellcheck disable=SC2016 # expanded by the inner sh
  NS_PREFIX=(unshare --mount --propagation private sh -c
    'mount --bind "$0/podman/host-cache" /var/lib/containers/cache && mount --bind "$0/podman/runc" /run/runc && exec "$@"'
    "$S")
}

podman_cmd() {
  "${NS_PREFIX[@]}" podman --root "$S/podman/root" --runroot "$S/podman/runroot" --storage-driver vfs \
    --tmpdir "$S/podman/tmp" "$@"
}

export_podman_env() {
  export CONTAINERS_CONF="$S/conf/containers.conf"
  export CONTAINERS_STORAGE_CONF="$S/conf/storage.conf"
  export CONTAINERS_REGISTRIES_CONF="$S/conf/registries.conf"
  export REGISTRY_AUTH_FILE="$S/conf/auth.json"
  export TMPDIR="$S/podman/tmp"
  unset CONTAINERS_REGISTRIES_CONF_DIR XDG_RUNTIME_DIR CONTAINER_HOST CONTAINER_CONNECTION CONTAINER_SSHKEY 2>/dev/null || true
}

# ---------------------------------------------------------------- configs
write_configs() {
  mkdir -p "$S"/{conf,podman/root,podman/runroot,podman/tmp,podman/net,registry,git,base,run,pids,logs,home,docker-config}
  cat > "$S/conf/containers.conf" <<EOF
# generated by scripts/e2e/env.sh
[containers]
cgroups = "disabled"
netns = "host"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
events_logfile_path = "$S/podman/events.log"
tmp_dir = "$S/podman/tmp"
static_dir = "$S/podman/root/libpod"
volume_path = "$S/podman/root/volumes"

[network]
network_config_dir = "$S/podman/net"
EOF
  cat > "$S/conf/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$S/podman/runroot"
graphroot = "$S/podman/root"
EOF
  [[ -f "$S/conf/auth.json" ]] || echo '{}' > "$S/conf/auth.json"
  # push credentials: bcrypt (htpasswd -B), as the README tells operators; the password via stdin
  if [[ ! -s "$S/conf/htpasswd" || ! -s "$S/conf/password" ]]; then
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$S/conf/password")
    htpasswd -iBc "$S/conf/htpasswd" "$REGISTRY_USER_NAME" < "$S/conf/password" 2>>"$S/logs/up.log"
  fi
  [[ -f "$S/docker-config/config.json" ]] || echo '{}' > "$S/docker-config/config.json"
}

write_registry_configs() { # <proxyPort> <registryPort>
  local rp=$1
  cat > "$S/conf/registries.conf" <<EOF
# generated by scripts/e2e/env.sh: the test registry speaks plain HTTP
unqualified-search-registries = []
short-name-mode = "disabled"

[[registry]]
location = "localhost:$rp"
insecure = true

[[registry]]
location = "127.0.0.1:$rp"
insecure = true
EOF
  # registry.yml and nginx.conf: the manifests' own configuration, loopback ports and paths
  "$ROOT/node_modules/.bin/ts-node" --transpile-only "$ROOT/scripts/e2e/registry-configs.ts" "$S" "$rp" "$2" \
    >>"$S/logs/up.log" 2>&1 || fail_with_log up "writing the registry and proxy configuration failed"
}

# ---------------------------------------------------------------- services
build_base_image() {
  if podman_cmd image exists "$BASE_IMAGE_REF" 2>/dev/null; then
    log "base image $BASE_IMAGE_REF already in storage"
    return 0
  fi
  log "building base image $BASE_IMAGE_REF from /bin/busybox"
  cp /bin/busybox "$S/base/busybox"
  cat > "$S/base/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /usr/bin /sbin /usr/sbin /tmp /root /etc /var/tmp && /bin/busybox --install -s && chmod 1777 /tmp /var/tmp && echo root:x:0:0:root:/root:/bin/sh > /etc/passwd && echo root:x:0: > /etc/group"]
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["/bin/sh"]
EOF
  podman_cmd build --format docker --network host --pull=never \
      -t "$BASE_IMAGE_REF" "$S/base" >>"$S/logs/base-build.log" 2>&1 \
    || fail_with_log base-build "building $BASE_IMAGE_REF failed" || return 1
}

start_podman() {
  local sock="$S/run/docker.sock"
  ((${#sock} < 100)) || die "socket path too long for a unix socket (${#sock} chars): $sock — use a shorter <statedir>"
  rm -f "$sock"
  start podman CONTAINERS_CONF="$CONTAINERS_CONF" CONTAINERS_STORAGE_CONF="$CONTAINERS_STORAGE_CONF" \
    CONTAINERS_REGISTRIES_CONF="$CONTAINERS_REGISTRIES_CONF" REGISTRY_AUTH_FILE="$REGISTRY_AUTH_FILE" \
    "${NS_PREFIX[@]}" podman --root "$S/podman/root" --runroot "$S/podman/runroot" \
    --storage-driver vfs --tmpdir "$S/podman/tmp" --log-level info \
    system service --time=0 "unix://$sock"
  local deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    alive "$(pid_of podman)" || { fail_with_log podman "podman service exited"; return 1; }
    if [[ -S "$sock" ]] && [[ "$(curl -s --max-time 2 --unix-socket "$sock" http://d/_ping 2>/dev/null)" == OK ]]; then
      return 0
    fi
    sleep 0.1
  done
  fail_with_log podman "podman service not ready after ${READY_TIMEOUT}s"
}

start_registry() { # <proxyPort> <registryPort>
  local rp=$1 bp=$2
  start registry docker-registry serve "$S/conf/registry.yml"
  # as root, keep nginx's workers root too: the state dir is private (0700)
  local user=()
  ((EUID == 0)) && user=(-g 'daemon off; user root;') || user=(-g 'daemon off;')
  start nginx nginx -e stderr -c "$S/conf/nginx.conf" "${user[@]}"
  local deadline=$((SECONDS + READY_TIMEOUT)) hdr
  while ((SECONDS < deadline)); do
    alive "$(pid_of registry)" || return 1 # caller decides (port taken?)
    alive "$(pid_of nginx)" || return 1
    # ready: the registry answers directly, and through the proxy the ping asks for credentials
    hdr=$(curl -s --noproxy '*' --max-time 2 -o /dev/null -D - "http://127.0.0.1:$bp/v2/" 2>/dev/null || true)
    if grep -qi '^Docker-Distribution-Api-Version: registry/2.0' <<<"$hdr" \
       && grep -q "listening on 127.0.0.1:$bp" "$S/logs/registry.log"; then
      hdr=$(curl -s --noproxy '*' --max-time 2 -o /dev/null -D - "http://127.0.0.1:$rp/v2/" 2>/dev/null || true)
      if grep -q '^HTTP/1.1 401' <<<"$hdr" && grep -qi '^WWW-Authenticate: Basic' <<<"$hdr"; then
        return 0
      fi
    fi
    sleep 0.1
  done
  fail_with_log registry "registry not ready on 127.0.0.1:$bp after ${READY_TIMEOUT}s" || true
  fail_with_log nginx "registry proxy not ready on 127.0.0.1:$rp after ${READY_TIMEOUT}s"
}

start_git() { # <port>
  local gp=$1
  # git-daemon run directly (not via `git daemon`, which would fork it as a child
  # and leave the recorded pid pointing at a wrapper). Isolated config for the daemon
  # and the upload-pack/receive-pack it spawns (GIT_CONFIG_COUNT is inherited).
  start git XDG_CONFIG_HOME="$S/home/.config" GIT_CONFIG_NOSYSTEM=1 \
    GIT_CONFIG_COUNT=3 \
    GIT_CONFIG_KEY_0=uploadpack.allowAnySHA1InWant GIT_CONFIG_VALUE_0=true \
    GIT_CONFIG_KEY_1=receive.denyCurrentBranch GIT_CONFIG_VALUE_1=ignore \
    GIT_CONFIG_KEY_2=safe.directory GIT_CONFIG_VALUE_2='*' \
    "$(git --exec-path)/git-daemon" --reuseaddr --listen=127.0.0.1 --port="$gp" \
    --base-path="$S/git" --export-all --enable=receive-pack --informative-errors \
    --verbose --log-destination=stderr "$S/git"
  local deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    alive "$(pid_of git)" || return 1
    if grep -q 'Ready to rumble' "$S/logs/git.log" 2>/dev/null \
       && (exec 3<>"/dev/tcp/127.0.0.1/$gp") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  fail_with_log git "git daemon not ready on 127.0.0.1:$gp after ${READY_TIMEOUT}s"
}

# ---------------------------------------------------------------- up / down
up_fail() {
  trap - ERR
  log "up failed: $*; stopping what was started (logs kept in $S/logs)"
  cmd_down >/dev/null 2>&1 || true
  exit 1
}

cmd_up() {
  local want_rp=${1:-0}
  [[ "$want_rp" =~ ^[0-9]{1,5}$ ]] || die "bad registry port: $want_rp"
  want_rp=$((10#$want_rp))
  ((want_rp < 65536)) || die "bad registry port: $want_rp"
  check_prereqs
  if ((want_rp)) && port_in_use "$want_rp"; then
    die "registry port $want_rp is already in use on this machine (pass 0 to pick a free one)"
  fi
  local n
  for n in podman registry nginx git; do
    if alive "$(pid_of "$n")"; then die "$S is already up ($n pid $(pid_of "$n")); run: $0 down $S"; fi
  done
  rm -f "$S/env" "$S/pids/"*.pid
  mkdir -p "$S/logs"
  : > "$S/logs/up.log"

  # on any failure: stop whatever we started, keep logs
  trap 'up_fail "unexpected error (rc=$?) at line $LINENO"' ERR
  trap 'up_fail "interrupted"' INT TERM

  local t0=${EPOCHREALTIME/[.,]/}
  mark() { echo "$1: $(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 )) ms" >> "$S/logs/up.log"; }
  write_configs
  export_podman_env
  setup_ns_prefix
  build_base_image || up_fail "base image build failed"
  mark "base image ready"
  start_podman || up_fail "podman API service failed"
  mark "podman API ready"

  local rp bp attempt
  for attempt in 1 2 3 4 5; do
    if ((want_rp)); then rp=$want_rp; else rp=$(pick_port); fi
    if port_in_use "$rp"; then
      ((want_rp)) && up_fail "registry port $rp is already in use on this machine"
      continue
    fi
    bp=$(pick_port)
    [[ "$bp" != "$rp" ]] || continue
    write_registry_configs "$rp" "$bp"
    : > "$S/logs/registry.log"
    : > "$S/logs/nginx.log"
    if start_registry "$rp" "$bp"; then break; fi
    stop_pidfile "$S/pids/nginx.pid"; stop_pidfile "$S/pids/registry.pid"
    if grep -qi 'address already in use' "$S/logs/nginx.log" && ((want_rp)); then
      up_fail "registry port $rp is already in use on this machine"
    fi
    if grep -qi 'address already in use' "$S/logs/registry.log" "$S/logs/nginx.log" && ((attempt < 5)); then
      log "registry port $rp was taken meanwhile, retrying"; continue
    fi
    fail_with_log registry "docker-registry failed to start on 127.0.0.1:$rp" || true
    up_fail "could not start the registry"
  done
  { alive "$(pid_of registry)" && alive "$(pid_of nginx)"; } || up_fail "could not start the registry"
  mark "registry ready"

  local gp
  for attempt in 1 2 3 4 5; do
    gp=$(pick_port)
    [[ "$gp" != "$rp" ]] || continue
    : > "$S/logs/git.log"
    if start_git "$gp"; then break; fi
    if grep -q 'unable to allocate any listen sockets' "$S/logs/git.log" && ((attempt < 5)); then
      log "git port $gp was taken meanwhile, retrying"; continue
    fi
    fail_with_log git "git daemon failed to start on 127.0.0.1:$gp" || true
    up_fail "could not start git daemon"
  done
  alive "$(pid_of git)" || up_fail "could not start git daemon"
  mark "git daemon ready"

  {
    echo "# generated by scripts/e2e/env.sh up — source me"
    printf 'export E2E_STATE_DIR=%q\n' "$S"
    printf 'export DOCKER_HOST=%q\n' "unix://$S/run/docker.sock"
    printf 'export DOCKER_CONFIG=%q\n' "$S/docker-config"
    echo "# docker CLI 28 has no buildx here: force the classic builder (podman's API has no BuildKit)"
    echo "export DOCKER_BUILDKIT=0"
    printf 'export GIT_BASE=%q\n' "git://127.0.0.1:$gp/"
    printf 'export GIT_PORT=%q\n' "$gp"
    printf 'export GIT_ROOT=%q\n' "$S/git"
    printf 'export REGISTRY=%q\n' "127.0.0.1:$rp"
    printf 'export REGISTRY_PORT=%q\n' "$rp"
    printf 'export REGISTRY_URL=%q\n' "http://127.0.0.1:$rp"
    printf 'export BASE_IMAGE=%q\n' "$BASE_IMAGE_REF"
    printf 'export REGISTRY_USERNAME=%q\n' "$REGISTRY_USER_NAME"
    printf 'export REGISTRY_PASSWORD=%q\n' "$(cat "$S/conf/password")"
    printf 'export REGISTRY_BACKEND_URL=%q\n' "http://127.0.0.1:$bp"
    printf 'export REGISTRY_CONFIG=%q REGISTRY_DATA=%q MAINTENANCE_DIR=%q\n' "$S/conf/registry.yml" "$S/registry" "$S/maintenance"
    printf 'export PODMAN_PID=%q REGISTRY_PID=%q NGINX_PID=%q GIT_DAEMON_PID=%q\n' "$(pid_of podman)" "$(pid_of registry)" "$(pid_of nginx)" "$(pid_of git)"
  } > "$S/env.tmp"
  mv "$S/env.tmp" "$S/env"
  {
    printf '{\n'
    printf '  "stateDir": %s,\n' "$(json_str "$S")"
    printf '  "dockerHost": %s,\n' "$(json_str "unix://$S/run/docker.sock")"
    printf '  "dockerSocket": %s,\n' "$(json_str "$S/run/docker.sock")"
    printf '  "dockerConfig": %s,\n' "$(json_str "$S/docker-config")"
    printf '  "gitBase": %s,\n' "$(json_str "git://127.0.0.1:$gp/")"
    printf '  "gitPort": %s,\n' "$gp"
    printf '  "gitRoot": %s,\n' "$(json_str "$S/git")"
    printf '  "registry": %s,\n' "$(json_str "127.0.0.1:$rp")"
    printf '  "registryPort": %s,\n' "$rp"
    printf '  "registryUrl": %s,\n' "$(json_str "http://127.0.0.1:$rp")"
    printf '  "baseImage": %s,\n' "$(json_str "$BASE_IMAGE_REF")"
    printf '  "registryUsername": %s,\n' "$(json_str "$REGISTRY_USER_NAME")"
    printf '  "registryPassword": %s,\n' "$(json_str "$(cat "$S/conf/password")")"
    printf '  "registryBackendUrl": %s,\n' "$(json_str "http://127.0.0.1:$bp")"
    printf '  "registryConfig": %s,\n' "$(json_str "$S/conf/registry.yml")"
    printf '  "registryData": %s,\n' "$(json_str "$S/registry")"
    printf '  "maintenanceDir": %s,\n' "$(json_str "$S/maintenance")"
    printf '  "pids": {"podman": %s, "registry": %s, "nginx": %s, "gitDaemon": %s}\n' "$(pid_of podman)" "$(pid_of registry)" "$(pid_of nginx)" "$(pid_of git)"
    printf '}\n'
  } > "$S/env.json.tmp"
  mv "$S/env.json.tmp" "$S/env.json"
  trap - ERR INT TERM
  log "up: DOCKER_HOST=unix://$S/run/docker.sock REGISTRY=127.0.0.1:$rp GIT_BASE=git://127.0.0.1:$gp/ BASE_IMAGE=$BASE_IMAGE_REF"
  cat "$S/env"
}

# stop one recorded service: TERM, wait, KILL. Only if its cmdline mentions $S.
stop_pidfile() { daemon_stop "$1" "$(basename "$1" .pid)" "$S"; }

starttime() { awk '{sub(/^.*\) /, ""); print $20}' "/proc/$1/stat" 2>/dev/null || true; }

# all descendants of the given pids as pid:starttime, into DESCENDANTS
DESCENDANTS=()
collect_descendants() {
  local -A kids=()
  local d pid ppid
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    ppid=$(awk '{sub(/^.*\) /, ""); print $2}' "$d/stat" 2>/dev/null) || continue
    [[ -n "$ppid" ]] && kids[$ppid]+=" $pid"
  done
  local queue=("$@") cur c
  while ((${#queue[@]})); do
    cur=${queue[0]}; queue=("${queue[@]:1}")
    for c in ${kids[$cur]:-}; do
      DESCENDANTS+=("$c:$(starttime "$c")")
      queue+=("$c")
    done
  done
}

# leftovers that belong to this state dir (conmon/runc/git children), never
# ourselves or our ancestors
sweep() {
  local self_chain=" " p=$$ pid comm d
  while [[ -n "$p" && "$p" != 0 ]]; do
    self_chain+="$p "
    p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null || true)
  done
  local victims=() ps
  # descendants of our services recorded before they were stopped (RUN-step
  # processes run under podman -> buildah-oci-runtime -> runc), if still the same process
  for ps in "${DESCENDANTS[@]}"; do
    pid=${ps%:*}
    [[ "$self_chain" == *" $pid "* ]] && continue
    alive "$pid" && [[ "$(starttime "$pid")" == "${ps#*:}" ]] && victims+=("$pid")
  done
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [[ "$self_chain" == *" $pid "* ]] && continue
    alive "$pid" || continue
    # processes of a RUN step / container of ours: their mount table comes from our storage
    if awk -v s="$S/" 'index($4, s)==1 {f=1; exit} END{exit !f}' "$d/mountinfo" 2>/dev/null; then
      victims+=("$pid"); continue
    fi
    comm=$(cat "$d/comm" 2>/dev/null || true)
    case "$comm" in
      conmon|runc|podman|git-daemon|git|git-upload-pack|git-receive-pack|docker-registry|nginx|catatonit|buildah|unshare) ;;
      *) continue ;;
    esac
    [[ "$(cmdline_of "$pid")" == *"$S/"* ]] && victims+=("$pid")
  done
  if ((${#victims[@]})); then
    log "stopping leftovers: ${victims[*]}"
    kill -TERM "${victims[@]}" 2>/dev/null || true
    sleep 1
    for pid in "${victims[@]}"; do
      if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
  fi
  # mounts left under the state dir (container shm etc.), deepest first
  local mnts
  mnts=$(awk -v s="$S/" 'index($5, s)==1 {print $5}' /proc/self/mountinfo | sort -r || true)
  if [[ -n "$mnts" ]]; then
    while read -r m; do
      if umount -l "$m" 2>/dev/null; then log "unmounted $m"; fi
    done <<<"$mnts"
  fi
}

cmd_down() {
  local any=0 f ours=() pid
  for f in "$S/pids/"*.pid; do
    [[ -e "$f" ]] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    alive "$pid" && [[ "$(cmdline_of "$pid")" == *"$S"* ]] && ours+=("$pid")
  done
  ((${#ours[@]})) && collect_descendants "${ours[@]}"
  if [[ -d "$S/pids" ]]; then
    # git first (no new clones), then registry, then the API service
    for f in "$S/pids/git.pid" "$S/pids/nginx.pid" "$S/pids/registry.pid" "$S/pids/podman.pid" "$S/pids/"*.pid; do
      [[ -e "$f" ]] || continue
      any=1
      stop_pidfile "$f"
    done
  fi
  sweep
  rm -f "$S/run/docker.sock" "$S/env" "$S/env.json"
  ((any)) || log "down: nothing recorded as running in $S"
  return 0
}

cmd_status() {
  local n rc=0
  for n in podman registry nginx git; do
    if alive "$(pid_of "$n")"; then echo "$n: running (pid $(pid_of "$n"))"; else echo "$n: stopped"; rc=1; fi
  done
  return $rc
}

# ---------------------------------------------------------------- main
[[ $# -ge 2 ]] || usage
action=$1
[[ -n "$2" ]] || usage
case "$action" in
  up)
    S=$(abs_dir "$2")
    cmd_up "${3:-0}"
    ;;
  down)
    [[ -d "$2" ]] || { log "down: $2 does not exist; nothing to do"; exit 0; }
    S=$(cd "$2" && pwd -P)
    cmd_down
    ;;
  status)
    S=$(cd "$2" && pwd -P)
    cmd_status
    ;;
  *) usage ;;
esac
