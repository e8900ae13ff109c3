import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { BuilderProps, builderLabels } from './builder-container';
import { addEngineBuilder, builderPodSecurity } from './builder-engine';
import { dropAddressLabel, standardLabels } from './labels';
import { useServerCanonicalForm } from './server-canonical';

export interface BuilderPodProps extends BuilderProps {}

/**
 * The hand-written `build-image` Pod, as code: one run of the build script
 * against the node's Docker engine, retried in place (`restartPolicy:
 * OnFailure`) until it succeeds. The Pod is named after the build (ImageBuilder
 * names it `build-image`). To build again, delete the Pod and apply. For
 * builds that should be retried, time-limited and cleaned up, use BuildJob.
 */
export class BuilderPod extends Construct {
  public readonly name: string;
  public readonly pod: kplus.Pod;
  public readonly container: kplus.Container;

  constructor(scope: Construct, id: string, props: BuilderPodProps) {
    super(scope, id);
    this.name = props.build.name;
    this.pod = new kplus.Pod(this, 'Pod', {
      metadata: { name: this.name, labels: { ...standardLabels('builder', this.name), ...builderLabels(props.build), ...props.labels } },
      restartPolicy: kplus.RestartPolicy.ON_FAILURE,
      securityContext: builderPodSecurity(props.build.engine),
    });
    this.container = addEngineBuilder(this.pod, props);
    dropAddressLabel(this.pod);
    useServerCanonicalForm(this);
  }
}
