/**
 * `npm run bench`: how long synth takes, for the default builds.yaml and for a
 * generated one with 1,000 images (100 builds x 10 images), each run three
 * times as `npm run synth` does it (ts-node main.ts) and as `cdk8s synth` does.
 * Prints medians; nothing here asserts a time.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
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

function time(label: string, command: string, args: string[], env: Record<string, string>): void {
  const seconds: number[] = [];
  let out = '';
  for (let r = 0; r < RUNS; r++) {
    out = mkdtempSync(join(tmpdir(), 'bench-'));
    const started = process.hrtime.bigint();
    const run = spawnSync(command, [...args, ...(command.endsWith('cdk8s') ? ['--output', out] : [])], {
      cwd: ROOT, env: { ...process.env, ...env, CDK8S_OUTDIR: out }, encoding: 'utf-8',
    });
    seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
    if (run.status !== 0) {
      throw new Error(`${label} failed:\n${run.stderr}`);
    }
  }
  const bytes = readdirSync(out).reduce((sum, f) => sum + statSync(join(out, f)).size, 0);
  console.log(`${label.padEnd(44)} median ${median(seconds).toFixed(2)} s  (runs: ${seconds.map((s) => s.toFixed(2)).join(', ')})  output ${(bytes / 1024).toFixed(0)} KiB`);
}

const generated = join(mkdtempSync(join(tmpdir(), 'bench-config-')), 'builds.yaml');
writeFileSync(generated, generatedBuilds(100, 10));
const tsNode = join(ROOT, 'node_modules', '.bin', 'ts-node');
const cdk8s = join(ROOT, 'node_modules', '.bin', 'cdk8s');

console.log(`synth timings, ${RUNS} runs each, on ${require('os').cpus().length} cores`);
time('npm run synth, default builds.yaml', tsNode, ['--transpile-only', 'main.ts'], {});
time('cdk8s synth, default builds.yaml', cdk8s, ['synth', '--check-upgrade=false'], {});
time('npm run synth, 1,000 images (100 builds)', tsNode, ['--transpile-only', 'main.ts'], { BUILDS_CONFIG: generated });
time('cdk8s synth, 1,000 images (100 builds)', cdk8s, ['synth', '--check-upgrade=false'], { BUILDS_CONFIG: generated });

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

const tools = join(ROOT, 'scripts', 'validate-tools');
const chartOut = () => join(mkdtempSync(join(tmpdir(), 'bench-chart-')), 'chart');
console.log(`\nHelm route, ${RUNS} runs each`);
const synthDefault = medianOf('npm run synth, default builds.yaml', tsNode, ['--transpile-only', 'main.ts'], { CDK8S_OUTDIR: mkdtempSync(join(tmpdir(), 'bench-')) });
const helmDefault = medianOf('npm run synth:helm, default builds.yaml', tsNode, ['--transpile-only', 'scripts/synth-helm.ts', '--out', chartOut()]);
const synth1000 = medianOf('npm run synth, 1,000 images', tsNode, ['--transpile-only', 'main.ts'], { BUILDS_CONFIG: generated, CDK8S_OUTDIR: mkdtempSync(join(tmpdir(), 'bench-')) });
const helm1000 = medianOf('npm run synth:helm, 1,000 images', tsNode, ['--transpile-only', 'scripts/synth-helm.ts', '--out', chartOut()], { BUILDS_CONFIG: generated });
const validateDist = medianOf('npm run validate (dist/)', tsNode, ['--transpile-only', 'scripts/validate.ts']);
const validateHelm = medianOf('npm run validate -- --helm (chart/)', tsNode, ['--transpile-only', 'scripts/validate.ts', '--helm']);
const kubeconform = medianOf('kubeconform alone (dist/)', 'bash', [join(tools, 'kubeconform.sh'), 'dist']);
const lint = medianOf('helm lint --strict alone (chart/)', 'bash', [join(tools, 'helm.sh'), 'lint', '--strict', 'chart']);
const template = medianOf('helm template alone (chart/)', 'bash', [join(tools, 'helm.sh'), 'template', 'image-builder', 'chart']);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
console.log(`synth:helm / synth: ${ratio(helmDefault, synthDefault)} (default), ${ratio(helm1000, synth1000)} (1,000 images)`);
console.log(`validate --helm / validate: ${ratio(validateHelm, validateDist)}; (helm lint + helm template) / kubeconform alone: ${ratio(lint + template, kubeconform)}`);
