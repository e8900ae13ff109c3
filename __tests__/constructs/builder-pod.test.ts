import { Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { BuilderEngine, PlannedBuild } from '../../lib/plan/build-plan';
import { DOCKER_CLI_IMAGE } from '../../lib/constructs/builder-container';
import { BUILDER_CONTAINER_NAME } from '../../lib/constructs/contract';
import { BuilderPod } from '../../lib/constructs/builder-pod';
import { BUILD_SCRIPT } from '../../lib/constructs/builder-script';
import { envOf } from '../support/synth';

const SEED: PlannedBuild = {
  name: 'build-image',
  source: 'builds[0]',
  repo: 'https://github.com/jpetazzo/container.training',
  ref: 'main',
  tags: ['main', 'latest'],
  engine: BuilderEngine.DOCKER,
  cacheTags: ['main'],
  images: [{ name: 'worker', context: 'dockercoins/worker', dockerfile: 'Dockerfile', source: 'builds[0].images[0]' }],
};

function synthPod(props: Partial<ConstructorParameters<typeof BuilderPod>[2]> = {}) {
  const chart = Testing.chart();
  new BuilderPod(chart, 'Builder', { build: SEED, registryPort: 30500, ...props });
  const manifests = Testing.synth(chart);
  expect(manifests.map((m) => m.kind)).toEqual(['Pod', 'ConfigMap']);
  return manifests[0];
}

describe('BuilderPod', () => {
  test('is the seed Pod: build-image, OnFailure, container docker-build', () => {
    const pod = synthPod();
    expect(pod.kind).toBe('Pod');
    expect(pod.metadata.name).toBe('build-image');
    expect(pod.spec.restartPolicy).toBe('OnFailure');
    expect(pod.spec.containers.map((c: any) => c.name)).toEqual([BUILDER_CONTAINER_NAME]);
  });

  test('runs the constant script from its ConfigMap, parameters only in env', () => {
    const container = synthPod().spec.containers[0];
    expect(container.command).toEqual(['sh', '/opt/image-builder/build.sh']);
    expect(container.args).toBeUndefined();
    expect(BUILD_SCRIPT).not.toContain('container.training');
    expect(BUILD_SCRIPT).not.toContain('worker');
    expect(envOf(container)).toEqual({
      REGISTRY_PORT: '30500',
      REPO_URL: SEED.repo,
      GIT_REF: 'main',
      IMAGE_TAGS: 'main latest',
      IMAGE_1_NAME: 'worker',
      IMAGE_1_CONTEXT: 'dockercoins/worker',
      REGISTRY_PUSH_SECRET: 'registry-push',
    });
    // The push credentials from the push Secret (envFrom), never a value in the manifest.
    expect(container.envFrom).toEqual([{ prefix: 'PUSH_SECRET_', secretRef: { name: 'registry-push' } }]);
  });

  test('the script installs git, clones, builds and pushes to localhost:$REGISTRY_PORT', () => {
    expect(BUILD_SCRIPT).toContain('apk add --no-cache git');
    expect(BUILD_SCRIPT).toContain('registry="localhost:$REGISTRY_PORT"');
    expect(BUILD_SCRIPT).toMatch(/docker build "\$@" -f "\$src\/\$context\/\$dockerfile" "\$src\/\$context"/);
    expect(BUILD_SCRIPT).toContain('docker push "$registry/$name:$tag"');
  });

  test('pinned alpine-based docker CLI image, pulled only when missing', () => {
    const container = synthPod().spec.containers[0];
    expect(container.image).toBe(DOCKER_CLI_IMAGE);
    expect(container.image).toMatch(/^docker:\d+\.\d+\.\d+-cli$/);
    expect(container.imagePullPolicy).toBe('IfNotPresent');
  });

  test("mounts the node's /var/run read-only (the Docker socket is checked by the script, not the kubelet)", () => {
    const pod = synthPod();
    expect(pod.spec.volumes).toContainEqual({ name: 'node-run', hostPath: { path: '/var/run', type: 'Directory' } });
    expect(pod.spec.containers[0].volumeMounts).toContainEqual({ name: 'node-run', mountPath: '/node/run', readOnly: true });
    // The script finds the socket there by default; no builder's env repeats it.
    expect(BUILD_SCRIPT).toContain(': "${WORKSPACE:=/workspace}" "${NODE_DOCKER_SOCKET:=/node/run/docker.sock}"');
    expect(pod.spec.containers[0].env.map((e: any) => e.name)).not.toContain('NODE_DOCKER_SOCKET');
  });

  test('runs as root with a writable root filesystem and an emptyDir workspace (apk needs both)', () => {
    const pod = synthPod();
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: false, runAsUser: 0 });
    expect(pod.spec.containers[0].securityContext).toMatchObject({
      runAsNonRoot: false, runAsUser: 0, readOnlyRootFilesystem: false, privileged: false, allowPrivilegeEscalation: false,
    });
    expect(pod.spec.volumes).toContainEqual({ name: 'workspace', emptyDir: {} });
    expect(pod.spec.containers[0].volumeMounts).toContainEqual({ name: 'workspace', mountPath: '/workspace' });
  });

  test('small default resources, overridable', () => {
    expect(synthPod().spec.containers[0].resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' },
    });
    const custom = synthPod({ resources: { memory: { limit: Size.gibibytes(2) } } }).spec.containers[0].resources;
    expect(custom).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '2Gi' } });
  });

  test('placement: node labels (all of them, one selector term) and tolerations through cdk8s-plus scheduling', () => {
    const pod = synthPod({
      nodeLabels: [kplus.NodeLabelQuery.is('builder', 'true'), kplus.NodeLabelQuery.is('zone', 'a')],
      tolerations: [kplus.NodeTaintQuery.is('dedicated', 'builder', { effect: kplus.TaintEffect.NO_SCHEDULE })],
    });
    expect(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([{
      matchExpressions: [{ key: 'builder', operator: 'In', values: ['true'] }, { key: 'zone', operator: 'In', values: ['a'] }],
    }]);
    expect(pod.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'builder', effect: 'NoSchedule' }]);
    expect(synthPod().spec.affinity).toBeUndefined();
    expect(synthPod().spec.tolerations).toBeUndefined();
  });

  test('labels: standard ones plus the ones given, no construct-path label', () => {
    const pod = synthPod({ build: { ...SEED, name: 'build-x' }, labels: { team: 'shop' } });
    expect(pod.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'image-builder',
      'app.kubernetes.io/instance': 'build-x',
      'app.kubernetes.io/component': 'builder',
      'app.kubernetes.io/part-of': 'cdk8s-image-builder',
      'app.kubernetes.io/managed-by': 'cdk8s',
      'cdk8s-image-builder/build': 'build-x',
      'images.cdk8s-image-builder/worker': 'true',
      'team': 'shop',
    });
  });
});
