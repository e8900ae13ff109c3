#!/usr/bin/env bash
# Smoke test / demonstration of scripts/e2e/env.sh:
#   env up -> fixture git repo served by git daemon -> clone tag -> docker build/push
#   through podman's Docker API -> verify via the registry HTTP API -> warm rebuild
#   (cache) -> failure cases (bad git URLs, BuildKit, failing RUN, registry down) -> down.
# Usage: scripts/e2e/smoke.sh            (E2E_KEEP=1 keeps the state dir for inspection)
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ENV_SH="$HERE/env.sh"
STATE=$(mktemp -d /tmp/e2e-smoke.XXXXXX)
PASS=0 FAIL=0

cleanup() {
  local rc=$?
  "$ENV_SH" down "$STATE" || true
  if [[ "${E2E_KEEP:-0}" == 1 ]]; then echo "state kept in $STATE"; else rm -rf "$STATE"; fi
  echo "$PASS passed, $FAIL failed"
  ((FAIL == 0 && rc == 0)) || exit 1
}
trap cleanup EXIT

now() { echo "${EPOCHREALTIME/[.,]/}"; }               # microseconds
ms_since() { echo $((($(now) - $1) / 1000)); }
section() { printf '\n=== %s\n' "$*"; }
ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
nok() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else nok "$what"; fi; }
# run a command that is expected to fail; print its exit code and output
expect_fail() {
  local label=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  echo "--- $label: exit code $rc; output:"
  sed 's/^/    | /' <<<"$out"
  ((rc != 0))
}
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const f=new Function("j","return ("+process.argv[1]+")");const v=f(j);console.log(typeof v==="string"?v:JSON.stringify(v))})' "$1"; }
CURL=(curl -sS --noproxy '*' --max-time 10)

# ------------------------------------------------------------------ env up (timed)
section "env up (first time: empty storage, builds the busybox base image)"
t=$(now); "$ENV_SH" up "$STATE" > /dev/null; T_UP_FIRST=$(ms_since "$t")
echo "env up #1: ${T_UP_FIRST} ms"; sed 's/^/    | /' "$STATE/logs/up.log"
"$ENV_SH" down "$STATE"
"$ENV_SH" down "$STATE"   # second down must be harmless
section "env up again (base image already in storage)"
t=$(now); "$ENV_SH" up "$STATE" > /dev/null; T_UP_AGAIN=$(ms_since "$t")
echo "env up #2: ${T_UP_AGAIN} ms"; sed 's/^/    | /' "$STATE/logs/up.log"
# shellcheck disable=SC1091
. "$STATE/env"
cat "$STATE/env"
check "status reports running" "$ENV_SH" status "$STATE"

section "docker CLI against podman"
docker version --format 'client {{.Client.Version}} (API {{.Client.APIVersion}}) / server {{.Server.Version}} (API {{.Server.APIVersion}})'
check "base image present" docker image inspect "$BASE_IMAGE" --format '{{.Id}}'

# ------------------------------------------------------------------ fixture repo
section "fixture repo served by git daemon"
export GIT_AUTHOR_NAME=e2e GIT_AUTHOR_EMAIL=e2e@example.invalid GIT_COMMITTER_NAME=e2e GIT_COMMITTER_EMAIL=e2e@example.invalid
export GIT_CONFIG_NOSYSTEM=1 HOME="$STATE/home" GIT_TERMINAL_PROMPT=0
SRC="$STATE/src/fixture"
mkdir -p "$SRC/hasher" "$SRC/api"
cat > "$SRC/hasher/Dockerfile" <<'EOF'
FROM localhost/e2e-busybox:1
LABEL org.opencontainers.image.title="hasher" e2e.fixture="hasher"
ENV HASHER_ALGO=sha256
COPY hash.sh /usr/local/bin/hash.sh
RUN chmod +x /usr/local/bin/hash.sh && echo "hasher built" > /built.txt
CMD ["/usr/local/bin/hash.sh"]
EOF
printf '#!/bin/sh\nsha256sum "$@"\n' > "$SRC/hasher/hash.sh"
cat > "$SRC/api/Dockerfile" <<'EOF'
FROM localhost/e2e-busybox:1
LABEL org.opencontainers.image.title="api" e2e.fixture="api"
ENV API_PORT=8080
RUN mkdir -p /srv && echo "api built" > /srv/built.txt
CMD ["httpd", "-f", "-p", "8080", "-h", "/srv"]
EOF
git init -q -b main "$SRC"
git -C "$SRC" add -A && git -C "$SRC" commit -qm "fixture v1.0.0" && git -C "$SRC" tag v1.0.0
git init -q --bare "$GIT_ROOT/fixture.git"
git -C "$SRC" push -q "${GIT_BASE}fixture.git" main v1.0.0 2>&1
check "ls-remote over git:// shows main and v1.0.0" \
  bash -c "git ls-remote '${GIT_BASE}fixture.git' | grep -q refs/heads/main && git ls-remote '${GIT_BASE}fixture.git' | grep -q refs/tags/v1.0.0"

# ------------------------------------------------------------------ cold build + push
section "clone --branch v1.0.0, cold build + push"
WS="$STATE/ws1"
git -c advice.detachedHead=false clone -q --depth 1 --branch v1.0.0 "${GIT_BASE}fixture.git" "$WS" 2>&1
check "workspace has hasher/Dockerfile" test -f "$WS/hasher/Dockerfile"
IMG="localhost:$REGISTRY_PORT/hasher:v1.0.0"
t=$(now)
docker build -t "$IMG" -f "$WS/hasher/Dockerfile" "$WS/hasher" > "$STATE/build-cold.log" 2>&1
T_BUILD_COLD=$(ms_since "$t")
t=$(now)
docker push "$IMG" > "$STATE/push-cold.log" 2>&1
T_PUSH_COLD=$(ms_since "$t")
echo "--- docker build (cold) output:"; sed 's/^/    | /' "$STATE/build-cold.log"
echo "--- docker push output:"; sed 's/^/    | /' "$STATE/push-cold.log"
PUSH_DIGEST=$(sed -n 's/^.*: digest: \(sha256:[0-9a-f]\{64\}\) size: [0-9]*$/\1/p' "$STATE/push-cold.log" | tail -1)
check "push printed '<tag>: digest: sha256:… size: N'" test -n "$PUSH_DIGEST"

# ------------------------------------------------------------------ registry API
section "registry HTTP API ($REGISTRY_URL)"
CAT=$("${CURL[@]}" "$REGISTRY_URL/v2/_catalog"); echo "catalog: $CAT"
check "catalog lists hasher" grep -q '"hasher"' <<<"$CAT"
TAGS=$("${CURL[@]}" "$REGISTRY_URL/v2/hasher/tags/list"); echo "tags: $TAGS"
check "tags/list has v1.0.0" grep -q '"v1.0.0"' <<<"$TAGS"
ACCEPT='application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json'
HDRS=$("${CURL[@]}" -I -H "Accept: $ACCEPT" "$REGISTRY_URL/v2/hasher/manifests/v1.0.0")
echo "$HDRS" | tr -d '\r' | sed 's/^/    | /'
REG_DIGEST=$(tr -d '\r' <<<"$HDRS" | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
MEDIA=$(tr -d '\r' <<<"$HDRS" | awk -F': ' 'tolower($1)=="content-type"{print $2}')
echo "manifest media type: $MEDIA; registry digest: $REG_DIGEST; push digest: $PUSH_DIGEST"
check "manifest has a Docker-Content-Digest" test -n "$REG_DIGEST"
check "push digest == registry digest" test "$REG_DIGEST" == "$PUSH_DIGEST"
MANIFEST=$("${CURL[@]}" -H "Accept: $ACCEPT" "$REGISTRY_URL/v2/hasher/manifests/v1.0.0")
check "sha256(manifest body) == digest" test "sha256:$(printf '%s' "$MANIFEST" | sha256sum | cut -d' ' -f1)" == "$REG_DIGEST"
check "manifest resolvable by digest" "${CURL[@]}" -f -o /dev/null -H "Accept: $ACCEPT" "$REGISTRY_URL/v2/hasher/manifests/$REG_DIGEST"
OCI_CT=$("${CURL[@]}" -o /dev/null -w '%{content_type}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$REGISTRY_URL/v2/hasher/manifests/v1.0.0")
echo "with Accept: OCI only -> Content-Type: $OCI_CT"
CFG_DIGEST=$(json 'j.config.digest' <<<"$MANIFEST")
CONFIG=$("${CURL[@]}" -L "$REGISTRY_URL/v2/hasher/blobs/$CFG_DIGEST")
echo "config labels: $(json 'j.config.Labels' <<<"$CONFIG")"
echo "config env:    $(json 'j.config.Env' <<<"$CONFIG")"
check "config has LABEL e2e.fixture=hasher" test "$(json 'j.config.Labels["e2e.fixture"]' <<<"$CONFIG")" == hasher
check "config has ENV HASHER_ALGO=sha256" bash -c "grep -q 'HASHER_ALGO=sha256' <<<'$(json 'j.config.Env' <<<"$CONFIG")'"
check "config digest == local image id" test "$CFG_DIGEST" == "$(docker image inspect "$IMG" --format '{{.Id}}')"
echo "local RepoDigests (NOT the registry digest): $(docker image inspect "$IMG" --format '{{json .RepoDigests}}')"
for l in $(json 'j.layers.map(l=>l.digest).join(" ")' <<<"$MANIFEST"); do
  code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -I "$REGISTRY_URL/v2/hasher/blobs/$l")
  check "layer $l present ($code)" test "$code" == 200
done

# ------------------------------------------------------------------ warm build + push
section "warm rebuild, same workspace"
t=$(now)
docker build -t "$IMG" -f "$WS/hasher/Dockerfile" "$WS/hasher" > "$STATE/build-warm.log" 2>&1
T_BUILD_WARM=$(ms_since "$t")
t=$(now); docker push "$IMG" > "$STATE/push-warm.log" 2>&1; T_PUSH_WARM=$(ms_since "$t")
sed 's/^/    | /' "$STATE/build-warm.log" "$STATE/push-warm.log"
check "warm build used the cache" grep -q 'Using cache' "$STATE/build-warm.log"
check "warm push gives the same digest" grep -q "digest: $PUSH_DIGEST" "$STATE/push-warm.log"

section "warm rebuild from a fresh clone (new mtimes), as the pod script would"
WS2="$STATE/ws2"
git -c advice.detachedHead=false clone -q --depth 1 --branch v1.0.0 "${GIT_BASE}fixture.git" "$WS2" 2>&1
t=$(now)
docker build -t "$IMG" -f "$WS2/hasher/Dockerfile" "$WS2/hasher" > "$STATE/build-warm2.log" 2>&1
T_BUILD_WARM2=$(ms_since "$t")
t=$(now); docker push "$IMG" > "$STATE/push-warm2.log" 2>&1; T_PUSH_WARM2=$(ms_since "$t")
check "fresh-clone build: all steps cached" test "$(grep -c 'Using cache' "$STATE/build-warm2.log")" -ge 4
check "fresh-clone push gives the same digest" grep -q "digest: $PUSH_DIGEST" "$STATE/push-warm2.log"

section "push by IP name (127.0.0.1:PORT is also marked insecure)"
docker tag "$IMG" "$REGISTRY/hasher:by-ip"
check "push $REGISTRY/hasher:by-ip" docker push "$REGISTRY/hasher:by-ip"
check "tags/list has by-ip" bash -c "curl -s --noproxy '*' '$REGISTRY_URL/v2/hasher/tags/list' | grep -q by-ip"

section "second image from the other directory"
check "build api" docker build -q -t "localhost:$REGISTRY_PORT/api:v1.0.0" -f "$WS/api/Dockerfile" "$WS/api"
check "push api" docker push "localhost:$REGISTRY_PORT/api:v1.0.0"
check "catalog lists api and hasher" bash -c "'${CURL[0]}' -s --noproxy '*' '$REGISTRY_URL/v2/_catalog' | grep -q '\"api\",\"hasher\"'"

# ------------------------------------------------------------------ failure cases
section "failure cases"
check "clone of a missing repo fails" expect_fail "git clone missing repo" \
  git clone -q "${GIT_BASE}nope.git" "$STATE/ws-nope"
DEAD_PORT=$(( GIT_PORT == 65535 ? GIT_PORT - 1 : GIT_PORT + 1 ))
while (exec 3<>"/dev/tcp/127.0.0.1/$DEAD_PORT") 2>/dev/null; do DEAD_PORT=$((DEAD_PORT + 1)); done
check "clone from a closed port fails" expect_fail "git clone closed port" \
  git clone -q "git://127.0.0.1:$DEAD_PORT/fixture.git" "$STATE/ws-dead"
check "clone of a missing tag fails" expect_fail "git clone missing tag" \
  git clone -q --branch v9.9.9 "${GIT_BASE}fixture.git" "$STATE/ws-notag"
check "DOCKER_BUILDKIT=1 fails (no buildx)" expect_fail "DOCKER_BUILDKIT=1 docker build" \
  env DOCKER_BUILDKIT=1 docker build -t "localhost:$REGISTRY_PORT/bk:x" "$WS/hasher"
mkdir -p "$STATE/badctx" && printf 'FROM localhost/e2e-busybox:1\nRUN echo boom >&2; exit 3\n' > "$STATE/badctx/Dockerfile"
check "failing RUN fails the build" expect_fail "docker build with failing RUN" \
  docker build -t "localhost:$REGISTRY_PORT/bad:x" "$STATE/badctx"
check "missing Dockerfile fails the build" expect_fail "docker build -f missing" \
  docker build -t "localhost:$REGISTRY_PORT/bad:x" -f "$WS/nope/Dockerfile" "$WS/hasher"
check "push of an image that was never built fails" expect_fail "docker push unknown image" \
  docker push "localhost:$REGISTRY_PORT/never-built:v0"

# registry down: stop only the registry, then push
kill -TERM "$REGISTRY_PID"
for _ in $(seq 1 50); do [[ "$(awk '{print $3}' /proc/$REGISTRY_PID/stat 2>/dev/null || echo Z)" == Z ]] && break; sleep 0.1; done
docker tag "$IMG" "localhost:$REGISTRY_PORT/hasher:v1.0.1"
t=$(now)
check "push with registry down fails" expect_fail "docker push, registry down" \
  docker push "localhost:$REGISTRY_PORT/hasher:v1.0.1"
echo "(took $(ms_since "$t") ms)"

# ------------------------------------------------------------------ summary
section "timings (ms)"
printf '%-40s %8s\n' "env up (first, builds base image)" "$T_UP_FIRST" \
  "env up (again)" "$T_UP_AGAIN" \
  "cold build" "$T_BUILD_COLD" "cold push" "$T_PUSH_COLD" \
  "warm build (same workspace)" "$T_BUILD_WARM" "warm push" "$T_PUSH_WARM" \
  "warm build (fresh clone)" "$T_BUILD_WARM2" "warm push (fresh clone)" "$T_PUSH_WARM2"
t=$(now); "$ENV_SH" down "$STATE"; echo "env down: $(ms_since "$t") ms"
