#!/usr/bin/env bash
# The unprivileged user the buildkit e2e runs rootless BuildKit as, like uid 1000 ("user") in
# moby/buildkit:<version>-rootless: a normal account with a subordinate uid/gid range in
# /etc/subuid and /etc/subgid, which rootlesskit maps into its user namespace through the
# setuid newuidmap/newgidmap of Debian's uidmap package.
#
#   scripts/e2e/buildkit-user.sh ensure   (root) create the user and its ranges if missing
#   scripts/e2e/buildkit-user.sh check    print what is missing and the fix; exit 1 if anything is
#
# The name is BUILDKIT_E2E_USER (default buildkit-e2e). Nothing else on the machine is changed.
set -euo pipefail

user="${BUILDKIT_E2E_USER:-buildkit-e2e}"
# 65536 ids, as the rootless image gives its user; the start is chosen above any range in use.
count=65536

problems() {
  local p=()
  command -v newuidmap >/dev/null 2>&1 && command -v newgidmap >/dev/null 2>&1 || p+=("newuidmap/newgidmap missing: apt-get install uidmap")
  if ! id -u "$user" >/dev/null 2>&1; then
    p+=("user $user missing: sudo $0 ensure")
  else
    grep -q "^${user}:[0-9]*:[0-9]*\$" /etc/subuid 2>/dev/null || p+=("no /etc/subuid range for $user: sudo $0 ensure")
    grep -q "^${user}:[0-9]*:[0-9]*\$" /etc/subgid 2>/dev/null || p+=("no /etc/subgid range for $user: sudo $0 ensure")
  fi
  local max
  max=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)
  [ "$max" -gt 0 ] || p+=("user namespaces are off: sysctl -w user.max_user_namespaces=15000")
  if [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" = 0 ]; then
    p+=("unprivileged user namespaces are off: sysctl -w kernel.unprivileged_userns_clone=1")
  fi
  if [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || echo 0)" = 1 ]; then
    p+=("AppArmor restricts unprivileged user namespaces: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0")
  fi
  [ "${#p[@]}" -eq 0 ] || printf 'buildkit e2e: %s\n' "${p[@]}"
}

next_free_start() { # the first id after every range in /etc/subuid and /etc/subgid, at least 100000
  cat /etc/subuid /etc/subgid 2>/dev/null |
    awk -F: 'BEGIN { m = 100000 } NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print m }'
}

case "${1:-}" in
  check)
    out=$(problems)
    [ -z "$out" ] && exit 0
    echo "$out" >&2
    exit 1
    ;;
  ensure)
    [ "$(id -u)" = 0 ] || { echo "buildkit-user.sh ensure: run as root" >&2; exit 1; }
    if ! id -u "$user" >/dev/null 2>&1; then
      useradd --create-home --shell /usr/sbin/nologin --comment "rootless BuildKit e2e" "$user"
    fi
    touch /etc/subuid /etc/subgid
    for f in /etc/subuid /etc/subgid; do
      if ! grep -q "^${user}:" "$f"; then
        echo "${user}:$(next_free_start):${count}" >>"$f"
      fi
    done
    out=$(problems)
    [ -z "$out" ] || { echo "$out" >&2; exit 1; }
    echo "buildkit e2e user: $user (uid $(id -u "$user")), $(grep "^${user}:" /etc/subuid | cut -d: -f2-) in /etc/subuid"
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
