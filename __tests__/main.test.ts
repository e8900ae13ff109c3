import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ConfigError } from '../lib/config/builds-file';
import { parseImageBuilderProps } from '../lib/config/to-props';
import { ROOT } from './support/synth';

/** Runs `npm run synth`'s command (main.ts compiled into build/, scripts/synth.js) into a temporary output folder. */
function synth(env: Record<string, string>) {
  return spawnSync(process.execPath, ['scripts/synth.js'], {
    cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf-8',
  });
}

function readDir(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf-8')]));
}

const tmp = () => mkdtempSync(join(tmpdir(), 'synth-'));

describe('main.ts', () => {
  test('writes the committed dist/ byte for byte, the same on every run', () => {
    const a = tmp();
    const b = tmp();
    expect(synth({ CDK8S_OUTDIR: a }).status).toBe(0);
    expect(synth({ CDK8S_OUTDIR: b }).status).toBe(0);
    expect(readDir(a)).toEqual(readDir(b));
    expect(readDir(a)).toEqual(readDir(join(ROOT, 'dist')));
  }, 60_000);

  test('a bad builds.yaml: exit 1, every problem named, nothing written', () => {
    const out = tmp();
    writeFileSync(join(out, 'previous.k8s.yaml'), 'kept\n');
    const config = join(tmp(), 'builds.yaml');
    writeFileSync(config, 'registry: {nodePort: 80}\nbuilds:\n  - repo: https://x.example/a.git\n    ref: "-x"\n');
    const run = synth({ CDK8S_OUTDIR: out, BUILDS_CONFIG: config });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe([
      'error: builds.yaml is not valid:',
      `  ${config}:1:22: registry.nodePort: 80 is outside the NodePort range 30000-32767; pick a value in 30000-32767`,
      '',
    ].join('\n'));
    expect(readDir(out)).toEqual({ 'previous.k8s.yaml': 'kept\n' });
  }, 60_000);

  test('the compiled synth (ajv validator generated at build time) words every schema problem as the source does', () => {
    const text = `registry: {nodePort: 5000, replicas: 2, storage: {persistentVolumeClaim: {size: 1GB}}}
builders:
  workload: Deployment
  nodeSelector: {builder: true}
  tolerations: [{key: dedicated, operator: Same}]
  backoffLimit: -1
  activeDeadlineSeconds: "60"
builds:
  - repo: https://x.example/a.git
    tag: v1
    images: []
`;
    const config = join(tmp(), 'builds.yaml');
    writeFileSync(config, text);
    let expected = '';
    try {
      parseImageBuilderProps(text, config);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expected = `error: builds.yaml is not valid:\n${(e as Error).message.split('\n').map((l) => `  ${l}`).join('\n')}\n`;
    }
    expect(expected.split('\n').length).toBeGreaterThan(10);
    const run = synth({ CDK8S_OUTDIR: tmp(), BUILDS_CONFIG: config });
    expect(run.stderr).toBe(expected);
    expect(run.status).toBe(1);
  }, 60_000);

  test('a conflict between builds: exit 1 naming both sources, nothing written', () => {
    const out = tmp();
    const config = join(tmp(), 'builds.yaml');
    writeFileSync(config, 'builds:\n  - {repo: "https://x.example/a.git", images: [{context: x/api}]}\n  - {repo: "https://x.example/b.git", images: [{context: api}]}\n');
    const run = synth({ CDK8S_OUTDIR: out, BUILDS_CONFIG: config });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/image "api:main" would be pushed by both builds\[0\]\.images\[0\] .* and builds\[1\]\.images\[0\]/);
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);

  test('`cdk8s synth` (cdk8s.yaml) writes the same files as `npm run synth`', () => {
    const out = tmp();
    execFileSync(join(ROOT, 'node_modules', '.bin', 'cdk8s'), ['synth', '--check-upgrade=false', '--output', out], { cwd: ROOT, stdio: 'pipe' });
    expect(readDir(out)).toEqual(readDir(join(ROOT, 'dist')));
  }, 120_000);
});
