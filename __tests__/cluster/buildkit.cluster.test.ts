/**
 * `npm run test:cluster`, the buildkit engine on a real kubelet: a builds.yaml
 * with `builders.engine: buildkit`, synthesized and applied with `kubectl apply`
 * into a namespace of its own (Pod Security `privileged`, as the README asks for
 * builders), its registry first, then the builder Job. The Job runs rootless
 * BuildKit in the `moby/buildkit:<version>-rootless` stand-in (scripts/cluster/images.mjs):
 * no Docker socket, uid 1000, seccomp and AppArmor unconfined as dist/ says. It
 * pushes with the registry's push Secret to `registry:5000` (the cluster DNS's
 * search path), and a Pod on `localhost:<nodePort>/<name>:<short-sha>`, pulled
 * by the kubelet, runs what was built. A second run on a fresh builder Pod (new
 * emptyDir state) is served from the layer cache held in the registry.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  ClusterEnv, MANIFEST_TYPES, clusterEnv, createRegistryPrerequisites, describeState, getJson, gitRepo, jobCondition, jobNames, kubectl,
  kubectlOk, logsOfSuccess, objectsOf, recordImages, registryGet, synthTo, waitFor, waitForRegistryNodePort, waitJobsFinished,
} from './support/cluster';

const env: ClusterEnv = clusterEnv();
const NS = 'cluster-test-buildkit';
/** Neither builds.cluster.test.ts's nor the Helm route's: one registry per NodePort. */
const NODE_PORT = 31557;
const STORAGE_CLASS = 'cluster-test-buildkit-local';
const PV = 'cluster-test-buildkit-registry';
const REGISTRY_LABEL = 'app.kubernetes.io/name=registry';
/** The base image, pushed to the registry first: BuildKit pulls FROM images from a registry, never from the node. */
const BASE = `localhost:${NODE_PORT}/cluster-base:stand-in`;

const repo = gitRepo(env, 'buildkit-app', {
  'bk-app/Dockerfile': `FROM ${BASE}
RUN echo "bk-app built by RUN" > /built.txt && sleep 2
COPY . /src/
CMD ["sh", "-c", "cat /built.txt && exec sleep 3600"]
`,
  'bk-app/main.txt': 'bk-app source\n',
});
const short = repo.commit.slice(0, 7);
const buildsYaml = `registry:
  nodePort: ${NODE_PORT}
  storage:
    persistentVolumeClaim: {size: 1Gi, storageClassName: ${STORAGE_CLASS}}
builders:
  engine: buildkit
  backoffLimit: 0
builds:
  - repo: ${repo.url}
    ref: main
    images:
      - context: bk-app
`;

const k = (args: string[], input?: string) => kubectlOk(env, [...args, '-n', NS], input);
let dist: string;
let job: string;
let push: { username: string; password: string };
/** tag -> digest of the cold run */
const pushed = new Map<string, string>();
const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** Applies dist/'s builder Job (again) and waits for it: the log of its one Pod and how long it took. */
async function runBuild(): Promise<{ log: string; ms: number }> {
  const started = Date.now();
  k(['apply', '-f', dist]);
  await waitJobsFinished(env, [job], 240_000, NS);
  const ms = Date.now() - started;
  if (!jobCondition(getJson(env, ['job', job, '-n', NS]), 'Complete')) {
    throw new Error(`Job ${job} did not complete:\n${kubectl(env, ['logs', `job/${job}`, '-n', NS, '--tail=-1']).stdout}\n${describeState(env)}`);
  }
  return { log: logsOfSuccess(env, job, [], NS), ms };
}

/**
 * What became of the RUN step in each buildctl run of a builder log, in order: `DONE` (it ran)
 * or `CACHED`. BuildKit's plain progress prints `#<n> [..] RUN ...`, then `#<n> DONE <s>` or
 * `#<n> CACHED`; step numbers restart with every buildctl run (the build, then each push).
 */
function runStepResults(log: string): string[] {
  const pending = new Set<string>();
  const results: string[] = [];
  for (const line of log.split('\n')) {
    const header = line.match(/^#(\d+) \[[^\]]*\] RUN echo "bk-app built by RUN"/);
    if (header) { pending.add(header[1]); continue; }
    const end = line.match(/^#(\d+) (DONE|CACHED)\b/);
    if (end && pending.delete(end[1])) results.push(end[2]);
  }
  return results;
}

/** `pushed localhost:<port>/<name>:<tag>@<digest>` lines of a builder log. */
function pushedLines(log: string): Map<string, string> {
  const lines = [...log.matchAll(/^pushed localhost:(\d+)\/bk-app:(\S+)@(sha256:[0-9a-f]{64})$/gm)];
  lines.forEach((m) => expect(Number(m[1])).toBe(NODE_PORT));
  return new Map(lines.map((m) => [m[2], m[3]]));
}

beforeAll(() => {
  kubectlOk(env, ['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Namespace',
    // The README's advice for builder namespaces; this API server's default is privileged already.
    metadata: { name: NS, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
  }));
  push = createRegistryPrerequisites(env, { storageClass: STORAGE_CLASS, pv: PV, path: `${env.pvDir}-buildkit` }, NS);
  dist = synthTo(buildsYaml);
  [job] = jobNames(dist);
});

afterAll(() => {
  kubectl(env, ['delete', 'namespace', NS, '--wait=false']);
  kubectl(env, ['delete', 'pv', PV, '--wait=false']);
  // Cluster-scoped, so not gone with the namespace; helm.cluster.test installs the same names.
  kubectl(env, ['delete', 'clusterrolebinding,clusterrole', 'registry-retention', '--ignore-not-found']);
});

describe('buildkit engine on a real kubelet (no Docker socket, rootless)', () => {
  test('dist/ is a buildkit builder: no hostPath, uid 1000, seccomp and AppArmor unconfined', () => {
    const jobs = objectsOf(dist).filter((o) => o.kind === 'Job');
    expect(jobs).toHaveLength(1);
    const pod = jobs[0].spec.template;
    expect(pod.spec.containers[0].image).toMatch(/^moby\/buildkit:v[\d.]+-rootless$/);
    expect(JSON.stringify(pod.spec.volumes)).not.toMatch(/hostPath/);
    expect(pod.spec.securityContext).toMatchObject({ runAsUser: 1000, runAsNonRoot: true });
    expect(pod.spec.containers[0].securityContext).toMatchObject({ seccompProfile: { type: 'Unconfined' } });
    expect(pod.metadata.annotations['container.apparmor.security.beta.kubernetes.io/buildkit']).toBe('unconfined');
  });

  test('Pod Security "baseline" refuses the builder; the "privileged" namespace takes it', async () => {
    const pod = objectsOf(dist).find((o) => o.kind === 'Job').spec.template;
    const asPod = (ns: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { ...pod.metadata, name: 'psa-check', namespace: ns }, spec: pod.spec });
    kubectlOk(env, ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${NS}-baseline`, labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } },
    }));
    // ServiceAccount admission needs the namespace's default ServiceAccount (made by the controller-manager)
    await waitFor(`ServiceAccount default in ${NS}-baseline`, 30_000, () => (getJson(env, ['serviceaccount', 'default', '-n', `${NS}-baseline`]) ? true : undefined));
    const refused = kubectl(env, ['create', '--dry-run=server', '-f', '-'], asPod(`${NS}-baseline`));
    kubectl(env, ['delete', 'namespace', `${NS}-baseline`, '--wait=false']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/violates PodSecurity "baseline.*seccompProfile/s);
    const taken = kubectl(env, ['create', '--dry-run=server', '-f', '-'], asPod(NS));
    expect(taken.stderr).toBe('');
    expect(taken.status).toBe(0);
  });

  test("the registry first (dist/'s registry objects), then the base image pushed to it with the push account", async () => {
    k(['apply', '-f', dist, '-l', REGISTRY_LABEL]);
    await waitFor('deployment/registry Available', 120_000, () => {
      const d = getJson(env, ['deployment', 'registry', '-n', NS]);
      return (d?.status?.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True') ? true : undefined;
    }, () => describeState(env));
    await waitForRegistryNodePort(NODE_PORT);
    const config = mkdtempSync(join(tmpdir(), 'docker-config-'));
    try {
      const docker = (args: string[], input?: string) => execFileSync('docker', args, {
        env: { ...process.env, DOCKER_HOST: env.dockerHost, DOCKER_CONFIG: config }, input, encoding: 'utf-8', stdio: ['pipe', 'pipe', 'pipe'],
      });
      docker(['tag', env.baseImage, BASE]);
      docker(['login', `localhost:${NODE_PORT}`, '-u', push.username, '--password-stdin'], push.password);
      docker(['push', '-q', BASE]);
    } finally { rmSync(config, { recursive: true, force: true }); }
    expect((await registryGet(NODE_PORT, '/v2/cluster-base/tags/list')).body).toMatch(/stand-in/);
  });

  test('the builder Job completes: built, pushed to registry:5000 with the push Secret, the commit, ref and latest tags', async () => {
    const { log, ms } = await runBuild();
    console.log(`buildkit Job, cold (empty registry cache, new Pod): ${seconds(ms)} s from kubectl apply to Complete`);
    expect(log).toMatch(/^==> \[start-buildkitd\] rootless/m);
    expect(log).toMatch(/^==> \[login\] registry:5000 with the credentials of Secret registry-push$/m);
    expect(log).toMatch(/^==> \[push bk-app:[0-9a-f]{7}\] registry:5000\/bk-app:[0-9a-f]{7} \(pulled as localhost:\d+\//m);
    expect(log).not.toContain(push.password);
    // the RUN step ran in the build (no cache yet); each push re-solves it from the local cache
    expect(runStepResults(log)[0]).toBe('DONE');
    for (const [tag, digest] of pushedLines(log)) pushed.set(tag, digest);
    expect([...pushed.keys()].sort()).toEqual([short, 'latest', 'main'].sort());
    // one image: every tag's push re-solved to the same manifest
    expect(new Set(pushed.values()).size).toBe(1);
    for (const [tag, digest] of pushed) {
      const manifest = await registryGet(NODE_PORT, `/v2/bk-app/manifests/${tag}`, MANIFEST_TYPES);
      expect(manifest.status).toBe(200);
      expect(manifest.headers.get('docker-content-digest')).toBe(digest);
    }
    // the layer cache went to the registry too
    expect((await registryGet(NODE_PORT, '/v2/buildcache/bk-app/tags/list')).body).toMatch(/"main"/);
  });

  test('a Pod on localhost:<nodePort>/bk-app:<short-sha>, pulled by the kubelet, is Ready and runs what was built', async () => {
    k(['run', 'run-bk-app', `--image=localhost:${NODE_PORT}/bk-app:${short}`, '--restart=Never', '--image-pull-policy=Always']);
    await waitFor('pod run-bk-app Ready', 60_000, () => {
      const pod = getJson(env, ['pod', 'run-bk-app', '-n', NS]);
      return (pod?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    }, () => kubectl(env, ['describe', 'pod', 'run-bk-app', '-n', NS]).stdout);
    const logs = await waitFor('pod run-bk-app output', 20_000, () => {
      const out = kubectl(env, ['logs', 'run-bk-app', '-n', NS]).stdout;
      return out.includes('built by RUN') ? out : undefined;
    });
    expect(logs.trim()).toBe('bk-app built by RUN');
    expect(getJson(env, ['pod', 'run-bk-app', '-n', NS]).status.containerStatuses[0].imageID).toContain(pushed.get(short));
    recordImages(env, [`bk-app:${short}`]);
    k(['delete', 'pod', 'run-bk-app', '--wait=false']);
  });

  test("a second run on a fresh builder Pod is served from the registry's layer cache", async () => {
    // foreground: the Job goes after its Pod, so the next Pod is the only one (a fresh emptyDir)
    k(['delete', 'job', job, '--cascade=foreground', '--wait=true']);
    const { log, ms } = await runBuild();
    console.log(`buildkit Job, cached (new Pod, empty state, cache from the registry): ${seconds(ms)} s from kubectl apply to Complete`);
    expect(log).toMatch(/importing cache manifest from registry:5000\/buildcache\/bk-app:main/);
    // the RUN step never runs again, in the build nor in the pushes: BuildKit reports it CACHED
    const results = runStepResults(log);
    expect(results.length).toBeGreaterThan(0);
    expect(results.filter((r) => r !== 'CACHED')).toEqual([]);
    const again = pushedLines(log);
    expect([...again.keys()].sort()).toEqual([...pushed.keys()].sort());
    for (const [tag, digest] of again) console.log(`bk-app:${tag} cold ${pushed.get(tag)} -> cached ${digest}`);
    expect(new Set(again.values()).size).toBe(1);
  });
});
