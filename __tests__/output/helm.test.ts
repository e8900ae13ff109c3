import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { chartFiles, chartMetadataFrom, escapeTemplate, writeChartDir } from '../../lib/output/helm';
import { ROOT } from '../support/synth';

/** Every file under dir (relative path → content). */
function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => readdirSync(d).sort().forEach((f) => {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p);
    else out[relative(dir, p)] = readFileSync(p, 'utf-8');
  });
  walk(dir);
  return out;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'synth-helm-test-'));

/** `npm run synth:helm -- --out DIR`, as a user runs it. */
function synthHelm(out: string, env: Record<string, string> = {}) {
  return spawnSync('npm', ['run', '-s', 'synth:helm', '--', '--out', out], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf-8' });
}

describe('npm run synth:helm', () => {
  test('writes the committed chart/ byte for byte, the same on every run', () => {
    const a = join(tmp(), 'chart');
    const b = join(tmp(), 'chart');
    expect(synthHelm(a).status).toBe(0);
    expect(synthHelm(b).status).toBe(0);
    expect(readTree(a)).toEqual(readTree(b));
    expect(readTree(a)).toEqual(readTree(join(ROOT, 'chart')));
  }, 120_000);

  test('templates/ holds the manifests of dist/, Chart.yaml the version of package.json', () => {
    const chart = readTree(join(ROOT, 'chart'));
    const dist = readTree(join(ROOT, 'dist'));
    expect(Object.keys(chart).filter((f) => f.startsWith('templates/'))).toEqual(Object.keys(dist).map((f) => `templates/${f}`));
    for (const [file, text] of Object.entries(dist)) expect(chart[`templates/${file}`]).toBe(escapeTemplate(text));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf-8'));
    expect(chart['Chart.yaml']).toContain(`\nversion: ${pkg.version}\n`);
    expect(chart['Chart.yaml']).toContain(`\nname: ${pkg.name}\n`);
  });

  test('a bad builds.yaml: exit 1, the problems printed, the chart left as it was', () => {
    const out = join(tmp(), 'chart');
    mkdirSync(join(out, 'templates'), { recursive: true });
    writeFileSync(join(out, 'Chart.yaml'), 'previous\n');
    writeFileSync(join(out, 'templates', 'previous.k8s.yaml'), 'kept\n');
    const config = join(tmp(), 'builds.yaml');
    writeFileSync(config, 'registry: {nodePort: 80}\nbuilds:\n  - repo: https://x.example/a.git\n');
    const run = synthHelm(out, { BUILDS_CONFIG: config });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`error: ${config} is not valid:`);
    expect(run.stderr).toContain('registry.nodePort: 80 is outside the NodePort range 30000-32767');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readTree(out)).toEqual({ 'Chart.yaml': 'previous\n', 'templates/previous.k8s.yaml': 'kept\n' });
    expect(readdirSync(join(out, '..'))).toEqual(['chart']); // no staging folder left behind
  }, 60_000);
});

test('a bad argument: one plain line, exit 1, nothing written', () => {
  const run = spawnSync('npm', ['run', '-s', 'synth:helm', '--', '--outdir', 'x'], { cwd: ROOT, encoding: 'utf-8' });
  expect(run.stderr).toBe("error: synth:helm: Unknown option '--outdir'\n");
  expect(run.status).toBe(1);
}, 60_000);

describe('chart files', () => {
  test('escapeTemplate turns every {{ into an action that prints it', () => {
    expect(escapeTemplate('a: "{{ .Values.x }}"\nb: {{{{')).toBe('a: "{{ "{{" }} .Values.x }}"\nb: {{ "{{" }}{{ "{{" }}');
    expect(escapeTemplate('no braces }} here')).toBe('no braces }} here');
  });

  test('only *.k8s.yaml manifests become templates', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'construct-metadata.json'), '{}');
    expect(() => chartFiles(dir, { name: 'x', version: '1.0.0', description: '' })).toThrow(/construct-metadata\.json/);
    expect(() => chartFiles(tmp(), { name: 'x', version: '1.0.0', description: '' })).toThrow(/no manifests/);
  });

  test('a version Helm refuses is named with its fix', () => {
    const pkg = join(tmp(), 'package.json');
    writeFileSync(pkg, JSON.stringify({ name: 'x', version: '1.0' }));
    expect(() => chartMetadataFrom(pkg)).toThrow(/version "1\.0" is not SemVer 2/);
  });

  test('a write that fails half-way leaves the old chart whole and no staging folder', () => {
    const out = join(tmp(), 'chart');
    writeChartDir(out, new Map([['Chart.yaml', 'old\n'], ['templates/a.k8s.yaml', 'old\n']]));
    // `templates` as a file, then a file inside it: the second write fails (ENOTDIR).
    expect(() => writeChartDir(out, new Map([['Chart.yaml', 'new\n'], ['templates', 'x'], ['templates/a.k8s.yaml', 'new\n']]))).toThrow(/ENOTDIR|EEXIST/);
    expect(readTree(out)).toEqual({ 'Chart.yaml': 'old\n', 'templates/a.k8s.yaml': 'old\n' });
    expect(readdirSync(join(out, '..'))).toEqual(['chart']);
  });

  test('writeChartDir replaces the whole folder: files the new chart lacks are gone', () => {
    const out = join(tmp(), 'chart');
    writeChartDir(out, new Map([['Chart.yaml', 'a\n'], ['templates/old.k8s.yaml', 'old\n']]));
    writeChartDir(out, new Map([['Chart.yaml', 'b\n'], ['templates/new.k8s.yaml', 'new\n']]));
    expect(readTree(out)).toEqual({ 'Chart.yaml': 'b\n', 'templates/new.k8s.yaml': 'new\n' });
    expect(readdirSync(join(out, '..'))).toEqual(['chart']);
  });
});
