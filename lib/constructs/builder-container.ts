import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { PlannedBuild } from '../plan/build-plan';
import { BUILDER_COMMAND, NODE_RUN_MOUNT, SCRIPT_DIR, scriptEnvironment, WORKSPACE_PATH } from './builder-script';
import { BuilderScriptConfigMap } from './builder-script-config-map';
import { BUILDER_CONTAINER_NAME, NODE_RUN_PATH } from './contract';
import { pushSecretEnvFrom } from './push-secret';

/** The docker CLI image (Alpine based, so `apk add git` works), pinned. */
export const DOCKER_CLI_IMAGE = 'docker:28.2.2-cli';

/** Label on every builder: `kubectl logs -l cdk8s-image-builder/build=<name>`. */
export const BUILD_LABEL = 'cdk8s-image-builder/build';

/** Label prefix naming each image a builder pushes: `-l images.cdk8s-image-builder/worker`. */
export const IMAGE_LABEL_PREFIX = 'images.cdk8s-image-builder/';

/**
 * Small by default: the heavy lifting (the image build) happens in the node's
 * Docker engine, outside this container; it only runs apk, git and the CLI.
 */
export const DEFAULT_BUILDER_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
  memory: { request: Size.mebibytes(128), limit: Size.gibibytes(1) },
};

/** Where builder Pods may run. */
export interface BuilderPlacement {
  /**
   * Labels a node must carry (all of them) to run a builder, e.g.
   * `[NodeLabelQuery.is('builder', 'true')]`.
   * @default - any node
   */
  readonly nodeLabels?: kplus.NodeLabelQuery[];

  /**
   * Taints builders tolerate, e.g. dedicated builder nodes:
   * `[NodeTaintQuery.is('dedicated', 'builder', { effect: TaintEffect.NO_SCHEDULE })]`.
   * @default - none
   */
  readonly tolerations?: kplus.NodeTaintQuery[];
}

/** What every builder of an app shares: where it runs and what it may use. */
export interface BuilderOptions extends BuilderPlacement {
  /**
   * The builder image: a docker CLI on Alpine (the script runs `apk add git`).
   * @default DOCKER_CLI_IMAGE
   */
  readonly image?: string;

  /**
   * The buildkit engine's builder image: BuildKit's rootless image.
   * @default BUILDKIT_IMAGE
   */
  readonly buildkitImage?: string;

  /**
   * CPU and memory of the builder container; each of request and limit
   * falls back to its engine's default separately.
   * @default DEFAULT_BUILDER_RESOURCES (docker), DEFAULT_BUILDKIT_RESOURCES (buildkit)
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * Secret (created out of band) with the push credentials, keys `username`
   * and `password`; builders read it whole (envFrom, prefix PUSH_SECRET_).
   * @default DEFAULT_PUSH_SECRET
   */
  readonly pushSecretName?: string;
}

/** Props of one builder workload (BuildJob or BuilderPod). */
export interface BuilderProps extends BuilderOptions {
  /** The build to run: its name names the workload. */
  readonly build: PlannedBuild;

  /** The registry's NodePort, pushed to as `localhost:<port>`: take it from `Registry.nodePort`. */
  readonly registryPort: number;

  /**
   * The ConfigMap holding the docker engine's build script; share one between builders.
   * @default - a BuilderScriptConfigMap of its own, named `<build name>-script`
   */
  readonly script?: BuilderScriptConfigMap;

  /**
   * The ConfigMap holding the buildkit engine's script; share one between builders.
   * @default - a BuilderScriptConfigMap of its own, named `<build name>-buildkit-script`
   */
  readonly buildkitScript?: BuilderScriptConfigMap;

  /**
   * The registry Service's in-cluster address, where the buildkit engine
   * pushes: take it from `Registry.clusterEndpoint`.
   * @default - none; required when the build's engine is BuilderEngine.BUILDKIT
   */
  readonly registryHost?: string;

  /**
   * Extra labels on the workload and its Pods.
   * @default - the standard app.kubernetes.io labels and the build/image labels only
   */
  readonly labels?: Record<string, string>;
}

/** `kubectl logs -l` handles: the build's name, and one label per image it pushes. */
export function builderLabels(build: PlannedBuild): Record<string, string> {
  const labels: Record<string, string> = { [BUILD_LABEL]: build.name };
  for (const image of build.images) {
    labels[`${IMAGE_LABEL_PREFIX}${image.name}`] = 'true';
  }
  return labels;
}

/**
 * Adds the builder container to a Pod or a Job's Pod template: the constant
 * script from its ConfigMap, its parameters as env values, the node's Docker
 * socket and a writable workspace, and places the Pod. Each cdk8s-plus
 * default this changes is named below.
 */
export function addBuilderContainer(workload: kplus.Pod | kplus.Job, props: BuilderProps): kplus.Container {
  const script = props.script ?? new BuilderScriptConfigMap(workload, 'Script', { name: `${props.build.name}-script` });
  const push = pushSecretEnvFrom(workload, props.pushSecretName);
  const container = workload.addContainer({
    name: BUILDER_CONTAINER_NAME,
    image: props.image ?? DOCKER_CLI_IMAGE,
    // cdk8s-plus default is Always; a pinned tag never changes, and Always would
    // make every build depend on Docker Hub being reachable.
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: BUILDER_COMMAND,
    envVariables: {
      ...Object.fromEntries(Object.entries(scriptEnvironment(props.build, props.registryPort))
        .map(([k, v]) => [k, kplus.EnvValue.fromValue(v)])),
      ...push.env,
    },
    envFrom: [push.envFrom],
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
    resources: resourcesOver(DEFAULT_BUILDER_RESOURCES, props.resources),
  });
  container.mount(NODE_RUN_MOUNT, kplus.Volume.fromHostPath(workload, 'NodeRun', 'node-run', {
    path: NODE_RUN_PATH,
    type: kplus.HostPathVolumeType.DIRECTORY,
  }), { readOnly: true });
  container.mount(WORKSPACE_PATH, kplus.Volume.fromEmptyDir(workload, 'Workspace', 'workspace'));
  container.mount(SCRIPT_DIR, kplus.Volume.fromConfigMap(workload, 'ScriptVolume', script.configMap, { name: 'build-script' }), { readOnly: true });
  placeBuilder(workload, props);
  return container;
}

/** Node labels and tolerations of a builder Pod, whatever its engine. */
export function placeBuilder(workload: kplus.Pod | kplus.Job, placement: BuilderPlacement): void {
  if (placement.nodeLabels && placement.nodeLabels.length > 0) {
    // One node selector term: its label queries are ANDed (separate attract() calls would be ORed).
    workload.scheduling.attract(kplus.Node.labeled(...placement.nodeLabels));
  }
  for (const toleration of placement.tolerations ?? []) {
    workload.scheduling.tolerate(kplus.Node.tainted(toleration));
  }
}

/** The pod-level security context builders need (see addBuilderContainer). */
export const BUILDER_POD_SECURITY: kplus.PodSecurityContextProps = { ensureNonRoot: false, user: 0, group: 0 };

/** `resources` with each missing request and limit taken from `defaults` (an engine's). */
export function resourcesOver(defaults: kplus.ContainerResources, resources: kplus.ContainerResources = {}): kplus.ContainerResources {
  return {
    cpu: { request: resources.cpu?.request ?? defaults.cpu?.request, limit: resources.cpu?.limit ?? defaults.cpu?.limit },
    memory: { request: resources.memory?.request ?? defaults.memory?.request, limit: resources.memory?.limit ?? defaults.memory?.limit },
    ephemeralStorage: resources.ephemeralStorage,
  };
}
