import { ApiObject, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { BuilderProps, placeBuilder, resourcesOver } from './builder-container';
import { SCRIPT_DIR } from './builder-script';
import { BUILDKIT_SCRIPT_CONFIG_MAP, BuilderScriptConfigMap } from './builder-script-config-map';
import { BUILDKIT_COMMAND, BUILDKIT_SCRIPT, BUILDKIT_SCRIPT_FILE, buildkitScriptEnvironment } from './buildkit-script';
import { APPARMOR_ANNOTATION_PREFIX, BUILDKIT_CONTAINER_NAME, BUILDKIT_STATE_PATH, BUILDKIT_USER } from './contract';
import { pushSecretEnvFrom } from './push-secret';

/**
 * BuildKit's rootless image, pinned. Its version is also what the e2e builds from
 * the Go module proxy (scripts/e2e/buildkit.env; a unit test keeps them equal).
 */
export const BUILDKIT_VERSION = 'v0.32.2';
export const BUILDKIT_IMAGE = `moby/buildkit:${BUILDKIT_VERSION}-rootless`;

export { BUILDKIT_SCRIPT_CONFIG_MAP };


/**
 * The build runs inside this container (unlike the docker engine, whose
 * container only drives the node's engine), so it gets real CPU and memory.
 */
export const DEFAULT_BUILDKIT_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(500), limit: kplus.Cpu.units(2) },
  memory: { request: Size.gibibytes(1), limit: Size.gibibytes(4) },
};

/**
 * Adds the buildkit engine's builder container: rootless BuildKit as upstream's
 * Kubernetes example runs it (examples/kubernetes/job.rootless.yaml), on 1.27.
 * No hostPath of any kind and never root: uid/gid 1000, the image's user. What
 * rootless BuildKit needs from the Pod, each named below:
 *   - seccomp Unconfined and AppArmor unconfined: rootlesskit creates user and
 *     mount namespaces and mounts inside them, which the runtime's default
 *     profiles forbid;
 *   - allowPrivilegeEscalation: newuidmap/newgidmap are setuid programs that map
 *     the user's subordinate ids, and no_new_privs would disable them;
 *   - BUILDKITD_FLAGS=--oci-worker-no-process-sandbox: RUN steps share the
 *     container's PID namespace (a new one needs a privileged mount of /proc);
 *   - an emptyDir at buildkitd's state dir, writable and not on overlayfs.
 * The registry is reached at its Service address (`registryHost`): a Pod's
 * `localhost` is not the node. The script comes from a ConfigMap
 * (`buildkitScript`, shared by ImageBuilder's buildkit builders as
 * BUILDKIT_SCRIPT_CONFIG_MAP), mounted read-only at SCRIPT_DIR.
 */
export function addBuildkitContainer(workload: kplus.Pod | kplus.Job, props: BuilderProps): kplus.Container {
  if (!props.registryHost) {
    throw new Error(`builder ${props.build.name}: the buildkit engine pushes to the registry Service's address; pass registryHost (Registry.clusterEndpoint)`);
  }
  const script = props.buildkitScript ?? new BuilderScriptConfigMap(workload, 'BuildkitScript', {
    name: `${props.build.name}-buildkit-script`, file: BUILDKIT_SCRIPT_FILE, script: BUILDKIT_SCRIPT,
  });
  const push = pushSecretEnvFrom(workload, props.pushSecretName);
  const container = workload.addContainer({
    name: BUILDKIT_CONTAINER_NAME,
    image: props.buildkitImage ?? BUILDKIT_IMAGE,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: BUILDKIT_COMMAND,
    envVariables: {
      ...Object.fromEntries(Object.entries(buildkitScriptEnvironment(props.build, props.registryPort, props.registryHost))
        .map(([k, v]) => [k, kplus.EnvValue.fromValue(v)])),
      ...push.env,
    },
    envFrom: [push.envFrom],
    securityContext: {
      ensureNonRoot: true,
      user: BUILDKIT_USER,
      group: BUILDKIT_USER,
      // As upstream's example: rootlesskit and BuildKit write below /home/user and /run/user/1000.
      readOnlyRootFilesystem: false,
      allowPrivilegeEscalation: true,
      privileged: false,
    },
    resources: resourcesOver(DEFAULT_BUILDKIT_RESOURCES, props.resources),
  });
  container.mount(BUILDKIT_STATE_PATH, kplus.Volume.fromEmptyDir(workload, 'BuildkitState', 'buildkit-state'));
  container.mount(SCRIPT_DIR, kplus.Volume.fromConfigMap(workload, 'BuildkitScriptVolume', script.configMap, { name: 'build-script' }), { readOnly: true });

  // cdk8s-plus 27 models neither seccompProfile nor AppArmor.
  const podSpec = workload instanceof kplus.Pod ? '/spec' : '/spec/template/spec';
  const index = workload.containers.indexOf(container);
  ApiObject.of(workload).addJsonPatch(JsonPatch.add(`${podSpec}/containers/${index}/securityContext/seccompProfile`, { type: 'Unconfined' }));
  const podMetadata = workload instanceof kplus.Pod ? workload.metadata : workload.podMetadata;
  podMetadata.addAnnotation(`${APPARMOR_ANNOTATION_PREFIX}${BUILDKIT_CONTAINER_NAME}`, 'unconfined');
  placeBuilder(workload, props);
  return container;
}

/** The pod-level security context of buildkit builders: the image's non-root user. */
export const BUILDKIT_POD_SECURITY: kplus.PodSecurityContextProps = { ensureNonRoot: true, user: BUILDKIT_USER, group: BUILDKIT_USER };
