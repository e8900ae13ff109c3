import { spawnSync } from 'child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ROOT } from '../support/synth';

/** `npm run validate` as users run it (node scripts/validate.js: the compiled scripts/validate.ts), without --server. */
function validate(...args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'scripts', 'validate.js'), ...args], { cwd: ROOT, encoding: 'utf-8' });
}

const tmp = () => mkdtempSync(join(tmpdir(), 'validate-cli-'));
const STACK = /^\s+at |Error: |node:internal/m;

describe('npm run validate on anyone\'s input: a plain message and exit 1, never a stack trace', () => {
  test('dist/ is valid', () => {
    const run = validate();
    expect(run.stdout).toMatch(/^valid: 1 file\(s\), 10 object\(s\), 0 problem\(s\); layers: yaml, policy, kubeconform$/m);
    expect(run.status).toBe(0);
  }, 60_000);

  test.each([
    ['an unknown flag', ['--sever'], /^validate: Unknown option '--sever'.*\nusage: npm run validate/],
    ['a missing path', ['no/such/dir'], /^validate: no\/such\/dir: no such file or directory\n$/],
    ['a folder without manifests', [ROOT + '/scripts/e2e'], /^validate: no \.yaml, \.yml or \.json files found\n$/],
  ])('%s', (_what, args, stderr) => {
    const run = validate(...args);
    expect(run.stderr).toMatch(stderr);
    expect(run.stderr).not.toMatch(STACK);
    expect(run.status).toBe(1);
  }, 60_000);

  test('a reader that stops early (| head -1): the first line, and no stack trace', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'many.yaml'), Array.from({ length: 3000 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\ndata: {a: 1}\n`).join('---\n'));
    const run = spawnSync('bash', ['-c', `"${process.execPath}" scripts/validate.js "${dir}" | head -1`], { cwd: ROOT, encoding: 'utf-8' });
    expect(run.stdout).toMatch(/^\S+many\.yaml:1: ConfigMap\/c0 data\.a: got number, want null or string \[kubeconform\]\n$/);
    expect(run.stderr).toBe('');
  }, 60_000);

  test('a symlink loop', () => {
    const dir = tmp();
    symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
    const run = validate(join(dir, 'loop'));
    expect(run.stderr).toBe(`validate: ${join(dir, 'loop')}: symbolic link loop\n`);
    expect(run.status).toBe(1);
  }, 60_000);

  test('malformed objects, non-objects and broken YAML: problems with file:line, exit 1', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: []\nspec: "x"\n---\n[1, 2]\n---\nkey: [unclosed\n');
    writeFileSync(join(dir, 'b.json'), '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": 1}}');
    const run = validate(dir);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^INVALID: 2 file\(s\), 4 object\(s\), \d+ problem\(s\)/);
    expect(run.stdout).toContain(`${dir}/a.yaml:1: Pod (no name): `);
    expect(run.stdout).toMatch(/a\.yaml:6: this document is a list, not a Kubernetes object/);
    expect(run.stdout).toMatch(/a\.yaml:9: deficient indentation: a \[ \], \{ \} or quoted value goes on here without its closing \], \} or quote; close it, or indent its next line more \(column 1\) \[yaml\]/);
    expect(run.stdout).toMatch(/b\.json:1: ConfigMap\/c data\.a: got number, want null or string \[kubeconform\]/);
    expect(run.stdout).not.toMatch(/null null|undefined|\[object Object\]|\ba array\b/);
    expect(run.status).toBe(1);
  }, 60_000);
});
