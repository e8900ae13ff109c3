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
 * Why not --delete-untagged: in Distribution 2.8 it also deletes the child
 * manifests of an image index (they have no tag of their own; distribution#3178),
 * which breaks every multi-platform or attested image. But BuildKit's layer cache
 * (`buildcache/<image>:<ref tag>`, mode=max) is exported on every build and moves
 * its tag, so each export leaves the previous cache manifest untagged, and with it
 * every cache blob, forever. So, inside the window and for `buildcache/`
 * repositories only, it removes from the storage the manifest revisions that no
 * tag points at and no kept manifest references (their digest in its content,
 * transitively: a child manifest of a kept index stays), and garbage-collect then
 * frees those manifests and their blobs. A cache export references blobs only:
 * BuildKit 0.32 writes an OCI image manifest whose config is the cache config
 * and whose layers are the cached layers (the e2e reads a real export); older
 * ones wrote an index of blobs. The reference check keeps a child manifest if
 * that ever changes.
 * Nothing imports a cache by digest: builders import `buildcache/<image>:<tag>`.
 * A repository whose kept manifest cannot be read is left alone (fail closed).
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
# Untagged layer-cache manifests (see above): revisions of buildcache/ repositories that no tag
# points at and no kept manifest references. The registry keeps no cache (registry-config.ts), so
# it sees the storage as this leaves it.
prune_cache() {
  v2="$REGISTRY_DATA/docker/registry/v2"
  # buildcache/<image>, image names have no slash; an image named buildcache itself is not matched.
  for m in "$v2"/repositories/buildcache/*/_manifests; do
    if [ ! -d "$m" ]; then continue; fi
    repo=\${m#"$v2/repositories/"}
    repo=\${repo%/_manifests}
    keep=" "
    for link in "$m"/tags/*/current/link; do
      if [ -f "$link" ]; then keep="$keep$(cat "$link") "; fi
    done
    readable=true
    changed=true
    while [ "$changed" = true ]; do
      changed=false
      for rev in "$m"/revisions/sha256/*/; do
        if [ ! -d "$rev" ]; then continue; fi
        d=sha256:$(basename "$rev")
        case "$keep" in *" $d "*) continue ;; esac
        for k in $keep; do
          h=\${k#sha256:}
          data="$v2/blobs/sha256/\${h%"\${h#??}"}/$h/data"
          if [ ! -r "$data" ]; then readable=false; continue; fi
          if grep -qF "$d" "$data"; then keep="$keep$d "; changed=true; break; fi
        done
      done
    done
    if [ "$readable" != true ]; then
      echo "!! [gc] $repo: a tagged cache manifest is missing from the storage; its untagged ones are kept" >&2
      continue
    fi
    n=0
    for rev in "$m"/revisions/sha256/*/; do
      if [ ! -d "$rev" ]; then continue; fi
      case "$keep" in *" sha256:$(basename "$rev") "*) continue ;; esac
      rm -rf "$rev"
      n=$((n + 1))
    done
    echo "==> [gc] $repo: $n untagged layer-cache manifest(s) to collect"
  done
}
collect() {
  started=$(date -u +%s)
  echo "==> [gc] $(date -u +%Y-%m-%dT%H:%M:%SZ) read-only window opens: writes get 503, pulls go on"
  : > "$flag"
  sleep "$GC_DRAIN_SECONDS"
  before=$(size)
  status=0
  prune_cache || status=$?
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
