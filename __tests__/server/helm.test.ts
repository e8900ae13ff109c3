import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { synthHelm } from '../../lib/output/helm';
import { KUBECONFIG, kubectl, startApiServer } from '../../lib/validation/apiserver';
import { helm, renderChart } from '../../lib/validation/helm';
import { ROOT } from '../support/synth';

/**
 * The Helm route against the project's private kube-apiserver
 * (scripts/validate-tools/apiserver.sh): install, upgrade after a builds.yaml
 * change, uninstall. No controllers or kubelet run there, so this checks what
 * the API server stores, not that builds run (that is the real-cluster test's).
 */
const NAMESPACE = 'helm-route';
const RELEASE = 'image-builder';
const CHART = join(ROOT, 'chart');

const helmIn = (...args: string[]) => helm([...args, '--namespace', NAMESPACE], { KUBECONFIG });
/** Every object the chart renders. */
const rendered = (chart: string): any[] => [...renderChart(chart).templates.values()]
  .flatMap((text) => parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o));
/** `kind/name` of every object the chart renders, sorted. */
const objectsOf = (chart: string) => rendered(chart).map((o) => `${o.kind.toLowerCase()}/${o.metadata.name}`).sort();
const find = (chart: string, kind: string, name: string) => rendered(chart).find((o) => o.kind === kind && o.metadata.name === name);
const get = (object: string) => kubectl(['get', object, '--namespace', NAMESPACE, '-o', 'json']);
const exists = (object: string) => get(object).status === 0;

let stop: () => void = () => undefined;
beforeAll(() => {
  stop = startApiServer();
  helmIn('uninstall', RELEASE, '--ignore-not-found'); // a run that died halfway
}, 40 * 60_000);
afterAll(() => {
  helmIn('uninstall', RELEASE, '--ignore-not-found');
  stop();
});

/** The Job of a build: its name is the build's name and a hash of its template (BuildJob). */
function jobOf(objects: string[], build: string): string {
  const found = objects.filter((o) => new RegExp(`^job/${build}-[0-9a-f]{8}$`).test(o));
  if (found.length !== 1) throw new Error(`expected one Job of ${build} in ${objects.join(', ')}`);
  return found[0];
}

test('helm install, upgrade after a builds.yaml change, uninstall', () => {
  // install: the committed chart, every object of dist/ stored as rendered
  const install = helmIn('install', RELEASE, CHART, '--create-namespace');
  expect(install.stderr).toBe('');
  expect(install.status).toBe(0);
  const installed = objectsOf(CHART);
  const dist = readdirSync(join(ROOT, 'dist')).flatMap((f) => parseAllDocuments(readFileSync(join(ROOT, 'dist', f), 'utf-8')).map((d) => d.toJS()))
    .filter((o) => o).map((o: any) => `${o.kind.toLowerCase()}/${o.metadata.name}`).sort();
  expect(installed).toEqual(dist);
  expect(installed).toEqual(expect.arrayContaining(['deployment/registry', jobOf(installed, 'build-container-training-main'), 'service/registry']));
  for (const object of installed) expect(exists(object)).toBe(true);
  const service = JSON.parse(get('service/registry').stdout);
  expect(service.spec.ports[0].nodePort).toBe(30500);
  const job = JSON.parse(get(jobOf(installed, 'build-container-training-main')).stdout);
  expect(job.spec.template.spec.containers[0].env).toContainEqual({ name: 'REGISTRY_PORT', value: '30500' });
  // Helm's bookkeeping is the only difference from dist/: its ownership annotations, and the
  // managed-by label of each object (not of Pod templates, not in selectors).
  const deployment = JSON.parse(get('deployment/registry').stdout);
  const rendered = find(CHART, 'Deployment', 'registry');
  expect(deployment.metadata.labels).toEqual({ ...rendered.metadata.labels, 'app.kubernetes.io/managed-by': 'Helm' });
  expect(deployment.metadata.annotations).toEqual({ 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': NAMESPACE });
  expect(deployment.spec.template.metadata.labels).toEqual(rendered.spec.template.metadata.labels);
  expect(deployment.spec.selector).toEqual(rendered.spec.selector);

  // upgrade: builds.yaml now builds another ref and a second repository
  const config = join(mkdtempSync(join(tmpdir(), 'builds-')), 'builds.yaml');
  writeFileSync(config, readFileSync(join(ROOT, 'builds.yaml'), 'utf-8')
    .replace('ref: main', 'ref: feature/login')
    .concat('  - repo: https://github.com/dockersamples/example-voting-app\n    images:\n      - context: vote\n'));
  const next = join(mkdtempSync(join(tmpdir(), 'chart-')), 'chart');
  expect(synthHelm({ root: ROOT, outDir: next, env: { BUILDS_CONFIG: config } }).status).toBe(0);
  const upgrade = helmIn('upgrade', RELEASE, next);
  expect(upgrade.stderr).toBe('');
  expect(upgrade.status).toBe(0);
  const upgraded = objectsOf(next);
  expect(upgraded).toEqual(expect.arrayContaining([
    'deployment/registry', jobOf(upgraded, 'build-container-training-feature-login'), jobOf(upgraded, 'build-example-voting-app-main'), 'service/registry',
  ]));
  expect(upgraded).not.toContain(jobOf(installed, 'build-container-training-main'));
  for (const object of upgraded) expect(exists(object)).toBe(true);
  expect(exists(jobOf(installed, 'build-container-training-main'))).toBe(false); // dropped from builds.yaml: deleted
  const history = JSON.parse(helmIn('history', RELEASE, '-o', 'json').stdout);
  expect(history.map((r: any) => [r.revision, r.status])).toEqual([[1, 'superseded'], [2, 'deployed']]);

  // uninstall: nothing of either revision left, not even the release record
  // A change to every Job's Pod template (here every builder's REGISTRY_PORT): a Job's template is
  // immutable, but the Jobs' names change with their templates, so the upgrade replaces them.
  writeFileSync(config, readFileSync(config, 'utf-8').replace('nodePort: 30500', 'nodePort: 30501'));
  const moved = join(mkdtempSync(join(tmpdir(), 'chart-')), 'chart');
  expect(synthHelm({ root: ROOT, outDir: moved, env: { BUILDS_CONFIG: config } }).status).toBe(0);
  const again = helmIn('upgrade', RELEASE, moved);
  expect(again.stderr).toBe('');
  expect(again.status).toBe(0);
  expect(JSON.parse(get('service/registry').stdout).spec.ports[0].nodePort).toBe(30501);
  const movedObjects = objectsOf(moved);
  expect(exists(jobOf(upgraded, 'build-example-voting-app-main'))).toBe(false);
  const movedJob = JSON.parse(get(jobOf(movedObjects, 'build-example-voting-app-main')).stdout);
  expect(movedJob.spec.template.spec.containers[0].env).toContainEqual({ name: 'REGISTRY_PORT', value: '30501' });

  const uninstall = helmIn('uninstall', RELEASE);
  expect(uninstall.status).toBe(0);
  for (const object of [...installed, ...upgraded, ...movedObjects]) expect(exists(object)).toBe(false);
  expect(JSON.parse(helmIn('list', '--all', '-o', 'json').stdout)).toEqual([]);
  const secrets = kubectl(['get', 'secrets', '--namespace', NAMESPACE, '-l', 'owner=helm', '-o', 'name']);
  expect(secrets.status).toBe(0);
  expect(secrets.stdout).toBe('');
}, 10 * 60_000);
