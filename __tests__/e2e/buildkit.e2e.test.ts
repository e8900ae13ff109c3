/**
 * End-to-end, buildkit engine: the builder Job's own command and env, as
 * synthesized from a builds.yaml with `builders.engine: buildkit`, run against
 * a real rootless BuildKit (buildkitd/buildctl/rootlesskit built from the Go
 * module proxy into .tools/bin), a real registry (Distribution) and a git
 * daemon, all on 127.0.0.1 (scripts/e2e/env.sh), checked through the
 * registry's HTTP API.
 *
 *   npm run test:e2e        (both engines' suites, one after the other)
 *
 * What differs from the Pod (support/buildkit.ts): the image's own ENV (HOME,
 * XDG_RUNTIME_DIR, TMPDIR, PATH) points into a fresh directory per run, whose
 * .local/share/buildkit is the emptyDir state dir; the builder user is a local
 * unprivileged account with subuid/subgid ranges instead of the image's uid
 * 1000; the cluster DNS is a private /etc/hosts mapping REGISTRY_HOST's name to
 * 127.0.0.1, and its port is the test registry's. No Docker engine is used:
 * podman (started by env.sh for the docker suite) only assembles the busybox
 * base image, which is pushed to the test registry for BuildKit to pull.
 */
import { ChildProcess, execFileSync } from 'child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BuilderRun, killRunningBuilders, pushedLines, steps } from './support/builder';
import {
  BuildkitContainer, BuildkitUser, checkBuildkitPrerequisites, runBuildkitBuilder, stateDirUsed, synthBuildkitBuilder,
} from './support/buildkit';
import { checkPrerequisites, closedPort, E2EEnv, envDown, envUp, freePortIn, startReaper, stopReaper } from './support/env';
import { createFixtureRepo, FAILURE_BRANCHES, FixtureRepo } from './support/fixture';
import { RegistryClient, untar } from './support/registry';

const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

interface ImageSpec { context: string; dockerfile?: string }

function buildsYaml(p: { nodePort: number; repo: string; ref: string; images?: ImageSpec[] }): string {
  const q = (s: string) => JSON.stringify(s);
  const images = p.images
    ? `    images:\n${p.images.map((i) => `      - context: ${q(i.context)}${i.dockerfile ? `\n        dockerfile: ${q(i.dockerfile)}` : ''}`).join('\n')}\n`
    : '';
  return `registry:\n  nodePort: ${p.nodePort}\nbuilders:\n  engine: buildkit\nbuilds:\n  - repo: ${q(p.repo)}\n    ref: ${q(p.ref)}\n${images}`;
}

const short = (sha: string) => sha.slice(0, 7);
/** The manifests BuildKit pushes: OCI or Docker schema 2, either way with a Docker-Content-Digest. */
const IMAGE_MANIFESTS = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

let tmp = '';
let stateDir = '';
let env: E2EEnv;
let repo: FixtureRepo;
let registry: RegistryClient;
let user: BuildkitUser;
let baseImage = '';
let runs = 0;
const timings: Record<string, number> = {};
let reaper: ChildProcess | undefined;

async function build(label: string, yaml: string, registryPort = env.registryPort): Promise<{ job: BuildkitContainer; run: BuilderRun; runDir: string }> {
  const job = synthBuildkitBuilder(yaml);
  runs += 1;
  const runDir = join(tmp, 'runs', `${runs}-${label}`);
  const secrets = { 'registry-push': { username: env.registryUsername, password: env.registryPassword } };
  const run = await runBuildkitBuilder(job, { user, runDir, registryPort, secrets });
  // No credential reaches the log.
  expect(run.output).not.toContain(env.registryPassword);
  expect(run.output).not.toContain(Buffer.from(`${env.registryUsername}:${env.registryPassword}`).toString('base64'));
  return { job, run, runDir };
}

function expectSuccess(run: BuilderRun): void {
  if (run.code !== 0) throw new Error(`builder exited ${run.code ?? run.signal}, expected 0; output:\n${run.output}`);
  expect(run.stderr).not.toContain('!! build failed');
}

/** The manifest a reference serves, accepting what BuildKit pushes. */
async function served(name: string, reference: string): Promise<{ digest: string; manifest: any; mediaType: string }> {
  return registry.manifest(name, reference, IMAGE_MANIFESTS);
}

async function checkPushed(run: BuilderRun, expected: Record<string, string[]>): Promise<Map<string, string>> {
  const lines = pushedLines(run.stdout);
  console.log(lines.map((l) => l.line).join('\n'));
  expect(lines.map((l) => `${l.name}:${l.tag}`).sort())
    .toEqual(Object.entries(expected).flatMap(([name, tags]) => tags.map((t) => `${name}:${t}`)).sort());
  const digests = new Map<string, string>();
  for (const l of lines) {
    expect(l.port).toBe(env.registryPort);
    expect(l.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await served(l.name, l.tag)).digest).toBe(l.digest);
    digests.set(`${l.name}:${l.tag}`, l.digest);
  }
  for (const [name, tags] of Object.entries(expected)) {
    expect(await registry.tags(name)).toEqual(expect.arrayContaining(tags));
    // One image per build: every tag of it is the same manifest.
    expect(new Set(tags.map((t) => digests.get(`${name}:${t}`))).size).toBe(1);
  }
  return digests;
}

async function checkConfig(name: string, tag: string, commit: string, labels: Record<string, string>, envVars: string[]): Promise<void> {
  const { manifest } = await served(name, tag);
  const config = JSON.parse((await registry.blob(name, manifest.config.digest)).toString()).config;
  expect(config.Labels).toMatchObject({ ...labels, 'org.opencontainers.image.revision': commit, 'org.opencontainers.image.source': repo.url });
  expect(config.Env).toEqual(expect.arrayContaining(envVars));
}

async function layerFile(name: string, tag: string, path: string): Promise<string | undefined> {
  const { manifest } = await served(name, tag);
  let found: string | undefined;
  for (const layer of manifest.layers as Array<{ digest: string }>) {
    const files = untar(await registry.blob(name, layer.digest));
    if (files.has(path)) found = files.get(path)!.toString();
  }
  return found;
}

function logFailure(label: string, run: BuilderRun, toolError?: RegExp): void {
  const key = run.output.split('\n').filter((l) => l.startsWith('!!') || (toolError !== undefined && toolError.test(l)));
  console.log(`${label}: exit ${run.code} after ${run.ms} ms\n  ${key.join('\n  ')}`);
}

function expectFailedAt(run: BuilderRun, step: string, why: RegExp[]): void {
  if (run.code === 0) throw new Error(`builder exited 0, expected a failure at step '${step}'; output:\n${run.output}`);
  expect(run.code).not.toBeNull();
  expect(run.stderr).toContain(`!! build failed at step '${step}' (exit ${run.code})`);
  for (const re of why) expect(run.output).toMatch(re);
  expect(steps(run.stdout).pop()).toBe(step);
  expect(pushedLines(run.stdout)).toEqual([]);
}

async function expectNotPushed(names: string[], tags: string[]): Promise<void> {
  for (const name of names) {
    const present = await registry.tags(name);
    for (const tag of tags) expect(present).not.toContain(tag);
  }
}

/** Requests the registry logged for a repository, with the Host they were sent to. */
function registryHostsFor(name: string): Set<string> {
  const log = readFileSync(join(stateDir, 'logs', 'registry.log'), 'utf-8');
  const hosts = new Set<string>();
  for (const line of log.split('\n')) {
    if (line.includes(`http.request.uri="/v2/${name}/`)) {
      const m = /http\.request\.host="?([^"\s]+)"?/.exec(line);
      if (m) hosts.add(m[1]);
    }
  }
  return hosts;
}

beforeAll(async () => {
  checkPrerequisites();
  user = checkBuildkitPrerequisites();
  const base = tmpdir().length <= 40 ? tmpdir() : '/tmp';
  tmp = mkdtempSync(join(base, 'e2e-bk-'));
  // The builder user must reach its run directories below it.
  chmodSync(tmp, 0o711);
  stateDir = join(tmp, 's');
  reaper = startReaper(stateDir, tmp);
  for (let attempt = 1; ; attempt++) {
    const port = await freePortIn(NODE_PORT_MIN, NODE_PORT_MAX);
    try {
      env = envUp(stateDir, port);
      break;
    } catch (e: any) {
      if (attempt >= 3 || !/already in use/.test(String(e.message))) throw e;
    }
  }
  registry = new RegistryClient(env.registryUrl);
  // The base image: env.sh assembled it from Debian's static busybox in podman's storage;
  // it goes to the test registry, where BuildKit pulls it as a node would: localhost:<nodePort>/...
  const dockerEnv = { ...process.env, DOCKER_HOST: env.dockerHost, DOCKER_CONFIG: env.dockerConfig };
  // As localhost: podman's login endpoint treats only localhost as plain HTTP (127.0.0.1: "HTTP response to HTTPS client").
  const pushed = `localhost:${env.registryPort}/e2e-busybox:1`;
  execFileSync('docker', ['tag', env.baseImage, pushed], { env: dockerEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  // Pushes need the registry's account (the auth proxy); pulls, BuildKit's of this base included, do not.
  execFileSync('docker', ['login', '--username', env.registryUsername, '--password-stdin', `localhost:${env.registryPort}`],
    { env: dockerEnv, input: env.registryPassword, stdio: ['pipe', 'pipe', 'pipe'] });
  execFileSync('docker', ['push', pushed], { env: dockerEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  baseImage = `localhost:${env.registryPort}/e2e-busybox:1`;
  repo = createFixtureRepo(env.gitBase, env.gitRoot, join(tmp, 'fixture'), join(tmp, 'home'), baseImage);
  console.log(`buildkit e2e: registry=${env.registryUrl} git=${env.gitBase} base=${baseImage} user=${user.name} (uid ${user.uid})`);
}, 1_800_000);

afterAll(async () => {
  if (Object.keys(timings).length > 0) console.log(Object.entries(timings).map(([k, v]) => `${k}: ${v} ms`).join('\n'));
  killRunningBuilders();
  try {
    if (stateDir) envDown(stateDir);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (reaper) await stopReaper(reaper);
  }
}, 180_000);

describe('success', () => {
  const coldDigests = new Map<string, string>();

  test('tag ref v1.0.0, cold: two images from one commit, tagged v1.0.0 and the short SHA, not latest', async () => {
    const { job, run, runDir } = await build('tag', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: 'v1.0.0',
      images: [{ context: 'services/hasher' }, { context: 'services/worker' }],
    }));
    expect(job.env).toMatchObject({ REGISTRY_PORT: String(env.registryPort), REPO_URL: repo.url, GIT_REF: 'v1.0.0', IMAGE_TAGS: 'v1.0.0', IMAGE_COUNT: '2' });
    expectSuccess(run);
    timings['buildkit cold build (v1.0.0, hasher + worker, empty state, empty cache)'] = run.ms;
    expect(stateDirUsed(runDir)).toBe(true);

    const s = short(repo.commits.v1);
    expect(steps(run.stdout)).toEqual([
      'resolve', 'start-buildkitd', 'login', 'build hasher', 'build worker',
      `push hasher:${s}`, `push worker:${s}`, 'push hasher:v1.0.0', 'push worker:v1.0.0', 'done',
    ]);
    // The annotated tag resolved once, to the commit it points to.
    expect(run.stdout).toContain(`resolved v1.0.0 to ${repo.commits.v1} (refs/tags/v1.0.0)`);
    expect(run.output).toMatch(/^#\d+ [\d.]+ e2e: hasher RUN step ran$/m);
    expect(run.output).toMatch(/^#\d+ [\d.]+ e2e: worker RUN step ran$/m);

    const digests = await checkPushed(run, { hasher: ['v1.0.0', s], worker: ['v1.0.0', s] });
    digests.forEach((d, k) => coldDigests.set(k, d));
    expect((await registry.tags('hasher')).sort()).toEqual([s, 'v1.0.0'].sort());
    // The layer cache went to the registry, beside the images, never under an image's own name.
    expect(await registry.catalog()).toEqual(expect.arrayContaining(['buildcache/hasher', 'buildcache/worker']));
    expect(await registry.tags('buildcache/hasher')).toEqual(['v1.0.0']);

    await checkConfig('hasher', 'v1.0.0', repo.commits.v1, { 'e2e.image': 'hasher', 'e2e.fixture': 'hasher-label' }, ['HASHER_ALGO=sha256', 'E2E_IMAGE=hasher']);
    await checkConfig('worker', 'v1.0.0', repo.commits.v1, { 'e2e.image': 'worker' }, ['WORKER_QUEUE=jobs']);
    expect(await layerFile('hasher', 'v1.0.0', 'etc/hasher-built.txt')).toBe('hasher built with sha256\n');
    expect(await layerFile('worker', 'v1.0.0', 'srv/worker-built.txt')).toBe('worker queue=jobs\n');
    // FROM localhost:<nodePort>/e2e-busybox:1 was pulled through the registry's in-cluster address.
    expect(registryHostsFor('e2e-busybox')).toContain(`registry:${env.registryPort}`);
  });

  test('the same build on a new, empty state dir: every step from the registry cache, the same image', async () => {
    const { run, runDir } = await build('tag-cached', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: 'v1.0.0',
      images: [{ context: 'services/hasher' }, { context: 'services/worker' }],
    }));
    expectSuccess(run);
    timings['buildkit rebuild from the registry cache (new empty state dir)'] = run.ms;
    expect(stateDirUsed(runDir)).toBe(true);
    // The RUN commands did not run again (their output lines are absent; the step titles echo the command text).
    expect(run.output).not.toMatch(/^#\d+ [\d.]+ e2e: \w+ RUN step ran$/m);
    expect(run.output).toMatch(/importing cache manifest from .*buildcache\/hasher:v1\.0\.0/);
    expect(run.output.split('\n').filter((l) => /^#\d+ CACHED$/.test(l)).length).toBeGreaterThanOrEqual(2);

    const s = short(repo.commits.v1);
    const digests = await checkPushed(run, { hasher: ['v1.0.0', s], worker: ['v1.0.0', s] });
    for (const name of ['hasher', 'worker']) {
      const warm = await served(name, digests.get(`${name}:v1.0.0`)!);
      const cold = await served(name, coldDigests.get(`${name}:v1.0.0`)!);
      expect(warm.manifest.layers).toEqual(cold.manifest.layers);
      console.log(`${name}:v1.0.0 cold ${cold.digest} → cached ${warm.digest}${warm.digest === cold.digest ? ' (identical)' : ' (same layers, new config)'}`);
    }
    console.log(`cold ${timings['buildkit cold build (v1.0.0, hasher + worker, empty state, empty cache)']} ms, cached ${run.ms} ms`);
  });

  test('branch feature/login: tagged feature-login and the short SHA; a custom dockerfile path', async () => {
    const { job, run } = await build('feature', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: 'feature/login',
      images: [{ context: 'services/worker' }, { context: 'services/api', dockerfile: 'docker/Dockerfile.prod' }],
    }));
    expect(job.env).toMatchObject({ GIT_REF: 'feature/login', IMAGE_TAGS: 'feature-login', IMAGE_2_DOCKERFILE: 'docker/Dockerfile.prod' });
    expectSuccess(run);
    expect(run.stdout).toContain(`resolved feature/login to ${repo.commits.feature} (refs/heads/feature/login)`);
    const s = short(repo.commits.feature);
    await checkPushed(run, { worker: ['feature-login', s], api: ['feature-login', s] });
    await checkConfig('worker', 'feature-login', repo.commits.feature, { 'e2e.image': 'worker' }, ['WORKER_QUEUE=login-jobs']);
    expect(await layerFile('worker', 'feature-login', 'srv/worker-built.txt')).toBe('worker queue=login-jobs\n');
    await checkConfig('api', 'feature-login', repo.commits.feature, { 'e2e.image': 'api', 'e2e.dockerfile': 'docker/Dockerfile.prod' }, ['API_ENV=production']);
    expect(await layerFile('api', s, 'srv/api/built.txt')).toBe('api config from the services/api context\n');
  });

  test('default branch main: tagged main, latest and the short SHA', async () => {
    const { job, run } = await build('main', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref: 'main',
      images: [{ context: 'services/hasher' }, { context: 'services/worker' }],
    }));
    expect(job.env).toMatchObject({ GIT_REF: 'main', IMAGE_TAGS: 'main latest' });
    expectSuccess(run);
    const s = short(repo.commits.main);
    await checkPushed(run, { hasher: ['main', 'latest', s], worker: ['main', 'latest', s] });
    await checkConfig('hasher', 'latest', repo.commits.main, { 'e2e.image': 'hasher' }, ['E2E_IMAGE=hasher']);
  });

  test('full 40-character commit SHA: tagged with that SHA and its short form', async () => {
    const sha = repo.commits.v1;
    const { job, run } = await build('sha', buildsYaml({ nodePort: env.registryPort, repo: repo.url, ref: sha, images: [{ context: 'services/hasher' }] }));
    expect(job.env).toMatchObject({ GIT_REF: sha, IMAGE_TAGS: sha });
    expectSuccess(run);
    await checkPushed(run, { hasher: [sha, short(sha)] });
    await checkConfig('hasher', sha, sha, { 'e2e.image': 'hasher' }, ['HASHER_ALGO=sha256']);
  });
});

describe('failure: non-zero exit, the failed step and why, nothing pushed under the final tags', () => {
  test('unreachable git server (closed port) → resolve', async () => {
    const url = `git://127.0.0.1:${await closedPort()}/unreachable.git`;
    const { run } = await build('closed-port', buildsYaml({ nodePort: env.registryPort, repo: url, ref: 'main' }));
    logFailure('closed port', run, /^fatal:|errno=/);
    expectFailedAt(run, 'resolve', [/!! cannot list the refs of git:\/\/127\.0\.0\.1:\d+\/unreachable\.git/, /Connection refused|unable to connect/]);
    expect(await registry.catalog()).not.toContain('unreachable');
  });

  test('repository that does not exist → resolve', async () => {
    const url = `${env.gitBase}nope.git`;
    const { run } = await build('no-repo', buildsYaml({ nodePort: env.registryPort, repo: url, ref: 'main' }));
    logFailure('missing repository', run, /^fatal:/);
    expectFailedAt(run, 'resolve', [/!! cannot list the refs of git:\/\/.*\/nope\.git/, /no such repository: \/nope\.git/]);
    expect(await registry.catalog()).not.toContain('nope');
  });

  test('missing branch or tag → resolve', async () => {
    const { run } = await build('no-ref', buildsYaml({ nodePort: env.registryPort, repo: repo.url, ref: 'v9.9.9', images: [{ context: 'services/hasher' }] }));
    logFailure('missing ref', run);
    expectFailedAt(run, 'resolve', [/!! git:\/\/.*\/app\.git has no branch or tag named v9\.9\.9/]);
    await expectNotPushed(['hasher'], ['v9.9.9']);
  });

  test('a missing branch named like a SHA prefix is refused at resolve, not built from a matching commit', async () => {
    const ref = repo.commits.feature.slice(0, 6);
    const { run } = await build('hex-prefix', buildsYaml({ nodePort: env.registryPort, repo: repo.url, ref, images: [{ context: 'services/hasher' }] }));
    expectFailedAt(run, 'resolve', [new RegExp(`!! .* has no branch or tag named ${ref}`)]);
    await expectNotPushed(['hasher'], [ref]);
  });

  test('full commit SHA that is not in the repository → build <first image>', async () => {
    const sha = 'deadbeef'.repeat(5);
    const { run } = await build('unknown-sha', buildsYaml({ nodePort: env.registryPort, repo: repo.url, ref: sha, images: [{ context: 'services/hasher' }] }));
    logFailure('unknown commit SHA', run, /failed to fetch|fatal:/);
    expectFailedAt(run, 'build hasher', [new RegExp(`!! cannot fetch ${sha} \\(${sha}\\) from`)]);
    await expectNotPushed(['hasher'], [sha, 'deadbee']);
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
    logFailure('failing RUN', run, /about to fail|ERROR|did not complete successfully/);
    expectFailedAt(run, 'build broken', [/^#\d+ [\d.]+ e2e: broken RUN step is about to fail$/m, /did not complete successfully: exit code: 3/, /!! the build of broken failed/]);
    await expectNotPushed(['hasher', 'broken'], ['e2e-bad-run', short(repo.commits.badRun)]);
    expect(await registry.catalog()).not.toContain('broken');
  });

  test('registry down (nothing on its port) → push <name>:<tag>, both images built, neither pushed', async () => {
    const deadPort = await freePortIn(NODE_PORT_MIN, NODE_PORT_MAX, [env.registryPort, env.gitPort]);
    const ref = FAILURE_BRANCHES.registryDown;
    // The base image still comes from the live registry (FROM localhost:<its port>/...): the
    // build itself works, then nothing answers where the builder pushes.
    const { run } = await build('registry-down', buildsYaml({
      nodePort: env.registryPort, repo: repo.url, ref, images: [{ context: 'services/hasher' }, { context: 'services/worker' }],
    }), deadPort);
    logFailure('registry down', run, /connection refused/);
    expectFailedAt(run, `push hasher:${short(repo.commits.registryDown)}`, [/!! push to registry:\d+ failed: is the registry Service up\?/, /connection refused/]);
    expect(steps(run.stdout)).toEqual(expect.arrayContaining(['build hasher', 'build worker']));
    await expectNotPushed(['hasher', 'worker'], ['e2e-registry-down', short(repo.commits.registryDown)]);
  });
});
