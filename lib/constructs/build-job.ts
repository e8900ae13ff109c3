import { createHash } from 'crypto';
import { ApiObject, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { BuilderProps, builderLabels } from './builder-container';
import { addEngineBuilder, builderPodSecurity } from './builder-engine';
import { BUILD_SCRIPT } from './builder-script';
import { BUILDKIT_SCRIPT } from './buildkit-script';
import { COMPONENT_LABEL, dropAddressLabel, PART_OF_LABEL, standardLabels } from './labels';
import { omitPodDefaults, useServerCanonicalForm } from './server-canonical';

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
   * @default - the build's name and a hash of the Job as synthesized (jobName)
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
 * - The Job's name ends with a hash of the Job as written (jobName). A Job's template is immutable: a changed build gets a new Job (the old
 *   one is pruned by the GitOps tool, or its TTL), instead of `kubectl apply`
 *   failing with "field is immutable". The build's stable name stays in the
 *   `cdk8s-image-builder/build` label: `kubectl logs -l cdk8s-image-builder/build=<build>`.
 */
export class BuildJob extends Construct {
  public readonly job: kplus.Job;
  public readonly container: kplus.Container;
  private readonly fixedName?: string;

  constructor(scope: Construct, id: string, props: BuildJobProps) {
    super(scope, id);
    this.fixedName = props.name;
    const handles = { ...builderLabels(props.build), ...props.labels };
    this.job = new kplus.Job(this, 'Job', {
      // With no name given, this one stands in until synthesis, when the content hash is known (jobName).
      // What selects the Job: its component (`kubectl get jobs -l app.kubernetes.io/component=builder`),
      // part-of (`kubectl apply --prune -l app.kubernetes.io/part-of=...`) and the handles
      // (`kubectl delete jobs -l cdk8s-image-builder/build=...`). The other recommended labels are
      // left out: `instance` would repeat the build label, `name` (image-builder) and `managed-by`
      // (cdk8s) say for every build what the component says; nothing selects Jobs by them, and in a
      // 1,000-build dist/ they were 6% of it (npm run bench). A caller's labels (the trigger's
      // managed-by=build-trigger) still come in through props.labels.
      metadata: { name: props.name ?? props.build.name, labels: { ...builderJobLabels(), ...handles } },
      // The Pods carry what selects them (`kubectl logs -l` by build or image) and what the policy
      // rules recognise a builder by (its component).
      podMetadata: { labels: { [COMPONENT_LABEL]: 'builder', ...handles } },
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
    const api = ApiObject.of(this.job);
    omitPodDefaults(api);
    if (props.name === undefined) {
      const toJson = api.toJson.bind(api);
      api.toJson = () => {
        const json = toJson();
        return { ...json, metadata: { ...json.metadata, name: jobName(props.build.name, json) } };
      };
    }
  }

  /** The Job's name: the one given, or the build's name and a hash of the Job as synthesized (jobName). */
  public get name(): string {
    return this.fixedName ?? ApiObject.of(this.job).toJson().metadata.name;
  }
}

/** The standard labels a builder Job carries: its component and what it is part of (see BuildJob). */
export function builderJobLabels(): Record<string, string> {
  const standard = standardLabels('builder', '');
  return { [COMPONENT_LABEL]: standard[COMPONENT_LABEL], [PART_OF_LABEL]: standard[PART_OF_LABEL] };
}

/**
 * `<build name>-<hash>`: the hash covers the Job exactly as it is written
 * (every field of its Pod template, its retry settings and labels; its own name
 * left out) and the scripts the Job runs from their ConfigMaps, so the same
 * builds.yaml and code always give the same name, and any change to what the
 * Job runs, from builds.yaml or from the constructs, gives a new one. At most
 * 63 characters.
 */
export function jobName(buildName: string, job: { metadata?: Record<string, unknown> }): string {
  const metadata = { ...job.metadata, name: undefined };
  // JSON.stringify({ job, scripts }), with the scripts' part (18 KB) serialized once, not per Job.
  scriptsJson ??= `,"scripts":${JSON.stringify([BUILD_SCRIPT, BUILDKIT_SCRIPT])}}`;
  const hash = createHash('sha256').update(`{"job":${JSON.stringify({ ...job, metadata })}`).update(scriptsJson).digest('hex').slice(0, 8);
  return `${buildName.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

let scriptsJson: string | undefined;
