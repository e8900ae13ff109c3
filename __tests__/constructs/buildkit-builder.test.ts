import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Size, Testing } from 'cdk8s';
import { checkRepoUrlForEngine } from '../../lib/config/source-rules';
import { BuildJob } from '../../lib/constructs/build-job';
import { BuilderPod } from '../../lib/constructs/builder-pod';
import { BUILDKIT_IMAGE, BUILDKIT_VERSION, DEFAULT_BUILDKIT_RESOURCES } from '../../lib/constructs/buildkit-container';
import { BUILDKIT_CONTAINER_NAME, BUILDKIT_STATE_PATH } from '../../lib/constructs/contract';
import { BUILDKIT_SCRIPT, BUILDKITD_FLAGS } from '../../lib/constructs/buildkit-script';
import { BuilderEngine, PlannedBuild } from '../../lib/plan/build-plan';
import { envOf, find, ROOT, synthBuilds } from '../support/synth';
import { defaultPullPolicy } from '../../lib/constructs/server-canonical';

const BUILD: PlannedBuild = {
  name: 'build-app-v1.2.0',
  source: 'builds[0]',
  repo: 'https://git.example.com/team/app.git',
  ref: 'v1.2.0',
  tags: ['v1.2.0'],
  engine: BuilderEngine.BUILDKIT,
  cacheTags: ['v1.2.0', 'main'],
  images: [
    { name: 'api', context: 'api', dockerfile: 'Dockerfile', source: 'builds[0].images[0]' },
    { name: 'web', context: 'web', dockerfile: 'docker/Dockerfile.prod', source: 'builds[0].images[1]' },
  ],
};

function synthJob(props: Partial<ConstructorParameters<typeof BuildJob>[2]> = {}) {
  const chart = Testing.chart();
  new BuildJob(chart, 'Job', { build: BUILD, registryPort: 30500, registryHost: 'registry:5000', ...props });
  return find(Testing.synth(chart), 'Job');
}

const BUILDKIT_YAML = `
registry: {nodePort: 31000}
builders: {engine: buildkit}
builds:
  - repo: https://github.com/jpetazzo/container.training.git
    images: [{context: dockercoins/worker}, {context: dockercoins/hasher}]
`;

describe('buildkit engine builder', () => {
  test('snapshot of a buildkit builds.yaml (review this diff in PRs)', () => {
    expect(synthBuilds(BUILDKIT_YAML)).toMatchSnapshot();
  });

  test("the rootless BuildKit Job of upstream's example, on 1.27: pinned image, uid 1000, seccomp and AppArmor unconfined", () => {
    const job = synthJob();
    const pod = job.spec.template;
    const [container] = pod.spec.containers;
    expect(pod.spec.containers).toHaveLength(1);
    expect(container.name).toBe(BUILDKIT_CONTAINER_NAME);
    expect(container.image).toBe(`moby/buildkit:${BUILDKIT_VERSION}-rootless`);
    // IfNotPresent: the API server's default for a tagged image, so the Job leaves it out.
    expect(container.imagePullPolicy).toBeUndefined();
    expect(defaultPullPolicy(container.image)).toBe('IfNotPresent');
    expect(container.command).toEqual(['sh', '/opt/image-builder/buildkit.sh']);
    expect(container.args).toBeUndefined();
    // uid, gid and runAsNonRoot come from the Pod (the container inherits them); not privileged, a writable root.
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: true, seccompProfile: { type: 'Unconfined' } });
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 });
    expect(pod.metadata.annotations).toEqual({ 'container.apparmor.security.beta.kubernetes.io/buildkit': 'unconfined' });
    expect(pod.spec.restartPolicy).toBe('Never');
  });

  test('no hostPath of any kind: an emptyDir at the state dir, the script ConfigMap read-only', () => {
    const spec = synthJob().spec.template.spec;
    expect(spec.volumes).toEqual([
      { name: 'buildkit-state', emptyDir: {} },
      { name: 'build-script', configMap: { name: 'build-app-v1.2.0-buildkit-script' } },
    ]);
    expect(spec.containers[0].volumeMounts).toEqual([
      { name: 'buildkit-state', mountPath: BUILDKIT_STATE_PATH },
      { name: 'build-script', mountPath: '/opt/image-builder', readOnly: true },
    ]);
    expect(JSON.stringify(spec)).not.toContain('hostPath');
  });

  test('parameters only in env, all strings: registry at its Service address, cache tags, the no-sandbox flag', () => {
    const container = synthJob().spec.template.spec.containers[0];
    // Plain strings; the push credentials come from the push Secret whole (envFrom), never as values.
    expect(container.env.filter((e: any) => typeof e.value !== 'string')).toEqual([]);
    expect(container.envFrom).toEqual([{ prefix: 'PUSH_SECRET_', secretRef: { name: 'registry-push' } }]);
    expect(envOf(container)).toEqual({
      BUILDKITD_FLAGS: '--oci-worker-no-process-sandbox',
      REGISTRY_PORT: '30500',
      REGISTRY_HOST: 'registry:5000',
      REPO_URL: BUILD.repo,
      GIT_REF: 'v1.2.0',
      IMAGE_TAGS: 'v1.2.0',
      CACHE_TAGS: 'v1.2.0 main',
      IMAGE_1_NAME: 'api', IMAGE_1_CONTEXT: 'api',
      IMAGE_2_NAME: 'web', IMAGE_2_CONTEXT: 'web', IMAGE_2_DOCKERFILE: 'docker/Dockerfile.prod',
      REGISTRY_PUSH_SECRET: 'registry-push',
    });
    expect(BUILDKITD_FLAGS).toBe('--oci-worker-no-process-sandbox');
  });

  test('resources: BuildKit builds in the container, so larger defaults; each value overridable alone', () => {
    expect(synthJob().spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' },
    });
    const custom = synthJob({ resources: { memory: { limit: Size.gibibytes(8) } } });
    expect(custom.spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '8Gi' },
    });
    expect(DEFAULT_BUILDKIT_RESOURCES.memory?.limit?.toMebibytes()).toBe(4096);
  });

  test('the buildkit engine needs the registry Service address', () => {
    const chart = Testing.chart();
    expect(() => new BuildJob(chart, 'Job', { build: BUILD, registryPort: 30500 })).toThrow(/registryHost \(Registry\.clusterEndpoint\)/);
  });

  test('BuilderPod (workload Pod) runs the same container, with the AppArmor annotation on the Pod', () => {
    const chart = Testing.chart();
    new BuilderPod(chart, 'Pod', { build: { ...BUILD, name: 'build-image' }, registryPort: 30500, registryHost: 'registry:5000' });
    const pod = find(Testing.synth(chart), 'Pod');
    expect(pod.metadata.annotations).toEqual({ 'container.apparmor.security.beta.kubernetes.io/buildkit': 'unconfined' });
    expect(pod.spec.containers[0].securityContext.seccompProfile).toEqual({ type: 'Unconfined' });
    expect(pod.spec.containers[0].image).toBe(BUILDKIT_IMAGE);
  });

  test('ImageBuilder wires REGISTRY_HOST to the registry Service, REGISTRY_PORT to its nodePort', () => {
    const manifests = synthBuilds(BUILDKIT_YAML);
    const service = find(manifests, 'Service', 'registry');
    const env = envOf(find(manifests, 'Job').spec.template.spec.containers[0]);
    expect(env.REGISTRY_HOST).toBe(`${service.metadata.name}:${service.spec.ports[0].port}`);
    expect(env.REGISTRY_PORT).toBe(String(service.spec.ports[0].nodePort));
    expect(env.CACHE_TAGS).toBe('main');
    // No docker builder, so only the buildkit script's ConfigMap, shared by every buildkit builder.
    expect(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => [m.metadata.name, Object.keys(m.data)])).toEqual([
      ['registry-config', ['config.yml', 'nginx.conf']],
      ['image-builder-buildkit-script', ['buildkit.sh']],
      ['registry-retention', ['retention.js']],
    ]);
    expect(find(manifests, 'ConfigMap', 'image-builder-buildkit-script').data['buildkit.sh']).toBe(BUILDKIT_SCRIPT);
  });

  test('a build may override builders.engine', () => {
    const manifests = synthBuilds(`
builders: {engine: buildkit}
builds:
  - {repo: "https://git.example.com/a.git", engine: docker}
  - {repo: "https://git.example.com/b.git"}
`);
    const jobs = manifests.filter((m) => m.kind === 'Job');
    expect(jobs.map((j) => [j.metadata.name, j.spec.template.spec.containers[0].name])).toEqual([
      [expect.stringMatching(/^build-a-main-[0-9a-f]{8}$/), 'docker-build'], [expect.stringMatching(/^build-b-main-[0-9a-f]{8}$/), 'buildkit'],
    ]);
    expect(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => m.metadata.name)).toEqual(['registry-config', 'image-builder-script', 'image-builder-buildkit-script', 'registry-retention']);
  });

  test('the image tag is the BuildKit the e2e builds from the Go module proxy (scripts/e2e/buildkit.env)', () => {
    const pinned = readFileSync(join(ROOT, 'scripts', 'e2e', 'buildkit.env'), 'utf-8');
    expect(pinned).toMatch(new RegExp(`^BUILDKIT_VERSION=${BUILDKIT_VERSION.replace(/\./g, '\\.')}$`, 'm'));
  });

  test('the script refuses exactly the http(s) URLs synth refuses (one rule: scheme in any case, ends in .git)', () => {
    // Accepted URLs go on to `git ls-remote` (nothing listens on port 1), refused ones stop before it.
    const urls = [
      'https://127.0.0.1:1/a.git', 'HTTPS://127.0.0.1:1/a.git', 'http://127.0.0.1:1/team/a.git', 'git://127.0.0.1:1/a',
      'https://127.0.0.1:1/a.git/', 'HTTPS://127.0.0.1:1/a', 'Http://127.0.0.1:1/a.GIT', 'https://127.0.0.1:1/a.git.tar.gz',
    ];
    const verdicts = urls.map((url) => {
      const run = spawnSync('sh', ['-c', BUILDKIT_SCRIPT], {
        env: { PATH: process.env.PATH, REPO_URL: url, GIT_REF: 'main', IMAGE_1_NAME: 'a', GIT_TERMINAL_PROMPT: '0' }, encoding: 'utf-8', timeout: 30_000,
      });
      expect(run.status).toBe(1);
      const refused = run.stderr.includes('!! BuildKit takes an http(s) URL for a git repository only when it ends in .git, with no trailing slash');
      if (!refused) expect(run.stderr).toContain(`!! cannot list the refs of ${url}`);
      return { url, synth: checkRepoUrlForEngine(url, 'buildkit') !== undefined, script: refused };
    });
    expect(verdicts.filter((v) => v.synth !== v.script)).toEqual([]);
    expect(verdicts.filter((v) => v.script).map((v) => v.url)).toEqual(urls.slice(4));
  });

  test('the script is POSIX sh that shellcheck passes, and a constant: no builds.yaml value in it', () => {
    const check = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: BUILDKIT_SCRIPT, encoding: 'utf-8' });
    if (check.error) throw new Error(`shellcheck is needed (Debian package shellcheck, scripts/debian-packages.txt): ${check.error.message}`);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
    const chart = Testing.chart();
    new BuildJob(chart, 'Job', { build: BUILD, registryPort: 30500, registryHost: 'registry:5000' });
    expect(find(Testing.synth(chart), 'ConfigMap').data).toEqual({ 'buildkit.sh': BUILDKIT_SCRIPT });
    for (const value of ['git.example.com', 'team/app', 'v1.2.0', 'registry:5000', '30500', 'Dockerfile.prod']) {
      expect(BUILDKIT_SCRIPT).not.toContain(value);
    }
  });
});
