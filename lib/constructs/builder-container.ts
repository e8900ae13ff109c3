import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { cpuFromQuantity, sizeFromQuantity } from './quantity';
import { BUILD_SCRIPT, ScriptParameters, scriptEnvironment, WORKSPACE_PATH } from './builder-script';

/** The docker CLI image (Alpine based, so `apk add git` works), pinned. */
export const DOCKER_CLI_IMAGE = 'docker:28.2.2-cli';

/** The node's Docker socket: builders talk to the node's engine through it. */
export const DOCKER_SOCKET_PATH = '/var/run/docker.sock';

/** Name of the builder container, as in the hand-written Pod it replaces. */
export const BUILDER_CONTAINER_NAME = 'docker-build';

/** Where builder workloads run. */
export interface BuilderPlacement {
  /** Nodes must carry all these labels. @default - any node */
  readonly nodeSelector?: Record<string, string>;
  /** Taints the builder tolerates, e.g. dedicated builder nodes. @default - none */
  readonly tolerations?: Array<Record<string, string | number>>;
}

/** CPU and memory of the builder container. Quantities as Kubernetes writes them. */
export interface BuilderResources {
  readonly requests?: { readonly cpu?: string; readonly memory?: string };
  readonly limits?: { readonly cpu?: string; readonly memory?: string };
}

/**
 * Small by default: the heavy lifting (the image build) happens in the node's
 * Docker engine, outside this container; it only runs apk, git and the CLI.
 */
export const DEFAULT_BUILDER_RESOURCES: Required<BuilderResources> = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

export interface BuilderContainerProps extends BuilderPlacement {
  /** What to build and where to push. */
  readonly build: ScriptParameters;
  /** @default DOCKER_CLI_IMAGE */
  readonly image?: string;
  /** @default DEFAULT_BUILDER_RESOURCES */
  readonly resources?: BuilderResources;
}

/**
 * Adds the builder container to a Pod or a Job's Pod template: the constant
 * script, its parameters as env values, the node's Docker socket and a
 * writable workspace. Each cdk8s-plus default this changes is named below.
 *
 * @param podSpecPath JSON pointer of the pod spec in the API object, for the
 *   fields cdk8s-plus does not model (`/spec` for a Pod, `/spec/template/spec` for a Job)
 */
export function addBuilderContainer(workload: kplus.AbstractPod, podSpecPath: string, props: BuilderContainerProps): kplus.Container {
  const container = workload.addContainer({
    name: BUILDER_CONTAINER_NAME,
    image: props.image ?? DOCKER_CLI_IMAGE,
    // cdk8s-plus default is Always; a pinned tag never changes, and Always would
    // make every build depend on Docker Hub being reachable.
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: ['sh', '-c', BUILD_SCRIPT],
    envVariables: Object.fromEntries(Object.entries(scriptEnvironment(props.build))
      .map(([k, v]) => [k, kplus.EnvValue.fromValue(v)])),
    securityContext: {
      // cdk8s-plus defaults to runAsNonRoot and a read-only root filesystem:
      // `apk add` needs root and writes to /usr and /lib/apk, and the socket is root-owned.
      ensureNonRoot: false,
      user: 0,
      group: 0,
      readOnlyRootFilesystem: false,
      allowPrivilegeEscalation: false,
      privileged: false,
    },
    resources: toContainerResources(props.resources),
  });
  container.mount(DOCKER_SOCKET_PATH, kplus.Volume.fromHostPath(workload, 'DockerSocket', 'docker-socket', {
    path: DOCKER_SOCKET_PATH,
    // Socket: the kubelet refuses to start the Pod when the node has no Docker
    // engine, instead of silently creating an empty directory at that path.
    type: kplus.HostPathVolumeType.SOCKET,
  }));
  container.mount(WORKSPACE_PATH, kplus.Volume.fromEmptyDir(workload, 'Workspace', 'workspace'));

  const api = ApiObject.of(workload);
  if (props.nodeSelector && Object.keys(props.nodeSelector).length > 0) {
    api.addJsonPatch(JsonPatch.add(`${podSpecPath}/nodeSelector`, props.nodeSelector));
  }
  if (props.tolerations && props.tolerations.length > 0) {
    api.addJsonPatch(JsonPatch.add(`${podSpecPath}/tolerations`, props.tolerations));
  }
  return container;
}

/** The pod-level security context builders need (see addBuilderContainer). */
export const BUILDER_POD_SECURITY: kplus.PodSecurityContextProps = { ensureNonRoot: false, user: 0, group: 0 };

function toContainerResources(resources: BuilderResources = {}): kplus.ContainerResources {
  const requests = { ...DEFAULT_BUILDER_RESOURCES.requests, ...resources.requests };
  const limits = { ...DEFAULT_BUILDER_RESOURCES.limits, ...resources.limits };
  return {
    cpu: { request: cpuFromQuantity(requests.cpu!), limit: cpuFromQuantity(limits.cpu!) },
    memory: { request: sizeFromQuantity(requests.memory!), limit: sizeFromQuantity(limits.memory!) },
  };
}
