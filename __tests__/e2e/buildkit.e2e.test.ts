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
 * base image, which is pushed to the test registry for BuildKit to pull. The
 * ref and failure cases are the docker suite's too (support/ref-cases.ts,
 * support/failure-cases.ts).
 */
import { execFileSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { steps } from './support/builder';
import { buildkitEngine, stateDirUsed } from './support/buildkit';
import { describeFailureCases } from './support/failure-cases';
import { MOVING_BRANCHES, MovingBranch } from './support/fixture';
import { collectNow, gcContainer, registryShim } from './support/garbage-collector';
import { describeRefCases } from './support/ref-cases';
import { httpGet } from './support/registry';
import { Built, e2eSuite, expectFailedAt, expectSuccess, short } from './support/suite';
import { describeReadOnlyWindowCase } from './support/window-case';
import { synthBuilds } from '../support/synth';

const suite = e2eSuite(buildkitEngine());

/** Requests the registry logged for a repository, with the Host they were sent to. */
function registryHostsFor(name: string): Set<string> {
  const log = readFileSync(join(suite.stateDir, 'logs', 'registry.log'), 'utf-8');
  const hosts = new Set<string>();
  for (const line of log.split('\n')) {
    if (line.includes(`http.request.uri="/v2/${name}/`)) {
      const m = /http\.request\.host="?([^"\s]+)"?/.exec(line);
      if (m) hosts.add(m[1]);
    }
  }
  return hosts;
}

describe('success', () => {
  const coldDigests = new Map<string, string>();
  const hasherAndWorker = [{ context: 'services/hasher' }, { context: 'services/worker' }];
  const COLD = 'buildkit cold build (v1.0.0, hasher + worker, empty state, empty cache)';

  test('tag ref v1.0.0, cold: two images from one commit, tagged v1.0.0 and the short SHA, not latest', async () => {
    const { env, registry, repo } = suite;
    const { job, run, dir } = await suite.build('tag', { repo: repo.url, ref: 'v1.0.0', images: hasherAndWorker });
    expect(job.env).toMatchObject({ REGISTRY_PORT: String(env.registryPort), REPO_URL: repo.url, GIT_REF: 'v1.0.0', IMAGE_TAGS: 'v1.0.0', IMAGE_1_NAME: 'hasher', IMAGE_2_NAME: 'worker' });
    // The script counts the images and defaults their Dockerfile: the Job carries neither.
    expect(Object.keys(job.env).filter((k) => k === 'IMAGE_COUNT' || k.endsWith('_DOCKERFILE'))).toEqual([]);
    expectSuccess(run);
    suite.timings[COLD] = run.ms;
    expect(stateDirUsed(dir)).toBe(true);

    const s = short(repo.commits.v1);
    expect(steps(run.stdout)).toEqual([
      'resolve', 'start-buildkitd', 'login', 'build hasher', 'build worker',
      `push hasher:${s}`, `push worker:${s}`, 'push hasher:v1.0.0', 'push worker:v1.0.0', 'done',
    ]);
    // The annotated tag resolved once, to the commit it points to.
    expect(run.stdout).toContain(`resolved v1.0.0 to ${repo.commits.v1} (refs/tags/v1.0.0)`);
    expect(run.output).toMatch(/^#\d+ [\d.]+ e2e: hasher RUN step ran$/m);
    expect(run.output).toMatch(/^#\d+ [\d.]+ e2e: worker RUN step ran$/m);

    const digests = await suite.checkPushed(run, { hasher: ['v1.0.0', s], worker: ['v1.0.0', s] });
    digests.forEach((d, k) => coldDigests.set(k, d));
    expect((await registry.tags('hasher')).sort()).toEqual([s, 'v1.0.0'].sort());
    // The layer cache went to the registry, beside the images, never under an image's own name.
    expect(await registry.catalog()).toEqual(expect.arrayContaining(['buildcache/hasher', 'buildcache/worker']));
    expect(await registry.tags('buildcache/hasher')).toEqual(['v1.0.0']);

    await suite.checkConfig('hasher', 'v1.0.0', repo.commits.v1, { 'e2e.image': 'hasher', 'e2e.fixture': 'hasher-label' }, ['HASHER_ALGO=sha256', 'E2E_IMAGE=hasher']);
    await suite.checkConfig('worker', 'v1.0.0', repo.commits.v1, { 'e2e.image': 'worker' }, ['WORKER_QUEUE=jobs']);
    expect(await suite.layerFile('hasher', 'v1.0.0', 'etc/hasher-built.txt')).toBe('hasher built with sha256\n');
    expect(await suite.layerFile('worker', 'v1.0.0', 'srv/worker-built.txt')).toBe('worker queue=jobs\n');
    // FROM localhost:<nodePort>/e2e-busybox:1 was pulled through the registry's in-cluster address.
    expect(registryHostsFor('e2e-busybox')).toContain(`registry:${env.registryPort}`);
  });

  test('the same build on a new, empty state dir: every step from the registry cache, the same image', async () => {
    const { repo } = suite;
    const { run, dir } = await suite.build('tag-cached', { repo: repo.url, ref: 'v1.0.0', images: hasherAndWorker });
    expectSuccess(run);
    suite.timings['buildkit rebuild from the registry cache (new empty state dir)'] = run.ms;
    expect(stateDirUsed(dir)).toBe(true);
    // The RUN commands did not run again (their output lines are absent; the step titles echo the command text).
    expect(run.output).not.toMatch(/^#\d+ [\d.]+ e2e: \w+ RUN step ran$/m);
    expect(run.output).toMatch(/importing cache manifest from .*buildcache\/hasher:v1\.0\.0/);
    expect(run.output.split('\n').filter((l) => /^#\d+ CACHED$/.test(l)).length).toBeGreaterThanOrEqual(2);

    const s = short(repo.commits.v1);
    const digests = await suite.checkPushed(run, { hasher: ['v1.0.0', s], worker: ['v1.0.0', s] });
    for (const name of ['hasher', 'worker']) {
      await suite.expectSameLayers(`${name}:v1.0.0`, coldDigests, digests);
      // Not only the layers: the cache carries each step's creation time, so the config and the manifest are the same too.
      expect(digests.get(`${name}:v1.0.0`)).toBe(coldDigests.get(`${name}:v1.0.0`));
    }
    console.log(`cold ${suite.timings[COLD]} ms, cached ${run.ms} ms`);
  });
});

describe('a branch that moves while its build runs (a push to it meanwhile)', () => {
  const images = [{ context: 'services/hasher' }, { context: 'services/worker' }];
  const literally = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

  /** Builds the moving branch `key`, pushing its next commit onto it at the first stdout line matching `when`. */
  async function buildWhileMoving(key: MovingBranch, when: RegExp): Promise<Built> {
    const { repo } = suite;
    const built = await suite.build(`moves-${key}`, { repo: repo.url, ref: MOVING_BRANCHES[key], images }, {
      atLine: { when, then: () => repo.moveBranch(key) },
    });
    // The server has the new commit on the branch now.
    expect(execFileSync('git', ['ls-remote', repo.url, `refs/heads/${MOVING_BRANCHES[key]}`], { encoding: 'utf-8' })).toMatch(new RegExp(`^${repo.moving[key].to}\t`));
    return built;
  }

  /** Both images built from the commit the branch was on when the build resolved it, under its tags. */
  async function expectBuiltBeforeTheMove(key: MovingBranch, { job, run }: Built): Promise<void> {
    expectSuccess(run);
    const { from } = suite.repo.moving[key];
    expect(run.stdout).toContain(`resolved ${MOVING_BRANCHES[key]} to ${from} (refs/heads/${MOVING_BRANCHES[key]})`);
    const tags = [job.env.IMAGE_TAGS, short(from)];
    await suite.checkPushed(run, { hasher: tags, worker: tags });
    for (const name of ['hasher', 'worker']) {
      for (const tag of tags) await suite.checkConfig(name, tag, from, { 'e2e.image': name }, [`E2E_IMAGE=${name}`]);
    }
    // The moved-to commit's worker (queue moved-jobs) is nowhere.
    expect(await suite.layerFile('worker', job.env.IMAGE_TAGS, 'srv/worker-built.txt')).toBe('worker queue=jobs\n');
    expect(await suite.registry.tags('worker')).not.toContain(short(suite.repo.moving[key].to));
  }

  test('moved when the pushes begin: every push still from the resolved commit (no git server asked again)', async () => {
    await expectBuiltBeforeTheMove('duringPush', await buildWhileMoving('duringPush', /^==> \[push /));
  });

  test('moved after the first image built: the second image from the same commit as the first', async () => {
    await expectBuiltBeforeTheMove('afterFirstImage', await buildWhileMoving('afterFirstImage', /^==> \[build worker\]/));
  });

  test('moved between resolve and the first build: fails at the first build, saying it moved; nothing pushed', async () => {
    const { repo } = suite;
    const catalog = await suite.registry.catalog();
    const { job, run } = await buildWhileMoving('beforeBuild', /^==> \[start-buildkitd\]/);
    const { from, to } = repo.moving.beforeBuild;
    expectFailedAt(run, 'build hasher', [
      /expected checksum to match/,
      literally(`!! ${MOVING_BRANCHES.beforeBuild} moved on ${repo.url} during the build (it no longer points to ${from}); the next attempt builds the new commit`),
    ]);
    expect(steps(run.stdout)).toEqual(['resolve', 'start-buildkitd', 'login', 'build hasher']);
    for (const name of ['hasher', 'worker']) {
      const present = await suite.registry.tags(name);
      for (const tag of [job.env.IMAGE_TAGS, short(from), short(to)]) expect(present).not.toContain(tag);
    }
    expect(await suite.registry.catalog()).toEqual(catalog);
  });
});

describeRefCases(suite);
describeFailureCases(suite);
describeReadOnlyWindowCase(suite, 20);

/** What a layer-cache export is in the registry: the manifest a cache tag points at and what it references. */
interface CacheExport {
  readonly digest: string;
  readonly mediaType: string;
  readonly children: Array<{ digest: string; mediaType: string }>;
}

const INDEX_OR_MANIFEST = [
  'application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json',
];

async function cacheExport(name: string, tag: string): Promise<CacheExport> {
  const res = await httpGet(`${suite.env.registryUrl}/v2/${name}/manifests/${tag}`, { Accept: INDEX_OR_MANIFEST.join(', ') });
  if (res.status !== 200) throw new Error(`GET /v2/${name}/manifests/${tag}: HTTP ${res.status} ${res.body.toString()}`);
  const manifest = JSON.parse(res.body.toString());
  const children = manifest.manifests ?? [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])];
  return {
    digest: String(res.headers['docker-content-digest']),
    mediaType: manifest.mediaType ?? String(res.headers['content-type']),
    children: children.map((c: any) => ({ digest: c.digest, mediaType: c.mediaType })),
  };
}

const status = async (path: string, accept?: string) =>
  (await httpGet(`${suite.env.registryUrl}${path}`, accept ? { Accept: accept } : {})).status;

describe('layer cache and garbage collection', () => {
  test('a moved cache tag: the previous export is collected with its blobs, the current cache still imports (CACHED)', async () => {
    const { env, repo } = suite;
    const branch = 'cache-gc';
    const hashSh = (n: string) => `#!/bin/sh\n# cache export ${n}\nsha256sum "$@"\n`;
    const build = { repo: repo.url, ref: branch, images: [{ context: 'services/hasher' }] };

    const first = repo.commit(branch, { 'services/hasher/hash.sh': hashSh('one') }, 'cache-gc: first content');
    expectSuccess((await suite.build('cache-one', build)).run);
    const one = await cacheExport('buildcache/hasher', branch);
    const revisions = join(env.registryData, 'docker/registry/v2/repositories/buildcache/hasher/_manifests/revisions');
    // What the collector relies on: a real cache export (mode=max; BuildKit 0.32 writes an OCI
    // image manifest, image-manifest=true) references blobs only (the cache config, the layers).
    console.log(`cache export ${one.digest}: ${one.mediaType}\n  ${one.children.map((c) => `${c.mediaType} ${c.digest}`).join('\n  ')}`);
    expect(one.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(one.children.some((c) => c.mediaType === 'application/vnd.buildkit.cacheconfig.v0')).toBe(true);
    for (const c of one.children) {
      expect(INDEX_OR_MANIFEST).not.toContain(c.mediaType);
      expect(await status(`/v2/buildcache/hasher/blobs/${c.digest}`)).toBe(200);
      // Not a manifest revision of the repository: the only kind of child the collector must keep.
      expect(existsSync(join(revisions, c.digest.replace(':', '/')))).toBe(false);
    }
    expect(existsSync(join(revisions, one.digest.replace(':', '/')))).toBe(true);

    const second = repo.commit(branch, { 'services/hasher/hash.sh': hashSh('two') }, 'cache-gc: second content');
    expectSuccess((await suite.build('cache-two', build)).run);
    const two = await cacheExport('buildcache/hasher', branch);
    expect(two.digest).not.toBe(one.digest); // the tag moved: the first export is untagged now
    // What only the first export referenced: its cache config, and the layers of the changed COPY and
    // RUN steps, except that those are also the layers of the first commit's image, which keeps them.
    const image = (await suite.registry.manifest('hasher', short(first))).manifest;
    const imageBlobs = [image.config.digest, ...image.layers.map((l: any) => l.digest)];
    const notInTwo = one.children.filter((c) => !two.children.some((t) => t.digest === c.digest));
    const onlyInOne = notInTwo.filter((c) => !imageBlobs.includes(c.digest)).map((c) => c.digest);
    const sharedWithImage = notInTwo.filter((c) => imageBlobs.includes(c.digest)).map((c) => c.digest);
    expect(notInTwo.filter((c) => c.mediaType.includes('layer')).length).toBeGreaterThan(0); // the content changed
    expect(onlyInOne).toContain(one.children.find((c) => c.mediaType === 'application/vnd.buildkit.cacheconfig.v0')!.digest);
    expect(await status(`/v2/buildcache/hasher/manifests/${one.digest}`, INDEX_OR_MANIFEST.join(', '))).toBe(200);

    const cacheTags = await suite.registry.tags('buildcache/hasher');
    const manifests = synthBuilds(suite.yaml(build), 'buildkit e2e builds.yaml');
    const result = await collectNow(gcContainer(manifests), env, registryShim(join(suite.tmp, 'gc-shim')));
    console.log(result.out.trim());
    expect(result.code).toBe(0);

    // The first export and the blobs only it referenced are gone; the current cache is whole.
    expect(await status(`/v2/buildcache/hasher/manifests/${one.digest}`, INDEX_OR_MANIFEST.join(', '))).toBe(404);
    for (const d of onlyInOne) expect(await status(`/v2/buildcache/hasher/blobs/${d}`)).toBe(404);
    for (const d of sharedWithImage) expect(await status(`/v2/hasher/blobs/${d}`)).toBe(200);
    console.log(`first export: ${onlyInOne.length} blob(s) only it referenced, now 404; ${sharedWithImage.length} layer(s) the first commit's image shares, kept`);
    // At least the first export (earlier tests of this suite may have left more untagged caches).
    expect(result.out).toMatch(/==> \[gc\] buildcache\/hasher: [1-9]\d* untagged layer-cache manifest\(s\) to collect/);
    for (const c of two.children) expect(await status(`/v2/buildcache/hasher/blobs/${c.digest}`)).toBe(200);
    // Every cache tag (v1.0.0, main, ... of the earlier tests) still resolves, every blob of it there.
    for (const tag of cacheTags) {
      for (const c of (await cacheExport('buildcache/hasher', tag)).children) expect(await status(`/v2/buildcache/hasher/blobs/${c.digest}`)).toBe(200);
    }

    // A new, empty builder of the same commit imports the remaining cache: no step runs again.
    const again = await suite.build('cache-after-gc', build);
    expectSuccess(again.run);
    expect(again.run.output).toMatch(/importing cache manifest from .*buildcache\/hasher:cache-gc/);
    expect(again.run.output).not.toMatch(/^#\d+ [\d.]+ e2e: hasher RUN step ran$/m);
    expect(again.run.output.split('\n').filter((l) => /^#\d+ CACHED$/.test(l)).length).toBeGreaterThanOrEqual(2);
    await suite.checkConfig('hasher', branch, second, { 'e2e.image': 'hasher' }, ['HASHER_ALGO=sha256']);
  });
});
