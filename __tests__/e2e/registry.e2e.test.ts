/**
 * End-to-end: retention and garbage collection against the real registry
 * (Debian's docker-registry behind the auth proxy, scripts/e2e/env.sh).
 *
 *   - retention: the CronJob's program exactly as synthesized (the ConfigMap's
 *     retention.js, run with node and the CronJob's env; only REGISTRY_URL, the
 *     in-cluster Service, points at the loopback registry, and the push Secret
 *     is the e2e account), checked through the registry's API. What the cluster
 *     runs comes from a real kube-apiserver (startApiServer; no kubelet: Pods are
 *     stored, not run), read with a real token of the CronJob's ServiceAccount,
 *     bound to the synthesized ClusterRole;
 *   - garbage collection: the registry Pod's garbage-collector script exactly
 *     as synthesized (GC_NOW=true: one collection now), with the e2e paths and
 *     a `registry` shim that runs Debian's docker-registry (the image's binary
 *     is named `registry`); space measured with du before and after.
 */
import { spawn, spawnSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { createServer, request } from 'http';
import { AddressInfo } from 'net';
import { join } from 'path';
import { docker, dockerOk, E2EEnv, RunningEnv, startEnv, stopEnv } from './support/env';
import { gcContainer, registryShim, RunningGc, startGcScript } from './support/garbage-collector';
import { DOCKER_MANIFEST_V2, httpGet, httpRequest, HttpResponse, RegistryClient } from './support/registry';
import { short } from './support/suite';
import { kubectl, startApiServer } from '../../lib/validation/apiserver';
import { serviceAccountEnv } from '../support/service-account';
import { synthBuilds } from '../support/synth';
import { stringify } from 'yaml';

let running: RunningEnv | undefined;
let tmp = '';
let env: E2EEnv;
let registry: RegistryClient;
let dockerConfig = '';
let shimDir = '';
let manifests: any[] = [];
let stopApiServer: () => void = () => undefined;
/** The namespace dist/ is applied in (the CronJob's ServiceAccount), and one where an app runs. */
const ns = `e2e-ret-${Date.now().toString(36)}`;
const appsNs = `${ns}-apps`;

/** Fake commits: random hex, so tag order says nothing about build order. */
const commits = (n: number) => Array.from({ length: n }, () => [...Array(40)].map(() => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join(''));

/** Builds an image with a 2 MiB incompressible layer of its own, as a builder would label it. */
function buildImage(name: string, tags: string[], revision?: string): void {
  const ctx = mkdtempSync(join(tmp, 'ctx-'));
  // Random bytes: no two images share the layer, and it does not compress. COPY, not a RUN
  // step: no container to start for each of the nine images.
  writeFileSync(join(ctx, 'payload'), randomBytes(2 * 1024 * 1024));
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${env.baseImage}\nCOPY payload /payload\n`);
  const labels = revision ? ['--label', `org.opencontainers.image.revision=${revision}`] : [];
  dockerOk(env, dockerConfig, ['build', '-q', ...labels, ...tags.flatMap((t) => ['-t', `localhost:${env.registryPort}/${name}:${t}`]), ctx]);
  for (const t of tags) dockerOk(env, dockerConfig, ['push', `localhost:${env.registryPort}/${name}:${t}`]);
}

function duKiB(path: string): number {
  return Number(spawnSync('du', ['-sk', path], { encoding: 'utf-8' }).stdout.split('\t')[0]);
}

/** Every blob of name:tag answers 200 to an anonymous GET: the image can be pulled. */
async function expectPullable(name: string, tag: string): Promise<void> {
  const { manifest } = await registry.manifest(name, tag);
  for (const digest of [manifest.config.digest, ...manifest.layers.map((l: any) => l.digest)]) {
    const res = await httpRequest('GET', `${env.registryUrl}/v2/${name}/blobs/${digest}`);
    if (res.status === 307 || res.status === 200) continue;
    throw new Error(`${name}:${tag}: blob ${digest}: HTTP ${res.status}`);
  }
}

function container(kind: string, name: string, containerName: string): any {
  const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
  const spec = kind === 'CronJob' ? m.spec.jobTemplate.spec.template.spec : m.spec.template.spec;
  return spec.containers.find((c: any) => c.name === containerName);
}

function plainEnv(c: any): Record<string, string> {
  return Object.fromEntries((c.env as any[]).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]));
}

/** The synthesized retention program (the ConfigMap's retention.js) and the CronJob's env, as `serviceAccount`. */
function retentionProcess(serviceAccount: { namespace: string; name: string }, registryUrl: string): { file: string; env: NodeJS.ProcessEnv } {
  const c = container('CronJob', 'registry-retention', 'retention');
  const program = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'registry-retention').data['retention.js'];
  const file = join(tmp, 'retention.js');
  writeFileSync(file, program);
  expect(c.command).toEqual(['node', '/opt/registry-retention/retention.js']);
  const secretEnv = Object.fromEntries((c.env as any[]).filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom.secretKeyRef]));
  expect(secretEnv).toEqual({
    REGISTRY_USERNAME: { name: 'registry-push', key: 'username' },
    REGISTRY_PASSWORD: { name: 'registry-push', key: 'password' },
  });
  return {
    file,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...plainEnv(c),
      REGISTRY_URL: registryUrl, // in the cluster: http://registry:5000, the Service
      // Pages of 2: the catalog (4+ repositories) comes in several pages, each Link followed.
      REGISTRY_PAGE_SIZE: '2',
      REGISTRY_USERNAME: env.registryUsername,
      REGISTRY_PASSWORD: env.registryPassword,
      ...serviceAccountEnv(tmp, serviceAccount.namespace, serviceAccount.name),
    },
  };
}

/** Runs the synthesized retention program to its end. */
function runRetention(serviceAccount = { namespace: ns, name: 'registry-retention' }, registryUrl = env.registryUrl): { code: number | null; out: string } {
  const p = retentionProcess(serviceAccount, registryUrl);
  const r = spawnSync('node', [p.file], { encoding: 'utf-8', timeout: 120_000, env: p.env });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A write with the push account. */
function pushRequest(method: string, url: string, body: Buffer, contentType = 'application/octet-stream'): Promise<HttpResponse> {
  const auth = Buffer.from(`${env.registryUsername}:${env.registryPassword}`).toString('base64');
  return httpRequest(method, url, { 'Content-Type': contentType, Authorization: `Basic ${auth}` }, body);
}

/** PUT a manifest (the push's last step) with the push account. */
async function putManifest(name: string, tag: string, body: Buffer): Promise<number> {
  return (await pushRequest('PUT', `${env.registryUrl}/v2/${name}/manifests/${tag}`, body, DOCKER_MANIFEST_V2)).status;
}

/** Uploads a blob (monolithic: POST, then PUT with its digest); returns its digest. */
async function pushBlob(name: string, data: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const start = await pushRequest('POST', `${env.registryUrl}/v2/${name}/blobs/uploads/`, Buffer.alloc(0));
  expect(start.status).toBe(202);
  const url = new URL(String(start.headers.location), env.registryUrl);
  url.searchParams.set('digest', digest);
  expect((await pushRequest('PUT', url.toString(), data)).status).toBe(201);
  return digest;
}

/** Starts the synthesized garbage-collector script for one collection (GC_NOW=true). */
function startGc(drainSeconds: number): RunningGc {
  return startGcScript(gcContainer(manifests), env, shimDir, { GC_NOW: 'true', GC_DRAIN_SECONDS: String(drainSeconds) });
}

const app = commits(5);
const other = commits(3);

beforeAll(async () => {
  running = await startEnv('e2r-');
  ({ tmp, env } = running);
  registry = new RegistryClient(env.registryUrl);
  dockerConfig = mkdtempSync(join(tmp, 'docker-config-'));
  shimDir = registryShim(join(tmp, 'shim'));

  manifests = synthBuilds(`registry:
  nodePort: ${env.registryPort}
  retention:
    keepCommitTags: 2
    images: {other: 1}
    namespace: ${ns}
builds:
  - repo: git://example.invalid/shop.git
    images: [{context: app}, {context: other}]
`, 'e2e builds.yaml');

  dockerOk(env, dockerConfig, ['login', '--username', env.registryUsername, '--password-stdin', `localhost:${env.registryPort}`], env.registryPassword);
  // app: five commits built in order; main and latest on the newest; v1.0.0 on the oldest.
  app.forEach((sha, i) => buildImage('app', [short(sha), ...(i === 0 ? ['v1.0.0'] : []), ...(i === 4 ? ['main', 'latest'] : [])], sha));
  other.forEach((sha, i) => buildImage('other', [short(sha), ...(i === 2 ? ['main'] : [])], sha));
  // Not pushed by a builder (no revision label): never touched, even with hex tags.
  buildImage('foreign', ['abcdef1', 'abcdef2']);

  // The cluster: the CronJob's ServiceAccount and RBAC as synthesized, and a Pod in another
  // namespace still running app's second commit, which the policy alone would delete.
  stopApiServer = startApiServer();
  for (const n of [ns, appsNs]) expect(kubectl(['create', 'namespace', n]).stderr).toBe('');
  const rbac = manifests.filter((m) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(m.kind));
  expect(rbac).toHaveLength(3);
  expect(kubectl(['apply', '-n', ns, '-f', '-'], rbac.map((o) => stringify(o)).join('---\n')).stderr).toBe('');
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: appsNs }, spec: { containers: [{ name: 'web', image: `localhost:${env.registryPort}/app:${short(app[1])}` }] } };
  expect(kubectl(['apply', '-f', '-'], stringify(pod)).stderr).toBe('');
  expect(kubectl(['create', 'serviceaccount', 'unbound', '-n', appsNs]).stderr).toBe('');
}, 40 * 60_000);

afterAll(async () => {
  kubectl(['delete', 'namespace', ns, appsNs, '--wait=false']);
  kubectl(['delete', 'clusterrole,clusterrolebinding', 'registry-retention']);
  stopApiServer();
  await stopEnv(running);
}, 180_000);

describe('retention', () => {
  test('fail closed: when the cluster cannot be read (no ClusterRole bound), nothing is deleted and it exits 1', async () => {
    const before = (await registry.tags('app')).sort();
    const r = runRetention({ namespace: appsNs, name: 'unbound' });
    console.log(r.out);
    expect(r.code).toBe(1);
    expect(r.out).toContain('!! retention failed: cannot read what the cluster runs, so nothing was deleted');
    expect(r.out).toMatch(/HTTP 403/);
    expect((await registry.tags('app')).sort()).toEqual(before);
  });

  test('deletes exactly the commit tags past the policy, keeps the one a Pod runs, checked through the registry API', async () => {
    const before = {
      app: (await registry.tags('app')).sort(),
      other: (await registry.tags('other')).sort(),
      foreign: (await registry.tags('foreign')).sort(),
    };
    expect(before.app).toHaveLength(8);
    const r = runRetention();
    console.log(r.out);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain(env.registryPassword);
    expect(r.out).not.toContain(Buffer.from(`${env.registryUsername}:${env.registryPassword}`).toString('base64'));
    // app: keep 2 newest commit tags (app[4], app[3]) and main/latest; app[0] stays because v1.0.0 shares its manifest;
    // app[1] because a Pod (in another namespace) runs it.
    expect((await registry.tags('app')).sort()).toEqual([short(app[0]), short(app[1]), short(app[3]), short(app[4]), 'latest', 'main', 'v1.0.0'].sort());
    expect(r.out).toContain(`kept app:${short(app[0])}: same manifest as app:v1.0.0`);
    expect(r.out).toContain(`kept app:${short(app[1])}: in use by Pod ${appsNs}/web`);
    // other: its override keeps 1.
    expect((await registry.tags('other')).sort()).toEqual([short(other[2]), 'main'].sort());
    expect((await registry.tags('foreign')).sort()).toEqual(before.foreign);
    const deleted = r.out.split('\n').filter((l) => l.startsWith('deleted ')).map((l) => l.split(' ')[1]).sort();
    expect(deleted).toEqual([`app:${short(app[2])}`, `other:${short(other[0])}`, `other:${short(other[1])}`].sort());
    // A second run finds nothing more to delete.
    expect(runRetention().out).toContain('deleted 0 manifests (0 tags)');
  });

  test('deleting needs the push credentials: anonymously the proxy answers 401', async () => {
    const { digest } = await registry.manifest('app', 'main');
    const res = await httpRequest('DELETE', `${env.registryUrl}/v2/app/manifests/${digest}`);
    expect(res.status).toBe(401);
    expect(await registry.tags('app')).toContain('main');
  });

  test('pushes during the run onto manifests it is about to delete (main moved onto one, a new tag on another) keep both', async () => {
    // race: four commits, main on the newest; the policy (2) deletes the two oldest. Between the
    // program's look at race:main and its DELETEs, main is pushed onto the oldest manifest (a
    // rebuild of that commit) and a new tag, hotfix, onto the second oldest.
    const race = commits(4);
    race.forEach((sha, i) => buildImage('race', [short(sha), ...(i === 3 ? ['main'] : [])], sha));
    const get = (sha: string) => httpGet(`${env.registryUrl}/v2/race/manifests/${short(sha)}`, { Accept: DOCKER_MANIFEST_V2 });
    const [oldest, second] = [await get(race[0]), await get(race[1])];
    expect([oldest.status, second.status]).toEqual([200, 200]);
    // Between the program and the registry, only to time the pushes: after the registry has
    // answered the program's GET of race:main, and before that answer reaches the program.
    let pushed: number[] = [];
    const relay = createServer((req, res) => {
      const upstream = request(`${env.registryUrl}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', async () => {
          if (req.method === 'GET' && req.url === '/v2/race/manifests/main' && pushed.length === 0) {
            pushed = [await putManifest('race', 'main', oldest.body), await putManifest('race', 'hotfix', second.body)];
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(chunks));
        });
      });
      upstream.on('error', () => { res.writeHead(502); res.end(); });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const p = retentionProcess({ namespace: ns, name: 'registry-retention' }, `http://127.0.0.1:${(relay.address() as AddressInfo).port}`);
      const child = spawn('node', [p.file], { env: p.env });
      let out = '';
      child.stdout.on('data', (c) => { out += c; });
      child.stderr.on('data', (c) => { out += c; });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      console.log(out);
      expect(pushed).toEqual([201, 201]);
      expect(code).toBe(0);
      expect(out).toContain(`kept race:${short(race[0])}: race:main was pushed onto the same manifest during this run`);
      expect(out).toContain(`kept race:${short(race[1])}: race:hotfix was pushed onto the same manifest during this run`);
      expect(out.split('\n').filter((l) => l.startsWith('deleted '))).toEqual([]);
      // The tags are where the pushes put them, and their images are whole.
      expect((await registry.manifest('race', 'main')).digest).toBe(String(oldest.headers['docker-content-digest']));
      expect((await registry.manifest('race', 'hotfix')).digest).toBe(String(second.headers['docker-content-digest']));
      expect((await registry.tags('race')).sort()).toEqual([...race.map(short), 'hotfix', 'main'].sort());
      for (const tag of ['main', 'hotfix']) await expectPullable('race', tag);
    } finally {
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  test('a repository it cannot read (an artifact whose config is not an image config) is skipped: the others are done, and the run exits 1 naming it', async () => {
    // broken sorts before zeta: without skipping, zeta would never be reached.
    const config = await pushBlob('broken', Buffer.from('not an image config'));
    const manifest = { schemaVersion: 2, mediaType: DOCKER_MANIFEST_V2, config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 19, digest: config }, layers: [] };
    expect(await putManifest('broken', 'abcdef1', Buffer.from(JSON.stringify(manifest)))).toBe(201);
    const zeta = commits(3);
    zeta.forEach((sha) => buildImage('zeta', [short(sha)], sha));
    const r = runRetention();
    console.log(r.out);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^!! broken: skipped: GET \/v2\/broken\/blobs\/sha256:[0-9a-f]{64}: not an image config \(not JSON\)$/m);
    expect(r.out).toMatch(/^!! retention failed for 1 repositories \(the others were done\):\n {3}broken: /m);
    // zeta (keep 2) lost its oldest commit tag all the same.
    expect((await registry.tags('zeta')).sort()).toEqual([short(zeta[1]), short(zeta[2])].sort());
    expect(await registry.tags('broken')).toEqual(['abcdef1']);
  });

  test('a registry URL that answers 404 (a wrong REGISTRY_URL) is a failure, not "0 repositories"', () => {
    const r = runRetention(undefined, `${env.registryUrl}/not-the-registry`);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/!! retention failed: GET \/v2\/_catalog\?n=2: HTTP 404/);
    expect(r.out).not.toContain('0 repositories');
  });
});

describe('garbage collection', () => {
  test('reclaims the deleted images\' blobs in a read-only window: a push during it gets 503, kept images stay pullable', async () => {
    const before = duKiB(env.registryData);
    const gc = startGc(4);
    // Inside the window: writes refused with 503 + Retry-After, reads go on.
    // Polled until the window answers: the statuses seen, in order (202 until the flag exists).
    const seen: number[] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const res = await httpRequest('POST', `${env.registryUrl}/v2/app/blobs/uploads/`, {
        Authorization: `Basic ${Buffer.from(`${env.registryUsername}:${env.registryPassword}`).toString('base64')}`,
      });
      seen.push(res.status);
      if (res.status === 503) {
        console.log(`push during the GC window: HTTP ${res.status}, Retry-After ${res.headers['retry-after']}: ${res.body.toString().trim()}`);
        expect(res.headers['retry-after']).toBe('120');
        expect(res.body.toString()).toMatch(/read-only during garbage collection/);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // The window opened within 10 s of the start, and nothing but an accepted upload came before it.
    expect(seen[seen.length - 1]).toBe(503);
    expect(new Set(seen.slice(0, -1))).toEqual(new Set(seen.length > 1 ? [202] : []));
    expect(await registry.tags('app')).toContain('main'); // pulls go on
    const concurrent = docker(env, dockerConfig, ['push', `localhost:${env.registryPort}/app:${short(app[4])}`]);
    const result = await gc.done;
    const after = duKiB(env.registryData);
    console.log(result.out.split('\n').filter((l) => l.startsWith('==>')).join('\n'));
    console.log(`garbage collection: ${before} KiB -> ${after} KiB, reclaimed ${before - after} KiB (3 images of one 2 MiB layer each deleted)`);
    expect(result.code).toBe(0);
    // The push started inside the window (after its 503 above, well within the drain): its
    // blobs are there already, so it reaches the manifest PUT at once and the window refuses it
    // (docker does not retry a manifest; the builder Job's retry does). Never a half-written image.
    console.log(`push started inside the window: exit ${concurrent.code}: ${concurrent.out.trim().split('\n').pop()}`);
    expect(concurrent.code).not.toBe(0);
    expect(concurrent.out).toMatch(/uploading manifest \S+ to localhost:\d+\/app: received unexpected HTTP status: 503/);
    await expectPullable('app', short(app[4]));
    // Three deleted images of a 2 MiB layer each: at least 5 MiB back.
    expect(before - after).toBeGreaterThanOrEqual(5 * 1024);
    for (const tag of [short(app[0]), short(app[1]), short(app[3]), short(app[4]), 'main', 'latest', 'v1.0.0']) await expectPullable('app', tag);
    for (const tag of [short(other[2]), 'main']) await expectPullable('other', tag);
    for (const tag of ['abcdef1', 'abcdef2']) await expectPullable('foreign', tag);
    // The window is closed: writes work again.
    expect(dockerOk(env, dockerConfig, ['push', `localhost:${env.registryPort}/app:${short(app[4])}`])).toMatch(/digest: sha256:/);
  });

  test('pushing a collected image again re-uploads its blobs (no stale blob cache): it pulls completely', async () => {
    expect(await registry.tags('app')).not.toContain(short(app[2]));
    dockerOk(env, dockerConfig, ['push', `localhost:${env.registryPort}/app:${short(app[2])}`]);
    await expectPullable('app', short(app[2]));
  });
});

describe('garbage collector start-up', () => {
  test('a read-only flag left by a collector killed mid-window is removed at start-up: pushes work again', async () => {
    // What a collector SIGKILLed inside its window leaves in the emptyDir, which outlives a container restart.
    const flag = join(env.maintenanceDir, 'read-only');
    writeFileSync(flag, '');
    const auth = { Authorization: `Basic ${Buffer.from(`${env.registryUsername}:${env.registryPassword}`).toString('base64')}` };
    const refused = await httpRequest('POST', `${env.registryUrl}/v2/app/blobs/uploads/`, auth);
    expect(refused.status).toBe(503); // the proxy honours the stale flag until the collector starts
    // The restarted container: the daily loop, with a GC_AT that is not now (no collection runs).
    const now = new Date();
    const notNow = `${String((now.getUTCHours() + 12) % 24).padStart(2, '0')}:00`;
    const gc = startGcScript(gcContainer(manifests), env, shimDir, { GC_AT: notNow });
    try {
      const deadline = Date.now() + 15_000;
      // The script removes the flag, then says so: wait for both.
      const said = () => gc.out().includes('removed a read-only flag left by a collector that did not finish');
      while ((existsSync(flag) || !said()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      console.log(`garbage collector started with a stale flag:\n${gc.out().trim()}`);
      expect(existsSync(flag)).toBe(false);
      expect(gc.out()).toContain('removed a read-only flag left by a collector that did not finish');
      expect(gc.child.exitCode).toBeNull(); // still running its daily loop
      const accepted = await httpRequest('POST', `${env.registryUrl}/v2/app/blobs/uploads/`, auth);
      expect(accepted.status).toBe(202);
      expect(dockerOk(env, dockerConfig, ['push', `localhost:${env.registryPort}/app:${short(app[4])}`])).toMatch(/digest: sha256:/);
    } finally {
      await gc.stop();
    }
  });
});
