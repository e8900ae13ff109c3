import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ROOT } from '../support/synth';

/**
 * dist/ is never lost or half-written, on a real full disk and a real
 * read-only mount: tmpfs mounts made here (root, as CI runs), the kernel's own
 * ENOSPC and EROFS. write-dist.test.ts fails every single write position with
 * an injected error; this shows the real errors take the same path. Where
 * mounting is not allowed (not root), these tests are skipped and say so.
 */
const tmp = () => mkdtempSync(join(tmpdir(), 'real-mounts-'));
const readDir = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf-8')]));

function canMount(): boolean {
  const dir = tmp();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const MOUNTABLE = canMount();
const mountTest = MOUNTABLE ? test : test.skip;
if (!MOUNTABLE) console.warn('real-mounts.test.ts: cannot mount tmpfs here (not root?): the real full-disk and read-only cases are skipped');

const mounts: string[] = [];
/** A tmpfs holding an old dist/: the committed manifest with a change synth would undo, and a file synth leaves alone. */
function oldDistOn(options: string): string {
  const dir = tmp();
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
  writeFileSync(join(dir, 'image-builder.k8s.yaml'), `# an older synth\n${readFileSync(join(ROOT, 'dist', 'image-builder.k8s.yaml'), 'utf-8')}`);
  writeFileSync(join(dir, 'README.md'), 'not a manifest: kept\n');
  return dir;
}
afterEach(() => {
  for (const dir of mounts.splice(0)) spawnSync('umount', [dir]);
});

const synth = (out: string, env: Record<string, string> = {}) => spawnSync(process.execPath, ['scripts/synth.js'], {
  cwd: ROOT, env: { ...process.env, CDK8S_OUTDIR: out, ...env }, encoding: 'utf-8',
});

mountTest('a full disk (a 256 KiB tmpfs, 1,000 builds to write): exit 1, ENOSPC in plain words, the old dist/ byte for byte', () => {
  const dir = oldDistOn('size=256k');
  const before = readDir(dir);
  const config = join(tmp(), 'builds.yaml');
  writeFileSync(config, `builds:\n${Array.from({ length: 1000 }, (_, b) => `  - repo: https://git.example.com/team/service-${b}.git\n`).join('')}`);
  const run = synth(dir, { BUILDS_CONFIG: config });
  expect(run.stderr).toBe(`error: cannot write ${dir}/ (ENOSPC); it was left as it was\n`);
  expect(run.status).toBe(1);
  expect(readDir(dir)).toEqual(before);
}, 120_000);

mountTest('a read-only mount: exit 1, EROFS in plain words, the old dist/ byte for byte', () => {
  const dir = oldDistOn('size=1m');
  const before = readDir(dir);
  execFileSync('mount', ['-o', 'remount,ro', dir]);
  const run = synth(dir);
  expect(run.stderr).toBe(`error: cannot write ${dir}/ (EROFS); it was left as it was\n`);
  expect(run.status).toBe(1);
  expect(readDir(dir)).toEqual(before);
}, 120_000);
