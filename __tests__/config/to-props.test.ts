import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { parseImageBuilderProps } from '../../lib/config/to-props';
import { BuilderWorkload } from '../../lib/constructs/image-builder';
import { SEED_BUILD } from '../support/synth';

describe('toImageBuilderProps: builds.yaml → typed ImageBuilder props', () => {
  test('an empty registry and builders section: every construct default stays in force', () => {
    const props = parseImageBuilderProps(SEED_BUILD);
    expect(props.workload).toBe(BuilderWorkload.JOB);
    expect(props.registry).toEqual({ nodePort: undefined, storageSize: undefined, storageClassName: undefined });
    expect(props.builders).toEqual({ nodeLabels: undefined, tolerations: undefined, resources: undefined });
    expect(props.jobs).toEqual({ backoffLimit: undefined, activeDeadline: undefined, ttlAfterFinished: undefined });
    expect(props.builds).toEqual([{
      engine: 'docker', repo: 'https://github.com/jpetazzo/container.training', ref: 'main', defaultBranch: 'main',
      images: [{ context: 'dockercoins/worker', dockerfile: 'Dockerfile' }],
    }]);
  });

  test('units: quantities become Size and Cpu, seconds become Duration', () => {
    const props = parseImageBuilderProps(`registry: {nodePort: 31000, storage: {persistentVolumeClaim: {size: 20Gi, storageClassName: fast}}}
builders:
  workload: Pod
  resources: {requests: {cpu: 250m}, limits: {cpu: "1.5", memory: 2Gi}}
  backoffLimit: 2
  activeDeadlineSeconds: 600
  ttlSecondsAfterFinished: 0
${SEED_BUILD}`);
    expect(props.workload).toBe(BuilderWorkload.POD);
    expect(props.registry?.nodePort).toBe(31000);
    expect(props.registry?.storageSize?.toGibibytes()).toBe(20);
    expect(props.registry?.storageClassName).toBe('fast');
    const resources = props.builders?.resources;
    expect(resources?.cpu?.request?.amount).toBe('250m');
    expect(resources?.cpu?.limit?.amount).toBe('1.5');
    expect(resources?.memory?.request).toBeUndefined();
    expect(resources?.memory?.limit?.toMebibytes()).toBe(Size.gibibytes(2).toMebibytes());
    expect(props.jobs?.backoffLimit).toBe(2);
    expect(props.jobs?.activeDeadline?.toSeconds()).toBe(Duration.minutes(10).toSeconds());
    expect(props.jobs?.ttlAfterFinished?.toSeconds()).toBe(0);
  });

  test('placement: nodeSelector as node label queries, tolerations as cdk8s-plus taint queries', () => {
    const props = parseImageBuilderProps(`builders:
  nodeSelector: {builder: "true", zone: a}
  tolerations:
    - {key: dedicated, operator: Equal, value: builder, effect: NoSchedule}
    - {key: spot, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
    - {operator: Exists}
${SEED_BUILD}`);
    expect(props.builders?.nodeLabels).toEqual([kplus.NodeLabelQuery.is('builder', 'true'), kplus.NodeLabelQuery.is('zone', 'a')]);
    expect(props.builders?.tolerations).toEqual([
      kplus.NodeTaintQuery.is('dedicated', 'builder', { effect: kplus.TaintEffect.NO_SCHEDULE }),
      kplus.NodeTaintQuery.exists('spot', { effect: kplus.TaintEffect.NO_EXECUTE, evictAfter: Duration.seconds(30) }),
      kplus.NodeTaintQuery.any(),
    ]);
  });
});

describe('buildTrigger', () => {
  const text = 'buildTrigger:\n  image: localhost:30500/cdk8s-image-builder:main\n  maxConcurrentBuilds: 3\nbuilds:\n  - repo: https://example.com/a.git\n';

  test('deploys the trigger with builds.yaml as written; absent, no trigger', () => {
    expect(parseImageBuilderProps(text).trigger).toEqual({ image: 'localhost:30500/cdk8s-image-builder:main', maxConcurrentBuilds: 3, secretName: undefined, buildsYaml: text });
    expect(parseImageBuilderProps(SEED_BUILD).trigger).toBeUndefined();
  });

  test('without an image, or with a secret value in it: refused with file:line, not deployed', () => {
    expect(() => parseImageBuilderProps('buildTrigger: {maxConcurrentBuilds: 2}\nbuilds:\n  - repo: https://example.com/a.git\n'))
      .toThrow(/builds.yaml:1:15: buildTrigger: missing required key "image": add it/);
    expect(() => parseImageBuilderProps('buildTrigger: {image: x, webhookSecret: hunter2}\nbuilds:\n  - repo: https://example.com/a.git\n'))
      .toThrow(/buildTrigger\.webhookSecret: unknown key "webhookSecret": allowed keys here: image, maxConcurrentBuilds, secretName/);
  });
});
