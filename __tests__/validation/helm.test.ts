import { spawnSync } from 'child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { chartFiles, writeChartDir } from '../../lib/output/helm';
import { chartProblems, helm, renderChart } from '../../lib/validation/helm';
import { describeObject } from '../../lib/validation/manifests';
import { Problem } from '../../lib/validation/problems';
import { ROOT } from '../support/synth';

/**
 * The chart, validated the kubeconform-helm way: helm lint --strict, then
 * helm template through the yaml, policy and kubeconform layers.
 */
const CHART = join(ROOT, 'chart');
const TEMPLATE = join('templates', 'image-builder.k8s.yaml');
const summary = (ps: Problem[]) => ps.map((p) => `[${p.layer}] ${p.file.replace(/^.*\/chart\//, 'chart/')}: ${p.object ? describeObject(p.object) : ''} ${p.path ?? ''}: ${p.message}`);
const objects = (text: string) => parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o !== null);
/** Every object of dist/. */
const distObjects = () => readdirSync(join(ROOT, 'dist')).sort().flatMap((f) => objects(readFileSync(join(ROOT, 'dist', f), 'utf-8')));
/** Objects in a fixed order: helm template sorts by its install order (Service before Deployment). */
const byKindAndName = (os: any[]) => [...os].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));

// First use builds helm from the Go module proxy into .tools/ (minutes; cached afterwards).
const SETUP_TIMEOUT = 30 * 60_000;
beforeAll(() => {
  const version = helm(['version', '--template', '{{.Version}}']);
  if (version.status !== 0) throw new Error(`helm did not run: ${version.stderr}`);
}, SETUP_TIMEOUT);

/** A copy of the committed chart with one template line changed. */
function brokenChart(from: string | RegExp, to: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'broken-chart-')), 'chart');
  cpSync(CHART, dir, { recursive: true });
  const text = readFileSync(join(dir, TEMPLATE), 'utf-8');
  const broken = text.replace(from, to);
  if (broken === text) throw new Error(`${from} not found in ${TEMPLATE}`);
  writeFileSync(join(dir, TEMPLATE), broken);
  return dir;
}

describe('the committed chart', () => {
  test('passes helm lint --strict, and what helm template renders passes every layer', async () => {
    const result = await chartProblems(CHART);
    expect(summary(result.problems)).toEqual([]);
    expect(result).toMatchObject({ files: readdirSync(join(ROOT, 'dist')).length, objects: distObjects().length });
  }, 120_000);

  test('renders dist/, object for object', async () => {
    const rendered = renderChart(CHART);
    expect(rendered.problem).toBeUndefined();
    const dist = readdirSync(join(ROOT, 'dist')).sort();
    expect([...rendered.templates.keys()]).toEqual(dist.map((f) => `templates/${f}`));
    for (const file of dist) {
      const fromChart = byKindAndName(objects(rendered.templates.get(`templates/${file}`)!));
      const fromDist = byKindAndName(objects(readFileSync(join(ROOT, 'dist', file), 'utf-8')));
      expect(fromChart.length).toBeGreaterThan(0);
      expect(fromChart).toEqual(fromDist);
    }
  }, 60_000);

  test('manifest text with template delimiters comes back from helm template unchanged', async () => {
    const manifests = mkdtempSync(join(tmpdir(), 'manifests-'));
    const configMap = [
      'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: braces', 'data:',
      '  script: docker inspect --format "{{ .Id }}" x; echo "{{- end }}{{{{"', '  release: "{{ .Release.Name }}"', '',
    ].join('\n');
    writeFileSync(join(manifests, 'braces.k8s.yaml'), configMap);
    const chart = join(mkdtempSync(join(tmpdir(), 'chart-')), 'chart');
    writeChartDir(chart, chartFiles(manifests, { name: 'braces', version: '1.0.0', description: 'x' }));
    expect(objects(renderChart(chart).templates.get('templates/braces.k8s.yaml')!)).toEqual(objects(configMap));
  }, 60_000);
});

describe('a hand-broken template fails validation', () => {
  test('a template error: helm lint and helm template refuse it', async () => {
    const problems = summary((await chartProblems(brokenChart('replicas: 1', 'replicas: {{ .Values.registry.replicas }}'))).problems);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\[helm\] chart\/templates\/: .*nil pointer evaluating interface \{\}\.replicas \(helm lint --strict: error\)$/),
      expect.stringMatching(/^\[helm\] \S*chart: {2}: helm template failed: template: .*nil pointer evaluating interface \{\}\.replicas$/),
    ]));
  }, 60_000);

  test('a lint warning is enough (--strict): an invalid object name', async () => {
    const problems = summary((await chartProblems(brokenChart('\n  name: registry\n', '\n  name: Registry\n'))).problems);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\[helm\] chart\/templates\/image-builder\.k8s\.yaml: .*Registry.*\(helm lint --strict: warning\)$/),
    ]));
  }, 60_000);

  test('a wrong type in the rendered output: the kubeconform layer names template, object and field', async () => {
    expect(summary((await chartProblems(brokenChart('progressDeadlineSeconds: 600', 'progressDeadlineSeconds: "600"'))).problems)).toEqual([
      '[kubeconform] chart/templates/image-builder.k8s.yaml (rendered): Deployment/registry spec.progressDeadlineSeconds: got string, want null or integer',
    ]);
  }, 60_000);

  test('a policy break in the rendered output: the policy layer names the rule', async () => {
    expect(summary((await chartProblems(brokenChart(/restartPolicy: Never(?![\s\S]*restartPolicy: Never)/, 'restartPolicy: OnFailure'))).problems)).toEqual([
      expect.stringMatching(/^\[policy\] chart\/templates\/image-builder\.k8s\.yaml \(rendered\): Job\/build-container-training-main-[0-9a-f]{8} .*IB005 /),
    ]);
  }, 60_000);
});

describe('npm run validate -- --helm', () => {
  const validate = (...args: string[]) => spawnSync('npm', ['run', '-s', 'validate', '--', '--helm', ...args], { cwd: ROOT, encoding: 'utf-8' });

  test('the committed chart: valid, exit 0', () => {
    const run = validate();
    expect(run.stdout).toBe(`valid: 1 chart(s), 1 rendered file(s), ${distObjects().length} object(s), 0 problem(s); layers: helm lint, helm template, yaml, policy, kubeconform\n`);
    expect(run.status).toBe(0);
  }, 60_000);

  test('a broken chart: one line per problem, exit 1', () => {
    const run = validate(brokenChart('progressDeadlineSeconds: 600', 'progressDeadlineSeconds: "600"'));
    expect(run.stdout).toMatch(/\/chart\/templates\/image-builder\.k8s\.yaml \(rendered\):\d+: Deployment\/registry spec\.progressDeadlineSeconds: got string, want null or integer \[kubeconform\]\nINVALID: 1 chart\(s\), 1 rendered file\(s\), \d+ object\(s\), 1 problem\(s\)/);
    expect(run.status).toBe(1);
  }, 60_000);

  test('a folder that is not a chart: a plain message, exit 1', () => {
    const run = validate(join(ROOT, 'dist'));
    expect(run.stderr).toMatch(/^validate: .*dist: not a Helm chart \(no Chart\.yaml\); run npm run synth:helm, or name the chart folder\n$/);
    expect(run.status).toBe(1);
  }, 60_000);
});
