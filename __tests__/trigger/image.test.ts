import { spawnSync } from 'child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { SECRET, TOKEN } from './fixtures';

/**
 * trigger/image/: what trigger/Dockerfile copies into the image, the program bundled with its
 * dependencies by `npm run build:trigger` and committed (the image builds with no npm and no
 * network). It must be fresh, and it must run on Node alone.
 */
const ROOT = join(__dirname, '..', '..');
// scripts/build.js is the project's CommonJS build script (esbuild)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { triggerImageFiles, TRIGGER_BUNDLE } = require('../../scripts/build.js');

let dir: string;
beforeAll(() => {
  // an empty directory: no node_modules anywhere above it either
  dir = mkdtempSync(join(tmpdir(), 'trigger-image-'));
  copyFileSync(TRIGGER_BUNDLE, join(dir, 'build-trigger.js'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(env: Record<string, string>) {
  return spawnSync(process.execPath, [join(dir, 'build-trigger.js')], { cwd: dir, env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf-8', timeout: 60_000 });
}

test('the committed trigger/image/ is what `npm run build:trigger` makes of these sources', async () => {
  const files: { path: string; contents: Buffer }[] = await triggerImageFiles();
  expect(files.map((f) => relative(ROOT, f.path)).sort()).toEqual(['trigger/image/THIRD-PARTY-LICENSES.txt', 'trigger/image/build-trigger.js']);
  for (const f of files) {
    const committed = readFileSync(f.path);
    if (!committed.equals(f.contents)) {
      throw new Error(`${relative(ROOT, f.path)} is stale: run \`npm run build:trigger\` and commit trigger/image/ with the change that produced it`);
    }
  }
}, 60_000);

test('it runs on Node alone (no node_modules) and refuses to start without its secrets', () => {
  const r = run({});
  expect(r.stderr).toMatch(/^build-trigger cannot start: WEBHOOK_SECRET_FILE is not set/);
  expect(r.status).toBe(1);
});

test('with its settings it reads builds.yaml (schema, plan) and gets as far as the cluster', () => {
  writeFileSync(join(dir, 'webhook-secret'), SECRET);
  writeFileSync(join(dir, 'api-token'), TOKEN);
  writeFileSync(join(dir, 'builds.yaml'), 'builds:\n  - repo: https://github.com/jpetazzo/container.training\n    ref: main\n    images: [{context: dockercoins/worker}]\n');
  // an API server that is not there: port 1 on loopback
  writeFileSync(join(dir, 'kubeconfig'), `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: not-a-token}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);
  const r = run({
    WEBHOOK_SECRET_FILE: join(dir, 'webhook-secret'), API_TOKEN_FILE: join(dir, 'api-token'),
    BUILDS_CONFIG: join(dir, 'builds.yaml'), KUBECONFIG: join(dir, 'kubeconfig'),
  });
  expect(r.stderr).toMatch(/^build-trigger failed: .*(ECONNREFUSED|fetch failed|connect)/i);
  expect(r.status).toBe(1);
  // and a builds.yaml mistake is refused with file, line and fix, as by synth
  writeFileSync(join(dir, 'builds.yaml'), 'builds:\n  - repo: https://github.com/jpetazzo/container.training\n    ref: main\n    imagez: []\n');
  const bad = run({ WEBHOOK_SECRET_FILE: join(dir, 'webhook-secret'), API_TOKEN_FILE: join(dir, 'api-token'), BUILDS_CONFIG: join(dir, 'builds.yaml') });
  expect(bad.stderr).toMatch(/^build-trigger cannot start: .*builds\.yaml:4/s);
  expect(bad.status).toBe(1);
});

test('RECONCILE_SECONDS and LISTEN_HOST that make no sense stop it before it starts, naming the variable', () => {
  writeFileSync(join(dir, 'webhook-secret'), SECRET);
  writeFileSync(join(dir, 'api-token'), TOKEN);
  writeFileSync(join(dir, 'builds.yaml'), 'builds:\n  - repo: https://github.com/jpetazzo/container.training\n    ref: main\n');
  const env = { WEBHOOK_SECRET_FILE: join(dir, 'webhook-secret'), API_TOKEN_FILE: join(dir, 'api-token'), BUILDS_CONFIG: join(dir, 'builds.yaml') };
  const reconcile = run({ ...env, RECONCILE_SECONDS: 'abc' });
  expect([reconcile.status, reconcile.stderr]).toEqual([1, 'build-trigger cannot start: RECONCILE_SECONDS=abc must be a whole number in 1-3600\n']);
  const host = run({ ...env, LISTEN_HOST: 'http://0.0.0.0' });
  expect([host.status, host.stderr]).toEqual([1, expect.stringMatching(/^build-trigger cannot start: LISTEN_HOST=http:\/\/0\.0\.0\.0 is not an address to listen on: [^\n]*\n$/)]);
});
