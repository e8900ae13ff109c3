import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadSettings, SettingsError } from '../../trigger/settings';
import { SECRET, TOKEN } from './fixtures';

/** The trigger's environment variables, read by one reader: bad values are refused by name, with the fix. */
let dir: string;
let base: Record<string, string>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trigger-settings-'));
  writeFileSync(join(dir, 'webhook-secret'), SECRET);
  writeFileSync(join(dir, 'api-token'), TOKEN);
  writeFileSync(join(dir, 'builds.yaml'), 'builds:\n  - repo: https://github.com/jpetazzo/container.training\n    ref: main\n    images: [{context: dockercoins/worker}]\n');
  base = { WEBHOOK_SECRET_FILE: join(dir, 'webhook-secret'), API_TOKEN_FILE: join(dir, 'api-token'), BUILDS_CONFIG: join(dir, 'builds.yaml') };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refusal = (env: Record<string, string>) => {
  try {
    loadSettings({ ...base, ...env });
  } catch (e) {
    expect(e).toBeInstanceOf(SettingsError);
    return (e as Error).message;
  }
  throw new Error(`${JSON.stringify(env)} was accepted`);
};

test('defaults: 0.0.0.0:8080, a reconcile every 5 s', () => {
  expect(loadSettings(base)).toMatchObject({ listenHost: '0.0.0.0', port: 8080, reconcileSeconds: 5 });
  expect(loadSettings({ ...base, LISTEN_HOST: '', RECONCILE_SECONDS: '' })).toMatchObject({ listenHost: '0.0.0.0', reconcileSeconds: 5 });
});

test.each([['127.0.0.1'], ['::'], ['::1'], ['localhost'], ['trigger.internal.example.com']])('LISTEN_HOST=%s is taken', (host) => {
  expect(loadSettings({ ...base, LISTEN_HOST: host }).listenHost).toBe(host);
});

test('RECONCILE_SECONDS=30 is taken', () => {
  expect(loadSettings({ ...base, RECONCILE_SECONDS: '30' }).reconcileSeconds).toBe(30);
});

test.each([['abc'], ['0'], ['-5'], ['1.5'], ['5s'], ['1e9']])('RECONCILE_SECONDS=%s is refused, naming the variable and the range (it was NaN: a reconcile every millisecond)', (value) => {
  expect(refusal({ RECONCILE_SECONDS: value })).toBe(`RECONCILE_SECONDS=${value} must be a whole number in 1-3600`);
});

test.each([['not a host'], ['http://0.0.0.0'], ['0.0.0.0:8080'], ['-x']])('LISTEN_HOST=%s is refused with what to use', (value) => {
  expect(refusal({ LISTEN_HOST: value })).toMatch(new RegExp(`^LISTEN_HOST=${value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not an address to listen on: use an IP address \\(0\\.0\\.0\\.0`));
});

test('MAX_BODY_BYTES: 1 MiB by default, up to 25 MiB (GitHub sends up to 25 MB)', () => {
  expect(loadSettings(base).maxBodyBytes).toBe(1024 * 1024);
  expect(loadSettings({ ...base, MAX_BODY_BYTES: '26214400' }).maxBodyBytes).toBe(25 * 1024 * 1024);
});

test.each([['1mb'], ['26214401'], ['0'], ['1.5']])('MAX_BODY_BYTES=%s is refused, naming the variable and the range', (value) => {
  expect(refusal({ MAX_BODY_BYTES: value })).toBe(`MAX_BODY_BYTES=${value} must be a whole number in 1024-26214400`);
});
