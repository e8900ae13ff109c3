import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';
import { kubectl, startApiServer } from '../../lib/validation/apiserver';
import { closedPort } from '../e2e/support/env';
import { serviceAccountEnv } from '../support/service-account';
import { synthBuilds } from '../support/synth';

/**
 * The retention CronJob's ServiceAccount and ClusterRole on a real kube-apiserver:
 * `kubectl auth can-i` as that ServiceAccount, and the synthesized program
 * (the ConfigMap's retention.js) reading the cluster with a real token of it.
 */
let stop: () => void = () => undefined;
const ns = `ret-${Date.now().toString(36)}`;
const other = `${ns}-apps`;
const as = ['--as', `system:serviceaccount:${ns}:registry-retention`];
let manifests: any[] = [];
let tmp = '';
let closedPortNumber = 0;

beforeAll(async () => {
  closedPortNumber = await closedPort();
  stop = startApiServer();
  tmp = mkdtempSync(join(tmpdir(), 'retention-rbac-'));
  for (const n of [ns, other]) expect(kubectl(['create', 'namespace', n]).stderr).toBe('');
  manifests = synthBuilds(`registry:\n  retention:\n    namespace: ${ns}\nbuilds:\n  - repo: https://github.com/jpetazzo/container.training\n`);
  // Only what the program's token needs: this API server has no namespace controller, so objects
  // left in a deleted namespace stay (a Service would keep its NodePort from the next test file).
  const rbac = manifests.filter((m) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(m.kind));
  expect(rbac).toHaveLength(3);
  const applied = kubectl(['apply', '-n', ns, '-f', '-'], rbac.map((o) => stringify(o)).join('---\n'));
  expect(applied.stderr).toBe('');
}, 40 * 60_000);
afterAll(() => {
  kubectl(['delete', 'pods,cronjobs,serviceaccounts', '--all', '-n', other, '--wait=false']);
  kubectl(['delete', 'serviceaccounts', '--all', '-n', ns, '--wait=false']);
  kubectl(['delete', 'namespace', ns, other, '--wait=false']);
  kubectl(['delete', 'clusterrole,clusterrolebinding', 'registry-retention']);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  stop();
});

const canI = (verb: string, resource: string, where: string[] = ['--all-namespaces']) =>
  kubectl(['auth', 'can-i', verb, resource, ...where, ...as]).stdout.trim();

test.each([
  'pods', 'deployments.apps', 'replicasets.apps', 'statefulsets.apps', 'daemonsets.apps', 'jobs.batch', 'cronjobs.batch',
])('may list %s in every namespace', (resource) => {
  expect(canI('list', resource)).toBe('yes');
  expect(canI('list', resource, ['-n', other])).toBe('yes');
});

test.each([
  ['get', 'secrets'], ['list', 'secrets'], ['watch', 'secrets'], ['get', 'configmaps'], ['get', 'pods'], ['watch', 'pods'],
  ['create', 'pods'], ['delete', 'pods'], ['create', 'pods/exec'], ['patch', 'deployments.apps'], ['update', 'deployments.apps'],
  ['delete', 'replicasets.apps'], ['create', 'jobs.batch'], ['delete', 'cronjobs.batch'], ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
  ['list', 'nodes'], ['create', 'serviceaccounts/token'],
])('may not %s %s', (verb, resource) => {
  expect(canI(verb, resource)).toBe('no');
  expect(canI(verb, resource, ['-n', ns])).toBe('no');
});

/** The CronJob's program with its env, as the ServiceAccount `sa` of `namespace` (a real token). */
function runProgram(namespace: string, sa: string): { code: number | null; out: string } {
  const cronJob = manifests.find((m) => m.kind === 'CronJob');
  const c = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
  const program = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'registry-retention').data['retention.js'];
  writeFileSync(join(tmp, 'retention.js'), program);
  const plain = Object.fromEntries((c.env as any[]).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]));
  const r = spawnSync('node', [join(tmp, 'retention.js')], {
    encoding: 'utf-8', timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin', ...plain,
      REGISTRY_URL: `http://127.0.0.1:${closedPortNumber}`, // nothing answers: the run stops at the registry
      ...serviceAccountEnv(tmp, namespace, sa),
    },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the program reads every namespace\'s Pods and templates with its token: what uses this registry is listed as in use', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: other },
    spec: { containers: [{ name: 'web', image: 'localhost:30500/web:abc1234' }, { name: 'side', image: 'docker.io/library/busybox:1.36' }] },
  };
  const cronJob = {
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'report', namespace: other },
    spec: { schedule: '0 1 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'r', image: `registry:5000/report@${digest}` }] } } } } },
  };
  expect(kubectl(['apply', '-f', '-'], [pod, cronJob].map((o) => stringify(o)).join('---\n')).stderr).toBe('');
  const r = runProgram(ns, 'registry-retention');
  console.log(r.out);
  expect(r.out).toMatch(/==> \[in use\] \d+ Pods and workloads read; images of localhost:30500, 127\.0\.0\.1:30500, registry:5000 they use: .*web:abc1234/);
  expect(r.out).toContain(`report@${digest}`);
  expect(r.out).not.toContain('busybox');
  // It went on to the registry (nothing listens there): the cluster read was not the failure.
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/!! retention failed: GET http:\/\/127\.0\.0\.1:\d+\/v2\/_catalog/);
});

test('fail closed: a ServiceAccount without the binding is refused (403), nothing is deleted, exit 1 with what to fix', () => {
  expect(kubectl(['create', 'serviceaccount', 'unbound', '-n', other]).stderr).toBe('');
  const r = runProgram(other, 'unbound');
  console.log(r.out);
  expect(r.code).toBe(1);
  expect(r.out).toContain('!! retention failed: cannot read what the cluster runs, so nothing was deleted');
  expect(r.out).toMatch(/HTTP 403/);
  expect(r.out).toContain(`this Pod runs in namespace ${other}: the retention ClusterRoleBinding must name its ServiceAccount there`);
  expect(r.out).not.toContain('/v2/'); // it never reached the registry
  expect(r.out).not.toMatch(/\n\s+at /); // no stack trace
});
