# shellcheck shell=bash
# Daemon helpers shared by every test environment (validate-tools/apiserver.sh, e2e/env.sh,
# cluster/cluster.sh). Source it; do not execute it. No global state except DAEMON_LOG_PREFIX.
#
#   daemon_start PIDFILE LOG CMD...     detached (own session, stdin /dev/null, output appended to LOG);
#                                       PIDFILE holds the pid of CMD itself (written before exec)
#   daemon_pid PIDFILE [MATCH]          print the pid if alive (not a zombie) and, when MATCH is given,
#                                       its command line contains MATCH (guards against pid reuse)
#   daemon_stop PIDFILE NAME [MATCH] [SECONDS]   TERM, wait up to SECONDS (default 10), then KILL;
#                                       removes PIDFILE; a pid that is no longer ours is left alone
#   daemon_wait SECONDS NAME PIDFILE LOG CHECK...   run CHECK until it succeeds; fail (and print the
#                                       log's tail) when the daemon exits or the deadline passes
#   pid_alive PID                       the process exists and is not a zombie
#   port_in_use PORT                    something listens on PORT (any address; reads /proc)
#   free_port [LOW HIGH]                a port nothing listens on, below the ephemeral range by default

DAEMON_LOG_PREFIX="${DAEMON_LOG_PREFIX:-daemon}"

daemon_log() { printf '%s: %s\n' "${DAEMON_LOG_PREFIX}" "$*" >&2; }

daemon_start() { # PIDFILE LOG CMD...
  local pidfile="$1" log="$2"; shift 2
  rm -f "${pidfile}"
  mkdir -p "$(dirname "${pidfile}")" "$(dirname "${log}")"
  # shellcheck disable=SC2016 # $$ and $0 belong to the inner sh
  setsid sh -c 'echo $$ > "$0"; exec "$@"' "${pidfile}" "$@" </dev/null >>"${log}" 2>&1 &
  local i
  for i in $(seq 1 50); do
    [ -s "${pidfile}" ] && return 0
    sleep 0.1
  done
  daemon_log "${pidfile}: no pid written after 5s (${i} tries)"
  return 1
}

pid_alive() { # PID
  local state
  [[ "${1:-}" =~ ^[0-9]+$ ]] || return 1
  state="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [ -n "${state}" ] && [ "${state}" != Z ] && [ "${state}" != X ]
}

daemon_pid() { # PIDFILE [MATCH]
  local pid
  pid="$(cat "$1" 2>/dev/null || true)"
  pid_alive "${pid}" || return 1
  if [ -n "${2:-}" ]; then
    [[ "$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null)" == *"$2"* ]] || return 1
  fi
  printf '%s\n' "${pid}"
}

daemon_stop() { # PIDFILE NAME [MATCH] [SECONDS]
  local pidfile="$1" name="$2" match="${3:-}" secs="${4:-10}" pid i
  if pid="$(daemon_pid "${pidfile}" "${match}")"; then
    kill -TERM "${pid}" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
      daemon_pid "${pidfile}" >/dev/null || break
      sleep 0.1
    done
    if daemon_pid "${pidfile}" >/dev/null; then
      daemon_log "${name} (pid ${pid}) did not exit on SIGTERM within ${secs}s; sending SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        daemon_pid "${pidfile}" >/dev/null || break
        sleep 0.1
      done
    fi
    daemon_log "stopped ${name} (pid ${pid})"
  elif [ -s "${pidfile}" ] && [ -n "${match}" ] && daemon_pid "${pidfile}" >/dev/null; then
    daemon_log "pid $(cat "${pidfile}") of ${name} is not ours any more; left alone"
  fi
  rm -f "${pidfile}"
}

daemon_wait() { # SECONDS NAME PIDFILE LOG CHECK...
  local secs="$1" name="$2" pidfile="$3" log="$4"; shift 4
  local deadline=$((SECONDS + secs))
  until "$@"; do
    if ! daemon_pid "${pidfile}" >/dev/null; then
      tail -n 30 "${log}" >&2 2>/dev/null || true
      daemon_log "${name} exited during startup (log: ${log})"
      return 1
    fi
    if [ "${SECONDS}" -ge "${deadline}" ]; then
      tail -n 30 "${log}" >&2 2>/dev/null || true
      daemon_log "${name} not ready after ${secs}s (log: ${log})"
      return 1
    fi
    sleep 0.2
  done
}

port_in_use() { # PORT
  local hex
  hex="$(printf '%04X' "$1")"
  awk -v p=":${hex}" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

free_port() { # [LOW HIGH]
  local lo hi p tries=0 eph
  read -r eph _ </proc/sys/net/ipv4/ip_local_port_range || eph=32768
  lo="${1:-20000}" hi="${2:-$((eph - 1))}"
  while ((tries++ < 200)); do
    p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    port_in_use "${p}" || { printf '%s\n' "${p}"; return 0; }
  done
  daemon_log "no free TCP port in ${lo}-${hi}"
  return 1
}
