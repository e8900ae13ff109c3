import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { BuilderProps, builderLabels } from './builder-container';
import { addEngineBuilder, builderPodSecurity } from './builder-engine';
import { dropAddressLabel, standardLabels } from './labels';

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

export interface BuildJobProps extends BuilderProps, BuildJobOptions {}

/**
 * One build as a Kubernetes Job named after the build: the same container and
 * script as BuilderPod (its engine's: PlannedBuild.engine), with retries bounded (backoffLimit), a deadline, and
 * cleanup of finished builds. The Pod restarts in place on failure
 * (`OnFailure`), as the hand-written Pod did, so `kubectl logs job/<name>`
 * shows the latest attempt.
 */
export class BuildJob extends Construct {
  public readonly name: string;
  public readonly job: kplus.Job;
  public readonly container: kplus.Container;

  constructor(scope: Construct, id: string, props: BuildJobProps) {
    super(scope, id);
    this.name = props.build.name;
    const labels = { ...standardLabels('builder', this.name), ...builderLabels(props.build), ...props.labels };
    this.job = new kplus.Job(this, 'Job', {
      metadata: { name: this.name, labels },
      podMetadata: { labels },
      select: false,
      // cdk8s-plus defaults Jobs to Never (a new Pod per attempt); OnFailure keeps one Pod and its logs.
      restartPolicy: kplus.RestartPolicy.ON_FAILURE,
      backoffLimit: props.backoffLimit ?? 3,
      activeDeadline: props.activeDeadline ?? Duration.hours(1),
      ttlAfterFinished: props.ttlAfterFinished ?? Duration.days(1),
      securityContext: builderPodSecurity(props.build.engine),
    });
    this.container = addEngineBuilder(this.job, props);
    dropAddressLabel(this.job);
  }
}
