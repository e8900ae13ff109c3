/**
 * `npm run test:cluster`, retention and garbage collection on a real kubelet,
 * the way the README runs them: a builds.yaml with `retention.keepCommitTags: 1`
 * (and `retention.namespace`, where its ServiceAccount is bound), synthesized and
 * applied with `kubectl apply` into a namespace of its own.
 *
 *  1. Three commits of `main`, built one after another by the builder Job (as
 *     the build trigger would): three commit tags, `main` and `latest` moving.
 *  2. Retention: the CronJob's own Job (`kubectl create job --from=cronjob/...`)
 *     deletes exactly the commit tags past the policy, through the registry
 *     Service (cluster DNS) with the push Secret, except commit 1's, which a
 *     running Pod uses (read through the API server with the CronJob's
 *     ServiceAccount); checked through the registry API. Nothing is freed on
 *     disk yet.
 *  3. Garbage collection at its daily time (`garbageCollection.at`, set to the
 *     current minute and applied, as an operator would move it): the registry
 *     Pod's garbage-collector opens the read-only window, a builder Job started
 *     inside it still completes, no write is accepted while collecting (the
 *     auth proxy's access log), and the deleted images' blobs leave the
 *     registry's PersistentVolume (bytes measured on the node's disk).
 *  4. Images in use: the Pod of commit 1 keeps running and a second Pod of that
 *     tag pulls it, new Pods pull every kept image completely, and the deleted
 *     tag (commit 2, in use by nothing) no longer pulls.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  ClusterEnv, MANIFEST_TYPES, clusterEnv, createRegistryPrerequisites, describeState, getJson, gitCommit, gitRepo, jobCondition,
  kubectl, kubectlOk, logsOfSuccess, objectsOf, readmeShell, readmeShellBlock, recordImages, registryGet, sleep, synthTo, waitFor,
  waitForRegistryNodePort, waitJobsFinished,
} from './support/cluster';

const env: ClusterEnv = clusterEnv();
const NS = 'cluster-test-retention';
/** No other cluster file's: one registry per NodePort. */
const NODE_PORT = 31559;
const STORAGE_CLASS = 'cluster-test-retention-local';
const PV = 'cluster-test-retention-registry';
const pvPath = `${env.pvDir}-retention`;
const REGISTRY_LABEL = 'app.kubernetes.io/name=registry';
const IMAGE = 'webshop';
const KEEP = 1;
/** The read-only window's drain: long enough for a builder Job started when it opens to reach its push. */
const DRAIN_SECONDS = 15;
/** Each commit's image has 2 MiB of random bytes of its own: what garbage collection has to give back. */
const PAYLOAD_KIB = 2048;

const dockerfile = `FROM ${env.baseImage}
COPY . /src/
RUN cp /src/version.txt /built.txt && head -c ${PAYLOAD_KIB * 1024} /dev/urandom > /payload
CMD ["sh", "-c", "cat /built.txt && exec sleep 3600"]
`;
const version = (n: number) => ({ 'version.txt': `${IMAGE} commit ${n}\n` });
const repo = gitRepo(env, IMAGE, { Dockerfile: dockerfile, ...version(1) });

/**
 * `garbageCollection.at` and the retention CronJob's daily time (HH:MM, UTC): far from now for
 * the builds, then a minute ahead for retention and the current minute for the collection.
 */
const buildsYaml = (gcAt: string, retentionAt: string) => `registry:
  nodePort: ${NODE_PORT}
  storage:
    persistentVolumeClaim: {size: 1Gi, storageClassName: ${STORAGE_CLASS}}
  retention:
    keepCommitTags: ${KEEP}
    namespace: ${NS}
    schedule: "${Number(retentionAt.slice(3))} ${Number(retentionAt.slice(0, 2))} * * *"
  garbageCollection:
    at: "${gcAt}"
    drainSeconds: ${DRAIN_SECONDS}
builders:
  backoffLimit: 3
builds:
  - repo: ${repo.url}
    ref: main
`;

const k = (args: string[], input?: string) => kubectlOk(env, [...args, '-n', NS], input);
const getNs = (args: string[]) => getJson(env, [...args, '-n', NS]);
const hhmm = (d: Date) => d.toISOString().slice(11, 16);
const kib = (n: number) => `${n} KiB`;
const seconds = (ms: number) => (ms / 1000).toFixed(1);

interface Built { readonly n: number; readonly sha: string; readonly tag: string; readonly digest: string; readonly blobs: string[] }
/** Commit n (1-based) as built and pushed. */
const built: Built[] = [];
let dist: string;
let job: string;
let push: { username: string; password: string };
/** The retention CronJob's daily time, as last applied. */
let retentionAt: string;
/** dist/ as last applied with the builder Job (the registry Pod changes with garbageCollection.at). */
let appliedDist: string;

/** KiB the registry's data takes on the node's disk (the local PersistentVolume), as the garbage collector measures it. */
function pvKiB(): number {
  return Number(execFileSync('du', ['-sk', pvPath], { encoding: 'utf-8' }).split('\t')[0]);
}

/** Runs the builder Job for what `main` is now (deleted and applied again, as the README rebuilds); returns its log. */
async function buildMain(manifests: string): Promise<string> {
  k(['delete', 'job', job, '--ignore-not-found', '--wait=true']);
  k(['apply', '-f', manifests]);
  await waitJobsFinished(env, [job], 240_000, NS);
  if (!jobCondition(getNs(['job', job]), 'Complete')) {
    throw new Error(`Job ${job} did not complete:\n${kubectl(env, ['logs', '-l', `job-name=${job}`, '-n', NS, '--tail=-1', '--prefix']).stdout}\n${describeState(env)}`);
  }
  return logsOfSuccess(env, job, [], NS);
}

/** tag -> digest from a builder log's `pushed localhost:<port>/<name>:<tag>@<digest>` lines. */
function pushedTags(log: string): Map<string, string> {
  const lines = [...log.matchAll(/^pushed localhost:(\d+)\/([^:\s]+):(\S+)@(sha256:[0-9a-f]{64})$/gm)];
  lines.forEach((m) => { expect(Number(m[1])).toBe(NODE_PORT); expect(m[2]).toBe(IMAGE); });
  return new Map(lines.map((m) => [m[3], m[4]]));
}

async function tags(): Promise<string[]> {
  const r = await registryGet(NODE_PORT, `/v2/${IMAGE}/tags/list`);
  expect(r.status).toBe(200);
  return (JSON.parse(r.body).tags ?? []).sort();
}

/** The manifest of a tag or digest: its digest and its blobs (config and layers). */
async function manifestOf(reference: string): Promise<{ status: number; digest: string; blobs: string[] }> {
  const r = await registryGet(NODE_PORT, `/v2/${IMAGE}/manifests/${reference}`, MANIFEST_TYPES);
  if (r.status !== 200) return { status: r.status, digest: '', blobs: [] };
  const m = JSON.parse(r.body);
  return { status: 200, digest: r.headers.get('docker-content-digest') ?? '', blobs: [m.config.digest, ...m.layers.map((l: any) => l.digest)] };
}

async function blobStatus(digest: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${NODE_PORT}/v2/${IMAGE}/blobs/${digest}`, { method: 'HEAD', redirect: 'manual' });
  return res.status;
}

/** Starts a Pod on an image of the registry and waits until it runs it: its output names the commit. */
async function runPod(name: string, tag: string, expected: string): Promise<void> {
  k(['run', name, `--image=localhost:${NODE_PORT}/${IMAGE}:${tag}`, '--restart=Never', '--image-pull-policy=Always', '--labels=cluster-test=retention']);
  await waitFor(`pod ${name} Ready`, 60_000, () => {
    const pod = getNs(['pod', name]);
    return (pod?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
  }, () => kubectl(env, ['describe', 'pod', name, '-n', NS]).stdout);
  const out = await waitFor(`pod ${name} output`, 20_000, () => {
    const o = kubectl(env, ['logs', name, '-n', NS]).stdout;
    return o.includes(IMAGE) ? o : undefined;
  });
  expect(out.trim()).toBe(expected);
}

/** The registry Pod (the newest, when a rollout replaced one). */
function registryPod(): any {
  const pods = getNs(['pods', '-l', REGISTRY_LABEL]).items as any[];
  return pods.sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp)).pop();
}

/** `kubectl logs --timestamps` of a container: [time in ms, line]. */
function timedLog(pod: string, container: string): Array<[number, string]> {
  return kubectl(env, ['logs', pod, '-c', container, '-n', NS, '--timestamps']).stdout.split('\n').filter(Boolean)
    .map((l) => { const i = l.indexOf(' '); return [Date.parse(l.slice(0, i)), l.slice(i + 1)] as [number, string]; });
}

beforeAll(() => {
  kubectlOk(env, ['create', 'namespace', NS]);
  push = createRegistryPrerequisites(env, { storageClass: STORAGE_CLASS, pv: PV, path: pvPath }, NS);
  // Twelve hours away: no collection while the builds run.
  retentionAt = hhmm(new Date(Date.now() + 12 * 3600_000));
  dist = synthTo(buildsYaml(retentionAt, retentionAt));
  [job] = objectsOf(dist).filter((o) => o.kind === 'Job').map((o) => o.metadata.name);
});

afterAll(() => {
  // Whatever happened above: nothing of this file stays in the cluster or on the node.
  // Workloads, Pods (the test Pods' `sleep`, PID 1, ignores SIGTERM: no grace period to wait out)
  // and the claim first, so the volume is free; the empty namespace then goes in the background.
  kubectl(env, ['delete', 'deployment,cronjob,job', '--all', '-n', NS, '--cascade=foreground', '--wait=true', '--timeout=60s']);
  kubectl(env, ['delete', 'pods', '--all', '-n', NS, '--grace-period=1', '--wait=true', '--timeout=60s']);
  kubectl(env, ['delete', 'pvc', '--all', '-n', NS, '--wait=true', '--timeout=60s']);
  kubectl(env, ['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
  kubectl(env, ['delete', 'pv', PV, '--ignore-not-found', '--wait=true', '--timeout=60s']);
  kubectl(env, ['delete', 'storageclass', STORAGE_CLASS, '--ignore-not-found']);
  kubectl(env, ['delete', 'clusterrolebinding,clusterrole', 'registry-retention', '--ignore-not-found']);
  rmSync(pvPath, { recursive: true, force: true });
});

describe('retention and garbage collection on a real kubelet', () => {
  test('three commits of main built one after another: three commit tags, main and latest on the newest', async () => {
    expect(job).toBeDefined();
    k(['apply', '-f', dist]);
    await waitFor('deployment/registry Available', 120_000, () => {
      const d = getNs(['deployment', 'registry']);
      return (d?.status?.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True') ? true : undefined;
    }, () => describeState(env));
    await waitForRegistryNodePort(NODE_PORT);
    const times: string[] = [];
    for (let n = 1; n <= 3; n++) {
      const started = Date.now();
      const sha = n === 1 ? repo.commit : gitCommit(env, IMAGE, version(n));
      const pushed = pushedTags(await buildMain(dist));
      const tag = sha.slice(0, 7);
      expect([...pushed.keys()].sort()).toEqual([tag, 'latest', 'main'].sort());
      built.push({ n, sha, tag, digest: pushed.get(tag)!, blobs: (await manifestOf(tag)).blobs });
      times.push(seconds(Date.now() - started));
    }
    expect(new Set(built.map((b) => b.digest)).size).toBe(3);
    expect(await tags()).toEqual([...built.map((b) => b.tag), 'latest', 'main'].sort());
    expect((await manifestOf('main')).digest).toBe(built[2].digest);
    console.log(`built ${IMAGE} at 3 commits of main: ${built.map((b) => b.tag).join(' ')} (${times.join(' s, ')} s); main and latest on ${built[2].tag}`);
  });

  test('a Pod runs commit 1, past keepCommitTags: retention must keep it', async () => {
    await runPod('uses-commit-1', built[0].tag, `${IMAGE} commit 1`);
  });

  let afterRetention = 0;
  test(`retention on its own schedule: the CronJob's Job deletes exactly the commit tags past keepCommitTags (${KEEP}) that no Pod uses, checked through the registry API`, async () => {
    const beforeRetention = pvKiB();
    // The daily time moved to the first minute at least 30 s ahead (builds.yaml, apply), and the
    // CronJob controller starts its Job then: `schedule` with `timeZone: Etc/UTC`, as synthesized.
    const at = Math.ceil((Date.now() + 30_000) / 60_000) * 60_000;
    retentionAt = hhmm(new Date(at));
    dist = synthTo(buildsYaml(hhmm(new Date(Date.now() + 12 * 3600_000)), retentionAt));
    k(['apply', '-f', dist]);
    const name = await waitFor(`the CronJob's Job at ${retentionAt} UTC`, at - Date.now() + 60_000, () => {
      const jobs = getNs(['jobs']).items.filter((j: any) => (j.metadata.ownerReferences ?? []).some((o: any) => o.kind === 'CronJob' && o.name === 'registry-retention'));
      return jobs.length > 0 ? jobs.map((j: any) => j.metadata.name).join(' ') : undefined;
    }, () => kubectl(env, ['describe', 'cronjob', 'registry-retention', '-n', NS]).stdout);
    expect(name.split(' ')).toHaveLength(1);
    const started = Date.parse(getNs(['job', name]).metadata.creationTimestamp);
    console.log(`the CronJob started Job ${name} ${seconds(started - at)} s after ${retentionAt} UTC`);
    expect(started).toBeGreaterThanOrEqual(at - 1000); // creationTimestamp has whole seconds
    expect(started).toBeLessThan(at + 60_000);
    await waitJobsFinished(env, [name], 120_000, NS);
    const log = kubectl(env, ['logs', `job/${name}`, '-n', NS, '--tail=-1']).stdout;
    console.log(`its log:\n${log}`);
    expect(jobCondition(getNs(['job', name]), 'Complete')).toBe(true);
    expect(log).not.toContain(push.password);
    // Through the Service's name (cluster DNS), with the push Secret: deleting is a write.
    expect(log).toMatch(new RegExp(`^==> \\[retention\\] http://registry:5000: 1 repositories; keep the commit tags of the newest ${KEEP} builds`, 'm'));

    // It read the cluster with its ServiceAccount (kubernetes.default): the Pod of commit 1 is found.
    expect(log).toMatch(new RegExp(`^==> \\[in use\\] \\d+ Pods and workloads read; images of localhost:${NODE_PORT}, .* they use: .*${IMAGE}:${built[0].tag}`, 'm'));
    const [c1, c2, c3] = built;
    expect(log).toContain(`kept ${IMAGE}:${c1.tag}: in use by Pod ${NS}/uses-commit-1`);
    expect(await tags()).toEqual([c1.tag, c3.tag, 'latest', 'main'].sort());
    const deleted = log.split('\n').filter((l) => l.startsWith('deleted ')).map((l) => l.split(' ').slice(1, 3).join(' '));
    expect(deleted).toEqual([`${IMAGE}:${c2.tag} ${c2.digest}`]);
    expect((await manifestOf(c2.digest)).status).toBe(404);

    // Deleting a manifest frees nothing yet: its blobs stay on the volume until garbage collection.
    afterRetention = pvKiB();
    for (const blob of c2.blobs) expect(`${blob} ${await blobStatus(blob)}`).toBe(`${blob} 200`);
    console.log(`registry volume on the node: ${kib(beforeRetention)} before retention, ${kib(afterRetention)} after (the manifest is gone, its blobs are not)`);
    expect(beforeRetention - afterRetention).toBeLessThan(PAYLOAD_KIB / 2);
  });

  test('retention by hand, as the README runs it (kubectl create job --from=cronjob): a second run deletes nothing', async () => {
    k(['create', 'job', 'now', '--from=cronjob/registry-retention']);
    await waitJobsFinished(env, ['now'], 120_000, NS);
    const log = kubectl(env, ['logs', 'job/now', '-n', NS, '--tail=-1']).stdout;
    expect(jobCondition(getNs(['job', 'now']), 'Complete')).toBe(true);
    expect(log).toContain(`kept ${IMAGE}:${built[0].tag}: in use by Pod ${NS}/uses-commit-1`);
    expect(log.split('\n').filter((l) => l.startsWith('deleted '))).toEqual([]);
    expect(await tags()).toEqual([built[0].tag, built[2].tag, 'latest', 'main'].sort());
  });

  let c4: Built;
  test('garbage collection at garbageCollection.at, in its read-only window: a build pushing meanwhile completes, no write is accepted while collecting, the deleted image\'s blobs leave the volume', async () => {
    // The daily time, moved to now as an operator would (builds.yaml, apply): the new registry Pod's
    // garbage collector finds it is that minute when it starts (~5 s after this). Late in a minute, wait for the next.
    const waited = new Date().getUTCSeconds() > 45 ? (61 - new Date().getUTCSeconds()) * 1000 : 0;
    await sleep(waited);
    const at = hhmm(new Date());
    const collecting = synthTo(buildsYaml(at, retentionAt));
    const previous = registryPod().metadata.name;
    const applied = Date.now();
    k(['apply', '-f', collecting]);
    const pod = await waitFor('the new registry Pod (garbageCollection.at changed)', 60_000, () => {
      const p = registryPod();
      return p && p.metadata.name !== previous ? p.metadata.name as string : undefined;
    }, () => describeState(env));
    const gcLog = () => timedLog(pod, 'garbage-collector');
    const open = await waitFor(`the read-only window to open at ${at} UTC`, 90_000, () => gcLog().find(([, l]) => l.includes('read-only window opens'))?.[0],
      () => `${kubectl(env, ['logs', pod, '-c', 'garbage-collector', '-n', NS]).stdout}\n${describeState(env)}`);
    await waitForRegistryNodePort(NODE_PORT);

    // Inside the window: an authenticated write gets 503 + Retry-After, reads go on.
    const auth = `Basic ${Buffer.from(`${push.username}:${push.password}`).toString('base64')}`;
    const probe = await fetch(`http://127.0.0.1:${NODE_PORT}/v2/window-probe/blobs/uploads/`, { method: 'POST', headers: { Authorization: auth } });
    console.log(`a push in the window: HTTP ${probe.status}, Retry-After ${probe.headers.get('retry-after')}: ${(await probe.text()).trim()}`);
    expect(probe.status).toBe(503);
    expect(probe.headers.get('retry-after')).toBe('120');
    expect(await tags()).toContain('main');

    // A developer pushes commit 4 now: its builder Job runs while the window is open.
    const sha = gitCommit(env, IMAGE, version(4));
    const building = buildMain(collecting);
    appliedDist = collecting;
    const [close, closed] = await waitFor('the window to close', 120_000, () => gcLog().find(([, l]) => l.includes('window closed')));
    const m = /: (\d+) KiB -> (\d+) KiB \(registry garbage-collect exit (\d+)\)/.exec(closed);
    expect(m).not.toBeNull();
    const [before, after] = [Number(m![1]), Number(m![2])];
    const log = await building;
    const done = Date.now();
    const pushed = pushedTags(log);
    const tag = sha.slice(0, 7);
    expect([...pushed.keys()].sort()).toEqual([tag, 'latest', 'main'].sort());
    c4 = { n: 4, sha, tag, digest: pushed.get(tag)!, blobs: (await manifestOf(tag)).blobs };

    // The auth proxy's access log: every write it answered while the flag was there.
    const writes = timedLog(pod, 'auth-proxy')
      .map(([t, l]) => ({ t, m: /"(POST|PUT|PATCH|DELETE) (\S+) HTTP\/[\d.]+" (\d{3})/.exec(l) }))
      .filter((w) => w.m)
      .map((w) => ({ t: w.t, path: w.m![2], status: Number(w.m![3]) }));
    // From a second after the flag was written (a request let through just before may end in it) to its removal.
    const inWindow = writes.filter((w) => w.t > open + 1000 && w.t < close);
    const builders = inWindow.filter((w) => w.path.startsWith(`/v2/${IMAGE}/`));
    const firstBuilderWrite = writes.find((w) => w.t > open && w.path.startsWith(`/v2/${IMAGE}/`));
    const failedAttempts = getNs(['job', job]).status.failed ?? 0;
    // dockerd retries a refused layer upload by itself: its countdowns in the push output start at these.
    const retries = [...log.matchAll(/^(\w+): Retrying in (\d+) seconds?$/gm)].map((r) => [r[1], Number(r[2])] as const)
      .filter(([id, n], i, all) => !all.slice(0, i).some(([id2, n2]) => id2 === id && (n2 === n + 1 || n2 === n)));
    const firstLayerRetries = retries.filter(([id]) => id === retries[0]?.[0]).map(([, n]) => `${n} s`);
    console.log([
      `garbage collection at ${at} UTC (${waited ? `waited ${seconds(waited)} s for the minute, ` : ''}window open ${seconds(open - applied)} s after the apply): read-only window of ${seconds(close - open)} s (drainSeconds ${DRAIN_SECONDS})`,
      `  writes answered in the window: ${inWindow.length}, refused with 503: ${inWindow.filter((w) => w.status === 503).length}`,
      `  builder Job for commit 4 (${tag}): first write ${seconds(firstBuilderWrite ? firstBuilderWrite.t - open : NaN)} s into the window, ${builders.length} writes refused,`
        + ` dockerd retried its upload after ${firstLayerRetries.join(', ') || '-'};`
        + ` Complete ${seconds(done - close)} s after the window closed (${failedAttempts} failed attempts)`,
      `  registry volume (the garbage collector's du, in the window): ${kib(before)} -> ${kib(after)}, ${kib(before - after)} reclaimed`,
    ].join('\n'));
    expect(m![3]).toBe('0');
    expect(inWindow.filter((w) => w.status !== 503)).toEqual([]);
    expect(builders.length).toBeGreaterThanOrEqual(1); // the build did push while collecting
    // The collector measured the node's volume: it started from what retention left.
    expect(Math.abs(before - afterRetention)).toBeLessThan(64);
    // Commit 2's image had a 2 MiB layer of its own.
    expect(before - after).toBeGreaterThanOrEqual(PAYLOAD_KIB - 64);
  });

  test('after the collection: every kept tag pulls blob by blob, the image in use still runs and pulls, new Pods pull kept images, the deleted tag no longer pulls', async () => {
    const [c1, c2, c3] = built;
    expect(await tags()).toEqual([c1.tag, c3.tag, c4.tag, 'latest', 'main'].sort());
    const kept = new Set<string>();
    for (const tag of await tags()) {
      const m = await manifestOf(tag);
      expect(m.status).toBe(200);
      for (const blob of m.blobs) {
        kept.add(blob);
        expect(`${tag} ${blob} ${await blobStatus(blob)}`).toBe(`${tag} ${blob} 200`);
      }
    }
    // What only the deleted image had is gone: its config, COPY and RUN layers.
    const onlyDeleted = c2.blobs.filter((b) => !kept.has(b));
    expect(onlyDeleted).toHaveLength(3);
    for (const blob of onlyDeleted) expect(`${blob} ${await blobStatus(blob)}`).toBe(`${blob} 404`);

    // The Pod of commit 1 keeps running, and its image is whole in the registry: a second Pod of that
    // tag pulls it again (imagePullPolicy Always), as a reschedule to another node would.
    const running = getNs(['pod', 'uses-commit-1']);
    expect(`${running.status.phase} restarts ${running.status.containerStatuses[0].restartCount}`).toBe('Running restarts 0');
    // New Pods pull kept images their node never had: commit 3, and commit 4 pushed during the window.
    await Promise.all([
      runPod('pulls-commit-1-again', c1.tag, `${IMAGE} commit 1`),
      runPod('pulls-commit-3', c3.tag, `${IMAGE} commit 3`),
      runPod('pulls-commit-4', c4.tag, `${IMAGE} commit 4`),
    ]);
    expect(getNs(['pod', 'pulls-commit-1-again']).status.containerStatuses[0].imageID).toContain(c1.digest);
    expect(getNs(['pod', 'pulls-commit-4']).status.containerStatuses[0].imageID).toContain(c4.digest);
    recordImages(env, [c1, c2, c3, c4].map((b) => `${IMAGE}:${b.tag}`));

    // The tag no Pod used is gone: a Pod asking for it now cannot pull it.
    k(['run', 'pulls-commit-2', `--image=localhost:${NODE_PORT}/${IMAGE}:${c2.tag}`, '--restart=Never', '--image-pull-policy=Always']);
    const waiting = await waitFor('pulls-commit-2 to fail its pull', 60_000, () => {
      const w = getNs(['pod', 'pulls-commit-2'])?.status?.containerStatuses?.[0]?.state?.waiting;
      return w && /ErrImagePull|ImagePullBackOff/.test(w.reason) ? w : undefined;
    });
    console.log(`a new Pod on the deleted ${IMAGE}:${c2.tag} (in use by nothing when retention ran): ${waiting.reason}: ${waiting.message}`);
    expect(waiting.message).toMatch(/not found/);
  });

  test('garbage collection by hand, as the README runs it: kubectl exec into the garbage-collector with GC_NOW=true', async () => {
    // The README's command: the container's own script (the Deployment's command), run once now.
    const script = kubectlOk(env, ['get', 'deployment', 'registry', '-n', NS, '-o', 'jsonpath={.spec.template.spec.containers[?(@.name=="garbage-collector")].command[2]}']);
    expect(script).toContain('registry garbage-collect');
    // Nothing is pushing: no need to wait out the drain.
    const r = kubectl(env, ['exec', '-n', NS, 'deploy/registry', '-c', 'garbage-collector', '--', 'env', 'GC_NOW=true', 'GC_DRAIN_SECONDS=0', 'sh', '-c', script]);
    const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.startsWith('==> [gc]'));
    console.log(`kubectl exec deploy/registry -c garbage-collector -- env GC_NOW=true sh -c "$(...)":\n${lines.join('\n')}`);
    expect(r.status).toBe(0);
    expect(lines.join('\n')).toMatch(/window closed after \d+s: \d+ KiB -> \d+ KiB \(registry garbage-collect exit 0\)/);
    // The window is closed again: an authenticated write is accepted.
    const auth = `Basic ${Buffer.from(`${push.username}:${push.password}`).toString('base64')}`;
    const upload = await fetch(`http://127.0.0.1:${NODE_PORT}/v2/window-probe/blobs/uploads/`, { method: 'POST', headers: { Authorization: auth } });
    expect(upload.status).toBe(202);
  });
  test('credential rotation, the README\'s block run twice in a row on the live registry: both accounts push in between, a builder started after step 2 pushes as the new account, the old one is refused after step 3, only the newest account works after the second, no restart', async () => {
    const block = readmeShellBlock('**Rotation**');
    const [prelude, ...steps] = block.split(/^(?=# \d\. )/m);
    expect(prelude.trim()).toBe([
      'new=$(openssl rand -hex 24)',
      'old=$(kubectl get secret registry-push -o jsonpath=\'{.data.username}\' | base64 -d)',
      'user=builder-$(date -u +%Y%m%d%H%M%S)',
    ].join('\n'));
    expect(steps).toHaveLength(3);
    const pod = registryPod();
    const since = Date.now();
    // The README's commands as written, with this cluster's kubectl in this file's namespace; one
    // working directory for all the steps (step 1 writes the htpasswd file step 3 edits).
    const dir = mkdtempSync(join(tmpdir(), 'rotation-'));
    try {
      const bash = (what: string, script: string, vars: Record<string, string> = {}) => {
        const r = readmeShell(env, NS, script, vars, dir);
        if (r.status !== 0) throw new Error(`README rotation ${what} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
        return r;
      };
      /** What the proxy answers a write (an upload start) with these credentials. */
      const write = async (user: string, password: string) => (await fetch(`http://127.0.0.1:${NODE_PORT}/v2/rotation-probe/blobs/uploads/`, {
        method: 'POST', headers: { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
      })).status;
      /** Seconds until `done` holds; every poll, `always` must hold too (no account stops working early). */
      const until = async (what: string, done: () => Promise<boolean>, always: () => Promise<void>) => {
        const t0 = Date.now();
        for (;;) {
          await always();
          if (await done()) return seconds(Date.now() - t0);
          if (Date.now() - t0 > 180_000) throw new Error(`${what}: not within 180 s`);
          await sleep(2000);
        }
      };
      const expectWrite = async (account: { username: string; password: string }, status: number) =>
        expect(`${account.username} ${await write(account.username, account.password)}`).toBe(`${account.username} ${status}`);

      /** One rotation, the README's block as written: the prelude (its variables kept for the steps, as one shell would), then steps 1-3. */
      const rotate = async (current: { username: string; password: string }, retired: Array<{ username: string; password: string }>) => {
        const [newPassword, old, user] = bash('prelude', `${prelude}\nprintf '%s\\n' "$new" "$old" "$user"`).stdout.split('\n');
        expect(old).toBe(current.username);
        expect(user).toMatch(/^builder-\d{14}$/);
        expect(retired.map((a) => a.username).concat(current.username)).not.toContain(user);
        const next = { username: user, password: newPassword };
        const step = (n: number) => {
          const r = bash(`step ${n}`, steps[n - 1], { new: newPassword, old, user });
          expect(`${r.stdout}${r.stderr}`).not.toContain(newPassword);
          expect(`${r.stdout}${r.stderr}`).not.toMatch(/not found/i);
        };
        step(1);
        const added = await until(`${user} accepted`, async () => await write(user, newPassword) === 202, async () => expectWrite(current, 202));
        step(2);
        const started = Date.now();
        await buildMain(appliedDist);
        const pushesBy = (name: string) => timedLog(pod.metadata.name, 'auth-proxy')
          .filter(([t, l]) => t >= started && l.includes(` - ${name} [`) && / "PUT \/v2\/webshop\/manifests\/\S+ HTTP\/[\d.]+" 201 /.test(l));
        expect(pushesBy(user).length).toBeGreaterThanOrEqual(1);
        expect(pushesBy(current.username)).toEqual([]);
        step(3);
        const removed = await until(`${current.username} refused`, async () => await write(current.username, current.password) === 401,
          async () => expectWrite(next, 202));
        for (const a of retired) await expectWrite(a, 401);
        console.log(`rotation ${current.username} -> ${user} on the live registry Pod: ${user} accepted ${added} s after step 1, ${current.username} refused ${removed} s after step 3; a builder Job started after step 2 pushed as ${user}`);
        return next;
      };

      const first = await rotate(push, []);
      // The account names carry the second: a second rotation in the same second would reuse the name.
      await sleep(1100);
      const second = await rotate(first, [push]);
      // Only the newest account writes now.
      await expectWrite(second, 202);
      await expectWrite(first, 401);
      await expectWrite(push, 401);

      const now = registryPod();
      expect(now.metadata.uid).toBe(pod.metadata.uid);
      expect(now.status.containerStatuses.map((c: any) => `${c.name} ${c.restartCount}`).sort())
        .toEqual(pod.status.containerStatuses.map((c: any) => `${c.name} ${c.restartCount}`).sort());
      expect(Date.now() - since).toBeLessThan(900_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
