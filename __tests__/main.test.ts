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
      `error: ${config} is not valid:`,
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
      expected = `error: ${config} is not valid:\n${(e as Error).message.split('\n').map((l) => `  ${l}`).join('\n')}\n`;
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
    // The file BUILDS_CONFIG names, in the heading and at the key's line, not "builds.yaml".
    expect(run.stderr.startsWith(`error: ${config} is not valid:\n  ${config}:3:48: builds[1].images[0]: image "api:main" would be pushed by both builds[0].images[0]`)).toBe(true);
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);

  test('`cdk8s synth` (cdk8s.yaml) writes the same files as `npm run synth`, into dist/ and its scratch folder', () => {
    const dist = tmp();
    const scratch = tmp();
    execFileSync(join(ROOT, 'node_modules', '.bin', 'cdk8s'), ['synth', '--check-upgrade=false', '--output', scratch], {
      cwd: ROOT, stdio: 'pipe', env: { ...process.env, IMAGE_BUILDER_DIST: dist },
    });
    expect(readDir(dist)).toEqual(readDir(join(ROOT, 'dist')));
    expect(readDir(scratch)).toEqual(readDir(join(ROOT, 'dist')));
  }, 120_000);
});

describe('dist/ is never lost or half-written', () => {
  const BAD = 'builds:\n  - repo: https://ghp_0123456789abcdefghijklmnopqrstuvwxyz@github.com/a/b.git\n';
  const withDist = () => {
    const dist = tmp();
    writeFileSync(join(dist, 'image-builder.k8s.yaml'), readFileSync(join(ROOT, 'dist', 'image-builder.k8s.yaml')));
    writeFileSync(join(dist, 'notes.txt'), 'not ours\n');
    return dist;
  };

  test('a refused builds.yaml through `cdk8s synth` leaves dist/ byte-identical (cdk8s-cli deletes only its scratch folder)', () => {
    const dist = withDist();
    const before = readDir(dist);
    const config = join(tmp(), 'builds.yaml');
    writeFileSync(config, BAD);
    const run = spawnSync(join(ROOT, 'node_modules', '.bin', 'cdk8s'), ['synth', '--check-upgrade=false', '--output', join(tmp(), 'scratch')], {
      cwd: ROOT, encoding: 'utf-8', env: { ...process.env, IMAGE_BUILDER_DIST: dist, BUILDS_CONFIG: config },
    });
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toMatch(/has a user part, which in https:\/\/ URLs is a credential/);
    expect(run.stdout + run.stderr).not.toContain('ghp_');
    expect(readDir(dist)).toEqual(before);
  }, 120_000);

  test('a refused builds.yaml through `npm run synth` leaves dist/ byte-identical', () => {
    const dist = withDist();
    const before = readDir(dist);
    const config = join(tmp(), 'builds.yaml');
    writeFileSync(config, BAD);
    expect(synth({ CDK8S_OUTDIR: dist, BUILDS_CONFIG: config }).status).toBe(1);
    expect(readDir(dist)).toEqual(before);
  }, 60_000);

  test('manifests of charts that no longer exist are removed; other files are left alone', () => {
    const dist = withDist();
    writeFileSync(join(dist, 'old-chart.k8s.yaml'), 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: build-removed-main}\n');
    expect(synth({ CDK8S_OUTDIR: dist }).status).toBe(0);
    expect(Object.keys(readDir(dist))).toEqual(['image-builder.k8s.yaml', 'notes.txt']);
  }, 60_000);
});

describe('builds.yaml edge cases', () => {
  test('one anchor used many times is fine; an alias bomb is a plain error', () => {
    const dir = tmp();
    const many = join(dir, 'many.yaml');
    writeFileSync(many, `builds:\n  - {repo: "https://x.example/r0.git", images: &root [{context: ".", dockerfile: build/Dockerfile}]}\n${
      Array.from({ length: 150 }, (_, i) => `  - {repo: "https://x.example/r${i + 1}.git", images: *root}`).join('\n')}\n`);
    const ok = synth({ CDK8S_OUTDIR: tmp(), BUILDS_CONFIG: many });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const bomb = join(dir, 'bomb.yaml');
    writeFileSync(bomb, ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`), 'builds: *h'].join('\n'));
    const out = tmp();
    const refused = synth({ CDK8S_OUTDIR: out, BUILDS_CONFIG: bomb });
    expect(refused.stderr).toMatch(/^error: \S*bomb\.yaml is not valid:\n {2}.*bomb\.yaml:\d+:\d+: \(top level\): YAML error: too many aliases/);
    expect(refused.stderr).not.toMatch(/^\s+at /m);
    expect(refused.status).toBe(1);
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);

  test('values YAML 1.1 (kubectl) would retype are quoted in dist/', () => {
    const config = join(tmp(), 'builds.yaml');
    const refs = ['0X1F', '0B11', '1e1_0', '0o17', '1_000', '0755', 'on', 'yes', 'N'];
    writeFileSync(config, `builders: {nodeSelector: {role: "Yes", zone: "0X1F"}}\nbuilds:\n${refs.map((r) => `  - {repo: "https://x.example/r-${r.toLowerCase()}.git", ref: "${r}", images: [{context: "${r}"}]}`).join('\n')}\n`);
    const out = tmp();
    const run = synth({ CDK8S_OUTDIR: out, BUILDS_CONFIG: config });
    expect(run.stderr).toBe('');
    const text = readFileSync(join(out, 'image-builder.k8s.yaml'), 'utf-8');
    for (const r of refs) {
      expect(text).toContain(`value: "${r}"`);
      expect(text).not.toMatch(new RegExp(`: ${r}$`, 'm'));
    }
    expect(text).toContain('- "Yes"');
    expect(text).toContain('- "0X1F"');
  }, 60_000);
});
