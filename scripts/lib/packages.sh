#!/usr/bin/env bash
# The Debian packages of scripts/debian-packages.txt, by group (server, e2e, cluster; default: all).
#
#   packages.sh list    [GROUP...]   the package names
#   packages.sh missing [GROUP...]   the ones not installed (exit 0 either way)
#   packages.sh ensure  [GROUP...]   install the missing ones (apt-get, as root); without root or apt,
#                                    print the apt-get line and exit 3
set -euo pipefail

list_file="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/debian-packages.txt"

list() { # GROUP...
  local want=" $* "
  sed -e 's/#.*//' "${list_file}" | while read -r pkg groups; do
    [ -n "${pkg}" ] || continue
    if [ "$#" -eq 0 ]; then echo "${pkg}"; continue; fi
    for g in ${groups}; do
      if [[ "${want}" == *" ${g} "* ]]; then echo "${pkg}"; break; fi
    done
  done
}

missing() { # GROUP...
  local p
  for p in $(list "$@"); do
    [ "$(dpkg-query -W -f '${db:Status-Status}' "${p}" 2>/dev/null)" = installed ] || echo "${p}"
  done
}

ensure() { # GROUP...
  local need
  mapfile -t need < <(missing "$@")
  [ "${#need[@]}" -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing Debian packages: ${need[*]}; install them with:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 3
  fi
  echo "packages.sh: installing ${need[*]}" >&2
  # No init scripts: apt must not start dockerd/containerd/etcd as services (the tests run their own).
  local policy=/usr/sbin/policy-rc.d
  if [ ! -e "${policy}" ]; then
    printf '#!/bin/sh\nexit 101\n' >"${policy}"
    chmod +x "${policy}"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

cmd="${1:-}"
shift || true
case "${cmd}" in
  list | missing | ensure) "${cmd}" "$@" ;;
  *) sed -n '2,8p' "$0" >&2; exit 2 ;;
esac
