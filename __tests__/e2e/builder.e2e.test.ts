/**
 * End-to-end: the builder script exactly as synthesized into the builder Job,
 * run against a real Docker API (podman), a real registry (Distribution) and a
 * git daemon, all on 127.0.0.1 (scripts/e2e/env.sh), checked through the
 * registry's HTTP API.
 *
 *   npm run test:e2e        (jest -c jest.e2e.config.js --runInBand)
 *
 * What runs is the Job's container `command` (sh /opt/image-builder/build.sh,
 * the script read from the synthesized ConfigMap it mounts) with the Job's env. The only overrides are the node's stand-ins (support/builder.ts):
 * DOCKER_HOST/DOCKER_CONFIG/DOCKER_BUILDKIT=0 (the node's Docker engine is
 * podman's Docker API here), WORKSPACE (the script's default /workspace is the Pod's
 * emptyDir; here a temp dir per run) and PATH (an `apk` shim first: no Alpine
 * here, git is already installed).
 *
 * Tests run in file order and share one environment and one registry: each
 * case uses refs (hence tags) of its own, and the first test is the only one
 * that can assert a repository's complete tag list.
 */
import { ChildProcess, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BuilderContainer, BuilderRun, killRunningBuilders, pushedLines, runBuilder, Secrets, steps, synthBuilder, writeApkShim } from './support/builder';
import { checkPrerequisites, closedPort, E2EEnv, envDown, envUp, freePortIn, portIsFree, startReaper, stopReaper } from './support/env';
import { createFixtureRepo, FAILURE_BRANCHES, FixtureRepo } from './support/fixture';
import { DOCKER_MANIFEST_V2, httpRequest, RegistryClient } from './support/registry';
import { createHmac } from 'crypto';
import { parseBuildsFile } from '../../lib/config/builds-file';
import { toImageBuilderProps } from '../../lib/config/to-props';
import { triggeredJob } from '../../trigger/job';
import { matchPush } from '../../trigger/match';
import { readWebhook } from '../../trigger/providers';

/** builds.yaml's registry.nodePort must be a NodePort; the e2e registry listens on one. */
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

interface ImageSpec { context: string; dockerfile?: string }

function buildsYaml(p: { nodePort: number; repo: string; ref: string; images?: ImageSpec[] }): string {
  const q = (s: string) => JSON.stringify(s);
  const images = p.images
    ? `    images:\n${p.images.map((i) => `      - context: ${q(i.context)}${i.dockerfile ? `\n        dockerfile: ${q(i.dockerfile)}` : ''}`).join('\n')}\n`
    : '';
  return `registry:\n  nodePort: ${p.nodePort}\nbuilds:\n  - repo: ${q(p.repo)}\n    ref: ${q(p.ref)}\n${images}`;
}

const short = (sha: string) => sha.slice(0, 7);

let tmp = '';
let stateDir = '';
let env: E2EEnv;
let repo: FixtureRepo;
let registry: RegistryClient;
let shimDir = '';
let runs = 0;
const timings: Record<string, number> = {};

let reaper: ChildProcess | undefined;

function cleanup(): void {
  killRunningBuilders();
  try {
    if (stateDir) envDown(stateDir);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

/** The push Secret as an operator creates it (README), holding the e2e registry's account. */
function pushSecret(password = env.registryPassword): Secrets {
  return { 'registry-push': { username: env.registryUsername, password } };
}

/** Synthesizes builds.yaml, runs the builder Job's command in a fresh workspace. */
async function build(label: string, yaml: string, secrets: Secrets = pushSecret()): Promise<{ job: BuilderContainer; run: BuilderRun; workspace: string }> {
  const job = synthBuilder(yaml);
  runs += 1;
  const workspace = join(tmp, 'ws', `${runs}-${label}`);
  const run = await runBuilder(job, {
    dockerHost: env.dockerHost,
    dockerConfig: env.dockerConfig,
    workspace,
    mountRoot: join(tmp, 'mounts', `${runs}-${label}`),
    shimDir,
    secrets,
  });
  // Whatever happened, no credential reaches the log.
  expect(run.output).not.toContain(env.registryPassword);
  expect(run.output).not.toContain(Buffer.from(`${env.registryUsername}:${env.registryPassword}`).toString('base64'));
  return { job, run, workspace };
}

function expectSuccess(run: BuilderRun): void {
  if (run.code !== 0) {
    throw new Error(`builder exited ${run.code ?? run.signal}, expected 0; output:\n${run.output}`);
  }
  expect(run.stderr).not.toContain('!! build failed');
}

/** Logs the pushed lines for CI, checks each against the registry, returns them as `name:tag` → digest. */
async function checkPushed(run: BuilderRun, expected: Record<string, string[]>): Promise<Map<string, string>> {
  const lines = pushedLines(run.stdout);
  console.log(lines.map((l) => l.line).join('\n'));
  expect(lines.map((l) => `${l.name}:${l.tag}`).sort())
    .toEqual(Object.entries(expected).flatMap(([name, tags]) => tags.map((t) => `${name}:${t}`)).sort());
  const digests = new Map<string, string>();
  for (const l of lines) {
    expect(l.port).toBe(env.registryPort);
    expect(l.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const served = await registry.manifest(l.name, l.tag);
    expect(served.mediaType).toBe(DOCKER_MANIFEST_V2);
    expect(served.digest).toBe(l.digest);
    digests.set(`${l.name}:${l.tag}`, l.digest);
  }
  const catalog = await registry.catalog();
  for (const [name, tags] of Object.entries(expected)) {
    expect(catalog).toContain(name);
    expect(await registry.tags(name)).toEqual(expect.arrayContaining(tags));
  }
  return digests;
}

/** The labels/env of name:tag's config, with the provenance labels the script adds. */
async function checkConfig(name: string, tag: string, commit: string, labels: Record<string, string>, envVars: string[]): Promise<void> {
  const config = (await registry.config(name, tag)).config;
  expect(config.Labels).toMatchObject({
    ...labels,
    'org.opencontainers.image.revision': commit,
    'org.opencontainers.image.source': repo.url,
  });
  expect(config.Env).toEqual(expect.arrayContaining(envVars));
}

/** Key lines of a failed run, for the CI log: the script's `!!` lines and the tool's own error. */
function logFailure(label: string, run: BuilderRun, toolError?: RegExp): void {
  const key = run.output.split('\n').filter((l) => l.startsWith('!!') || (toolError !== undefined && toolError.test(l)));
  console.log(`${label}: exit ${run.code} after ${run.ms} ms\n  ${key.join('\n  ')}`);
}

function expectFailedAt(run: BuilderRun, step: string, why: RegExp[]): void {
  if (run.code === 0) {
    throw new Error(`builder exited 0, expected a failure at step '${step}'; output:\n${run.output}`);
  }
  expect(run.code).not.toBeNull();
  expect(run.stderr).toContain(`!! build failed at step '${step}' (exit ${run.code})`);
  for (const re of why) expect(run.output).toMatch(re);
  expect(steps(run.stdout).pop()).toBe(step);
  expect(pushedLines(run.stdout)).toEqual([]);
}

/** Nothing under these tags, for any of these names, on the real registry. */
async function expectNotPushed(names: string[], tags: string[]): Promise<void> {
  for (const name of names) {
    const present = await registry.tags(name);
    for (const tag of tags) expect(present).not.toContain(tag);
  }
}

beforeAll(async () => {
  checkPrerequisites();
  // A short path: env.sh puts a unix socket under it (< 108 bytes).
  const base = tmpdir().length <= 40 ? tmpdir() : '/tmp';
  tmp = mkdtempSync(join(base, 'e2e-'));
  stateDir = join(tmp, 's');
  // afterAll does not run when jest is interrupted or killed: the reaper cleans up then.
  reaper = startReaper(stateDir, tmp);

  // The registry listens on a NodePort-range port, so builds.yaml's registry.nodePort
  // (hence the Job's REGISTRY_PORT) is that port and the builder pushes to
  // localhost:<nodePort> exactly as on a node.
  for (let attempt = 1; ; attempt++) {
    const port = await freePortIn(NODE_PORT_MIN, NODE_PORT_MAX);
    try {
      env = envUp(stateDir, port);
      break;
    } catch (e: any) {
      // Someone took the port between our check and the registry's bind: try another.
      if (attempt >= 3 || !/already in use/.test(String(e.message))) throw e;
    }
  }
  console.log(`e2e env: DOCKER_HOST=${env.dockerHost} registry=${env.registryUrl} git=${env.gitBase}`);
  registry = new RegistryClient(env.registryUrl);
  shimDir = writeApkShim(join(tmp, 'shim'));
  repo = createFixtureRepo(env.gitBase, env.gitRoot, join(tmp, 'fixture'), join(tmp, 'home'));
}, 300_000);

afterAll(async () => {
  if (Object.keys(timings).length > 0) {
    console.log(Object.entries(timings).map(([k, v]) => `${k}: ${v} ms`).join('\n'));
  }
  try {
    cleanup();
  } finally {
    if (reaper) await stopReaper(reaper);
  }
}, 180_000);

describe('success', () => {
  const coldDigests = new Map<string, string>();

  test('tag ref v1.0.0: two images from one clone, tagged v1.0.0 and the short SHA, not latest', async () => {
    const { job, run } = await build('tag', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: 'v1.0.0',
      images: [{ context: 'services/hasher' }, { context: 'services/worker' }],
    }));
    expect(job.env).toMatchObject({ REGISTRY_PORT: String(env.registryPort), REPO_URL: repo.url, GIT_REF: 'v1.0.0', IMAGE_TAGS: 'v1.0.0', IMAGE_COUNT: '2' });
    expectSuccess(run);
    timings['cold build (v1.0.0, hasher + worker, build + push)'] = run.ms;

    const s = short(repo.commits.v1);
    expect(steps(run.stdout)).toEqual([
      'install-git', 'login', 'clone', 'build hasher', 'build worker',
      // Commit tags of every image first, then the moving tags.
      `push hasher:${s}`, `push worker:${s}`, 'push hasher:v1.0.0', 'push worker:v1.0.0', 'done',
    ]);
    for (const line of ['==> [clone]', '==> [build hasher]', '==> [push hasher:v1.0.0]', '==> [done]']) {
      expect(run.stdout).toContain(line);
    }
    expect(run.stdout).toContain(`checked out ${repo.commits.v1}`);
    // The RUN steps really ran (a cold build).
    expect(run.output).toMatch(/^e2e: hasher RUN step ran$/m);
    expect(run.output).toMatch(/^e2e: worker RUN step ran$/m);

    const digests = await checkPushed(run, { hasher: ['v1.0.0', s], worker: ['v1.0.0', s] });
    digests.forEach((d, k) => coldDigests.set(k, d));
    // Nothing else was pushed before this test: the complete tag lists.
    expect(await registry.catalog()).toEqual(['hasher', 'worker']);
    expect((await registry.tags('hasher')).sort()).toEqual([s, 'v1.0.0'].sort());
    expect((await registry.tags('worker')).sort()).toEqual([s, 'v1.0.0'].sort());
    expect(digests.get(`hasher:${s}`)).toBe(digests.get('hasher:v1.0.0'));

    await checkConfig('hasher', 'v1.0.0', repo.commits.v1,
      { 'e2e.image': 'hasher', 'e2e.fixture': 'hasher-label' }, ['HASHER_ALGO=sha256', 'E2E_IMAGE=hasher']);
    await checkConfig('worker', 'v1.0.0', repo.commits.v1,
      { 'e2e.image': 'worker', 'e2e.fixture': 'worker-label' }, ['WORKER_QUEUE=jobs', 'E2E_IMAGE=worker']);
    // What the RUN steps wrote is in the pushed layers.
    expect((await registry.files('hasher', 'v1.0.0')).get('etc/hasher-built.txt')?.toString()).toBe('hasher built with sha256\n');
    expect((await registry.files('worker', 'v1.0.0')).get('srv/worker-built.txt')?.toString()).toBe('worker queue=jobs\n');
  });

  test('the same build again: exit 0, every RUN step from the layer cache, the same layers pushed', async () => {
    const { run } = await build('tag-warm', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: 'v1.0.0',
      images: [{ context: 'services/hasher' }, { context: 'services/worker' }],
    }));
    expectSuccess(run);
    timings['warm build (same builds.yaml again, fresh clone)'] = run.ms;

    // podman's classic builder prints "--> Using cache <id>" right after each cached step.
    const lines = run.stdout.split('\n');
    const runSteps = lines.map((l, i) => ({ l, i })).filter(({ l }) => /^STEP \d+\/\d+: RUN /.test(l));
    expect(runSteps).toHaveLength(2);
    for (const { i } of runSteps) {
      expect(lines[i + 1]).toMatch(/^--> Using cache [0-9a-f]{64}$/);
    }
    // ...so the RUN commands did not run again (the STEP line echoes the command text, so match whole lines).
    expect(run.output).not.toMatch(/^e2e: \w+ RUN step ran$/m);

    const s = short(repo.commits.v1);
    const digests = await checkPushed(run, { hasher: ['v1.0.0', s], worker: ['v1.0.0', s] });
    // The pushed images reuse the cold build's layers. (The manifest digest may
    // differ: buildah turns the script's --label flags into trailing LABEL steps,
    // which can miss the cache once and get a new `created` time in the config.)
    for (const name of ['hasher', 'worker']) {
      const warm = await registry.manifest(name, digests.get(`${name}:v1.0.0`)!);
      const cold = await registry.manifest(name, coldDigests.get(`${name}:v1.0.0`)!);
      expect(warm.manifest.layers).toEqual(cold.manifest.layers);
      console.log(`${name}:v1.0.0 cold ${cold.digest} → warm ${warm.digest}${warm.digest === cold.digest ? ' (identical)' : ' (same layers, new config)'}`);
    }
  });

  test('branch feature/login: tagged feature-login and the short SHA; a custom dockerfile path', async () => {
    const { job, run } = await build('feature', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: 'feature/login',
      images: [{ context: 'services/worker' }, { context: 'services/api', dockerfile: 'docker/Dockerfile.prod' }],
    }));
    expect(job.env).toMatchObject({ GIT_REF: 'feature/login', IMAGE_TAGS: 'feature-login', IMAGE_2_DOCKERFILE: 'docker/Dockerfile.prod' });
    expectSuccess(run);

    const s = short(repo.commits.feature);
    await checkPushed(run, { worker: ['feature-login', s], api: ['feature-login', s] });
    expect(await registry.tags('worker')).not.toContain('feature/login');
    // The branch's later commit is what was built.
    await checkConfig('worker', 'feature-login', repo.commits.feature, { 'e2e.image': 'worker' }, ['WORKER_QUEUE=login-jobs']);
    expect((await registry.files('worker', 'feature-login')).get('srv/worker-built.txt')?.toString()).toBe('worker queue=login-jobs\n');
    // docker/Dockerfile.prod, relative to the context; COPY reads from the context.
    await checkConfig('api', 'feature-login', repo.commits.feature,
      { 'e2e.image': 'api', 'e2e.dockerfile': 'docker/Dockerfile.prod' }, ['API_ENV=production']);
    expect((await registry.files('api', s)).get('srv/api/built.txt')?.toString()).toBe('api config from the services/api context\n');
  });

  test('default branch main: tagged main, latest and the short SHA', async () => {
    const { job, run } = await build('main', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: 'main',
      images: [{ context: 'services/hasher' }, { context: 'services/worker' }, { context: 'services/api', dockerfile: 'docker/Dockerfile.prod' }],
    }));
    expect(job.env).toMatchObject({ GIT_REF: 'main', IMAGE_TAGS: 'main latest', IMAGE_COUNT: '3' });
    expectSuccess(run);

    const s = short(repo.commits.main);
    const digests = await checkPushed(run, { hasher: ['main', 'latest', s], worker: ['main', 'latest', s], api: ['main', 'latest', s] });
    for (const name of ['hasher', 'worker', 'api']) {
      expect(digests.get(`${name}:latest`)).toBe(digests.get(`${name}:main`));
      expect(digests.get(`${name}:${s}`)).toBe(digests.get(`${name}:main`));
      await checkConfig(name, 'latest', repo.commits.main, { 'e2e.image': name }, [`E2E_IMAGE=${name}`]);
    }
    await checkConfig('worker', 'main', repo.commits.main, {}, ['WORKER_QUEUE=jobs']);
  });

  test('build trigger: a signed GitHub push of feature/login becomes a Job whose script builds that exact commit', async () => {
    const yaml = `${buildsYaml({ nodePort: env.registryPort, repo: repo.url, ref: 'main', images: [{ context: 'services/worker' }] })}    trigger: {branches: ["feature/*"]}\n`;
    const file = parseBuildsFile(yaml, 'e2e builds.yaml');
    const props = toImageBuilderProps(file, yaml);
    const secret = 'e2e-webhook-secret-0123456789';
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/feature/login', after: repo.commits.feature, repository: { clone_url: repo.url } }));
    const headers = { 'x-github-event': 'push', 'x-github-delivery': 'e2e-1', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` };
    const push = await readWebhook('github', headers, body, secret);
    if ('ignored' in push) throw new Error(push.ignored);
    const match = matchPush(push, file.builds.map((b, i) => ({ ...b, source: `builds[${i}]` })));
    if ('ignored' in match) throw new Error(match.ignored);
    const { manifest } = triggeredJob(match.builds[0], push, { registryPort: env.registryPort, builders: props.builders, jobs: props.jobs }, new Date());
    const container = manifest.spec.template.spec.containers[0];
    // The script ConfigMap is the one dist/ deploys: the synthesized builder of the same builds.yaml mounts it at the same path.
    const dist = synthBuilder(yaml);
    const job: BuilderContainer = {
      jobName: manifest.metadata.name,
      command: container.command,
      env: Object.fromEntries((container.env as any[]).filter((e) => e.valueFrom === undefined).map((e) => [e.name, e.value])),
      secretEnv: Object.fromEntries((container.env as any[]).filter((e) => e.valueFrom?.secretKeyRef)
        .map((e) => [e.name, { secret: e.valueFrom.secretKeyRef.name, key: e.valueFrom.secretKeyRef.key }])),
      configMapMounts: dist.configMapMounts,
    };
    expect(container.command).toEqual(dist.command);
    expect(job.env).toMatchObject({ GIT_REF: repo.commits.feature, IMAGE_TAGS: 'feature-login', REPO_URL: repo.url });
    runs += 1;
    const run = await runBuilder(job, { dockerHost: env.dockerHost, dockerConfig: env.dockerConfig, workspace: join(tmp, 'ws', `${runs}-trigger`), mountRoot: join(tmp, 'mounts', `${runs}-trigger`), shimDir, secrets: pushSecret() });
    expectSuccess(run);
    await checkPushed(run, { worker: ['feature-login', short(repo.commits.feature)] });
    await checkConfig('worker', 'feature-login', repo.commits.feature, { 'e2e.image': 'worker' }, ['WORKER_QUEUE=login-jobs']);
  });

  test('full 40-character commit SHA: tagged with that SHA and its short form', async () => {
    const sha = repo.commits.v1;
    const { job, run } = await build('sha', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: sha, images: [{ context: 'services/hasher' }],
    }));
    expect(job.env).toMatchObject({ GIT_REF: sha, IMAGE_TAGS: sha });
    expectSuccess(run);
    expect(run.stdout).toContain(`checked out ${sha}`);
    await checkPushed(run, { hasher: [sha, short(sha)] });
    await checkConfig('hasher', sha, sha, { 'e2e.image': 'hasher' }, ['HASHER_ALGO=sha256']);
  });
});

describe('failure: non-zero exit, the failed step and why, nothing pushed under the final tags', () => {
  test('unreachable git server (closed port) → clone', async () => {
    const port = await closedPort();
    const url = `git://127.0.0.1:${port}/unreachable.git`;
    const { run } = await build('closed-port', buildsYaml({ nodePort: env.registryPort, repo: url, ref: 'main' }));
    logFailure('closed port', run, /^fatal:|errno=/);
    expectFailedAt(run, 'clone', [
      new RegExp(`!! cannot fetch main from ${url.replace(/[.]/g, '\\.')}: check the repository URL`),
      /unable to connect to 127\.0\.0\.1|Connection refused/,
    ]);
    expect(await registry.catalog()).not.toContain('unreachable');
  });

  test('full commit SHA that is not in the repository → clone (the fetch-all-branches fallback)', async () => {
    const sha = 'deadbeef'.repeat(5);
    const { run } = await build('unknown-sha', buildsYaml({ nodePort: env.registryPort, repo: repo.url, ref: sha, images: [{ context: 'services/hasher' }] }));
    logFailure('unknown commit SHA', run, /^fatal:/);
    expectFailedAt(run, 'clone', [new RegExp(`!! commit ${sha} is not on any branch of ${repo.url.replace(/[.]/g, '\\.')}`)]);
    await expectNotPushed(['hasher'], [sha, 'deadbee']);
  });

  test('repository that does not exist → clone', async () => {
    const url = `${env.gitBase}nope.git`;
    const { run } = await build('no-repo', buildsYaml({ nodePort: env.registryPort, repo: url, ref: 'main' }));
    logFailure('missing repository', run, /^fatal:/);
    expectFailedAt(run, 'clone', [/!! cannot fetch main from git:\/\/.*\/nope\.git/, /no such repository: \/nope\.git/]);
    expect(await registry.catalog()).not.toContain('nope');
  });

  test('missing context directory → build <name>, after the first image built fine', async () => {
    const ref = FAILURE_BRANCHES.missingContext;
    const { run } = await build('missing-context', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref, images: [{ context: 'services/hasher' }, { context: 'services/missing' }],
    }));
    logFailure('missing context', run);
    expectFailedAt(run, 'build missing', [/!! context directory 'services\/missing' does not exist in .* at e2e\/missing-context/]);
    expect(steps(run.stdout)).toContain('build hasher');
    await expectNotPushed(['hasher', 'missing'], ['e2e-missing-context', short(repo.commits.missingContext)]);
    expect(await registry.catalog()).not.toContain('missing');
  });

  test('missing Dockerfile → build <name>', async () => {
    const ref = FAILURE_BRANCHES.missingDockerfile;
    const { run } = await build('missing-dockerfile', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref,
      images: [{ context: 'services/hasher' }, { context: 'services/worker', dockerfile: 'Dockerfile.missing' }],
    }));
    logFailure('missing Dockerfile', run);
    expectFailedAt(run, 'build worker', [/!! Dockerfile 'services\/worker\/Dockerfile\.missing' does not exist in .* at e2e\/missing-dockerfile/]);
    await expectNotPushed(['hasher', 'worker'], ['e2e-missing-dockerfile', short(repo.commits.missingDockerfile)]);
  });

  test('a RUN step that fails → build <name>', async () => {
    const ref = FAILURE_BRANCHES.badRun;
    const { run } = await build('bad-run', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref, images: [{ context: 'services/hasher' }, { context: 'services/broken' }],
    }));
    logFailure('failing RUN', run, /about to fail|^(Error|error building|building at STEP)/);
    expectFailedAt(run, 'build broken', [/^e2e: broken RUN step is about to fail$/m, /while running runtime: exit status 3/]);
    await expectNotPushed(['hasher', 'broken'], ['e2e-bad-run', short(repo.commits.badRun)]);
    expect(await registry.catalog()).not.toContain('broken');
  });

  test('registry down (nothing on the nodePort) → login, before any clone or build, nothing pushed', async () => {
    const deadPort = await freePortIn(NODE_PORT_MIN, NODE_PORT_MAX, [env.registryPort, env.gitPort]);
    const ref = FAILURE_BRANCHES.registryDown;
    const { job, run } = await build('registry-down', buildsYaml({
      nodePort: deadPort, repo: repo.url, ref, images: [{ context: 'services/hasher' }, { context: 'services/worker' }],
    }));
    expect(job.env.REGISTRY_PORT).toBe(String(deadPort));
    logFailure('registry down', run, /connection refused/);
    expectFailedAt(run, 'login', [
      new RegExp(`!! cannot log in to localhost:${deadPort}: is the registry Service up on NodePort ${deadPort}, and is Secret registry-push`),
      /connection refused/,
    ]);
    expect(steps(run.stdout)).toEqual(['install-git', 'login']);
    expect(await portIsFree(deadPort)).toBe(true);
    await expectNotPushed(['hasher', 'worker'], ['e2e-registry-down', short(repo.commits.registryDown)]);
  });
});

describe('refs that only look like commit SHAs', () => {
  // A missing branch or tag named with 1-6 hex digits ("cafe", "2024") must not
  // resolve as an abbreviated object name and build an unrelated commit.
  test('a missing branch named like a SHA prefix is refused at clone, not built from a matching commit', async () => {
    const ref = repo.commits.feature.slice(0, 6);
    const { run } = await build('hex-prefix', buildsYaml({ nodePort: env.registryPort, repo: repo.url, ref, images: [{ context: 'services/hasher' }] }));
    logFailure(`missing hex-named ref ${ref}`, run, /^(fatal:|checked out|==> \[done\])/);
    expectFailedAt(run, 'clone', [new RegExp(`!! cannot fetch ${ref} from`)]);
    await expectNotPushed(['hasher'], [ref]);
  });
});

describe('push credentials: anonymous pulls, authenticated pushes', () => {
  /** The docker CLI against the e2e Docker API, with a fresh, empty client config (no login). */
  function dockerAnonymous(...args: string[]) {
    const config = mkdtempSync(join(tmp, 'docker-anon-'));
    return spawnSync('docker', args, {
      encoding: 'utf-8',
      timeout: 120_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DOCKER_HOST: env.dockerHost, DOCKER_CONFIG: config, DOCKER_BUILDKIT: '0' },
    });
  }

  test('an anonymous push is refused: the API answers 401 to every write, docker push fails', async () => {
    const base = `${env.registryUrl}/v2/e2e-anonymous`;
    for (const [method, path] of [['POST', '/blobs/uploads/'], ['PUT', '/manifests/1'], ['DELETE', '/manifests/sha256:' + '0'.repeat(64)]]) {
      const res = await httpRequest(method, `${base}${path}`);
      console.log(`anonymous push refused: ${method} /v2/e2e-anonymous${path} → HTTP ${res.status}`);
      expect(res.status).toBe(401);
      expect(String(res.headers['www-authenticate'])).toMatch(/^Basic realm=/);
    }
    // The ping asks for credentials too: that is how push clients learn to send them.
    expect((await httpRequest('GET', `${env.registryUrl}/v2/`)).status).toBe(401);

    const ref = `localhost:${env.registryPort}/e2e-anonymous:1`;
    expect(dockerAnonymous('tag', env.baseImage, ref).status).toBe(0);
    const push = dockerAnonymous('push', ref);
    const why = `${push.stdout}${push.stderr}`.split('\n').find((l) => /unauthorized|authentication required|401/i.test(l));
    console.log(`anonymous push refused: docker push ${ref} → exit ${push.status}: ${why}`);
    expect(push.status).not.toBe(0);
    expect(why).toBeDefined();
    expect(await registry.catalog()).not.toContain('e2e-anonymous');
  });

  test('a pull needs no credentials: manifests and blobs over plain GET, and docker pull without login', async () => {
    // What the kubelet (containerd) does: no ping, GET the manifest, then the blobs.
    const files = await registry.files('hasher', 'v1.0.0');
    expect(files.get('etc/hasher-built.txt')?.toString()).toBe('hasher built with sha256\n');
    const ref = `localhost:${env.registryPort}/hasher:v1.0.0`;
    dockerAnonymous('rmi', ref);
    const pull = dockerAnonymous('pull', ref);
    console.log(`anonymous pull of ${ref}: exit ${pull.status}`);
    expect(pull.status).toBe(0);
  });

  test('the builder logs in inside the Pod: config.json in the workspace emptyDir, the node\'s Docker config untouched', async () => {
    const nodeConfig = join(env.dockerConfig, 'config.json');
    const before = readFileSync(nodeConfig, 'utf-8');
    const { run, workspace } = await build('login-in-pod', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: 'v1.0.0', images: [{ context: 'services/hasher' }],
    }));
    expectSuccess(run);
    expect(run.stdout).toContain(`logged in to localhost:${env.registryPort}`);
    const inPod = JSON.parse(readFileSync(join(workspace, 'docker-config', 'config.json'), 'utf-8'));
    expect(Object.keys(inPod.auths)).toEqual([`localhost:${env.registryPort}`]);
    expect(readFileSync(nodeConfig, 'utf-8')).toBe(before);
    expect(before).not.toContain('auths');
  });

  test('a wrong password in the push Secret → login: nothing cloned, built or pushed, the password never printed', async () => {
    const wrong = 'not-the-password-' + Date.now();
    const { run } = await build('wrong-password', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: FAILURE_BRANCHES.registryDown, images: [{ context: 'services/hasher' }],
    }), pushSecret(wrong));
    logFailure('wrong password', run, /401|unauthorized/i);
    expectFailedAt(run, 'login', [/!! cannot log in to localhost:\d+: .*Secret registry-push/, /401|unauthorized/i]);
    expect(steps(run.stdout)).toEqual(['install-git', 'login']);
    expect(run.output).not.toContain(wrong);
    await expectNotPushed(['hasher'], ['e2e-registry-down', short(repo.commits.registryDown)]);
  });

  test('no push Secret → the container does not start (the kubelet\'s CreateContainerConfigError)', async () => {
    await expect(build('no-secret', buildsYaml({ nodePort: env.registryPort, repo: repo.url, ref: 'main' }), {}))
      .rejects.toThrow(/CreateContainerConfigError: env REGISTRY_USERNAME .* Secret "registry-push" not found/);
  });
});
