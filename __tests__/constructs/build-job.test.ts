import { ApiObject, Duration, JsonPatch, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { BuilderEngine, PlannedBuild } from '../../lib/plan/build-plan';
import { BUILD_SCRIPT } from '../../lib/constructs/builder-script';
import { BuilderScriptConfigMap } from '../../lib/constructs/builder-script-config-map';
import { BuildJob } from '../../lib/constructs/build-job';

const BUILD: PlannedBuild = {
  name: 'build-app-v1.2.0',
  source: 'builds[0]',
  repo: 'https://git.example.com/team/app.git',
  ref: 'v1.2.0',
  tags: ['v1.2.0'],
  engine: BuilderEngine.DOCKER,
  cacheTags: ['v1.2.0'],
  images: [
    { name: 'api', context: 'api', dockerfile: 'Dockerfile', source: 'builds[0].images[0]' },
    { name: 'web', context: 'web', dockerfile: 'docker/Dockerfile.prod', source: 'builds[0].images[1]' },
  ],
};

function synthJob(props: Partial<ConstructorParameters<typeof BuildJob>[2]> = {}) {
  const chart = Testing.chart();
  new BuildJob(chart, 'Job', { build: BUILD, registryPort: 31000, ...props });
  return Testing.synth(chart).find((m) => m.kind === 'Job');
}

describe('BuildJob', () => {
  test('one Job, bounded retries, a deadline and cleanup of finished builds', () => {
    const job = synthJob();
    expect(job.kind).toBe('Job');
    expect(job.metadata.name).toMatch(/^build-app-v1\.2\.0-[0-9a-f]{8}$/);
    expect(job.spec).toMatchObject({ backoffLimit: 3, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 86400 });
    const custom = synthJob({ backoffLimit: 1, activeDeadline: Duration.minutes(20), ttlAfterFinished: Duration.hours(2) });
    expect(custom.spec).toMatchObject({ backoffLimit: 1, activeDeadlineSeconds: 1200, ttlSecondsAfterFinished: 7200 });
  });

  test('a Pod per attempt (restartPolicy Never), so failed attempts keep their logs', () => {
    expect(synthJob().spec.template.spec.restartPolicy).toBe('Never');
  });

  test('the name changes with what the Job builds and only then (its template is immutable)', () => {
    const name = synthJob().metadata.name;
    expect(synthJob().metadata.name).toBe(name);
    expect(synthJob({ backoffLimit: 1 }).metadata.name).not.toBe(name);
    expect(synthJob({ registryPort: 31001 }).metadata.name).not.toBe(name);
    expect(synthJob({ build: { ...BUILD, ref: 'v1.2.1' } }).metadata.name).not.toBe(name);
    // A change that comes from the constructs, not from builds.yaml, renames the Job too.
    const chart = Testing.chart();
    const job = new BuildJob(chart, 'Job', { build: BUILD, registryPort: 31000 });
    expect(job.name).toBe(name);
    ApiObject.of(job.job).addJsonPatch(JsonPatch.add('/spec/template/spec/priorityClassName', 'builds'));
    expect(job.name).not.toBe(name);
    expect(Testing.synth(chart).find((m) => m.kind === 'Job').metadata.name).toBe(job.name);
  });

  test('a given name is kept as it is (the trigger names Jobs after the pushed commit)', () => {
    expect(synthJob({ name: 'build-app-v1.2.0-abc1234' }).metadata.name).toBe('build-app-v1.2.0-abc1234');
  });

  test("no value the API server would fill in itself or that means the same as none: a third of each Job's size", () => {
    const spec = synthJob().spec.template.spec;
    for (const key of ['dnsPolicy', 'terminationGracePeriodSeconds', 'setHostnameAsFQDN']) expect(spec).not.toHaveProperty(key);
    expect(spec.securityContext).toEqual({ runAsUser: 0, runAsGroup: 0 });
    expect(spec.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false });
    expect(spec.containers[0]).not.toHaveProperty('imagePullPolicy');
  });

  test('same container and script as the Pod form; every image in env', () => {
    const container = synthJob().spec.template.spec.containers[0];
    expect(container.name).toBe('docker-build');
    expect(container.command).toEqual(['sh', '/opt/image-builder/build.sh']);
    expect(container.env).toEqual([
      { name: 'REGISTRY_PORT', value: '31000' },
      { name: 'REPO_URL', value: BUILD.repo },
      { name: 'GIT_REF', value: 'v1.2.0' },
      { name: 'IMAGE_TAGS', value: 'v1.2.0' },
      { name: 'IMAGE_1_NAME', value: 'api' },
      { name: 'IMAGE_1_CONTEXT', value: 'api' },
      { name: 'IMAGE_2_NAME', value: 'web' },
      { name: 'IMAGE_2_CONTEXT', value: 'web' },
      { name: 'IMAGE_2_DOCKERFILE', value: 'docker/Dockerfile.prod' },
      { name: 'REGISTRY_PUSH_SECRET', value: 'registry-push' },
    ]);
    // The push credentials: the push Secret whole, its keys as PUSH_SECRET_username and PUSH_SECRET_password.
    expect(container.envFrom).toEqual([{ prefix: 'PUSH_SECRET_', secretRef: { name: 'registry-push' } }]);
  });

  test('the script: its own ConfigMap by default, or a shared one; mounted read-only', () => {
    const chart = Testing.chart();
    new BuildJob(chart, 'Job', { build: BUILD, registryPort: 31000 });
    const manifests = Testing.synth(chart);
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([expect.stringMatching(/^Job\/build-app-v1\.2\.0-[0-9a-f]{8}$/), 'ConfigMap/build-app-v1.2.0-script']);
    expect(manifests[1].data).toEqual({ 'build.sh': BUILD_SCRIPT });
    const spec = manifests[0].spec.template.spec;
    expect(spec.volumes).toContainEqual({ name: 'build-script', configMap: { name: 'build-app-v1.2.0-script' } });
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'build-script', mountPath: '/opt/image-builder', readOnly: true });

    const shared = Testing.chart();
    const script = new BuilderScriptConfigMap(shared, 'Script');
    new BuildJob(shared, 'A', { build: BUILD, registryPort: 31000, script });
    new BuildJob(shared, 'B', { build: { ...BUILD, name: 'build-b' }, registryPort: 31000, script });
    const all = Testing.synth(shared);
    expect(all.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(['ConfigMap/image-builder-script', expect.stringMatching(/^Job\/build-app-v1\.2\.0-[0-9a-f]{8}$/), expect.stringMatching(/^Job\/build-b-[0-9a-f]{8}$/)]);
    for (const job of all.slice(1)) {
      expect(job.spec.template.spec.volumes).toContainEqual({ name: 'build-script', configMap: { name: 'image-builder-script' } });
    }
  });

  test('labels on the Job and its Pods: the build, each image, extra ones; the Job controller picks its own selector', () => {
    const job = synthJob({ labels: { team: 'shop' } });
    const handles = {
      'cdk8s-image-builder/build': 'build-app-v1.2.0',
      'images.cdk8s-image-builder/api': 'true',
      'images.cdk8s-image-builder/web': 'true',
      'team': 'shop',
    };
    // The Job: the handles, its component and part-of (what `kubectl apply --prune -l` selects);
    // instance would repeat the build label, name and managed-by the component.
    expect(job.metadata.labels).toEqual({
      ...handles,
      'app.kubernetes.io/component': 'builder',
      'app.kubernetes.io/part-of': 'cdk8s-image-builder',
    });
    // The Pods: what `kubectl logs -l` selects by, and the component the policy rules recognise builders by.
    expect(job.spec.template.metadata.labels).toEqual({ ...handles, 'app.kubernetes.io/component': 'builder' });
    expect(job.spec.selector).toBeUndefined();
    expect(JSON.stringify(job)).not.toContain('cdk8s.io/metadata.addr');
  });

  test('placement goes into the Pod template', () => {
    const job = synthJob({
      nodeLabels: [kplus.NodeLabelQuery.is('pool', 'builders')],
      tolerations: [kplus.NodeTaintQuery.exists('dedicated', { effect: kplus.TaintEffect.NO_SCHEDULE })],
    });
    expect(job.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual({
      nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['builders'] }] }],
    });
    expect(job.spec.template.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }]);
  });
});
