/**
 * `npm run test:cluster`, build on push: the README's bootstrap of the build trigger on the real
 * single-node Kubernetes, then a signed GitHub push through it.
 *
 * 1. This repository (its working tree) is served by the node's git daemon; a builds.yaml lists
 *    it with `{context: ., dockerfile: trigger/Dockerfile}` and `buildTrigger.image` naming what
 *    that entry pushes, plus an application repository.
 * 2. The Secrets are created out of band as the README says (the registry's two, the trigger's
 *    `kubectl create secret generic build-trigger ...`), `kubectl apply -f dist/`: the project's own
 *    builder builds the trigger's image into the registry (FROM the pinned Node image's stand-in,
 *    nothing installed or downloaded), and the trigger's Deployment starts on it.
 * 3. A GitHub-signed push of a new commit of the application, delivered through the trigger's
 *    Service, becomes a builder Job that the trigger creates and starts; the Job completes, and a
 *    Pod pulls the image of that exact commit from the registry. GET /builds and the build's logs
 *    (bearer token) show it; a redelivery creates nothing.
 *
 * Runs between the Helm route and the kubectl suite (support/sequencer.js) and removes everything
 * it made: both of those deploy the same `registry`.
 */
import { createHmac, randomBytes } from 'crypto';
import { rmSync } from 'fs';
import {
  ClusterEnv, clusterEnv, createRegistryPrerequisites, describeState, getJson, gitCommit, gitRepo, gitRepoOfWorktree, jobCondition, kubectl,
  kubectlOk, logsOfSuccess, objectsOf, recordImages, sleep, synthTo, waitFor, waitForRegistryNodePort,
} from './support/cluster';

const env: ClusterEnv = clusterEnv();
/** Not the other files' ports: a NodePort freed by a cleanup is never reused by the next file. */
const NODE_PORT = 31557;
const STORAGE_CLASS = 'cluster-test-trigger-local';
const PV = 'cluster-test-trigger-registry';
const pvPath = `${env.pvDir}-trigger`;
const TRIGGER_IMAGE = `localhost:${NODE_PORT}/cdk8s-image-builder:main`;
const WEBHOOK_SECRET = randomBytes(32).toString('hex');
const API_TOKEN = randomBytes(32).toString('hex');
const short = (sha: string) => sha.slice(0, 7);

const self = gitRepoOfWorktree(env, 'cdk8s-image-builder');
const dockerfile = (what: string) => `FROM ${env.baseImage}
COPY version.txt /version.txt
RUN echo "${what} built by RUN from $(cat /version.txt)" > /built.txt
CMD ["sh", "-c", "cat /built.txt && exec sleep 3600"]
`;
const app = gitRepo(env, 'trigger-app', { Dockerfile: dockerfile('trigger-app'), 'version.txt': 'v1\n' });

const buildsYaml = `registry:
  nodePort: ${NODE_PORT}
  storage:
    persistentVolumeClaim: {size: 1Gi, storageClassName: ${STORAGE_CLASS}}
builders:
  backoffLimit: 2   # the first attempt may start before the registry's NodePort answers
buildTrigger:
  image: ${TRIGGER_IMAGE}
builds:
  - repo: ${self.url}
    ref: main
    images: [{context: ., dockerfile: trigger/Dockerfile}]
  - repo: ${app.url}
    ref: main
`;

let dist: string;
let serviceUrl: string;
let pushed: string;
let delivery: string;
let triggeredJob: string;
const started = Date.now();
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A push webhook as GitHub sends it: JSON body, event and delivery headers, HMAC-SHA256 of the raw body. */
async function deliver(body: string, id: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${serviceUrl}/hooks/github`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json', 'user-agent': 'GitHub-Hookshot/cluster-test', 'x-github-event': 'push',
      'x-github-delivery': id, 'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
    },
  });
  return { status: res.status, body: await res.json() };
}

function pushPayload(before: string, after: string): string {
  return JSON.stringify({
    ref: 'refs/heads/main', before, after, created: false, deleted: false, forced: false,
    repository: { name: 'trigger-app', full_name: 'cluster-test/trigger-app', clone_url: app.url, default_branch: 'main' },
    pusher: { name: 'cluster-test' },
    head_commit: { id: after, message: 'trigger-app: version.txt' },
  });
}

/** GET on the trigger's API with the bearer token (`null`: without any). */
async function api(path: string, token: string | null = API_TOKEN): Promise<Response> {
  return fetch(`${serviceUrl}${path}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
}

async function waitJob(name: string, timeoutMs: number): Promise<any> {
  const job = await waitFor(`Job ${name} to finish`, timeoutMs, () => {
    const j = getJson(env, ['job', name]);
    return jobCondition(j, 'Complete') || jobCondition(j, 'Failed') ? j : undefined;
  }, () => describeState(env));
  if (!jobCondition(job, 'Complete')) {
    throw new Error(`Job ${name} failed:\n${kubectl(env, ['logs', `job/${name}`, '--tail=-1']).stdout}\n${describeState(env)}`);
  }
  return job;
}

beforeAll(() => {
  createRegistryPrerequisites(env, { storageClass: STORAGE_CLASS, pv: PV, path: pvPath });
  // README "Build on push", in the cluster: the trigger's Secret, never in dist/
  kubectlOk(env, ['create', 'secret', 'generic', 'build-trigger',
    `--from-literal=webhook-secret=${WEBHOOK_SECRET}`, `--from-literal=api-token=${API_TOKEN}`]);
  dist = synthTo(buildsYaml);
});

afterAll(() => {
  // everything this file made, so the kubectl suite starts from an empty namespace
  kubectl(env, ['delete', 'pod', '-l', 'cluster-test=trigger', '--ignore-not-found', '--wait=false']);
  kubectl(env, ['delete', 'jobs', '-l', 'app.kubernetes.io/managed-by=build-trigger', '--ignore-not-found', '--wait=false']);
  if (dist) kubectl(env, ['delete', '-f', dist, '--ignore-not-found', '--wait=true', '--timeout=120s']);
  kubectl(env, ['delete', 'secret', 'build-trigger', 'registry-htpasswd', 'registry-push', '--ignore-not-found']);
  kubectl(env, ['delete', 'pvc', '--all', '--ignore-not-found', '--wait=true', '--timeout=60s']);
  kubectl(env, ['delete', 'pv', PV, '--ignore-not-found', '--wait=true', '--timeout=60s']);
  kubectl(env, ['delete', 'storageclass', STORAGE_CLASS, '--ignore-not-found']);
  rmSync(pvPath, { recursive: true, force: true });
});

describe('build on push on a real kubelet: the trigger bootstrapped by the project\'s own builder', () => {
  test('dist/ holds the trigger but never its Secret', () => {
    const objects = objectsOf(dist).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(objects).toEqual(expect.arrayContaining([
      'Deployment/build-trigger', 'Service/build-trigger', 'ServiceAccount/build-trigger', 'Role/build-trigger', 'RoleBinding/build-trigger',
    ]));
    expect(objects.filter((o) => o.startsWith('Secret/'))).toEqual([]);
  });

  test('kubectl apply -f dist/: the builder Job builds the trigger image from this repository into the registry', async () => {
    kubectlOk(env, ['apply', '-f', dist]);
    const job = objectsOf(dist).find((o) => o.kind === 'Job' && o.metadata.labels['images.cdk8s-image-builder/cdk8s-image-builder'])?.metadata.name;
    expect(job).toBeDefined();
    const done = await waitJob(job, 240_000);
    const logs = logsOfSuccess(env, job, ['--timestamps']);
    expect(logs).toMatch(new RegExp(`checked out ${self.commit}`));
    // FROM the pinned Node image, and nothing installed or downloaded while it builds
    expect(logs).toMatch(/Step 1\/\d+ : FROM node:24\.21\.0-alpine/);
    expect(logs).not.toMatch(/npm (ci|install)/);
    expect(logs).toMatch(new RegExp(`pushed ${TRIGGER_IMAGE.replace(/[.]/g, '\\.')}@sha256:[0-9a-f]{64}`));
    const at = (re: RegExp) => Date.parse(logs.split('\n').find((l) => re.test(l))!.split(' ')[0]);
    console.log(`trigger image: Job ${job} ${seconds(Date.parse(done.status.completionTime) - Date.parse(done.status.startTime))} `
      + `(docker build ${seconds(at(/==> \[push /) - at(/==> \[build /))}, push ${seconds(at(/==> \[done\]/) - at(/==> \[push /))})`);
  });

  test('the trigger starts on that image (README: or `kubectl rollout restart` at once) and passes its probes', async () => {
    // The kubelet retries the pull with a growing back-off; the README's shortcut skips the wait.
    kubectlOk(env, ['rollout', 'restart', 'deployment/build-trigger']);
    const rollout = kubectl(env, ['rollout', 'status', 'deployment/build-trigger', '--timeout=90s']);
    if (rollout.status !== 0) {
      const trigger = ['-l', 'app.kubernetes.io/name=build-trigger'];
      throw new Error(`the trigger did not become available:\n${rollout.stderr}\n`
        + `${kubectl(env, ['describe', 'pods', ...trigger]).stdout}\n`
        + `${kubectl(env, ['logs', ...trigger, '--tail=40', '--prefix']).stdout}${kubectl(env, ['logs', ...trigger, '--previous', '--tail=40', '--prefix']).stdout}\n`
        + `${kubectl(env, ['get', 'endpoints', 'kubernetes', '-o', 'wide']).stdout}${describeState(env)}`);
    }
    const pod = getJson(env, ['pods', '-l', 'app.kubernetes.io/name=build-trigger']).items
      .find((p: any) => (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'));
    expect(pod.status.containerStatuses[0].image).toBe(TRIGGER_IMAGE);
    const log = await waitFor('the trigger\'s start line', 30_000, () => {
      const out = kubectl(env, ['logs', pod.metadata.name]).stdout;
      return out.includes('listening') ? out : undefined;
    });
    expect(log).toMatch(/build-trigger listening on 0\.0\.0\.0:8080, namespace default, 2 build\(s\)/);
    const svc = getJson(env, ['service', 'build-trigger']);
    serviceUrl = `http://${svc.spec.clusterIP}:${svc.spec.ports[0].port}`;
    // through the Service (kube-proxy's rules for its ClusterIP, from the node), as a git server would
    // reach it; kube-proxy may write the new endpoint's rules a moment after the Pod is Ready
    const deadline = Date.now() + 30_000;
    let health: unknown;
    while (health === undefined) {
      health = await fetch(`${serviceUrl}/healthz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.json(), () => undefined);
      if (health === undefined && Date.now() > deadline) throw new Error(`${serviceUrl}/healthz did not answer within 30 s\n${describeState(env)}`);
      if (health === undefined) await sleep(500);
    }
    expect(health).toEqual({ ok: true });
  });

  test('a GitHub-signed push of a new commit: the trigger creates the Job, which completes, and a Pod runs that commit\'s image', async () => {
    await waitForRegistryNodePort(NODE_PORT);
    // dist/'s own Job of the application builds the first commit; wait for it. The trigger does not count
    // it (its limit counts only managed-by=build-trigger Jobs): both would build at once on the node's
    // engine, and it would push :main and :latest of the first commit whenever it finished.
    const appJob = objectsOf(dist).find((o) => o.kind === 'Job' && o.metadata.labels['images.cdk8s-image-builder/trigger-app'])!.metadata.name;
    await waitJob(appJob, 240_000);
    pushed = gitCommit(env, 'trigger-app', { 'version.txt': 'v2\n' });
    delivery = `cluster-${randomBytes(8).toString('hex')}`;
    const t0 = Date.now();
    const answer = await deliver(pushPayload(app.commit, pushed), delivery);
    const answeredIn = Date.now() - t0;
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ outcome: 'accepted', jobs: [`build-trigger-app-main-${short(pushed)}`] });
    [triggeredJob] = answer.body.jobs;
    const created = await waitFor(`the trigger to create ${triggeredJob}`, 30_000, () => getJson(env, ['job', triggeredJob]), () => describeState(env));
    expect(created.metadata.labels['app.kubernetes.io/managed-by']).toBe('build-trigger');
    const container = created.spec.template.spec.containers[0];
    const value = (name: string) => container.env.find((e: any) => e.name === name)?.value;
    expect([value('REPO_URL'), value('GIT_REF'), value('IMAGE_TAGS')]).toEqual([app.url, pushed, 'main latest']);
    const done = await waitJob(triggeredJob, 240_000);
    const logs = logsOfSuccess(env, triggeredJob);
    expect(logs).toMatch(new RegExp(`checked out ${pushed}`));
    const digest = new RegExp(`^pushed localhost:${NODE_PORT}/trigger-app:${short(pushed)}@(sha256:[0-9a-f]{64})$`, 'm').exec(logs)?.[1];
    expect(digest).toBeDefined();
    console.log(`push → answer ${answeredIn} ms; → Job ${triggeredJob} Complete ${seconds(Date.parse(done.status.completionTime) - t0)}`);

    const pod = 'run-trigger-app';
    kubectlOk(env, ['run', pod, `--image=localhost:${NODE_PORT}/trigger-app:${short(pushed)}`, '--restart=Never',
      '--image-pull-policy=Always', '--labels=cluster-test=trigger']);
    const out = await waitFor(`pod ${pod} output`, 90_000, () => {
      const text = kubectl(env, ['logs', pod]).stdout;
      return text.includes('built by RUN') ? text : undefined;
    }, () => kubectl(env, ['describe', 'pod', pod]).stdout);
    expect(out.trim()).toBe('trigger-app built by RUN from v2');
    expect(getJson(env, ['pod', pod]).status.containerStatuses[0].imageID).toContain(digest!);
    recordImages(env, ['cdk8s-image-builder:main', `trigger-app:${short(pushed)}`]);
  });

  test('GET /builds and /builds/<id>/logs with the bearer token show that build; without it 401', async () => {
    expect((await api('/builds', null)).status).toBe(401);
    expect((await api('/builds', `${API_TOKEN}x`)).status).toBe(401);
    const builds = (await (await api('/builds')).json() as any).builds;
    expect(builds).toEqual([expect.objectContaining({
      id: triggeredJob, repo: app.url, ref: 'refs/heads/main', commit: pushed, state: 'succeeded',
      images: expect.arrayContaining([`trigger-app:${short(pushed)}`, 'trigger-app:main', 'trigger-app:latest']),
    })]);
    expect(Date.parse(builds[0].end)).toBeGreaterThanOrEqual(Date.parse(builds[0].start));
    const logs = await api(`/builds/${triggeredJob}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.headers.get('x-build-state')).toBe('succeeded');
    const text = await logs.text();
    expect(text).toMatch(new RegExp(`^pushed localhost:${NODE_PORT}/trigger-app:${short(pushed)}@sha256:`, 'm'));
    expect(text).toMatch(/==> \[done\] built 1 image\(s\) from /);
  });

  test('a redelivery of the same push creates nothing', async () => {
    const again = await deliver(pushPayload(app.commit, pushed), delivery);
    expect(again.status).toBe(200);
    expect(again.body.outcome).toBe('duplicate');
    // give a wrongly created Job time to appear (the trigger reconciles every 5 s)
    await sleep(6_000);
    const triggered = getJson(env, ['jobs', '-l', 'app.kubernetes.io/managed-by=build-trigger']).items.map((j: any) => j.metadata.name);
    expect(triggered).toEqual([triggeredJob]);
    console.log(`build on push: ${seconds(Date.now() - started)} for this file`);
  });
});
