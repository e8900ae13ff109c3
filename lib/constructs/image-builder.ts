import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { BuilderContainerProps } from './builder-container';
import { BuilderPod } from './builder-pod';
import { BuildJob } from './build-job';
import { PlanError, PlannedBuild, planBuilds } from '../plan/build-plan';
import { BuildsFile } from '../config/builds-file';
import { sizeFromQuantity } from './quantity';
import { Registry } from './registry';

/** Label on every builder: `kubectl logs -l cdk8s-image-builder/build=<name>`. */
export const BUILD_LABEL = 'cdk8s-image-builder/build';
/** Label prefix naming each image a builder pushes: `-l images.cdk8s-image-builder/worker`. */
export const IMAGE_LABEL_PREFIX = 'images.cdk8s-image-builder/';

/**
 * The whole app for one builds.yaml: the registry, and one builder per build
 * wired to it (the registry's NodePort becomes each builder's REGISTRY_PORT).
 */
export class ImageBuilder extends Construct {
  public readonly registry: Registry;
  public readonly builds: PlannedBuild[];
  public readonly builders: Array<BuildJob | BuilderPod>;

  constructor(scope: Construct, id: string, config: BuildsFile) {
    super(scope, id);
    const storage = config.registry.storage?.persistentVolumeClaim;
    this.registry = new Registry(this, 'Registry', {
      nodePort: config.registry.nodePort,
      storageSize: storage ? sizeFromQuantity(storage.size) : undefined,
      storageClassName: storage?.storageClassName,
    });

    const workload = config.builders.workload ?? 'Job';
    if (workload === 'Pod' && config.builds.length !== 1) {
      throw new PlanError([`builders.workload: "Pod" runs exactly one build (the single build-image Pod), but builds lists ${config.builds.length}; `
        + 'use workload "Job" (one Job per build) or keep one build']);
    }
    this.builds = workload === 'Pod' ? planBuilds(config.builds, () => 'build-image') : planBuilds(config.builds);

    this.builders = this.builds.map((build) => {
      const props: BuilderContainerProps & { name: string; labels: Record<string, string> } = {
        name: build.name,
        labels: builderLabels(build),
        build: {
          registryPort: this.registry.nodePort,
          repo: build.repo,
          ref: build.ref,
          tags: build.tags,
          images: build.images,
        },
        nodeSelector: config.builders.nodeSelector,
        tolerations: config.builders.tolerations as BuilderContainerProps['tolerations'],
        resources: config.builders.resources,
      };
      if (workload === 'Pod') {
        return new BuilderPod(this, build.name, props);
      }
      return new BuildJob(this, build.name, {
        ...props,
        backoffLimit: config.builders.backoffLimit,
        activeDeadline: config.builders.activeDeadlineSeconds !== undefined ? Duration.seconds(config.builders.activeDeadlineSeconds) : undefined,
        ttlAfterFinished: config.builders.ttlSecondsAfterFinished !== undefined ? Duration.seconds(config.builders.ttlSecondsAfterFinished) : undefined,
      });
    });
  }
}

function builderLabels(build: PlannedBuild): Record<string, string> {
  const labels: Record<string, string> = { [BUILD_LABEL]: build.name };
  for (const image of build.images) {
    labels[`${IMAGE_LABEL_PREFIX}${image.name}`] = 'true';
  }
  return labels;
}
