import { ConfigError } from '../../lib/config/builds-file';
import { BUILD_LABEL, IMAGE_LABEL_PREFIX } from '../../lib/constructs/builder-container';
import { envOf, find, SEED_BUILD, synthBuilds, synthDefault } from '../support/synth';

describe('ImageBuilder', () => {
  test('snapshot of the default builds.yaml (review this diff in PRs)', () => {
    expect(synthDefault()).toMatchSnapshot();
  });

  test('the default builds.yaml: registry + one Job building the four dockercoins images from one clone', () => {
    const manifests = synthDefault();
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'ConfigMap/registry-config', 'Deployment/registry', 'Service/registry', 'ConfigMap/image-builder-script',
      'ConfigMap/registry-retention', 'ServiceAccount/registry-retention', 'ClusterRole/registry-retention', 'ClusterRoleBinding/registry-retention',
      'CronJob/registry-retention', expect.stringMatching(/^Job\/build-container-training-main-[0-9a-f]{8}$/),
    ]);
    const env = envOf(find(manifests, 'Job').spec.template.spec.containers[0]);
    expect(env).toMatchObject({
      REPO_URL: 'https://github.com/jpetazzo/container.training',
      IMAGE_1_NAME: 'hasher', IMAGE_2_NAME: 'rng', IMAGE_3_NAME: 'webui', IMAGE_4_NAME: 'worker',
    });
  });

  test('one script ConfigMap however many builds; every builder mounts it', () => {
    const manifests = synthBuilds(`builds:
  - {repo: "https://x.example/a.git"}
  - {repo: "https://x.example/b.git"}
  - {repo: "https://x.example/c.git"}
`);
    expect(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => m.metadata.name)).toEqual(['registry-config', 'image-builder-script', 'registry-retention']);
    const jobs = manifests.filter((m) => m.kind === 'Job');
    expect(jobs).toHaveLength(3);
    for (const job of jobs) {
      expect(job.spec.template.spec.volumes).toContainEqual({ name: 'build-script', configMap: { name: 'image-builder-script' } });
    }
    // The Pod form shares the same ConfigMap.
    const pod = synthBuilds(`builders: {workload: Pod}\n${SEED_BUILD}`);
    expect(pod.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'ConfigMap/registry-config', 'Deployment/registry', 'Service/registry', 'ConfigMap/image-builder-script',
      'ConfigMap/registry-retention', 'ServiceAccount/registry-retention', 'ClusterRole/registry-retention', 'ClusterRoleBinding/registry-retention',
      'CronJob/registry-retention', 'Pod/build-image',
    ]);
  });

  test('retention reads what the cluster runs: its own ServiceAccount, list-only ClusterRole, binding in registry.retention.namespace', () => {
    const manifests = synthBuilds(`registry: {nodePort: 32100, retention: {namespace: ci}}\n${SEED_BUILD}`);
    const pod = find(manifests, 'CronJob').spec.jobTemplate.spec.template.spec;
    expect(pod.serviceAccountName).toBe('registry-retention');
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(find(manifests, 'ServiceAccount', 'registry-retention').automountServiceAccountToken).toBe(false);
    expect(envOf(pod.containers[0]).REGISTRY_IMAGE_HOSTS).toBe('localhost:32100,127.0.0.1:32100,registry:5000');
    const rules = find(manifests, 'ClusterRole', 'registry-retention').rules;
    expect(rules.map((r: any) => `${r.apiGroups.join()}/${r.resources.join()}:${r.verbs.join()}`)).toEqual([
      '/pods:list', 'apps/deployments:list', 'apps/replicasets:list', 'apps/statefulsets:list', 'apps/daemonsets:list', 'batch/jobs:list', 'batch/cronjobs:list',
    ]);
    const binding = find(manifests, 'ClusterRoleBinding', 'registry-retention');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'registry-retention' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'registry-retention', namespace: 'ci' }]);
    expect(find(synthDefault(), 'ClusterRoleBinding').subjects[0].namespace).toBe('default');
  });

  test('REGISTRY_PORT is wired from the registry nodePort', () => {
    const manifests = synthBuilds(`registry: {nodePort: 32100}\n${SEED_BUILD}`);
    expect(find(manifests, 'Service').spec.ports[0].nodePort).toBe(32100);
    expect(envOf(find(manifests, 'Job').spec.template.spec.containers[0]).REGISTRY_PORT).toBe('32100');
  });

  test('workload Pod: the seed form, a single build-image Pod', () => {
    const manifests = synthBuilds(`builders: {workload: Pod}\n${SEED_BUILD}`);
    const pod = find(manifests, 'Pod', 'build-image');
    expect(envOf(pod.spec.containers[0])).toMatchObject({ IMAGE_1_NAME: 'worker', REGISTRY_PORT: '30500' });
    expect(manifests.filter((m) => m.kind === 'Job')).toEqual([]);
  });

  test('workload Pod with several builds is refused, at the line of builders.workload', () => {
    expect(() => synthBuilds(`builders: {workload: Pod}
builds: [{repo: "https://x.example/a.git"}, {repo: "https://x.example/b.git"}]`)).toThrow(ConfigError);
    expect(() => synthBuilds(`builders: {workload: Pod}
builds: [{repo: "https://x.example/a.git"}, {repo: "https://x.example/b.git"}]`)).toThrow(/^builds\.yaml:1:22: builders\.workload: "Pod" runs exactly one build/);
  });

  test('one Job per build, each labelled for kubectl logs -l', () => {
    const manifests = synthBuilds(`builds:
  - {repo: "https://x.example/shop.git", ref: main, images: [{context: api}, {context: web}]}
  - {repo: "https://x.example/tools.git", ref: v1.0.0}
`);
    const jobs = manifests.filter((m) => m.kind === 'Job');
    expect(jobs.map((j) => j.metadata.name)).toEqual([expect.stringMatching(/^build-shop-main-[0-9a-f]{8}$/), expect.stringMatching(/^build-tools-v1-0-0-[0-9a-f]{8}$/)]);
    expect(jobs[0].spec.template.metadata.labels).toMatchObject({
      [BUILD_LABEL]: 'build-shop-main', [`${IMAGE_LABEL_PREFIX}api`]: 'true', [`${IMAGE_LABEL_PREFIX}web`]: 'true',
      'app.kubernetes.io/component': 'builder',
    });
    expect(jobs[1].spec.template.metadata.labels).toMatchObject({ [`${IMAGE_LABEL_PREFIX}tools`]: 'true' });
  });

  test('builders placement applies to every builder; Job knobs apply to Jobs', () => {
    const manifests = synthBuilds(`builders:
  nodeSelector: {builder: "true"}
  tolerations: [{key: dedicated, operator: Equal, value: builder, effect: NoSchedule}]
  resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: "2", memory: 2Gi}}
  backoffLimit: 5
  activeDeadlineSeconds: 1800
  ttlSecondsAfterFinished: 600
builds:
  - {repo: "https://x.example/a.git"}
  - {repo: "https://x.example/b.git"}
`);
    for (const job of manifests.filter((m) => m.kind === 'Job')) {
      expect(job.spec).toMatchObject({ backoffLimit: 5, activeDeadlineSeconds: 1800, ttlSecondsAfterFinished: 600 });
      expect(job.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution)
        .toEqual({ nodeSelectorTerms: [{ matchExpressions: [{ key: 'builder', operator: 'In', values: ['true'] }] }] });
      expect(job.spec.template.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'builder', effect: 'NoSchedule' }]);
      expect(job.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '2', memory: '2Gi' } });
    }
    // The registry is not a builder: it stays schedulable anywhere.
    expect(find(manifests, 'Deployment').spec.template.spec.affinity).toBeUndefined();
    expect(find(manifests, 'Deployment').spec.template.spec.tolerations).toBeUndefined();
  });

  test('registry storage on a PersistentVolumeClaim', () => {
    const manifests = synthBuilds(`registry: {storage: {persistentVolumeClaim: {size: 50Gi, storageClassName: standard}}}\n${SEED_BUILD}`);
    expect(find(manifests, 'PersistentVolumeClaim', 'registry-data').spec.resources.requests.storage).toBe('50Gi');
  });
});
