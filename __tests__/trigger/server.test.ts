import { AddressInfo } from 'net';
import { Server } from 'http';
import { Cluster } from '../../trigger/cluster';
import { BuildController } from '../../trigger/controller';
import { createTriggerServer } from '../../trigger/server';
import { build, githubPush, SECRET, signedHeaders, TOKEN } from './fixtures';

/** Refusals must not reach the cluster at all: any call fails the test. */
const calls: string[] = [];
const untouchable = new Proxy({}, { get: (_t, name) => () => { calls.push(String(name)); throw new Error(`cluster.${String(name)} called`); } }) as Cluster;
const controller = new BuildController(untouchable, {
  builds: [build({ repo: 'https://github.com/jpetazzo/container.training' })],
  job: { registryPort: 30500 },
  maxConcurrentBuilds: 2,
});

let server: Server;
let base: string;
beforeAll(async () => {
  server = createTriggerServer({ controller, webhookSecret: SECRET, apiToken: TOKEN, maxBodyBytes: 64 * 1024, log: () => undefined });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => expect(calls).toEqual([]));

async function post(path: string, headers: Record<string, string>, body: string) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body });
  return { status: res.status, body: await res.json() };
}

test('GET /healthz', async () => {
  const res = await fetch(`${base}/healthz`);
  expect([res.status, await res.json()]).toEqual([200, { ok: true }]);
});

test('over the body limit: 413, by Content-Length or by what arrives', async () => {
  const big = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
  expect((await post('/hooks/github', signedHeaders('github', big, 'd'), big)).status).toBe(413);
  const res = await fetch(`${base}/hooks/github`, {
    method: 'POST', headers: signedHeaders('github', big, 'd'), duplex: 'half',
    body: new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(big)); c.close(); } }),
  } as RequestInit);
  expect(res.status).toBe(413);
});

test('malformed JSON (validly signed): 400', async () => {
  expect(await post('/hooks/github', signedHeaders('github', '{"ref"', 'd'), '{"ref"')).toEqual({ status: 400, body: { error: expect.stringMatching(/not JSON/) } });
});

test('bad or missing signature: 401', async () => {
  const body = JSON.stringify(githubPush());
  expect((await post('/hooks/github', signedHeaders('github', body, 'd', 'wrong-secret'), body)).status).toBe(401);
  expect((await post('/hooks/github', { 'x-github-event': 'push' }, body)).status).toBe(401);
  expect((await post('/hooks/gitlab', signedHeaders('gitlab', body, 'd', 'wrong-secret'), body)).status).toBe(401);
  expect((await post('/hooks/forgejo', signedHeaders('forgejo', body, 'd', 'wrong-secret'), body)).status).toBe(401);
});

test.each([
  ['a ping', JSON.stringify({ zen: 'z' }), 'ping', /^ping/],
  ['a branch deletion', JSON.stringify(githubPush({ deleted: true, after: '0'.repeat(40) })), 'push', /deleted/],
  ['an unlisted repository', JSON.stringify(githubPush({ repo: 'someone/else' })), 'push', /not listed in builds.yaml/],
  ['a ref the trigger does not allow', JSON.stringify(githubPush({ ref: 'refs/heads/feature' })), 'push', /branch feature is not allowed/],
  ['a tag the trigger does not allow', JSON.stringify(githubPush({ ref: 'refs/tags/v1' })), 'push', /tag v1 is not allowed/],
])('%s: 200 with the reason, nothing created', async (_name, body, event, reason) => {
  expect(await post('/hooks/github', signedHeaders('github', body, 'd', SECRET, event), body)).toMatchObject({ status: 200, body: { outcome: 'ignored', reason: expect.stringMatching(reason) } });
});

test('unknown provider 404, GET on a hook 405', async () => {
  expect((await post('/hooks/bitbucket', {}, '{}')).status).toBe(404);
  expect((await fetch(`${base}/hooks/github`)).status).toBe(405);
});

test('GET /builds and logs need the bearer token', async () => {
  for (const path of ['/builds', '/builds/build-x/logs']) {
    expect((await fetch(`${base}${path}`)).status).toBe(401);
    expect((await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await fetch(`${base}${path}`, { headers: { authorization: TOKEN } })).status).toBe(401);
  }
});

test('a webhook is answered without waiting for the cluster (202 with the Job to come), and the Job follows', async () => {
  let created = 0;
  const slow: Cluster = {
    listJobs: () => new Promise((r) => setTimeout(() => r([]), 3000)),
    createJob: async () => { created++; return true; },
    resumeJob: async () => undefined,
    deleteJob: async () => undefined,
    jobPods: async () => [],
    streamLog: async () => undefined,
  };
  const c = new BuildController(slow, { builds: [build({ repo: 'https://github.com/jpetazzo/container.training' })], job: { registryPort: 30500 }, maxConcurrentBuilds: 2 });
  const s = createTriggerServer({ controller: c, webhookSecret: SECRET, apiToken: TOKEN, log: () => undefined });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  try {
    const body = JSON.stringify(githubPush());
    const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/hooks/github`, { method: 'POST', headers: signedHeaders('github', body, 'slow-1'), body });
    // the cluster takes 3 s to list: the answer came without it (times are in npm run bench), naming the Job to come
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ outcome: 'accepted', jobs: ['build-container-training-main-0123456'] });
    expect(created).toBe(0);
    // the same delivery again while the first is still being decided: nothing more
    const again = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/hooks/github`, { method: 'POST', headers: signedHeaders('github', body, 'slow-1'), body });
    expect([again.status, ((await again.json()) as any).outcome]).toEqual([200, 'duplicate']);
    await new Promise((r) => setTimeout(r, 6500));
    expect(created).toBe(1);
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
}, 15_000);
