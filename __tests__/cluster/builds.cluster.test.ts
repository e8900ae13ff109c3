/**
 * `npm run test:cluster`: dist/ applied with `kubectl apply -f` to a real
 * single-node Kubernetes (scripts/cluster/cluster.sh: kubelet, containerd,
 * kube-proxy in iptables mode, dockerd on /var/run/docker.sock), images built
 * by the builder Jobs, pushed to the in-cluster registry and pulled back by
 * Pods on `localhost:<nodePort>/<name>:<short-sha>`.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import {
  ClusterEnv, MANIFEST_TYPES, clusterEnv, createRegistryPrerequisites, describeState, getJson, gitRepo, jobCondition, kubectl, kubectlOk,
  jobNames, logsOfSuccess, recordImages, registryGet, synthTo, waitFor, waitForRegistryNodePort, waitJobsFinished,
} from './support/cluster';

const env: ClusterEnv = clusterEnv();
const NODE_PORT = 31555;
const STORAGE_CLASS = 'cluster-test-local';

/**
 * A Dockerfile whose RUN step leaves a mark the running Pod prints. The first
 * step after FROM differs per image: builds of different Jobs run at the same
 * time in one engine, and two concurrent classic builds of an identical step
 * make two cache candidates, so a later rebuild may miss the cache after it.
 */
const dockerfile = (what: string) => `FROM ${env.baseImage}
RUN echo "${what} built by RUN" > /built.txt && date > /built-at.txt
COPY . /src/
CMD ["sh", "-c", "cat /built.txt && exec sleep 3600"]
`;

const app = gitRepo(env, 'app', {
  'services/api/Dockerfile': dockerfile('api'),
  'services/api/main.txt': 'api source\n',
  // Outside its context: the worker's Dockerfile lives in docker/, as `docker build -f` allows.
  'docker/worker.Dockerfile': dockerfile('worker'),
  'services/worker/main.txt': 'worker source\n',
});
const tools = gitRepo(env, 'tools', { Dockerfile: dockerfile('tools'), 'README.md': 'tools\n' }, ['v1.0.0']);
const short = (sha: string) => sha.slice(0, 7);

const registrySection = `registry:
  nodePort: ${NODE_PORT}
  storage:
    persistentVolumeClaim: {size: 1Gi, storageClassName: ${STORAGE_CLASS}}
`;
const buildsYaml = `${registrySection}builders:
  backoffLimit: 1
builds:
  - repo: ${app.url}
    ref: main
    images:
      - context: services/api
      - context: services/worker
        dockerfile: ../../docker/worker.Dockerfile
  - repo: ${tools.url}
    ref: v1.0.0
`;

/** name -> tag -> digest, from the builders' logs. */
const pushed = new Map<string, Map<string, string>>();
let dist: string;
let jobs: string[];

/** All attempts' logs of a Job, as README's `kubectl logs -l ... --tail=-1` shows them. */
function logsOfBuild(job: string): string {
  const build = getJson(env, ['job', job]).metadata.labels['cdk8s-image-builder/build'];
  return kubectl(env, ['logs', '-l', `cdk8s-image-builder/build=${build}`, '--tail=-1', '--prefix']).stdout;
}

const waitJobsDone = (names: string[], timeoutMs?: number) => waitJobsFinished(env, names, timeoutMs);

beforeAll(() => {
  createRegistryPrerequisites(env, { storageClass: STORAGE_CLASS, pv: 'cluster-test-registry', path: env.pvDir });
  dist = synthTo(buildsYaml);
  jobs = jobNames(dist);
});

describe('dist/ applied to a real kubelet', () => {
  test('kubectl apply -f dist/ creates every object', () => {
    const out = kubectlOk(env, ['apply', '-f', dist]);
    expect(out).toMatch(/deployment.apps\/registry created/);
    expect(jobs).toHaveLength(2);
  });

  test('the registry becomes Available', async () => {
    await waitFor('deployment/registry Available', 120_000, () => {
      const d = getJson(env, ['deployment', 'registry']);
      return (d?.status?.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True') ? true : undefined;
    }, () => describeState(env));
  });

  test('the registry refuses an anonymous push on its NodePort; the builders push with the Secret', async () => {
    await waitForRegistryNodePort(NODE_PORT); // reads stay anonymous
    const upload = await fetch(`http://127.0.0.1:${NODE_PORT}/v2/anonymous/blobs/uploads/`, { method: 'POST' });
    console.log(`anonymous push refused: POST /v2/anonymous/blobs/uploads/ -> HTTP ${upload.status}`);
    expect(upload.status).toBe(401);
  });

  test('every builder Job completes', async () => {
    await waitJobsDone(jobs);
    for (const name of jobs) {
      const job = getJson(env, ['job', name]);
      if (!jobCondition(job, 'Complete')) {
        throw new Error(`Job ${name} did not complete:\n${logsOfBuild(name)}\n${describeState(env)}`);
      }
    }
  });

  test('kubectl logs shows each pushed name:tag@sha256 (commit tag, ref tag, latest on the default branch)', () => {
    for (const name of jobs) {
      const logs = logsOfSuccess(env, name);
      for (const m of logs.matchAll(/^pushed localhost:(\d+)\/([^:\s]+):(\S+)@(sha256:[0-9a-f]{64})$/gm)) {
        expect(Number(m[1])).toBe(NODE_PORT);
        if (!pushed.has(m[2])) pushed.set(m[2], new Map());
        pushed.get(m[2])!.set(m[3], m[4]);
      }
    }
    expect([...pushed.keys()].sort()).toEqual(['api', 'tools', 'worker']);
    expect([...pushed.get('api')!.keys()].sort()).toEqual([short(app.commit), 'latest', 'main'].sort());
    expect([...pushed.get('tools')!.keys()].sort()).toEqual([short(tools.commit), 'v1.0.0'].sort());
  });

  test("the registry's API lists those tags with those digests", async () => {
    for (const [name, tags] of pushed) {
      const list = await registryGet(NODE_PORT, `/v2/${name}/tags/list`);
      expect(list.status).toBe(200);
      expect(JSON.parse(list.body).tags.sort()).toEqual([...tags.keys()].sort());
      for (const [tag, digest] of tags) {
        const manifest = await registryGet(NODE_PORT, `/v2/${name}/manifests/${tag}`, MANIFEST_TYPES);
        expect(manifest.status).toBe(200);
        expect(manifest.headers.get('docker-content-digest')).toBe(digest);
      }
    }
  });

  test('Pods on localhost:<nodePort>/<name>:<short-sha> become Ready and run what was built', async () => {
    const images = [
      ['api', short(app.commit)], ['worker', short(app.commit)], ['tools', short(tools.commit)],
    ];
    for (const [name] of images) kubectl(env, ['delete', 'pod', `run-${name}`, '--ignore-not-found', '--wait=true']);
    for (const [name, tag] of images) {
      kubectlOk(env, ['run', `run-${name}`, `--image=localhost:${NODE_PORT}/${name}:${tag}`, '--restart=Never',
        '--image-pull-policy=Always', '--labels=cluster-test=run']);
    }
    for (const [name] of images) {
      await waitFor(`pod run-${name} Ready`, 60_000, () => {
        const pod = getJson(env, ['pod', `run-${name}`]);
        return (pod?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
      }, () => kubectl(env, ['describe', 'pod', `run-${name}`]).stdout);
      const logs = await waitFor(`pod run-${name} output`, 20_000, () => {
        const out = kubectl(env, ['logs', `run-${name}`]).stdout;
        return out.includes('built by RUN') ? out : undefined;
      });
      expect(logs.trim()).toBe(`${name} built by RUN`);
      // the Pod runs the pushed image: its digest is what the builder reported
      const pod = getJson(env, ['pod', `run-${name}`]);
      expect(pod.status.containerStatuses[0].imageID).toContain(pushed.get(name)!.get(images.find((i) => i[0] === name)![1])!);
    }
    recordImages(env, images.map(([name, tag]) => `${name}:${tag}`));
    kubectl(env, ['delete', 'pod', '-l', 'cluster-test=run', '--wait=false']);
  });

  test('GitOps-clean: a second apply changes nothing and kubectl diff is empty', () => {
    const again = kubectlOk(env, ['apply', '-f', dist]).trim().split('\n');
    expect(again.filter((line) => !line.endsWith(' unchanged'))).toEqual([]);
    const diff = kubectl(env, ['diff', '-f', dist]);
    expect(diff.stdout).toBe('');
    expect(diff.status).toBe(0);
  });

  test('the registry passes Pod Security "restricted"', () => {
    const ns = 'cluster-test-restricted';
    kubectlOk(env, ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Namespace',
      metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    }));
    const deployment = getJson(env, ['deployment', 'registry']);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'registry-psa', namespace: ns }, spec: deployment.spec.template.spec };
    const r = kubectl(env, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('a rebuild of the same commit comes from the engine cache', async () => {
    const name = jobs.find((j) => getJson(env, ["job", j]).metadata.labels["images.cdk8s-image-builder/api"])!;
    kubectlOk(env, ['delete', 'job', name, '--wait=true']);
    kubectlOk(env, ['apply', '-f', dist]);
    await waitJobsDone([name]);
    expect(jobCondition(getJson(env, ['job', name]), 'Complete')).toBe(true);
    const logs = logsOfSuccess(env, name);
    // the RUN step of both images comes from the engine's cache (the classic builder says so)
    expect(logs.match(/RUN echo[^\n]*\n ---> Using cache/g)).toHaveLength(2);
    expect(logs).not.toMatch(/RUN echo[^\n]*\n ---> Running in/);
    // nothing uploaded again: every layer already in the registry
    expect(logs).toMatch(/Layer already exists/);
    expect(logs).not.toMatch(/: Pushed$/m);
  });

  test('registry Pod deleted: the images are still there (PersistentVolumeClaim on a local PersistentVolume)', async () => {
    const before = getJson(env, ['pods', '-l', 'app.kubernetes.io/name=registry']).items.map((p: any) => p.metadata.name);
    kubectlOk(env, ['delete', 'pod', '-l', 'app.kubernetes.io/name=registry', '--wait=true']);
    await waitFor('a new registry Pod Ready', 120_000, () => {
      const pods = getJson(env, ['pods', '-l', 'app.kubernetes.io/name=registry']).items;
      return pods.some((p: any) => !before.includes(p.metadata.name)
        && (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')) ? true : undefined;
    }, () => describeState(env));
    await waitForRegistryNodePort(NODE_PORT);
    for (const [name, tags] of pushed) {
      const list = await registryGet(NODE_PORT, `/v2/${name}/tags/list`);
      expect(JSON.parse(list.body).tags.sort()).toEqual([...tags.keys()].sort());
    }
  });

  test('a changed builds.yaml applies with no "field is immutable" and no manual delete', async () => {
    const changed = synthTo(buildsYaml.replace('      - context: services/worker\n        dockerfile: ../../docker/worker.Dockerfile\n', ''));
    const r = kubectl(env, ['apply', '-f', changed]);
    expect(r.stderr).not.toMatch(/immutable/);
    expect(r.status).toBe(0);
    const newJobs = jobNames(changed).filter((j) => !jobs.includes(j));
    expect(newJobs).toHaveLength(1);
    await waitJobsDone(newJobs);
    expect(jobCondition(getJson(env, ['job', newJobs[0]]), 'Complete')).toBe(true);
  });
});

describe('failure paths on the real cluster', () => {
  test("a ref that does not exist: the Job fails and the failed attempts' logs stay readable", async () => {
    const failing = synthTo(`${registrySection}builders:
  backoffLimit: 1
builds:
  - repo: ${app.url}
    ref: no-such-branch
`);
    const [job] = jobNames(failing);
    kubectlOk(env, ['apply', '-f', failing]);
    await waitJobsDone([job], 180_000);
    expect(jobCondition(getJson(env, ['job', job]), 'Failed')).toBe(true);
    // README's commands, after the Job gave up
    const logs = logsOfBuild(job);
    expect(logs).toMatch(/cannot fetch no-such-branch/);
    expect(logs).toMatch(/!! build failed at step 'clone'/);
    expect(kubectl(env, ['logs', `job/${job}`]).stdout).toMatch(/cannot fetch no-such-branch/);
  });

  test('a node without the Docker socket: the build fails fast with a plain message', async () => {
    // Stop the node's Docker engine: no /var/run/docker.sock any more.
    const pid = readFileSync(join(env.stateDir, 'pids', 'dockerd.pid'), 'utf-8').trim();
    process.kill(Number(pid), 'SIGTERM');
    await waitFor('dockerd to exit and remove its socket', 60_000, () => {
      try { process.kill(Number(pid), 0); return undefined; } catch { return true; }
    });
    const noSocket = synthTo(`${registrySection}builders:
  backoffLimit: 0
builds:
  - repo: ${tools.url}
    ref: main
`);
    const [job] = jobNames(noSocket);
    const started = Date.now();
    kubectlOk(env, ['apply', '-f', noSocket]);
    await waitJobsDone([job], 120_000);
    expect(jobCondition(getJson(env, ['job', job]), 'Failed')).toBe(true);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(logsOfBuild(job)).toMatch(/no Docker engine/);
  });
});
