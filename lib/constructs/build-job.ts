import { createHash } from 'crypto';
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { BuilderProps, builderLabels } from './builder-container';
import { addEngineBuilder, builderPodSecurity } from './builder-engine';
import { BUILD_SCRIPT } from './builder-script';
import { BUILDKIT_SCRIPT } from './buildkit-script';
import { dropAddressLabel, standardLabels } from './labels';
import { useServerCanonicalForm } from './server-canonical';

/** Retries, deadline and cleanup of builder Jobs. */
export interface BuildJobOptions {
  /**
   * Pod restarts before the Job is marked failed.
   * @default 3
   */
  readonly backoffLimit?: number;

  /**
   * Upper bound on the whole build, retries included.
   * @default Duration.hours(1)
   */
  readonly activeDeadline?: Duration;

  /**
   * How long a finished Job (and its logs) stays before Kubernetes deletes it;
   * applying dist/ again after that runs the build again.
   * @default Duration.days(1)
   */
  readonly ttlAfterFinished?: Duration;
}

export interface BuildJobProps extends BuilderProps, BuildJobOptions {
  /**
   * The Job's name, for callers whose names are already unique per build
   * (the trigger names each Job after the pushed commit).
   * @default - the build's name and a hash of the template's inputs (jobName)
   */
  readonly name?: string;
}

/**
 * One build as a Kubernetes Job: the same container and script as BuilderPod
 * (its engine's: PlannedBuild.engine), with retries bounded (backoffLimit), a
 * deadline, and cleanup of finished builds.
 *
 * Two things a real cluster showed (npm run test:cluster):
 * - `restartPolicy: Never`: each attempt is its own Pod, and failed Pods stay
 *   until the Job is deleted, so their logs are still there after the Job
 *   gives up (with `OnFailure` the Job controller deletes the Pod when
 *   backoffLimit is reached, and `kubectl logs` returns nothing).
 * - The Job's name ends with a hash of everything its Pod template is made
 *   of. A Job's template is immutable: a changed build gets a new Job (the old
 *   one is pruned by the GitOps tool, or its TTL), instead of `kubectl apply`
 *   failing with "field is immutable". The build's stable name stays in the
 *   `cdk8s-image-builder/build` label: `kubectl logs -l cdk8s-image-builder/build=<build>`.
 */
export class BuildJob extends Construct {
  public readonly name: string;
  public readonly job: kplus.Job;
  public readonly container: kplus.Container;

  constructor(scope: Construct, id: string, props: BuildJobProps) {
    super(scope, id);
    this.name = props.name ?? jobName(props);
    const labels = { ...standardLabels('builder', props.build.name), ...builderLabels(props.build), ...props.labels };
    this.job = new kplus.Job(this, 'Job', {
      metadata: { name: this.name, labels },
      podMetadata: { labels },
      select: false,
      // Never (cdk8s-plus' default too): a Pod per attempt, failed ones kept with their logs.
      restartPolicy: kplus.RestartPolicy.NEVER,
      backoffLimit: props.backoffLimit ?? 3,
      activeDeadline: props.activeDeadline ?? Duration.hours(1),
      ttlAfterFinished: props.ttlAfterFinished ?? Duration.days(1),
      securityContext: builderPodSecurity(props.build.engine),
    });
    this.container = addEngineBuilder(this.job, props);
    dropAddressLabel(this.job);
    useServerCanonicalForm(this);
  }
}

/**
 * `<build name>-<hash>`: the hash covers every input of the Job's Pod
 * template (the build, the registry port, image, resources, placement, labels,
 * retry settings and the script itself), so the same builds.yaml always gives
 * the same name and any change gives a new one. At most 63 characters.
 */
export function jobName(props: BuildJobProps): string {
  // constructs in props (the script's ConfigMap) stand for themselves by their path
  const inputs = JSON.stringify({ props, scripts: [BUILD_SCRIPT, BUILDKIT_SCRIPT] }, (_key, value) => (value instanceof Construct ? `construct:${value.node.path}` : value));
  const hash = createHash('sha256').update(inputs).digest('hex').slice(0, 8);
  return `${props.build.name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}
