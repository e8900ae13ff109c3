/**
 * `npm run bench`: synth timings and output sizes, side by side in one run,
 * reported as ratios against the cdk8s template's way (`ts-node main.ts`, with
 * type checking), for the default builds.yaml, 1,000 images (100 builds x 10
 * images) and 1,000 builds (one image each). The three ways run alternately
 * (template, npm run synth, cdk8s synth, template, ...) so load on the machine
 * hits them alike. Prints medians and ratios; nothing here asserts a time.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { availableParallelism, cpus, tmpdir } from 'os';
import { join } from 'path';

const ROOT = join(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function generatedBuilds(builds: number, imagesPerBuild: number): string {
  const lines = ['builds:'];
  for (let b = 0; b < builds; b++) {
    lines.push(`  - repo: https://git.example.com/team/service-${b}.git`, '    ref: main', '    images:');
    for (let i = 0; i < imagesPerBuild; i++) {
      lines.push(`      - context: components/s${b}-c${i}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface Way { readonly label: string; readonly command: string; readonly args: string[]; readonly cdk8s?: boolean; readonly env?: Record<string, string> }

/** One timed run into a fresh output folder: seconds and bytes written. */
function runOnce(way: Way, env: Record<string, string>): { seconds: number; bytes: number } {
  const out = mkdtempSync(join(tmpdir(), 'bench-'));
  const started = process.hrtime.bigint();
  const run = spawnSync(way.command, [...way.args, ...(way.cdk8s ? ['--output', out] : [])], {
    cwd: ROOT, env: { ...process.env, ...env, ...way.env, CDK8S_OUTDIR: out, IMAGE_BUILDER_DIST: out }, encoding: 'utf-8',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`${way.label} failed (${run.error?.message ?? `exit ${run.status ?? run.signal}`}):\n${run.stderr}`);
  return { seconds, bytes: readdirSync(out).reduce((sum, f) => sum + statSync(join(out, f)).size, 0) };
}

/** Runs every way RUNS times, alternating; prints medians and ratios to the first way. */
function compare(title: string, ways: Way[], env: Record<string, string>): { medians: number[]; bytes: number } {
  const seconds = ways.map((): number[] => []);
  let bytes = 0;
  for (let r = 0; r < RUNS; r++) {
    ways.forEach((way, w) => {
      const result = runOnce(way, env);
      seconds[w].push(result.seconds);
      bytes = Math.max(bytes, result.bytes);
    });
  }
  const medians = seconds.map(median);
  console.log(`\n${title}: output ${(bytes / 1024).toFixed(0)} KiB (${(bytes / 1e6).toFixed(2)} MB)`);
  ways.forEach((way, w) => {
    const ratio = w === 0 ? '(baseline)' : `${(medians[w] / medians[0]).toFixed(2)}x the template's way`;
    console.log(`  ${way.label.padEnd(40)} median ${medians[w].toFixed(2)} s  ${ratio.padEnd(28)} runs: ${seconds[w].map((x) => x.toFixed(2)).join(', ')}`);
  });
  return { medians, bytes };
}

const dir = mkdtempSync(join(tmpdir(), 'bench-config-'));
const images1000 = join(dir, 'images-1000.yaml');
const builds1000 = join(dir, 'builds-1000.yaml');
writeFileSync(images1000, generatedBuilds(100, 10));
writeFileSync(builds1000, generatedBuilds(1000, 1));
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);
const tsNode = bin('ts-node');
const cdk8s = bin('cdk8s');

// What `npm run synth` runs (npm itself adds its own start-up on top), with build/ up to date:
// scripts/synth.js rebuilds only when a source changed, which a first run below makes sure of.
spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.js')], { cwd: ROOT, stdio: 'inherit' });
const TEMPLATE: Way = { label: "template's way: ts-node main.ts", command: tsNode, args: ['main.ts'] };
const SYNTH: Way = { label: 'npm run synth (node scripts/synth.js)', command: process.execPath, args: ['scripts/synth.js'] };
const CDK8S: Way = { label: 'cdk8s synth', command: cdk8s, args: ['synth', '--check-upgrade=false'], cdk8s: true };
const CDK8S_ALONE: Way = { label: 'cdk8s --version (cdk8s-cli start-up)', command: cdk8s, args: ['--version', '--check-upgrade=false'] };

console.log(`synth, ${RUNS} alternating runs of each way, on ${cpus().length} cores, node ${process.version}`);
// cdk8s-cli's own start-up, with Node's compile cache (NODE_COMPILE_CACHE, a user's choice: nothing in
// the project can set it for the `cdk8s` command) to show what of it is parsing its code.
const CDK8S_ALONE_CACHED: Way = { ...CDK8S_ALONE, label: 'cdk8s --version, NODE_COMPILE_CACHE set', env: { NODE_COMPILE_CACHE: join(ROOT, 'build', '.cdk8s-cli-compile-cache') } };
spawnSync(cdk8s, CDK8S_ALONE.args, { cwd: ROOT, env: { ...process.env, ...CDK8S_ALONE_CACHED.env } }); // fills the cache
const [templateWay, synthWay, cdk8sSynth, cdk8sAlone, cdk8sCached] = compare('default builds.yaml', [TEMPLATE, SYNTH, CDK8S, CDK8S_ALONE, CDK8S_ALONE_CACHED], {}).medians;
const x = (s: number) => `${(s / templateWay).toFixed(2)}x`;
console.log(`  targets <= 0.1x: npm run synth ${x(synthWay)}; cdk8s synth ${x(cdk8sSynth)} = cdk8s-cli's own start-up ${x(cdk8sAlone)} (its floor: `
  + `no project change reaches below it; ${x(cdk8sCached)} with NODE_COMPILE_CACHE) + ${x(cdk8sSynth - cdk8sAlone)} for the app and the policy plugin`);
compare('1,000 images (100 builds x 10 images)', [TEMPLATE, SYNTH, CDK8S], { BUILDS_CONFIG: images1000 });
const builds = compare('1,000 builds (one image each)', [TEMPLATE, SYNTH, CDK8S], { BUILDS_CONFIG: builds1000 });
console.log(`  targets: npm run synth ${builds.medians[1].toFixed(2)} s (<= 2 s); dist/ ${(builds.bytes / 1e6).toFixed(2)} MB (<= 2 MB)`);

// The Helm route: what synth:helm adds to synth, and what `validate --helm` (helm lint --strict +
// helm template + the same layers) costs against validating dist/ and against kubeconform alone.
function medianOf(label: string, command: string, args: string[], env: Record<string, string> = {}): number {
  const seconds: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const started = process.hrtime.bigint();
    const run = spawnSync(command, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf-8' });
    seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
    if (run.status !== 0) throw new Error(`${label} failed:\n${run.stderr}${run.stdout}`);
  }
  const m = median(seconds);
  console.log(`${label.padEnd(44)} median ${m.toFixed(2)} s  (runs: ${seconds.map((s) => s.toFixed(2)).join(', ')})`);
  return m;
}

/**
 * Runs each command `runs` times, alternating, with the order reversed every other round
 * (a, b, b, a, a, b, ...) so that load on the machine, and going first, hit them alike; medians.
 */
function alternating(ways: Array<{ label: string; command: string; args: string[] }>, runs = RUNS): number[] {
  const seconds = ways.map((): number[] => []);
  for (let r = 0; r < runs; r++) {
    const order = ways.map((way, w) => ({ way, w }));
    if (r % 2 === 1) order.reverse();
    order.forEach(({ way, w }) => {
      const started = process.hrtime.bigint();
      const run = spawnSync(way.command, way.args, { cwd: ROOT, encoding: 'utf-8' });
      seconds[w].push(Number(process.hrtime.bigint() - started) / 1e9);
      if (run.status !== 0) throw new Error(`${way.label} failed:\n${run.stderr}${run.stdout}`);
    });
  }
  return ways.map((way, w) => {
    const m = median(seconds[w]);
    console.log(`${way.label.padEnd(44)} median ${m.toFixed(2)} s  (runs: ${seconds[w].map((x) => x.toFixed(2)).join(', ')})`);
    return m;
  });
}

const tools = join(ROOT, 'scripts', 'validate-tools');
const chartOut = () => join(mkdtempSync(join(tmpdir(), 'bench-chart-')), 'chart');
console.log(`\nHelm route, ${RUNS} runs each`);
const synthDefault = medianOf('npm run synth, default builds.yaml', process.execPath, ['scripts/synth.js'], { CDK8S_OUTDIR: mkdtempSync(join(tmpdir(), 'bench-')) });
const helmDefault = medianOf('npm run synth:helm, default builds.yaml', tsNode, ['--transpile-only', 'scripts/synth-helm.ts', '--out', chartOut()]);
const synth1000 = medianOf('npm run synth, 1,000 images', process.execPath, ['scripts/synth.js'], { BUILDS_CONFIG: images1000, CDK8S_OUTDIR: mkdtempSync(join(tmpdir(), 'bench-')) });
const helm1000 = medianOf('npm run synth:helm, 1,000 images', tsNode, ['--transpile-only', 'scripts/synth-helm.ts', '--out', chartOut()], { BUILDS_CONFIG: images1000 });
const validateDist = medianOf('npm run validate (dist/)', process.execPath, ['scripts/validate.js']);
const validateHelm = medianOf('npm run validate -- --helm (chart/)', process.execPath, ['scripts/validate.js', '--helm']);
const kubeconform = medianOf('kubeconform alone (dist/)', 'bash', [join(tools, 'kubeconform.sh'), 'dist']);
const lint = medianOf('helm lint --strict alone (chart/)', 'bash', [join(tools, 'helm.sh'), 'lint', '--strict', 'chart']);
const template = medianOf('helm template alone (chart/)', 'bash', [join(tools, 'helm.sh'), 'template', 'image-builder', 'chart']);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
console.log(`synth:helm / synth: ${ratio(helmDefault, synthDefault)} (default), ${ratio(helm1000, synth1000)} (1,000 images)`);
console.log(`validate --helm / validate: ${ratio(validateHelm, validateDist)}; (helm lint + helm template) / kubeconform alone: ${ratio(lint + template, kubeconform)}`);

// Validation at scale: `npm run validate` on a generated 1,000-build dist/ against kubeconform
// alone on the same file (the binary with the same flags, nothing else), and `--server` (one
// kubectl per 250 objects, errors mapped back) against the local API server (ports from
// ETCD_CLIENT_PORT/ETCD_PEER_PORT/APISERVER_PORT; BENCH_SERVER=0 skips it).
const dist1000 = mkdtempSync(join(tmpdir(), 'bench-dist-'));
const synthRun = spawnSync(process.execPath, ['scripts/synth.js'], { cwd: ROOT, env: { ...process.env, BUILDS_CONFIG: builds1000, CDK8S_OUTDIR: dist1000 }, encoding: 'utf-8' });
if (synthRun.status !== 0) throw new Error(`synth of 1,000 builds failed:\n${synthRun.stderr}`);
const toolsDir = process.env.VALIDATE_TOOLS_DIR ?? join(ROOT, '.tools');
// The pinned Kubernetes version, as scripts/validate-tools/kubeconform.sh gives it to kubeconform.
const k8sVersion = /^K8S_VERSION=v?(\S+)$/m.exec(readFileSync(join(tools, 'versions.env'), 'utf-8'))![1];
// Each pair takes ~2 s: more runs than the rest of the bench, for a ratio the load moves less.
const VALIDATE_RUNS = Number(process.env.BENCH_VALIDATE_RUNS ?? 7);
console.log(`\nValidation of a generated 1,000-build dist/ (${dist1000}, ${(statSync(join(dist1000, 'image-builder.k8s.yaml')).size / 1e6).toFixed(2)} MB), ${VALIDATE_RUNS} alternating runs each`);
const kubeconformArgs = ['-strict', '-summary', '-kubernetes-version', k8sVersion, '-schema-location',
  join(toolsDir, 'schemas', '{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json')];
// kubeconform as a user runs it (its default 4 workers), and with one worker per core as validate runs it.
const [kubeconformAlone, kubeconformPerCore, validate1000] = alternating([
  { label: 'kubeconform alone (binary, -strict)', command: join(toolsDir, 'bin', 'kubeconform'), args: [...kubeconformArgs, dist1000] },
  { label: `kubeconform alone, -n ${availableParallelism()} (as validate runs it)`, command: join(toolsDir, 'bin', 'kubeconform'), args: [...kubeconformArgs, '-n', String(availableParallelism()), dist1000] },
  { label: 'npm run validate (yaml, policy, kubeconform)', command: process.execPath, args: ['scripts/validate.js', dist1000] },
], VALIDATE_RUNS);
console.log(`validate / kubeconform alone: ${ratio(validate1000, kubeconformAlone)} (target <= 1.5x); validate / kubeconform -n ${availableParallelism()}: ${ratio(validate1000, kubeconformPerCore)}`);
if (process.env.BENCH_SERVER !== '0') {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['scripts/validate.js', '--server', dist1000], { cwd: ROOT, encoding: 'utf-8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`validate --server failed:\n${run.stderr}${run.stdout}`);
  console.log(`npm run validate -- --server, 1,000 builds: ${seconds.toFixed(1)} s, one run, API server start and stop included (target <= 60 s)`);
}
