import { AddressInfo } from 'net';
import { Server } from 'http';
import * as k8s from '@kubernetes/client-node';
import { KUBECONFIG, kubectl, startApiServer } from '../../lib/validation/apiserver';
import { KubeCluster } from '../../trigger/cluster';
import { BuildController } from '../../trigger/controller';
import { createTriggerServer } from '../../trigger/server';
import { triggerableBuilds } from '../../trigger/match';
import { build, COMMIT, COMMIT2, entry, githubPush, gitlabPush, PARENT, SECRET, signedHeaders, TOKEN } from '../trigger/fixtures';

/**
 * The build trigger against a real kube-apiserver (no controller-manager:
 * Jobs are stored, never run, which is what creation, dedupe, cancellation,
 * the queue and restarts need). `npm run test:server`.
 */
let stop: () => void = () => undefined;
let namespace = '';
let cluster: KubeCluster;
let server: Server | undefined;
let base = '';

const BUILDS = [
  build({ repo: 'https://github.com/jpetazzo/container.training', trigger: { branches: ['main', 'feature/*'], tags: ['v*'] } }),
  build({ repo: 'git@gitlab.example.com:team/app.git', images: [{ context: '.', dockerfile: 'Dockerfile' }] }, 'builds[1]'),
];

function controller(maxConcurrentBuilds = 2): BuildController {
  return new BuildController(cluster, { builds: BUILDS, job: { registryPort: 30500 }, maxConcurrentBuilds });
}

async function serve(c: BuildController): Promise<void> {
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = createTriggerServer({ controller: c, webhookSecret: SECRET, apiToken: TOKEN, log: () => undefined, answerWithinMs: 10_000 });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function hook(o: { ref?: string; after?: string; before?: string; repo?: string; delivery: string }) {
  const body = JSON.stringify(githubPush(o));
  const res = await fetch(`${base}/hooks/github`, { method: 'POST', headers: signedHeaders('github', body, o.delivery), body });
  return { status: res.status, body: await res.json() as any };
}

/** What the Job controller would write when a build fails (no controller-manager runs here). */
function markFailed(name: string): void {
  const status = { startTime: '2026-11-29T03:00:00Z', failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: '2026-11-29T03:01:00Z' }] };
  const patched = kubectl(['patch', 'job', name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  expect(patched.stderr).toBe('');
}

const jobs = async () => (await cluster.listJobs()).map((j) => ({ name: j.name, suspended: j.suspended })).sort((a, b) => a.name.localeCompare(b.name));

beforeAll(() => {
  stop = startApiServer();
}, 40 * 60_000);
afterAll(async () => {
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  stop();
});
beforeEach(() => {
  namespace = `trigger-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const created = kubectl(['create', 'namespace', namespace]);
  expect(created.stderr).toBe('');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  cluster = new KubeCluster(kc, namespace);
});
afterEach(() => {
  kubectl(['delete', 'namespace', namespace, '--wait=false']);
});

test('a signed push becomes one Job with the exact commit; the same delivery again creates nothing, also after a restart', async () => {
  await serve(controller());
  const first = await hook({ delivery: 'guid-1' });
  expect(first).toEqual({ status: 201, body: expect.objectContaining({ outcome: 'queued', jobs: ['build-container-training-main-0123456'] }) });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  const [job] = (await kc.makeApiClient(k8s.BatchV1Api).listNamespacedJob({ namespace })).items;
  const env = Object.fromEntries(job.spec!.template.spec!.containers[0].env!.map((e: k8s.V1EnvVar) => [e.name, e.value]));
  expect(env).toMatchObject({ GIT_REF: COMMIT, IMAGE_TAGS: 'main latest', REPO_URL: 'https://github.com/jpetazzo/container.training', IMAGE_1_NAME: 'worker' });
  expect(job.spec!.suspend).toBe(false);

  expect(await hook({ delivery: 'guid-1' })).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
  await serve(controller()); // a restarted trigger: nothing in memory
  expect(await hook({ delivery: 'guid-1' })).toMatchObject({ status: 200, body: { outcome: 'duplicate', reason: 'delivery guid-1 from github already built by build-container-training-main-0123456' } });
  expect(await jobs()).toEqual([{ name: 'build-container-training-main-0123456', suspended: false }]);
});

test('a newer push to the branch cancels its older unfinished build; other branches keep theirs', async () => {
  await serve(controller());
  await hook({ delivery: 'a', after: COMMIT });
  await hook({ delivery: 'b', ref: 'refs/heads/feature/x', after: COMMIT });
  const newer = await hook({ delivery: 'c', before: COMMIT, after: COMMIT2 });
  expect(newer.body).toMatchObject({ outcome: 'queued', jobs: ['build-container-training-main-fedcba9'], cancelled: ['build-container-training-main-0123456'] });
  expect((await jobs()).map((j) => j.name)).toEqual(['build-container-training-main-feature-x-0123456', 'build-container-training-main-fedcba9']);
});

test('an older push delivered after a newer one is ignored as superseded: it creates nothing and cancels nothing, also after the newer build was cancelled and the trigger restarted', async () => {
  const COMMIT3 = '3333333333333333333333333333333333333333';
  // main's history: PARENT → COMMIT (push a), COMMIT → COMMIT2 (push b), COMMIT2 → COMMIT3 (push c)
  await serve(controller());
  expect((await hook({ delivery: 'b', before: COMMIT, after: COMMIT2 })).body).toMatchObject({ outcome: 'queued', jobs: ['build-container-training-main-fedcba9'] });
  const late = await hook({ delivery: 'a', before: PARENT, after: COMMIT });
  expect(late).toEqual({ status: 200, body: { outcome: 'ignored', reason: expect.stringContaining('superseded by build-container-training-main-fedcba9'), jobs: [], cancelled: [] } });
  expect(await jobs()).toEqual([{ name: 'build-container-training-main-fedcba9', suspended: false }]);
  const job = (await cluster.listJobs())[0];
  expect(job.annotations['trigger.cdk8s-image-builder/before']).toBe(COMMIT);

  // c cancels b (b's Job, its delivery label and its before are gone); the record moves to c's Job
  expect((await hook({ delivery: 'c', before: COMMIT2, after: COMMIT3 })).body).toMatchObject({ outcome: 'queued', cancelled: ['build-container-training-main-fedcba9'] });
  await serve(controller()); // a restarted trigger: nothing in memory
  for (const [delivery, after] of [['b', COMMIT2], ['a-retry', COMMIT]]) {
    expect((await hook({ delivery, after })).body).toMatchObject({ outcome: 'ignored', reason: expect.stringContaining('superseded by build-container-training-main-3333333'), cancelled: [] });
  }
  expect(await jobs()).toEqual([{ name: 'build-container-training-main-3333333', suspended: false }]);
});

test('at most N builds at once: the rest wait suspended, and start as running ones end; a restart keeps the queue', async () => {
  await serve(controller(1));
  await hook({ delivery: '1', ref: 'refs/heads/main' });
  await hook({ delivery: '2', ref: 'refs/heads/feature/a' });
  await hook({ delivery: '3', ref: 'refs/tags/v1.0.0' });
  expect(await jobs()).toEqual([
    { name: 'build-container-training-main-0123456', suspended: false },
    { name: 'build-container-training-main-feature-a-0123456', suspended: true },
    { name: 'build-container-training-main-v1-0-0-0123456', suspended: true },
  ]);
  // a restarted trigger with the same limit starts nothing more while one runs
  expect(await controller(1).reconcile()).toEqual([]);
  // the running build ends; the oldest queued starts
  markFailed('build-container-training-main-0123456');
  expect(await controller(1).reconcile()).toEqual(['build-container-training-main-feature-a-0123456']);
  const listed = await fetch(`${base}/builds`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.json()) as any;
  expect(listed.builds.map((b: any) => [b.id, b.state, b.ref, b.commit])).toEqual(expect.arrayContaining([
    ['build-container-training-main-feature-a-0123456', 'running', 'refs/heads/feature/a', COMMIT],
    ['build-container-training-main-v1-0-0-0123456', 'queued', 'refs/tags/v1.0.0', COMMIT],
    ['build-container-training-main-0123456', 'failed', 'refs/heads/main', COMMIT],
  ]));
  // a failed build has no completionTime: it ended when it failed
  expect(listed.builds.find((b: any) => b.id === 'build-container-training-main-0123456')).toMatchObject({ start: '2026-11-29T03:00:00.000Z', end: '2026-11-29T03:01:00.000Z' });
});

test('a monorepo: two builds.yaml entries of one repository allowing the pushed branch both get their Job', async () => {
  const mono = triggerableBuilds([
    entry({ repo: 'https://github.com/team/mono', ref: 'main', images: [{ context: 'services/api', dockerfile: 'Dockerfile' }], trigger: { branches: ['main', 'feature/*'], tags: [] } }),
    entry({ repo: 'https://github.com/team/mono', ref: 'release', images: [{ context: 'services/web', dockerfile: 'Dockerfile' }], trigger: { branches: ['release', 'feature/*'], tags: [] } }),
  ]);
  await serve(new BuildController(cluster, { builds: mono, job: { registryPort: 30500 }, maxConcurrentBuilds: 2 }));
  const answer = await hook({ delivery: 'mono-1', repo: 'team/mono', ref: 'refs/heads/feature/x' });
  expect(answer).toEqual({ status: 201, body: expect.objectContaining({ outcome: 'queued', jobs: ['build-mono-main-feature-x-0123456', 'build-mono-release-feature-x-0123456'] }) });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  const created = (await kc.makeApiClient(k8s.BatchV1Api).listNamespacedJob({ namespace })).items
    .map((j) => [j.metadata!.name, j.spec!.template.spec!.containers[0].env!.find((e) => e.name === 'IMAGE_1_NAME')!.value]);
  expect(created.sort()).toEqual([['build-mono-main-feature-x-0123456', 'api'], ['build-mono-release-feature-x-0123456', 'web']]);
});

test('GitLab: a push of a listed repository (ssh form in builds.yaml) becomes a Job', async () => {
  await serve(controller());
  const body = JSON.stringify(gitlabPush());
  const res = await fetch(`${base}/hooks/gitlab`, { method: 'POST', headers: signedHeaders('gitlab', body, 'idem-1'), body });
  expect([res.status, (await res.json() as any).jobs]).toEqual([201, ['build-app-main-0123456']]);
});

test('logs: a queued build and one whose Pod is gone answer clearly, not with an empty body', async () => {
  await serve(controller(1));
  await hook({ delivery: '1' });
  await hook({ delivery: '2', ref: 'refs/heads/feature/a' });
  const get = (id: string) => fetch(`${base}/builds/${id}/logs`, { headers: { authorization: `Bearer ${TOKEN}` } }).then(async (r) => [r.status, (await r.json() as any).error]);
  expect(await get('build-container-training-main-feature-a-0123456')).toEqual([409, expect.stringMatching(/queued: it has no Pod/)]);
  expect(await get('build-container-training-main-0123456')).toEqual([409, expect.stringMatching(/has no Pod yet/)]);
  markFailed('build-container-training-main-0123456');
  expect(await get('build-container-training-main-0123456')).toEqual([410, expect.stringMatching(/is failed but its Pod is gone/)]);
  expect(await get('build-nothing')).toEqual([404, expect.stringMatching(/no build build-nothing/)]);
});

test('logs of a build whose attempts all failed: the newest Pod\'s, whatever order the API lists them in', async () => {
  await serve(controller());
  await hook({ delivery: '1' });
  const job = 'build-container-training-main-0123456';
  markFailed(job);
  // Two attempts (the Job controller's Pods, made by hand: no controller-manager here). The API lists
  // Pods by name: the older attempt is named to come last, where the list's last element is.
  const attempt = (name: string) => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { 'job-name': job } }, spec: { restartPolicy: 'Never', containers: [{ name: 'builder', image: 'docker:cli' }] } };
    expect(kubectl(['create', '-f', '-'], JSON.stringify(pod)).stderr).toBe('');
    expect(kubectl(['patch', 'pod', name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Failed' } })]).stderr).toBe('');
  };
  attempt(`${job}-zzzzz`);
  await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has whole seconds
  attempt(`${job}-aaaaa`);
  // kubectl blocked the event loop for seconds: let the server's keep-alive timer close the idle
  // connection of the webhook before fetch would reuse it (a reset, not an answer)
  await new Promise((r) => setTimeout(r, 100));
  const res = await fetch(`${base}/builds/${job}/logs`, { headers: { authorization: `Bearer ${TOKEN}` } });
  // no kubelet here serves the log itself: the answer says so, naming the Pod it chose
  expect([res.status, res.headers.get('x-build-pod'), ((await res.json()) as any).error]).toEqual([502, `${job}-aaaaa`, expect.stringContaining(`Pod ${job}-aaaaa (Failed)`)]);
});
