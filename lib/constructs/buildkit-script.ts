import { BUILDKIT_GIT_SUFFIX_ERE, BUILDKIT_HTTP_URL_ERE } from '../config/source-rules';
import { PlannedBuild } from '../plan/build-plan';
import { DEFAULT_DOCKERFILE, IMAGE_COUNT_SH, imageEnvironment, PUSH_CREDENTIALS_SH, SCRIPT_DIR } from './builder-script';

/**
 * The buildkit engine's builder script and the environment that parameterizes it.
 *
 * Like the docker engine's script (./builder-script.ts) it is a constant: nothing
 * from builds.yaml is spliced into it; repository, ref, image names, contexts,
 * tags and registry addresses reach it only as environment values, and every
 * expansion is quoted. POSIX sh: busybox ash in moby/buildkit:<v>-rootless, dash
 * in the end-to-end test.
 *
 * It runs rootless BuildKit without a Docker socket: buildkitd (under
 * rootlesskit, as the image's entrypoint would) on the Pod's emptyDir state dir,
 * then buildctl against it. BuildKit fetches the git context itself, so there is
 * no clone and no `apk add`. Steps, each announced with `==> [step] ...`, and a
 * failure ends with `!! build failed at step '<step>'`, as with the docker engine:
 *
 *   resolve          `git ls-remote`: the ref → one commit SHA, once, for every
 *                    image (and its 7-character form for the commit tag)
 *   start-buildkitd  the daemon, until `buildctl debug workers` answers
 *   login            the push credentials checked against the registry (GET /v2/
 *                    with them must answer 200), then written for buildctl
 *   build <image>    every image, layer cache imported from the registry;
 *                    nothing is pushed. The first solve fetches the ref itself
 *                    (`#<ref>?checksum=<sha>`: BuildKit refuses a ref that moved
 *                    since resolve); every later solve names the commit
 *                    (`#<commit>`), which BuildKit finds in its own copy of the
 *                    repository without asking the git server again: a push to
 *                    the branch meanwhile, or the git server gone, changes nothing
 *   push <image>:<tag>  only when every image built: the commit tags of all
 *                    images first, then the moving ones (ref, latest); each push
 *                    re-solves from the local cache (same digest), and the first
 *                    push of an image also exports its layer cache to the registry;
 *                    a push refused with 503 (the registry's read-only window)
 *                    waits and pushes again, PUSH_RETRY_SECONDS of waiting at most
 *   done
 *
 * Pushes go to REGISTRY_HOST, the registry Service's in-cluster address (a
 * rootless BuildKit Pod has its own network: `localhost:<nodePort>` is not the
 * node there). It speaks plain HTTP and is not localhost, hence
 * `registry.insecure=true` on the output and on every cache import and export.
 * The kubelet pulls the same images as `localhost:<REGISTRY_PORT>/<name>:<tag>`,
 * which is what the `pushed ...` lines name.
 */
export const BUILDKIT_SCRIPT = `set -eu
step=start status=0 bkpid='' name='' context='' dockerfile=''
tmp=$(mktemp -d)
stop_buildkitd() {
  if [ -n "$bkpid" ]; then kill "$bkpid" 2>/dev/null || true; wait "$bkpid" 2>/dev/null || true; bkpid=''; fi
}
trap 'status=$?; stop_buildkitd; rm -rf "$tmp"; if [ "$status" -ne 0 ]; then echo "!! build failed at step '"'"'$step'"'"' (exit $status)" >&2; fi' EXIT
# dash and ash skip the EXIT trap on signals: turn the Job deadline's SIGTERM into an exit.
trap 'exit 143' TERM INT
announce() { step="$1"; shift; echo "==> [$step] $*"; }
die() { echo "!! $*" >&2; exit 1; }
# BuildKit's git URL fragment is URL-decoded: keep a literal % in a ref or path.
fragment() { printf '%s' "$1" | sed 's/%/%25/g'; }

${IMAGE_COUNT_SH}
announce resolve "$REPO_URL at $GIT_REF"
# synth's rule (lib/config/source-rules.ts): an http(s) URL, scheme in any case, must end in .git.
if printf '%s' "$REPO_URL" | grep -Eq '${BUILDKIT_HTTP_URL_ERE}' && ! printf '%s' "$REPO_URL" | grep -Eq '${BUILDKIT_GIT_SUFFIX_ERE}'; then
  die "BuildKit takes an http(s) URL for a git repository only when it ends in .git, with no trailing slash: fix the repo $REPO_URL in builds.yaml"
fi
if printf '%s\\n' "$GIT_REF" | grep -Eqx '[0-9a-f]{40}|[0-9a-f]{64}'; then
  # A full commit SHA: nothing to resolve; BuildKit fetches it (or fails at the first build).
  checksum=$GIT_REF commit=$GIT_REF fetch_ref=$GIT_REF
else
  refs=$(git ls-remote -- "$REPO_URL") \\
    || die "cannot list the refs of $REPO_URL: check the repository URL and that this node can reach the git server"
  # As git fetch reads a name: the ref itself, refs/<ref>, refs/tags/<ref>, refs/heads/<ref>.
  # An annotated tag's own object pins the fetch; the commit it points to (^{}) is what is built.
  # The ref comes from the environment (ENVIRON), never from awk's program text or -v (which would unescape it).
  found=$(printf '%s\\n' "$refs" | awk -F '\\t' '
    { sha[$2] = $1 }
    END {
      r = ENVIRON["GIT_REF"]; n = split(r "|refs/" r "|refs/tags/" r "|refs/heads/" r, c, "|")
      for (i = 1; i <= n; i++) if (c[i] in sha) {
        peeled = (c[i] "^{}") in sha ? sha[c[i] "^{}"] : sha[c[i]]
        print sha[c[i]], peeled, c[i]; exit
      }
    }')
  [ -n "$found" ] || die "$REPO_URL has no branch or tag named $GIT_REF: check the ref in builds.yaml"
  checksum=\${found%% *} rest=\${found#* }
  commit=\${rest%% *} fetch_ref=\${rest#* }
fi
short=$(printf '%.7s' "$commit")
echo "resolved $GIT_REF to $commit ($fetch_ref)"

announce start-buildkitd "rootless, state in $HOME/.local/share/buildkit"
printf '%s\\n' "$REGISTRY_HOST" | grep -Eqx '[a-z0-9.-]+:[0-9]+' || die "REGISTRY_HOST must be <service>:<port>, got '$REGISTRY_HOST'"
printf '%s\\n' "$REGISTRY_PORT" | grep -Eqx '[0-9]+' || die "REGISTRY_PORT must be a port number, got '$REGISTRY_PORT'"
# The registry speaks plain HTTP. Pulls of localhost:<nodePort>/... (FROM lines that work on a
# node with the docker engine) go to the same registry at its in-cluster address.
cat >"$tmp/buildkitd.toml" <<EOF
[registry."$REGISTRY_HOST"]
  http = true
  insecure = true
[registry."localhost:$REGISTRY_PORT"]
  mirrors = ["$REGISTRY_HOST"]
EOF
addr="unix://$XDG_RUNTIME_DIR/buildkit/buildkitd.sock"
# BUILDKITD_FLAGS holds flags (word-split on purpose), e.g. --oci-worker-no-process-sandbox.
# shellcheck disable=SC2086
rootlesskit buildkitd $BUILDKITD_FLAGS --config="$tmp/buildkitd.toml" --addr="$addr" >"$tmp/buildkitd.log" 2>&1 &
bkpid=$!
tries=0
until buildctl --addr "$addr" debug workers >/dev/null 2>&1; do
  if ! kill -0 "$bkpid" 2>/dev/null || [ "$tries" -ge 300 ]; then
    cat "$tmp/buildkitd.log" >&2
    die "buildkitd did not start: the node must allow unprivileged user namespaces, and the Pod seccomp and AppArmor Unconfined"
  fi
  tries=$((tries + 1))
  sleep 0.1
done
buildctl --addr "$addr" --version

# ask <METHOD> [<Authorization value>]: one request to the registry's /v2/ (the auth proxy), its
# answer in $tmp/answer and its status in $code (empty: no answer). busybox's nc sends it, and
# printf, a shell builtin, writes the request into the pipe: a credential is on no command line
# (ps) and in no file. nc's input stays open until the answer starts (10 s at most): busybox's
# nc closes its sending side at the end of its input, which nginx takes for a client gone (499)
# when the registry has not answered yet.
ask() {
  : >"$tmp/answer"
  : >"$tmp/answer.err"
  # The loop only watches the files nc writes (whether the answer has started), on purpose.
  # shellcheck disable=SC2094
  {
    printf '%s /v2/ HTTP/1.0\\r\\nHost: %s\\r\\n' "$1" "$REGISTRY_HOST"
    if [ -n "\${2:-}" ]; then printf 'Authorization: %s\\r\\n' "$2"; fi
    printf 'Content-Length: 0\\r\\nConnection: close\\r\\n\\r\\n'
    n=0
    while [ ! -s "$tmp/answer" ] && [ ! -s "$tmp/answer.err" ] && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  } | nc -w 10 "\${REGISTRY_HOST%:*}" "\${REGISTRY_HOST##*:}" >"$tmp/answer" 2>"$tmp/answer.err" || true
  code=$(sed -n '1s/^HTTP\\/[0-9.]* \\([0-9][0-9][0-9]\\).*/\\1/p' "$tmp/answer")
}

announce login "$REGISTRY_HOST with the credentials of Secret $REGISTRY_PUSH_SECRET"
${PUSH_CREDENTIALS_SH}command -v nc >/dev/null 2>&1 || die "this image has no nc (busybox): the login step needs it to check the credentials"
auth=$(printf '%s:%s' "$REGISTRY_USERNAME" "$REGISTRY_PASSWORD" | base64 | tr -d '\n')
unset REGISTRY_PASSWORD
# Check them now, as docker login does, so that a wrong password fails here, not after every
# image is built: GET /v2/ (the ping), which the auth proxy answers 200 only to an account of its
# htpasswd Secret, 401 otherwise. buildctl has no login of its own, and the image has no curl.
ask GET "Basic $auth"
case "$code" in
  200) ;;
  401|403) die "the registry at $REGISTRY_HOST refused the credentials of Secret $REGISTRY_PUSH_SECRET (GET /v2/: HTTP $code): its username and password must be an account of the registry's htpasswd Secret (README: Registry credentials)" ;;
  '')
    cat "$tmp/answer.err" >&2
    die "cannot reach the registry at $REGISTRY_HOST (no HTTP answer to GET /v2/): is the registry Service up? kubectl get pods,svc -l app.kubernetes.io/name=registry" ;;
  *) die "the registry at $REGISTRY_HOST answered GET /v2/ with HTTP $code, not 200: kubectl logs deploy/registry -c auth-proxy" ;;
esac
# buildctl reads the push credentials from $DOCKER_CONFIG/config.json: written here, in the
# container's own temp dir (removed by the EXIT trap), readable by this user only; never printed.
DOCKER_CONFIG="$tmp/docker-config"
export DOCKER_CONFIG
mkdir -p "$DOCKER_CONFIG"
(umask 077 && printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REGISTRY_HOST" "$auth" >"$DOCKER_CONFIG/config.json")
unset auth
echo "logged in to $REGISTRY_HOST (GET /v2/: HTTP 200); credentials in the container's own temp dir (DOCKER_CONFIG)"

# bk <n> [buildctl args...]: build image <n> (pinned git context, its Dockerfile, provenance labels,
# layer cache imported from the registry) with the extra arguments; output shown and kept in $tmp/log.
# Sets name, context and dockerfile for the caller.
bk() {
  eval "name=\\$IMAGE_\${1}_NAME context=\\$IMAGE_\${1}_CONTEXT dockerfile=\\\${IMAGE_\${1}_DOCKERFILE:-${DEFAULT_DOCKERFILE}}"
  shift
  for cache_tag in $CACHE_TAGS; do
    set -- "$@" --import-cache "type=registry,ref=$REGISTRY_HOST/buildcache/$name:$cache_tag,registry.insecure=true"
  done
  {
    if buildctl --addr "$addr" build --progress=plain --frontend dockerfile.v0 \\
      --opt "context=$REPO_URL?checksum=$checksum#$(fragment "$fetch_ref"):$(fragment "$context")" \\
      --opt "filename=$dockerfile" \\
      --opt "label:org.opencontainers.image.source=$REPO_URL" \\
      --opt "label:org.opencontainers.image.revision=$commit" \\
      "$@" 2>&1; then echo 0 >"$tmp/rc"; else echo "$?" >"$tmp/rc"; fi
  } | tee "$tmp/log"
  rc=$(cat "$tmp/rc")
  # BuildKit now holds the commit: every later solve names it, and BuildKit asks the git server
  # nothing more (a branch name would be listed again on every solve, and could have moved).
  if [ "$rc" -eq 0 ]; then checksum=$commit fetch_ref=$commit; fi
  return "$rc"
}
seen() { grep -Eq -- "$1" "$tmp/log"; }
# explain <message>: after a failed solve (BuildKit's own message is above), say which of the
# usual causes it is, or <message>.
explain() {
  if seen 'expected checksum to match'; then
    die "$GIT_REF moved on $REPO_URL during the build (it no longer points to $commit); the next attempt builds the new commit"
  elif seen 'failed to (fetch|checkout) remote'; then
    die "cannot fetch $GIT_REF ($commit) from $REPO_URL: check that the commit exists and that this node can reach the git server"
  elif seen 'invalid subdir'; then
    die "context directory '$context' does not exist in $REPO_URL at $GIT_REF"
  elif seen 'failed to read dockerfile'; then
    die "Dockerfile '$context/$dockerfile' does not exist in $REPO_URL at $GIT_REF"
  fi
  die "$1"
}

i=1
while [ "$i" -le "$image_count" ]; do
  eval "name=\\$IMAGE_\${i}_NAME context=\\$IMAGE_\${i}_CONTEXT dockerfile=\\\${IMAGE_\${i}_DOCKERFILE:-${DEFAULT_DOCKERFILE}}"
  announce "build $name" "context $context, dockerfile $dockerfile"
  bk "$i" || explain "the build of $name failed: see the BuildKit output above"
  i=$((i + 1))
done

# wait_window: a push was refused with 503, as the registry's read-only window (its garbage
# collection) answers every write, with Retry-After. BuildKit's own retries last about a second;
# rather than fail the attempt (a Job retry builds everything again), wait, then the caller pushes
# again. While an anonymous write still gets 503 the window is open: wait as Retry-After says, at
# most 10 s at a time so the push follows soon after it closes; if it has closed, 2 s, once. Every
# wait counts against PUSH_RETRY_SECONDS.
wait_window() {
  left=$((PUSH_RETRY_SECONDS - push_waited))
  [ "$left" -gt 0 ] \\
    || die "push to $REGISTRY_HOST still refused with 503 after \${push_waited}s of waiting (PUSH_RETRY_SECONDS) at step '$step': the registry's read-only window (garbage collection) lasts too long; the Job retries the build"
  ask POST
  if [ "$code" = 503 ]; then
    pause=$(tr -d '\r' <"$tmp/answer" | sed -n 's/^[Rr][Ee][Tt][Rr][Yy]-[Aa][Ff][Tt][Ee][Rr]: *\\([0-9][0-9]*\\)$/\\1/p' | head -n 1)
    why="HTTP 503, Retry-After \${pause:-none}"
    [ -n "$pause" ] || pause=10
    [ "$pause" -le 10 ] || pause=10
    [ "$pause" -ge 1 ] || pause=1
    outside=0
  else
    # Not (or no longer) the window: one more push, in case it just closed; then it is no window.
    [ "$outside" = 0 ] \\
      || die "push to $REGISTRY_HOST failed with 503 at step '$step', but the registry is not in its read-only window (an anonymous write gets \${code:-no answer}): kubectl logs deploy/registry -c registry"
    outside=1
    why="HTTP 503; an anonymous write now gets \${code:-no answer}"
    pause=2
  fi
  [ "$pause" -le "$left" ] || pause=$left
  echo "registry read-only (garbage-collection window, $why): step '$step' waits \${pause}s and pushes again (\${push_waited}s of \${PUSH_RETRY_SECONDS}s waited)"
  sleep "$pause"
  push_waited=$((push_waited + pause))
}

# Push the commit tags of every image first, the moving tags (ref, latest) last. Each push
# re-solves from the local cache; the first push of an image also exports its layer cache.
: "\${PUSH_RETRY_SECONDS:=600}"
case "$PUSH_RETRY_SECONDS" in
  ''|*[!0-9]*) die "PUSH_RETRY_SECONDS must be whole seconds, got '$PUSH_RETRY_SECONDS'" ;;
esac
push_waited=0
export_tag=\${CACHE_TAGS%% *}
for tag in $short $IMAGE_TAGS; do
  i=1
  while [ "$i" -le "$image_count" ]; do
    eval "name=\\$IMAGE_\${i}_NAME"
    announce "push $name:$tag" "$REGISTRY_HOST/$name:$tag (pulled as localhost:$REGISTRY_PORT/$name:$tag)"
    set -- --output "type=image,name=$REGISTRY_HOST/$name:$tag,push=true,registry.insecure=true" --metadata-file "$tmp/metadata.json"
    if [ "$tag" = "$short" ]; then
      set -- "$@" --export-cache "type=registry,ref=$REGISTRY_HOST/buildcache/$name:$export_tag,mode=max,registry.insecure=true"
    fi
    rm -f "$tmp/metadata.json"
    outside=0
    until bk "$i" "$@"; do
      seen '(^error|ERROR).*(503|[Uu]navailable|read-only)' \\
        || explain "push to $REGISTRY_HOST failed: is the registry Service up? kubectl get pods,svc -l app.kubernetes.io/name=registry"
      wait_window
    done
    digest=$(sed -n 's/.*"containerimage.digest": *"\\(sha256:[0-9a-f]*\\)".*/\\1/p' "$tmp/metadata.json" 2>/dev/null || true)
    [ -n "$digest" ] || die "buildctl reported no digest for $REGISTRY_HOST/$name:$tag"
    echo "pushed localhost:$REGISTRY_PORT/$name:$tag@$digest"
    i=$((i + 1))
  done
done
announce "done" "built $image_count image(s) from $commit"
`;

/** Flags for buildkitd: no PID namespace of its own for RUN steps, which a rootless Pod cannot create. */
export const BUILDKITD_FLAGS = '--oci-worker-no-process-sandbox';

/**
 * The script's environment for one planned build, in a stable order, every
 * value a string. Image names, contexts and Dockerfiles use the same
 * IMAGE_<n>_* variables as the docker engine's script, so the policy rules read
 * both alike. Beyond these the script reads what the rootless image sets: HOME,
 * XDG_RUNTIME_DIR, TMPDIR.
 *
 * @param registryPort the registry's NodePort (Registry.nodePort): the kubelet pulls `localhost:<port>/...`
 * @param registryHost the registry Service's in-cluster address (Registry.clusterEndpoint): the builder pushes there
 */
export function buildkitScriptEnvironment(build: PlannedBuild, registryPort: number, registryHost: string): Record<string, string> {
  const env: Record<string, string> = {
    BUILDKITD_FLAGS,
    REGISTRY_PORT: String(registryPort),
    REGISTRY_HOST: registryHost,
    REPO_URL: build.repo,
    GIT_REF: build.ref,
    IMAGE_TAGS: build.tags.join(' '),
    CACHE_TAGS: build.cacheTags.join(' '),
    ...imageEnvironment(build),
  };
  return env;
}

/** The buildkit script's key in its ConfigMap, and its file name under SCRIPT_DIR. */
export const BUILDKIT_SCRIPT_FILE = 'buildkit.sh';

/** What buildkit builders run: the constant script from its ConfigMap, parameters in env. */
export const BUILDKIT_COMMAND = ['sh', `${SCRIPT_DIR}/${BUILDKIT_SCRIPT_FILE}`];
