import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { addBuilderContainer, BUILDER_POD_SECURITY, BuilderContainerProps } from './builder-container';
import { dropAddressLabel, standardLabels } from './labels';

export interface BuilderPodProps extends BuilderContainerProps {
  /**
   * Name of the Pod.
   * @default "build-image"
   */
  readonly name?: string;
  /**
   * Extra labels, e.g. the build and image names so `kubectl logs -l` finds it.
   * @default - the standard app.kubernetes.io labels only
   */
  readonly labels?: Record<string, string>;
}

/**
 * The hand-written `build-image` Pod, as code: one run of the build script
 * against the node's Docker engine, retried in place (`restartPolicy:
 * OnFailure`) until it succeeds. To build again, delete the Pod and apply.
 * For builds that should be retried, time-limited and cleaned up, use BuildJob.
 */
export class BuilderPod extends Construct {
  public readonly name: string;
  public readonly pod: kplus.Pod;
  public readonly container: kplus.Container;

  constructor(scope: Construct, id: string, props: BuilderPodProps) {
    super(scope, id);
    this.name = props.name ?? 'build-image';
    this.pod = new kplus.Pod(this, 'Pod', {
      metadata: { name: this.name, labels: { ...standardLabels('builder', this.name), ...props.labels } },
      restartPolicy: kplus.RestartPolicy.ON_FAILURE,
      securityContext: BUILDER_POD_SECURITY,
    });
    this.container = addBuilderContainer(this.pod, '/spec', props);
    dropAddressLabel(this.pod, '/metadata/labels');
  }
}
