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
 * that can assert a repository's complete tag list. The ref and failure cases
 * are the buildkit suite's too (support/ref-cases.ts, support/failure-cases.ts).
 */
import { createHmac } from 'crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { builderContainerOf, dockerEngine, dockerWorkspace, steps } from './support/builder';
import { docker } from './support/env';
import { describeFailureCases } from './support/failure-cases';
import { CASE_BRANCHES } from './support/fixture';
import { describeRefCases } from './support/ref-cases';
import { httpRequest } from './support/registry';
import { e2eSuite, expectFailedAt, expectSuccess, short } from './support/suite';
import { describeReadOnlyWindowCase } from './support/window-case';
import { synthBuilds } from '../support/synth';
import { parseBuildsFile } from '../../lib/config/builds-file';
import { toImageBuilderProps } from '../../lib/config/to-props';
import { triggeredJob } from '../../trigger/job';
import { matchPush, triggerableBuilds } from '../../trigger/match';
import { readWebhook } from '../../trigger/providers';

const suite = e2eSuite(dockerEngine());

/** The files below `dir` (relative paths) whose content contains any of `needles`. */
function filesContaining(dir: string, needles: string[]): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => { const text = readFileSync(file, 'latin1'); return needles.some((n) => text.includes(n)); })
    .map((file) => file.slice(dir.length + 1));
}

describe('success', () => {
  const coldDigests = new Map<string, string>();
  const hasherAndWorker = [{ context: 'services/hasher' }, { context: 'services/worker' }];

  test('tag ref v1.0.0: two images from one clone, tagged v1.0.0 and the short SHA, not latest', async () => {
    const { registry, repo, env } = suite;
    const { job, run } = await suite.build('tag', { repo: repo.url, ref: 'v1.0.0', images: hasherAndWorker });
    expect(job.env).toMatchObject({ REGISTRY_PORT: String(env.registryPort), REPO_URL: repo.url, GIT_REF: 'v1.0.0', IMAGE_TAGS: 'v1.0.0', IMAGE_1_NAME: 'hasher', IMAGE_2_NAME: 'worker' });
    // The script counts the images and defaults their Dockerfile: the Job carries neither.
    expect(Object.keys(job.env).filter((k) => k === 'IMAGE_COUNT' || k.endsWith('_DOCKERFILE'))).toEqual([]);
    expectSuccess(run);
    suite.timings['cold build (v1.0.0, hasher + worker, build + push)'] = run.ms;

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

    const digests = await suite.checkPushed(run, { hasher: ['v1.0.0', s], worker: ['v1.0.0', s] });
    digests.forEach((d, k) => coldDigests.set(k, d));
    // Nothing else was pushed before this test: the complete tag lists.
    expect(await registry.catalog()).toEqual(['hasher', 'worker']);
    expect((await registry.tags('hasher')).sort()).toEqual([s, 'v1.0.0'].sort());
    expect((await registry.tags('worker')).sort()).toEqual([s, 'v1.0.0'].sort());

    await suite.checkConfig('hasher', 'v1.0.0', repo.commits.v1,
      { 'e2e.image': 'hasher', 'e2e.fixture': 'hasher-label' }, ['HASHER_ALGO=sha256', 'E2E_IMAGE=hasher']);
    await suite.checkConfig('worker', 'v1.0.0', repo.commits.v1,
      { 'e2e.image': 'worker', 'e2e.fixture': 'worker-label' }, ['WORKER_QUEUE=jobs', 'E2E_IMAGE=worker']);
    // What the RUN steps wrote is in the pushed layers.
    expect(await suite.layerFile('hasher', 'v1.0.0', 'etc/hasher-built.txt')).toBe('hasher built with sha256\n');
    expect(await suite.layerFile('worker', 'v1.0.0', 'srv/worker-built.txt')).toBe('worker queue=jobs\n');
  });

  test('the same build again: exit 0, every RUN step from the layer cache, the same layers pushed', async () => {
    const { repo } = suite;
    const { run } = await suite.build('tag-warm', { repo: repo.url, ref: 'v1.0.0', images: hasherAndWorker });
    expectSuccess(run);
    suite.timings['warm build (same builds.yaml again, fresh clone)'] = run.ms;

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
    const digests = await suite.checkPushed(run, { hasher: ['v1.0.0', s], worker: ['v1.0.0', s] });
    // The pushed images reuse the cold build's layers. (The manifest digest may
    // differ: buildah turns the script's --label flags into trailing LABEL steps,
    // which can miss the cache once and get a new `created` time in the config.)
    for (const name of ['hasher', 'worker']) await suite.expectSameLayers(`${name}:v1.0.0`, coldDigests, digests);
  });

  test('build trigger: a signed GitHub push of feature/login becomes a Job whose script builds that exact commit', async () => {
    const { env, repo } = suite;
    const yaml = `${suite.yaml({ repo: repo.url, ref: 'main', images: [{ context: 'services/worker' }] })}    trigger: {branches: ["feature/*"]}\n`;
    const file = parseBuildsFile(yaml, 'e2e builds.yaml');
    const props = toImageBuilderProps(file, yaml);
    const secret = 'e2e-webhook-secret-0123456789';
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/feature/login', after: repo.commits.feature, repository: { clone_url: repo.url } }));
    const headers = { 'x-github-event': 'push', 'x-github-delivery': 'e2e-1', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` };
    const push = await readWebhook('github', headers, body, secret);
    if ('ignored' in push) throw new Error(push.ignored);
    const match = matchPush(push, triggerableBuilds(file.builds));
    if ('ignored' in match) throw new Error(match.ignored);
    const { manifest } = triggeredJob(match.builds[0], push, { registryPort: env.registryPort, builders: props.builders, jobs: props.jobs }, new Date());
    // The script ConfigMap is the one dist/ deploys: the synthesized output of the same builds.yaml holds it.
    const job = builderContainerOf(manifest, synthBuilds(yaml, 'e2e builds.yaml'));
    expect(job.command).toEqual(suite.engine.synth(yaml).command);
    expect(job.env).toMatchObject({ GIT_REF: repo.commits.feature, IMAGE_TAGS: 'feature-login', REPO_URL: repo.url });
    const { run } = await suite.runJob('trigger', job);
    expectSuccess(run);
    await suite.checkPushed(run, { worker: ['feature-login', short(repo.commits.feature)] });
    await suite.checkConfig('worker', 'feature-login', repo.commits.feature, { 'e2e.image': 'worker' }, ['WORKER_QUEUE=login-jobs']);
  });

});

describeRefCases(suite);
describeFailureCases(suite);
// podman's Docker API does not retry a refused push (dockerd gives up after about 50 s).
describeReadOnlyWindowCase(suite, 20);

describe('push credentials: anonymous pulls, authenticated pushes', () => {
  /** The docker CLI against the e2e Docker API, with a fresh, empty client config (no login). */
  const dockerAnonymous = (...args: string[]) => docker(suite.env, mkdtempSync(join(suite.tmp, 'docker-anon-')), args);

  test('an anonymous push is refused: the API answers 401 to every write, docker push fails', async () => {
    const { env, registry } = suite;
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
    expect(dockerAnonymous('tag', env.baseImage, ref).code).toBe(0);
    const push = dockerAnonymous('push', ref);
    const why = push.out.split('\n').find((l) => /unauthorized|authentication required|401/i.test(l));
    console.log(`anonymous push refused: docker push ${ref} → exit ${push.code}: ${why}`);
    expect(push.code).not.toBe(0);
    expect(why).toBeDefined();
    expect(await registry.catalog()).not.toContain('e2e-anonymous');
  });

  test('a pull needs no credentials: manifests and blobs over plain GET, and docker pull without login', async () => {
    // What the kubelet (containerd) does: no ping, GET the manifest, then the blobs.
    expect(await suite.layerFile('hasher', 'v1.0.0', 'etc/hasher-built.txt')).toBe('hasher built with sha256\n');
    const ref = `localhost:${suite.env.registryPort}/hasher:v1.0.0`;
    dockerAnonymous('rmi', ref);
    const pull = dockerAnonymous('pull', ref);
    console.log(`anonymous pull of ${ref}: exit ${pull.code}`);
    expect(pull.code).toBe(0);
  });

  test('the builder logs in inside the Pod and leaves no credentials behind: no config.json in the emptyDir after success or failure, the node\'s Docker config untouched', async () => {
    const { env, registry, repo } = suite;
    const nodeConfig = join(env.dockerConfig, 'config.json');
    const before = readFileSync(nodeConfig, 'utf-8');
    // Success: the push went through a registry that refuses anonymous pushes (the test above),
    // so the login happened; its client config is gone from the workspace with the run.
    const { run: ok, dir: okDir } = await suite.build('login-in-pod', { repo: repo.url, ref: CASE_BRANCHES.login, images: [{ context: 'services/hasher' }] });
    expectSuccess(ok);
    expect(ok.stdout).toContain(`logged in to localhost:${env.registryPort}`);
    await suite.checkPushed(ok, { hasher: [short(repo.commits.login), 'e2e-login'] });
    expect(await registry.tags('hasher')).toContain('e2e-login');
    // A ref that does not exist: the run fails at clone, right after the login.
    const { run: failed, dir: failedDir } = await suite.build('login-in-pod-failed', { repo: repo.url, ref: 'e2e/no-such-branch' });
    expectFailedAt(failed, 'clone', []);
    expect(steps(failed.stdout)).toEqual(['install-git', 'login', 'clone']);
    expect(failed.stdout).toContain(`logged in to localhost:${env.registryPort}`);
    for (const dir of [okDir, failedDir]) {
      // The workspace emptyDir outlives the container (until ttlSecondsAfterFinished): the
      // credentials (base64 user:pass in config.json) must not be in it, in any file.
      const workspace = dockerWorkspace(dir);
      expect(existsSync(workspace)).toBe(true);
      expect(existsSync(join(workspace, 'docker-config'))).toBe(false);
      expect(filesContaining(workspace, [env.registryPassword, Buffer.from(`${env.registryUsername}:${env.registryPassword}`).toString('base64')])).toEqual([]);
    }
    expect(readFileSync(nodeConfig, 'utf-8')).toBe(before);
    expect(before).not.toContain('auths');
  });
});
