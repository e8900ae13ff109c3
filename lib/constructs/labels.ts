import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';

/**
 * The app.kubernetes.io/* labels every object carries. Selectors use only
 * these (never cdk8s's construct-path labels), so renaming a construct in code
 * cannot orphan running Pods.
 */
export const PART_OF = 'cdk8s-image-builder';

export type Component = 'registry' | 'builder' | 'retention' | 'trigger';

/** `app.kubernetes.io/name` of each component. */
const COMPONENT_NAMES: Record<Component, string> = {
  registry: 'registry',
  builder: 'image-builder',
  retention: 'registry-retention',
  trigger: 'build-trigger',
};

/** The label naming an object's part of the app; the policy rules recognise builders and the registry by it. */
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** The label naming the app an object belongs to: `kubectl apply --prune -l app.kubernetes.io/part-of=cdk8s-image-builder`. */
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';

export function standardLabels(component: Component, instance: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': COMPONENT_NAMES[component],
    'app.kubernetes.io/instance': instance,
    [COMPONENT_LABEL]: component,
    [PART_OF_LABEL]: PART_OF,
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

/** The labels a selector needs: stable across releases, unique per instance. */
export function selectorLabels(component: Component, instance: string): Record<string, string> {
  const all = standardLabels(component, instance);
  return {
    'app.kubernetes.io/name': all['app.kubernetes.io/name'],
    'app.kubernetes.io/instance': all['app.kubernetes.io/instance'],
  };
}

/**
 * cdk8s-plus labels every Pod with `cdk8s.io/metadata.addr`, a hash of the
 * construct path. Nothing selects on it here, and it would change whenever a
 * construct is renamed, so it is removed from the output. cdk8s-plus has no
 * API to remove a label, so this is the one JSON patch left; its pointer
 * follows from the workload's kind (a Pod's own labels, or a workload's Pod
 * template), never from the caller.
 */
export function dropAddressLabel(workload: kplus.Pod | kplus.Workload): void {
  const labels = workload instanceof kplus.Pod ? '/metadata/labels'
    : workload instanceof kplus.CronJob ? '/spec/jobTemplate/spec/template/metadata/labels'
      : '/spec/template/metadata/labels';
  ApiObject.of(workload).addJsonPatch(JsonPatch.remove(`${labels}/${kplus.Pod.ADDRESS_LABEL.replace(/\//g, '~1')}`));
}
