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
