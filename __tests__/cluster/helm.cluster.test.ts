/**
 * `npm run test:cluster`, the Helm route: the chart of `npm run synth:helm`
 * installed with `helm install` on the real single-node Kubernetes, then the
 * same checks as for dist/ (registry Available, every Job Complete, a Pod on
 * the pushed image Ready), `helm upgrade` after a builds.yaml change, and
 * `helm uninstall` leaving nothing behind. Runs before builds.cluster.test.ts
 * (support/sequencer.js); since both deploy the one `registry`, this file
 * removes all it made, so the kubectl suite starts from an empty namespace
 * (its first case expects `deployment.apps/registry created`).
 */
import { rmSync } from 'fs';
import { join } from 'path';
import {
  ClusterEnv, MANIFEST_TYPES, clusterEnv, createRegistryPrerequisites, describeState, getJson, gitRepo, helm, helmOk, jobCondition, kubectl,
  kubectlOk, objectsOf, recordImages, registryGet, synthChartTo, waitFor,
} from './support/cluster';

const env: ClusterEnv = clusterEnv();
const RELEASE = 'image-builder';
/** Not builds.cluster.test.ts's port: a NodePort freed by the uninstall is never reused by the next file. */
const NODE_PORT = 31556;
const STORAGE_CLASS = 'cluster-test-helm-local';
const PV = 'cluster-test-helm-registry';
const pvPath = `${env.pvDir}-helm`;
/** Every object the project labels (chart objects, and the Pods and ReplicaSets made from them). */
const PART_OF = 'app.kubernetes.io/part-of=cdk8s-image-builder';

const repo = gitRepo(env, 'helm-tools', {
  Dockerfile: `FROM ${env.baseImage}
RUN echo "helm-tools built by RUN" > /built.txt
CMD ["sh", "-c", "cat /built.txt && exec sleep 3600"]
`,
}, ['v1.0.0']);
const short = repo.commit.slice(0, 7);

const buildsYaml = (ref: string) => `registry:
  nodePort: ${NODE_PORT}
  storage:
    persistentVolumeClaim: {size: 1Gi, storageClassName: ${STORAGE_CLASS}}
builders:
  backoffLimit: 1
builds:
  - repo: ${repo.url}
    ref: ${ref}
`;

let chart: string;
let firstJob: string;

function jobsOf(dir: string): string[] {
  return objectsOf(join(dir, 'templates')).filter((o) => o.kind === 'Job').map((o) => o.metadata.name);
}

async function waitJobComplete(name: string): Promise<void> {
  await waitFor(`Job ${name} to finish`, 240_000, () => {
    const job = getJson(env, ['job', name]);
    return jobCondition(job, 'Complete') || jobCondition(job, 'Failed') ? true : undefined;
  }, () => describeState(env));
  if (!jobCondition(getJson(env, ['job', name]), 'Complete')) {
    throw new Error(`Job ${name} did not complete:\n${kubectl(env, ['logs', `job/${name}`]).stdout}\n${describeState(env)}`);
  }
}

/** The release's objects still in the cluster, as `kind/name` (kinds: the chart's, plus what they make). */
function leftovers(kinds: string[]): string[] {
  const r = kubectlOk(env, ['get', kinds.join(','), '-A', '-o', 'json']);
  return JSON.parse(r).items
    .filter((o: any) => o.metadata.labels?.['app.kubernetes.io/part-of'] === 'cdk8s-image-builder'
      || o.metadata.annotations?.['meta.helm.sh/release-name'] === RELEASE
      || (o.kind === 'Secret' && o.metadata.labels?.owner === 'helm'))
    .map((o: any) => `${o.kind}/${o.metadata.name}`);
}

beforeAll(() => {
  createRegistryPrerequisites(env, { storageClass: STORAGE_CLASS, pv: PV, path: pvPath });
  chart = synthChartTo(buildsYaml('main'));
  [firstJob] = jobsOf(chart);
});

afterAll(() => {
  // Whatever happened above: leave the namespace as builds.cluster.test.ts expects it.
  helm(env, ['uninstall', RELEASE, '--wait', '--timeout', '2m']);
  kubectl(env, ['delete', 'pod', 'helm-run', '--ignore-not-found', '--wait=true']);
  kubectl(env, ['delete', 'secret', 'registry-htpasswd', 'registry-push', '--ignore-not-found']);
  kubectl(env, ['delete', 'pv', PV, '--ignore-not-found', '--wait=true']);
  kubectl(env, ['delete', 'storageclass', STORAGE_CLASS, '--ignore-not-found']);
  rmSync(pvPath, { recursive: true, force: true });
});

describe('the chart installed with helm on a real kubelet', () => {
  test('helm install creates the release', () => {
    expect(firstJob).toBeDefined();
    helmOk(env, ['install', RELEASE, chart]);
    const status = JSON.parse(helmOk(env, ['status', RELEASE, '-o', 'json']));
    expect(status.info.status).toBe('deployed');
    expect(status.version).toBe(1);
  });

  test('the registry becomes Available', async () => {
    await waitFor('deployment/registry Available', 120_000, () => {
      const d = getJson(env, ['deployment', 'registry']);
      return (d?.status?.conditions ?? []).some((c: any) => c.type === 'Available' && c.status === 'True') ? true : undefined;
    }, () => describeState(env));
    // Helm's bookkeeping only: the object is the chart's, owned by the release.
    const d = getJson(env, ['deployment', 'registry']);
    expect(d.metadata.annotations['meta.helm.sh/release-name']).toBe(RELEASE);
    expect(d.metadata.labels['app.kubernetes.io/managed-by']).toBe('Helm');
  });

  test('every builder Job completes and the registry lists what it pushed', async () => {
    for (const job of jobsOf(chart)) await waitJobComplete(job);
    const list = await registryGet(NODE_PORT, '/v2/helm-tools/tags/list');
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body).tags.sort()).toEqual([short, 'latest', 'main'].sort());
  });

  test('a Pod on localhost:<nodePort>/<name>:<short-sha> becomes Ready and runs what was built', async () => {
    const image = `localhost:${NODE_PORT}/helm-tools:${short}`;
    kubectlOk(env, ['run', 'helm-run', `--image=${image}`, '--restart=Never', '--image-pull-policy=Always']);
    await waitFor('pod helm-run Ready', 60_000, () => {
      const pod = getJson(env, ['pod', 'helm-run']);
      return (pod?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    }, () => kubectl(env, ['describe', 'pod', 'helm-run']).stdout);
    const logs = await waitFor('pod helm-run output', 20_000, () => {
      const out = kubectl(env, ['logs', 'helm-run']).stdout;
      return out.includes('built by RUN') ? out : undefined;
    });
    expect(logs.trim()).toBe('helm-tools built by RUN');
    const manifest = await registryGet(NODE_PORT, `/v2/helm-tools/manifests/${short}`, MANIFEST_TYPES);
    expect(getJson(env, ['pod', 'helm-run']).status.containerStatuses[0].imageID).toContain(manifest.headers.get('docker-content-digest'));
    recordImages(env, [`helm-tools:${short}`]);
    kubectlOk(env, ['delete', 'pod', 'helm-run', '--wait=true']);
  });

  test('helm upgrade after a builds.yaml change (another ref): the new Job completes, the old one is gone', async () => {
    const changed = synthChartTo(buildsYaml('v1.0.0'));
    const [job] = jobsOf(changed);
    expect(job).not.toBe(firstJob);
    const r = helm(env, ['upgrade', RELEASE, changed]);
    expect(r.stderr).not.toMatch(/error|immutable/i);
    expect(r.status).toBe(0);
    const status = JSON.parse(helmOk(env, ['status', RELEASE, '-o', 'json']));
    expect(status.info.status).toBe('deployed');
    expect(status.version).toBe(2);
    await waitJobComplete(job);
    await waitFor(`Job ${firstJob} removed by the upgrade`, 60_000, () => (getJson(env, ['job', firstJob]) ? undefined : true));
    const list = await registryGet(NODE_PORT, '/v2/helm-tools/tags/list');
    expect(JSON.parse(list.body).tags).toContain('v1.0.0');
    chart = changed;
  });

  test('helm uninstall leaves nothing behind: no object of the release, no release record', async () => {
    const kinds = [...new Set(objectsOf(join(chart, 'templates')).map((o) => o.kind))];
    // what the chart's objects make, and Helm's release records (Secrets)
    const watched = [...kinds, 'Pod', 'ReplicaSet', 'PersistentVolumeClaim', 'Endpoints', 'Secret'];
    expect(leftovers(watched).length).toBeGreaterThan(0); // the check sees the release while it exists
    helmOk(env, ['uninstall', RELEASE, '--cascade', 'foreground', '--wait', '--timeout', '2m']);
    await waitFor('no object of the release', 120_000, () => (leftovers(watched).length === 0 ? true : undefined),
      () => leftovers(watched).join('\n'));
    expect(helmOk(env, ['list', '-a', '-q']).trim()).toBe('');
    expect(kubectlOk(env, ['get', 'secrets', '-l', `owner=helm,name=${RELEASE}`, '-o', 'name']).trim()).toBe('');
    expect(kubectlOk(env, ['get', 'all', '-l', PART_OF, '-o', 'name']).trim()).toBe('');
  });
});
