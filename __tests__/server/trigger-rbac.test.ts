import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { kubectl, startApiServer } from '../../lib/validation/apiserver';
import { BuildTrigger } from '../../lib/constructs/build-trigger';

/** The build trigger's Role, applied to a real kube-apiserver and asked with `kubectl auth can-i`. */
let stop: () => void = () => undefined;
const ns = `rbac-${Date.now().toString(36)}`;
const as = ['--as', `system:serviceaccount:${ns}:build-trigger`];

beforeAll(() => {
  stop = startApiServer();
  expect(kubectl(['create', 'namespace', ns]).stderr).toBe('');
  expect(kubectl(['create', 'namespace', `${ns}-other`]).stderr).toBe('');
  const chart = Testing.chart();
  new BuildTrigger(chart, 'T', { image: 'localhost:30500/cdk8s-image-builder:main', buildsYaml: 'builds: []\n' });
  const applied = kubectl(['apply', '-n', ns, '-f', '-'], Testing.synth(chart).map((o) => stringify(o)).join('---\n'));
  expect(applied.stderr).toBe('');
}, 40 * 60_000);
afterAll(() => {
  kubectl(['delete', 'namespace', ns, `${ns}-other`, '--wait=false']);
  stop();
});

const canI = (verb: string, resource: string, namespace = ns) => {
  const r = kubectl(['auth', 'can-i', verb, resource, '-n', namespace, ...as]);
  return r.stdout.trim();
};

test.each([
  ['create', 'jobs.batch'], ['get', 'jobs.batch'], ['list', 'jobs.batch'], ['watch', 'jobs.batch'], ['delete', 'jobs.batch'], ['patch', 'jobs.batch'],
  ['get', 'pods'], ['list', 'pods'], ['watch', 'pods'], ['get', 'pods/log'],
])('may %s %s in its namespace', (verb, resource) => {
  expect(canI(verb, resource)).toBe('yes');
});

test.each([
  ['create', 'pods'], ['delete', 'pods'], ['create', 'pods/exec'], ['get', 'secrets'], ['list', 'secrets'], ['update', 'jobs.batch'],
  ['create', 'deployments.apps'], ['create', 'roles.rbac.authorization.k8s.io'], ['create', 'rolebindings.rbac.authorization.k8s.io'],
  ['get', 'configmaps'], ['create', 'cronjobs.batch'],
])('may not %s %s', (verb, resource) => {
  expect(canI(verb, resource)).toBe('no');
});

test('nothing outside its namespace, nothing cluster-wide', () => {
  expect(canI('create', 'jobs.batch', `${ns}-other`)).toBe('no');
  expect(canI('get', 'pods/log', `${ns}-other`)).toBe('no');
  expect(kubectl(['auth', 'can-i', 'list', 'jobs.batch', '--all-namespaces', ...as]).stdout.trim()).toBe('no');
  expect(kubectl(['auth', 'can-i', 'list', 'nodes', ...as]).stdout.trim()).toBe('no');
});
