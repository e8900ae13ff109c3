import { spawnSync } from 'child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ROOT } from '../support/synth';

/**
 * scripts/build.js decides on every synth whether build/ is stale: a cheap
 * stat check first, the inputs' content hash when a stat differs or is too
 * recent to trust. Here in a scratch copy of the project (node_modules linked),
 * so build/ of the working tree is never touched.
 */
describe('scripts/build.js: build/ follows the sources', () => {
  let project: string;
  const constantFile = () => join(project, 'lib', 'constructs', 'builder-container.ts');
  const run = (script: string, env: Record<string, string> = {}) => spawnSync(process.execPath, [join(project, 'scripts', script)], {
    cwd: project, env: { ...process.env, ...env }, encoding: 'utf-8',
  });
  const synthImage = () => {
    const out = mkdtempSync(join(tmpdir(), 'build-test-dist-'));
    const synth = run('synth.js', { CDK8S_OUTDIR: out, BUILDS_CONFIG: join(project, 'builds.yaml') });
    expect(synth.stderr).toBe('');
    return /image: (docker:[^\n]*)/.exec(readFileSync(join(out, 'image-builder.k8s.yaml'), 'utf-8'))?.[1];
  };
  /** Replaces the docker CLI image constant, keeping the file's size. */
  const setImage = (tag: string) => {
    const text = readFileSync(constantFile(), 'utf-8');
    writeFileSync(constantFile(), text.replace(/DOCKER_CLI_IMAGE = 'docker:[^']*'/, `DOCKER_CLI_IMAGE = 'docker:${tag}'`));
  };

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'build-test-'));
    for (const path of ['main.ts', 'lib', 'scripts', 'package-lock.json', 'builds.yaml', 'tsconfig.json']) {
      cpSync(join(ROOT, path), join(project, path), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  test('a fresh copy builds, an unchanged one is up to date, an edit (even of the same size, right after a build) rebuilds', () => {
    expect(run('build.js').stdout).toMatch(/^built: /);
    expect(run('build.js').stdout).toMatch(/^up to date: /);
    expect(synthImage()).toBe('docker:28.2.2-cli');
    // The same size and within the same second as the build: only the content hash can tell.
    setImage('28.2.3-cli');
    expect(synthImage()).toBe('docker:28.2.3-cli');
    // An edit whose mtime is set back to an old time (as `git checkout` of an older tree may do).
    const old = statSync(constantFile());
    setImage('28.2.4-cli');
    utimesSync(constantFile(), old.atime, new Date(Date.now() - 3600_000));
    expect(synthImage()).toBe('docker:28.2.4-cli');
    expect(run('build.js').stdout).toMatch(/^up to date: /);
    // A bundle removed by hand is built again, however fresh the stamp says the inputs are.
    rmSync(join(project, 'build', 'policy.js'));
    expect(run('build.js').stdout).toMatch(/^built: /);
  }, 120_000);

  test('stats older than the racy window are trusted: no file is read', () => {
    // Age every input by an hour, let one check record those stats, then make the hash differ
    // from the sources without a stat changing: only a run that trusts the stats says up to date.
    const inputs = JSON.parse(readFileSync(join(project, 'build', 'inputs.json'), 'utf-8'));
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const f of inputs.files) utimesSync(join(project, f), hourAgo, hourAgo);
    expect(run('build.js').stdout).toMatch(/^up to date: /);
    const recorded = JSON.parse(readFileSync(join(project, 'build', 'inputs.json'), 'utf-8'));
    writeFileSync(join(project, 'build', 'inputs.json'), JSON.stringify({ ...recorded, hash: 'not the hash' }));
    expect(run('build.js').stdout).toMatch(/^up to date: /);
    // One stat differs: the hash is compared (and differs), so it builds.
    utimesSync(join(project, 'main.ts'), new Date(), new Date(Date.now() - 7200_000));
    expect(run('build.js').stdout).toMatch(/^built: /);
  }, 120_000);
});
