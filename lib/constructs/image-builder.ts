import { Construct } from 'constructs';
import { BuilderOptions } from './builder-container';
import { BuilderPod } from './builder-pod';
import { BUILDKIT_SCRIPT_CONFIG_MAP, BuilderScriptConfigMap } from './builder-script-config-map';
import { BUILDKIT_SCRIPT, BUILDKIT_SCRIPT_FILE } from './buildkit-script';
import { BuildJob, BuildJobOptions } from './build-job';
import { BuilderEngine, BuildSource, PlannedBuild, planBuilds } from '../plan/build-plan';
import { Registry, RegistryProps } from './registry';
import { BuildTrigger, BuildTriggerProps } from './build-trigger';
import { RetentionCronJob, RetentionOptions } from './retention-cron-job';

/** Which workload runs a build. */
export enum BuilderWorkload {
  /** One Job per build: retries, a deadline, cleanup. */
  JOB = 'Job',
  /** The hand-written form: a single Pod `build-image`, for exactly one build. */
  POD = 'Pod',
}

/** Name of the single builder when `workload` is `BuilderWorkload.POD`. */
export const BUILDER_POD_NAME = 'build-image';

export interface ImageBuilderProps {
  /** What to build: repositories at refs, each with its images. At least one. */
  readonly builds: BuildSource[];

  /**
   * The registry every builder pushes to.
   * @default - Registry defaults: NodePort 30500, data in an emptyDir
   */
  readonly registry?: RegistryProps;

  /**
   * Which workload runs each build.
   * @default BuilderWorkload.JOB
   */
  readonly workload?: BuilderWorkload;

  /**
   * How builds are built, unless a build says otherwise (BuildSource.engine).
   * @default BuilderEngine.DOCKER
   */
  readonly engine?: BuilderEngine;

  /**
   * Placement, image and resources of every builder.
   * @default - any node, DOCKER_CLI_IMAGE, DEFAULT_BUILDER_RESOURCES
   */
  readonly builders?: BuilderOptions;

  /**
   * Retries, deadline and cleanup of every builder Job (ignored for `BuilderWorkload.POD`).
   * @default - BuildJob defaults: 3 retries, 1 hour, deleted 1 day after finishing
   */
  readonly jobs?: BuildJobOptions;

  /**
   * Deploy the build trigger (push webhooks → builder Jobs) with the app.
   * @default - none
   */
  readonly trigger?: BuildTriggerProps;

  /**
   * Which commit tags the retention CronJob deletes, and when.
   * @default - RetentionCronJob defaults: keep the commit tags of the newest 10 builds per image, daily at 03:00 UTC
   */
  readonly retention?: RetentionOptions;
}

/**
 * The whole app: the registry, the build script (one ConfigMap), and one
 * builder per build wired to both (the registry's NodePort becomes each
 * builder's REGISTRY_PORT, its Service address the buildkit engine's
 * REGISTRY_HOST). Image and
 * workload names are derived from the builds (lib/plan), never configured.
 */
export class ImageBuilder extends Construct {
  public readonly registry: Registry;
  /**
   * The docker engine's build script, one ConfigMap mounted by every docker
   * builder; undefined when no build uses the docker engine.
   */
  public readonly script?: BuilderScriptConfigMap;
  /** The buildkit engine's script, one ConfigMap; undefined when no build uses that engine. */
  public readonly buildkitScript?: BuilderScriptConfigMap;
  public readonly builds: PlannedBuild[];
  public readonly builders: Array<BuildJob | BuilderPod>;
  public readonly trigger?: BuildTrigger;
  public readonly retention: RetentionCronJob;

  constructor(scope: Construct, id: string, props: ImageBuilderProps) {
    super(scope, id);
    const workload = props.workload ?? BuilderWorkload.JOB;
    if (workload === BuilderWorkload.POD && props.builds.length !== 1) {
      // lib/config reports this with file:line first; this guards other callers.
      throw new Error(`BuilderWorkload.POD runs exactly one build (the single ${BUILDER_POD_NAME} Pod), got ${props.builds.length}`);
    }
    this.registry = new Registry(this, 'Registry', props.registry);
    const builds = props.builds.map((b) => ({ ...b, engine: b.engine ?? props.engine }));
    if (builds.some((b) => (b.engine ?? BuilderEngine.DOCKER) === BuilderEngine.DOCKER)) {
      this.script = new BuilderScriptConfigMap(this, 'Script');
    }
    if (builds.some((b) => b.engine === BuilderEngine.BUILDKIT)) {
      this.buildkitScript = new BuilderScriptConfigMap(this, 'BuildkitScript', {
        name: BUILDKIT_SCRIPT_CONFIG_MAP, file: BUILDKIT_SCRIPT_FILE, script: BUILDKIT_SCRIPT,
      });
    }
    this.retention = new RetentionCronJob(this, 'Retention', {
      ...props.retention,
      registryUrl: this.registry.serviceUrl,
      // Every name a Pod can pull this registry by: the NodePort on the node, and the Service.
      imageHosts: [this.registry.pushEndpoint, `127.0.0.1:${this.registry.nodePort}`, this.registry.clusterEndpoint],
      pushSecretName: props.builders?.pushSecretName,
    });
    this.builds = workload === BuilderWorkload.POD ? planBuilds(builds, () => BUILDER_POD_NAME) : planBuilds(builds);
    this.builders = this.builds.map((build) => {
      const builder = {
        ...props.builders, build, registryPort: this.registry.nodePort, registryHost: this.registry.clusterEndpoint,
        script: this.script, buildkitScript: this.buildkitScript,
      };
      return workload === BuilderWorkload.POD
        ? new BuilderPod(this, build.name, builder)
        : new BuildJob(this, build.name, { ...builder, ...props.jobs });
    });
    if (props.trigger) {
      this.trigger = new BuildTrigger(this, 'BuildTrigger', props.trigger);
    }
  }
}
