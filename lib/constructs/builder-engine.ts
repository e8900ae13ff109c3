import * as kplus from 'cdk8s-plus-27';
import { BuilderEngine } from '../plan/build-plan';
import { addBuilderContainer, BUILDER_POD_SECURITY, BuilderProps } from './builder-container';
import { addBuildkitContainer, BUILDKIT_POD_SECURITY } from './buildkit-container';

export { BuilderEngine };

/** The pod-level security context of an engine's builders. */
export function builderPodSecurity(engine: BuilderEngine): kplus.PodSecurityContextProps {
  return engine === BuilderEngine.BUILDKIT ? BUILDKIT_POD_SECURITY : BUILDER_POD_SECURITY;
}

/** Adds the builder container of the build's engine (PlannedBuild.engine) to a Pod or a Job's Pod template. */
export function addEngineBuilder(workload: kplus.Pod | kplus.Job, props: BuilderProps): kplus.Container {
  return props.build.engine === BuilderEngine.BUILDKIT ? addBuildkitContainer(workload, props) : addBuilderContainer(workload, props);
}
