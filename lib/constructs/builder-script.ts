import { PlannedBuild } from '../plan/build-plan';
import { PUSH_SECRET_ENV_PREFIX, PUSH_SECRET_PASSWORD_KEY, PUSH_SECRET_USERNAME_KEY } from './contract';

/** Where the builder sees the node's /var/run (read-only): the Docker socket is below it. */
export const NODE_RUN_MOUNT = '/node/run';

/** Where the builder's emptyDir is mounted; the script clones below it. */
export const WORKSPACE_PATH = '/workspace';

/** The Dockerfile of an image whose env has no IMAGE_<n>_DOCKERFILE (the script's default). */
export const DEFAULT_DOCKERFILE = 'Dockerfile';

/**
 * Both engines' scripts: how many images the build has, counted from the
 * environment (IMAGE_1_NAME, IMAGE_2_NAME, ... up to the first one unset), so
 * the Job carries no count to keep in step with them.
 */
export const IMAGE_COUNT_SH = `# The images are IMAGE_1_*, IMAGE_2_*, ... up to the first IMAGE_<n>_NAME unset; an unset
# IMAGE_<n>_DOCKERFILE means ${DEFAULT_DOCKERFILE}.
image_count=0
while :; do
  eval "next=\\\${IMAGE_$((image_count + 1))_NAME:-}"
  [ -n "$next" ] || break
  image_count=$((image_count + 1))
done
[ "$image_count" -ge 1 ] || die "no IMAGE_1_NAME in the environment: this builder names no image to build"
`;

/**
 * Both engines' scripts, at their login step: the push credentials from the
 * Secret's keys (envFrom), into shell variables that no child process inherits
 * (the exported PUSH_SECRET_* are unset at once), or a clear failure naming
 * the Secret and the key it lacks.
 */
export const PUSH_CREDENTIALS_SH = `# The push Secret comes whole (envFrom, prefix ${PUSH_SECRET_ENV_PREFIX}): keys ${PUSH_SECRET_USERNAME_KEY} and ${PUSH_SECRET_PASSWORD_KEY}.
REGISTRY_USERNAME=\${${PUSH_SECRET_ENV_PREFIX}${PUSH_SECRET_USERNAME_KEY}:-} REGISTRY_PASSWORD=\${${PUSH_SECRET_ENV_PREFIX}${PUSH_SECRET_PASSWORD_KEY}:-}
unset ${PUSH_SECRET_ENV_PREFIX}${PUSH_SECRET_USERNAME_KEY} ${PUSH_SECRET_ENV_PREFIX}${PUSH_SECRET_PASSWORD_KEY}
[ -n "$REGISTRY_USERNAME" ] || die "Secret $REGISTRY_PUSH_SECRET has no key ${PUSH_SECRET_USERNAME_KEY}, or it is empty: the push Secret needs keys ${PUSH_SECRET_USERNAME_KEY} and ${PUSH_SECRET_PASSWORD_KEY} (README: Registry credentials)"
[ -n "$REGISTRY_PASSWORD" ] || die "Secret $REGISTRY_PUSH_SECRET has no key ${PUSH_SECRET_PASSWORD_KEY}, or it is empty: the push Secret needs keys ${PUSH_SECRET_USERNAME_KEY} and ${PUSH_SECRET_PASSWORD_KEY} (README: Registry credentials)"
`;

/**
 * The builder's shell script and the environment that parameterizes it.
 *
 * The script is a constant: nothing from builds.yaml is ever spliced into it.
 * Repository, ref, image names, contexts and tags reach it only as environment
 * values, and it quotes every expansion. It is POSIX sh, so the same text runs
 * under the docker image's busybox ash and under dash in the end-to-end test.
 *
 * Steps, each announced with `==> [step] ...` so `kubectl logs` reads as a
 * timeline, and a failure ends with `!! build failed at step '<step>'`:
 *   install-git → login → clone → build <image> (all images) → push <image>:<tag> → done
 * The login step reads the push credentials from the push Secret's keys
 * (envFrom: PUSH_SECRET_username, PUSH_SECRET_password; PUSH_CREDENTIALS_SH), pipes the password to
 * `docker login --password-stdin`, and keeps the resulting config.json in the
 * Pod's emptyDir (DOCKER_CONFIG=$WORKSPACE/docker-config), never in the node's
 * Docker configuration, and the EXIT trap removes that directory whether the
 * build succeeded or failed (a finished Pod's emptyDir stays on the node until
 * the Job's ttlSecondsAfterFinished); nothing prints a credential.
 * Every image is built before anything is pushed, so a broken context or
 * Dockerfile pushes nothing under the final tags; then the commit tags are
 * pushed before the moving ones (ref, latest).
 */
export const BUILD_SCRIPT = `set -eu
step=start login_dir=''
# On every exit, success or failure: the login's client configuration (the base64 credentials
# in config.json) goes first, so it does not outlive the build in the emptyDir, which a finished
# Pod keeps on the node until the Job's ttlSecondsAfterFinished.
trap 'status=$?; if [ -n "$login_dir" ]; then rm -rf "$login_dir"; fi; if [ "$status" -ne 0 ]; then echo "!! build failed at step '"'"'$step'"'"' (exit $status)" >&2; fi' EXIT
# dash and ash skip the EXIT trap on signals: turn the Job deadline's SIGTERM into an exit.
trap 'exit 143' TERM INT
announce() { step="$1"; shift; echo "==> [$step] $*"; }
die() { echo "!! $*" >&2; exit 1; }

# The Pod's emptyDir and the node's run directory (mounted read-only) are where the builder
# container mounts them: constants of the script, not per-build env (the end-to-end test points
# WORKSPACE at a temp dir).
: "\${WORKSPACE:=${WORKSPACE_PATH}}" "\${NODE_DOCKER_SOCKET:=${NODE_RUN_MOUNT}/docker.sock}"

${IMAGE_COUNT_SH}
# The node's Docker engine, through its run directory. DOCKER_HOST set means another engine
# was chosen (the end-to-end test's); then there is nothing to check.
if [ -z "\${DOCKER_HOST:-}" ]; then
  announce docker "the node's Docker engine"
  [ -S "$NODE_DOCKER_SOCKET" ] || die "this node has no Docker engine (no socket at /var/run/docker.sock): run builders only on nodes with Docker, with builders.nodeSelector and tolerations"
  export DOCKER_HOST="unix://$NODE_DOCKER_SOCKET"
fi

announce install-git "apk add --no-cache git"
apk add --no-cache git

registry="localhost:$REGISTRY_PORT"
announce login "$registry with the credentials of Secret $REGISTRY_PUSH_SECRET"
${PUSH_CREDENTIALS_SH}# The client's config lives in the Pod's emptyDir, removed by the EXIT trap; the node's is never touched.
login_dir="$WORKSPACE/docker-config"
DOCKER_CONFIG=$login_dir
export DOCKER_CONFIG
rm -rf "$login_dir"
(umask 077 && mkdir -p "$login_dir")
if ! printf '%s' "$REGISTRY_PASSWORD" | docker login --username "$REGISTRY_USERNAME" --password-stdin "$registry" >"$WORKSPACE/login.log" 2>&1; then
  grep -v '^$' "$WORKSPACE/login.log" >&2 || true
  die "cannot log in to $registry: is the registry Service up on NodePort $REGISTRY_PORT, and is Secret $REGISTRY_PUSH_SECRET (keys username, password) an account of the registry's htpasswd Secret?"
fi
unset REGISTRY_PASSWORD
echo "logged in to $registry"

announce clone "$REPO_URL at $GIT_REF"
src="$WORKSPACE/src"
rm -rf "$src"
git init -q "$src"
git -C "$src" remote add origin "$REPO_URL"
if ! git -C "$src" fetch -q --depth 1 origin "$GIT_REF"; then
  # Only a full commit SHA may take the fallback below: a shorter hex name ("cafe")
  # would otherwise resolve as an abbreviated object name and build the wrong commit.
  printf '%s\\n' "$GIT_REF" | grep -Eqx '[0-9a-f]{40}|[0-9a-f]{64}' \\
    || die "cannot fetch $GIT_REF from $REPO_URL: check the repository URL, that the ref exists, and that this node can reach the git server"
  # A server that will not serve a commit by SHA: fetch all branches, then look for it.
  git -C "$src" fetch -q origin '+refs/heads/*:refs/remotes/origin/*' || die "cannot fetch from $REPO_URL"
  git -C "$src" cat-file -e "$GIT_REF^{commit}" 2>/dev/null || die "commit $GIT_REF is not on any branch of $REPO_URL"
  git -C "$src" update-ref FETCH_HEAD "$GIT_REF"
fi
git -C "$src" -c advice.detachedHead=false checkout -q FETCH_HEAD
commit=$(git -C "$src" rev-parse HEAD)
short=$(git -C "$src" rev-parse --short=7 HEAD)
echo "checked out $commit"

i=1
while [ "$i" -le "$image_count" ]; do
  eval "name=\\$IMAGE_\${i}_NAME context=\\$IMAGE_\${i}_CONTEXT dockerfile=\\\${IMAGE_\${i}_DOCKERFILE:-${DEFAULT_DOCKERFILE}}"
  announce "build $name" "context $context, dockerfile $dockerfile"
  [ -d "$src/$context" ] || die "context directory '$context' does not exist in $REPO_URL at $GIT_REF"
  [ -f "$src/$context/$dockerfile" ] || die "Dockerfile '$context/$dockerfile' does not exist in $REPO_URL at $GIT_REF"
  set -- --label "org.opencontainers.image.source=$REPO_URL" --label "org.opencontainers.image.revision=$commit" -t "$registry/$name:$short"
  for tag in $IMAGE_TAGS; do set -- "$@" -t "$registry/$name:$tag"; done
  docker build "$@" -f "$src/$context/$dockerfile" "$src/$context"
  i=$((i + 1))
done

# Push the commit tags of every image first, the moving tags (ref, latest) last, so a
# failure part-way leaves no image under its final tags while another still is not.
# A push refused with 503 is the registry's read-only window (garbage collection): dockerd gives
# up after its own retries (about 50 s), and a failed attempt would cost a Job retry, a whole new
# build; so wait 15 s and push again, up to PUSH_RETRY_SECONDS of waiting in
# all (dockerd does not pass on the proxy's Retry-After).
: "\${PUSH_RETRY_SECONDS:=600}"
case "$PUSH_RETRY_SECONDS" in
  ''|*[!0-9]*) die "PUSH_RETRY_SECONDS must be whole seconds, got '$PUSH_RETRY_SECONDS'" ;;
esac
log="$WORKSPACE/push.log" push_waited=0
for tag in $short $IMAGE_TAGS; do
  i=1
  while [ "$i" -le "$image_count" ]; do
    eval "name=\\$IMAGE_\${i}_NAME"
    announce "push $name:$tag" "$registry/$name:$tag"
    until docker push "$registry/$name:$tag" >"$log" 2>&1; do
      cat "$log" >&2
      grep -Eqi '503|unavailable|read-only' "$log" \\
        || die "push to $registry failed: is the registry Service up on NodePort $REGISTRY_PORT?"
      left=$((PUSH_RETRY_SECONDS - push_waited))
      [ "$left" -gt 0 ] \\
        || die "push to $registry still refused with 503 after \${push_waited}s of waiting (PUSH_RETRY_SECONDS) at step '$step': the registry's read-only window (garbage collection) lasts too long; the Job retries the build"
      pause=15
      [ "$pause" -le "$left" ] || pause=$left
      echo "registry read-only (garbage-collection window, HTTP 503): step '$step' waits \${pause}s and pushes again (\${push_waited}s of \${PUSH_RETRY_SECONDS}s waited)"
      sleep "$pause"
      push_waited=$((push_waited + pause))
    done
    cat "$log"
    digest=$(sed -n 's/.*digest: \\(sha256:[0-9a-f]*\\).*/\\1/p' "$log")
    [ -n "$digest" ] || die "the registry reported no digest for $registry/$name:$tag"
    echo "pushed $registry/$name:$tag@$digest"
    i=$((i + 1))
  done
done
announce done "built $image_count image(s) from $commit"
`;

/** Where builders mount the script's ConfigMap (read-only). */
export const SCRIPT_DIR = '/opt/image-builder';

/** The script's key in its ConfigMap, and its file name under SCRIPT_DIR. */
export const SCRIPT_FILE = 'build.sh';

/** What builders run: the constant script from its ConfigMap, parameters in env. */
export const BUILDER_COMMAND = ['sh', `${SCRIPT_DIR}/${SCRIPT_FILE}`];

/**
 * The script's environment for one planned build, in a stable order. Every
 * value is a string: the Kubernetes API refuses `value: 30500` (a number) in
 * an EnvVar.
 *
 * @param registryPort the registry's NodePort (Registry.nodePort)
 */
export function scriptEnvironment(build: PlannedBuild, registryPort: number): Record<string, string> {
  const env: Record<string, string> = {
    REGISTRY_PORT: String(registryPort),
    REPO_URL: build.repo,
    GIT_REF: build.ref,
    IMAGE_TAGS: build.tags.join(' '),
    ...imageEnvironment(build),
  };
  return env;
}

/**
 * IMAGE_<n>_NAME / _CONTEXT / _DOCKERFILE (n from 1; _DOCKERFILE only when not
 * DEFAULT_DOCKERFILE; the scripts count the images themselves): how both
 * engines' scripts, and the policy rules reading them, see a build's images.
 */
export function imageEnvironment(build: PlannedBuild): Record<string, string> {
  const env: Record<string, string> = {};
  build.images.forEach((image, index) => {
    const n = index + 1;
    env[`IMAGE_${n}_NAME`] = image.name;
    env[`IMAGE_${n}_CONTEXT`] = image.context;
    if (image.dockerfile !== DEFAULT_DOCKERFILE) env[`IMAGE_${n}_DOCKERFILE`] = image.dockerfile;
  });
  return env;
}
