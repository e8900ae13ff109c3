/**
 * The garbage collector's script: a container in the registry's Pod (it needs
 * the registry's volume), POSIX sh, a constant parameterized only by env.
 *
 * Once a day at GC_AT (UTC, `HH:MM`) it opens a read-only window: it creates
 * `$MAINTENANCE_DIR/read-only`, and from then on the auth proxy answers every
 * write with 503 + Retry-After while pulls go on. It waits GC_DRAIN_SECONDS for
 * requests already let through, runs `registry garbage-collect` (blobs no
 * manifest references any more: those of the manifests retention deleted), and
 * removes the flag, also on failure or SIGTERM. It logs the data size before
 * and after, in KiB.
 *
 * Why this cannot break a push: a push caught by the window fails with 503 and
 * is retried (the builder's Job retries it); the blobs it uploaded before may
 * be collected, but the registry checks that every blob exists when a manifest
 * is put (it keeps no blob cache, see registry-config.ts), so it is re-uploaded,
 * never half-referenced. Pulls are never blocked, and only blobs of deleted
 * manifests go (untagged manifests are kept: no --delete-untagged), so an image
 * pulled by digest keeps working as long as retention keeps its tag.
 *
 * At start-up it removes a flag left behind: the emptyDir outlives a container
 * restart, and a collector killed inside a window by SIGKILL (out of memory,
 * a runtime restart) never runs its EXIT trap: the flag would stay and every
 * push get 503 until the next day's collection. Only this container creates
 * the flag, and a new container has no collection running, so one found at
 * start-up is stale.
 *
 * `GC_NOW=true` runs one collection immediately and exits (tests, or by hand:
 * `kubectl exec deploy/registry -c garbage-collector -- env GC_NOW=true sh -c "$(...)"`).
 */
export const GC_SCRIPT = `set -eu
flag="$MAINTENANCE_DIR/read-only"
trap 'rm -f "$flag"' EXIT
trap 'exit 143' TERM INT
if [ -e "$flag" ]; then
  rm -f "$flag"
  echo "==> [gc] removed a read-only flag left by a collector that did not finish: the registry is writable"
fi
case "$GC_AT" in
  [0-2][0-9]:[0-5][0-9]) ;;
  *) echo "!! GC_AT must be HH:MM (UTC), got '$GC_AT'" >&2; exit 1 ;;
esac
size() { du -sk "$REGISTRY_DATA" | cut -f1; }
collect() {
  started=$(date -u +%s)
  echo "==> [gc] $(date -u +%Y-%m-%dT%H:%M:%SZ) read-only window opens: writes get 503, pulls go on"
  : > "$flag"
  sleep "$GC_DRAIN_SECONDS"
  before=$(size)
  status=0
  registry garbage-collect "$REGISTRY_CONFIG" || status=$?
  after=$(size)
  rm -f "$flag"
  echo "==> [gc] window closed after $(( $(date -u +%s) - started ))s: $before KiB -> $after KiB (registry garbage-collect exit $status)"
  return "$status"
}
if [ "\${GC_NOW:-}" = true ]; then
  collect
  exit
fi
echo "garbage collection daily at $GC_AT UTC"
last=""
while :; do
  today=$(date -u +%Y-%m-%d)
  if [ "$(date -u +%H:%M)" = "$GC_AT" ] && [ "$today" != "$last" ]; then
    last=$today
    collect || echo "!! garbage collection failed; the registry stays writable, next try tomorrow" >&2
  fi
  sleep 20 &
  wait $! || true
done
`;
