import { ChildProcess, spawn } from 'child_process';
import { createHmac } from 'crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { request } from 'http';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import * as k8s from '@kubernetes/client-node';
import { KUBECONFIG, kubectl, startApiServer } from '../lib/validation/apiserver';
import { KubeCluster } from '../trigger/cluster';

/**
 * The build trigger under a burst, as its image runs it: the bundle `npm run build:trigger` makes
 * of the current sources, on Node alone, in its own process, against the real local API server.
 *
 * Round 1 (220 webhooks in 11 s): 80 valid pushes (80 branches), 60 redeliveries of them, 60 badly
 * signed, and 20 pushes to one branch (each cancels the one before). Then SIGTERM (it finishes
 * every decision first), a new trigger process, and round 2: the 60 redeliveries again, which only
 * the cluster's labels can recognise now. Then a flood of 500 unsigned 1 MiB posts at once, sent
 * slowly (the trigger holds bodies as they arrive, before it can check their signatures).
 *
 * Checked (exit 1 otherwise): the exact answer table of each round, the exact Job names (the 80
 * branches and the last push of the busy branch), exactly the concurrency limit running, and round
 * 2 creating nothing. Reported, never asserted: latencies and memory (RSS as ratios to the idle
 * process's, VmHWM for peaks).
 */
const SECRET = 'bench-webhook-secret-0123456789';
const TOKEN = 'bench-api-token-0123456789abcdef';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const LIMIT = 2;
const hot = (i: number) => `c${i.toString(16).padStart(6, '0')}${'0'.repeat(33)}`;

function payload(ref: string, after: string): string {
  return JSON.stringify({
    ref, before: '0'.repeat(39) + '1', after, deleted: false,
    repository: { clone_url: 'https://github.com/jpetazzo/container.training.git', full_name: 'jpetazzo/container.training' },
    commits: Array.from({ length: 20 }, (_, c) => ({ id: after, message: `commit ${c} `.repeat(20) })),
  });
}

interface Hook { kind: string; delivery: string; body: string; sig?: string; at: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

/** VmRSS and VmHWM (peak) of a process, in bytes. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf-8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** Resets VmHWM so that the next peak is of what follows (Linux: writing 5 to clear_refs). */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

class Trigger {
  output = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess, readonly url: string) {
    child.stdout!.on('data', (d) => { this.output += d; });
    child.stderr!.on('data', (d) => { this.output += d; });
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
  }

  static async start(bundle: string, env: NodeJS.ProcessEnv): Promise<Trigger> {
    const port = await freePort();
    const child = spawn(process.execPath, [bundle], { env: { ...env, PORT: String(port), LISTEN_HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const t = new Trigger(child, `http://127.0.0.1:${port}`);
    for (const end = Date.now() + 60_000; !/listening on/.test(t.output); await sleep(50)) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`the trigger did not start:\n${t.output}`);
    }
    // the bench's own HTTP client warmed up, so the burst measures answers, not start-up
    await (await fetch(`${t.url}/healthz`)).text();
    return t;
  }

  /** SIGTERM: it finishes every decision, then exits; resolves with the time that took. */
  async stop(): Promise<{ code: number | null; ms: number }> {
    const t0 = Date.now();
    this.child.kill('SIGTERM');
    const code = await this.exited;
    return { code, ms: Date.now() - t0 };
  }
}

/** Sends the hooks at their times; answers counted by kind and status, latencies by kind. */
async function burst(url: string, hooks: Hook[], pid: number) {
  const answers = new Map<string, number>();
  const latencies = new Map<string, number[]>();
  let peakRss = 0;
  const started = Date.now();
  await Promise.all(hooks.map(async (h) => {
    await sleep(h.at);
    const sig = h.sig ?? `sha256=${createHmac('sha256', SECRET).update(h.body).digest('hex')}`;
    const t0 = Date.now();
    const res = await fetch(`${url}/hooks/github`, { method: 'POST', body: h.body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': h.delivery, 'x-hub-signature-256': sig } });
    const body = await res.json() as { outcome?: string };
    const ms = Date.now() - t0;
    latencies.set(h.kind, [...(latencies.get(h.kind) ?? []), ms]);
    const key = `${h.kind} → ${res.status}${body.outcome ? ` ${body.outcome}` : ''}`;
    answers.set(key, (answers.get(key) ?? 0) + 1);
    peakRss = Math.max(peakRss, memory(pid).rss);
  }));
  return { answers: Object.fromEntries([...answers.entries()].sort()), latencies, elapsed: Date.now() - started, peakRss };
}

/**
 * `count` unsigned posts of `size` bytes (one shared buffer), all at once, each holding back its
 * last byte for `holdMs`: slow senders, whose bodies the trigger holds while they arrive. What
 * each got back (a 503 closes the connection unread: the sender may see the reset first).
 */
async function flood(url: string, count: number, size: number, holdMs: number): Promise<Record<string, number>> {
  const body = Buffer.alloc(size, 'x');
  const { port } = new URL(url);
  const hold = sleep(holdMs);
  const results = await Promise.all(Array.from({ length: count }, (_, i) => new Promise<string>((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/hooks/github', agent: false, headers: { 'content-length': String(size), 'x-github-event': 'push', 'x-github-delivery': `flood-${i}`, 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) } });
    req.on('response', (res) => { res.resume(); res.on('end', () => resolve(String(res.statusCode))); });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`connection ${e.code ?? e.message}`));
    req.write(body.subarray(0, size - 1));
    void hold.then(() => req.end(body.subarray(size - 1)));
  })));
  const counts: Record<string, number> = {};
  for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function same(what: string, actual: unknown, expected: unknown, problems: string[]): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) problems.push(`${what}: expected ${e.slice(0, 400)}, got ${a.slice(0, 400)}`);
}

async function main(): Promise<void> {
  const stopApiServer = startApiServer();
  const namespace = `bench-${Date.now().toString(36)}`;
  kubectl(['create', 'namespace', namespace]);
  const dir = mkdtempSync(join(tmpdir(), 'bench-trigger-'));
  const problems: string[] = [];
  try {
    // the image's program, from the current sources (written elsewhere: trigger/image/ is untouched)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { triggerImageFiles } = require('./build.js') as { triggerImageFiles: () => Promise<{ path: string; contents: Buffer }[]> };
    const bundle = join(dir, 'build-trigger.js');
    writeFileSync(bundle, (await triggerImageFiles()).find((f) => f.path.endsWith('build-trigger.js'))!.contents);
    writeFileSync(join(dir, 'builds.yaml'), [
      'registry:', '  nodePort: 30500', 'builds:', '  - repo: https://github.com/jpetazzo/container.training', '    ref: main',
      '    images:', '      - context: dockercoins/worker', '    trigger:', '      branches: [main, "feature/*", busy]', '',
    ].join('\n'));
    writeFileSync(join(dir, 'webhook-secret'), SECRET);
    writeFileSync(join(dir, 'api-token'), TOKEN);
    const env = {
      PATH: '/usr/bin:/bin', KUBECONFIG, NAMESPACE: namespace, BUILDS_CONFIG: join(dir, 'builds.yaml'),
      WEBHOOK_SECRET_FILE: join(dir, 'webhook-secret'), API_TOKEN_FILE: join(dir, 'api-token'), MAX_CONCURRENT_BUILDS: String(LIMIT),
    };
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(KUBECONFIG);
    const cluster = new KubeCluster(kc, namespace);

    // Round 1: 220 webhooks, one every 50 ms; each valid push before its redelivery, the busy branch's in order.
    const hooks: Hook[] = [];
    for (let i = 0; i < 80; i++) hooks.push({ kind: 'valid', delivery: `d-${i}`, body: payload(`refs/heads/feature/b${i}`, COMMIT), at: 0 });
    for (let i = 0; i < 60; i++) hooks.push({ kind: 'redelivery', delivery: `d-${i}`, body: payload(`refs/heads/feature/b${i}`, COMMIT), at: 0 });
    for (let i = 0; i < 60; i++) hooks.push({ kind: 'bad signature', delivery: `x-${i}`, body: payload(`refs/heads/feature/x${i}`, COMMIT), sig: 'sha256=' + 'f'.repeat(64), at: 0 });
    for (let i = 0; i < 20; i++) hooks.push({ kind: 'busy branch', delivery: `busy-${i}`, body: payload('refs/heads/busy', hot(i)), at: 0 });
    const slot = (h: Hook, i: number) => h.kind === 'valid' ? i * 110 : h.kind === 'redelivery' ? i * 110 + 4000 : h.kind === 'busy branch' ? i * 500 + 25 : i * 180 + 60;
    const byKind = new Map<string, number>();
    for (const h of hooks) {
      const i = byKind.get(h.kind) ?? 0;
      byKind.set(h.kind, i + 1);
      h.at = slot(h, i);
    }

    const first = await Trigger.start(bundle, env);
    const idle = memory(first.child.pid!);
    resetPeak(first.child.pid!);
    const round1 = await burst(first.url, hooks, first.child.pid!);
    const peak1 = memory(first.child.pid!).peak;
    const stop1 = await first.stop();
    same('round 1 answers', round1.answers, {
      'bad signature → 401': 60, 'busy branch → 202 accepted': 20, 'redelivery → 200 duplicate': 60, 'valid → 202 accepted': 80,
    }, problems);
    same('first trigger exit code after SIGTERM', stop1.code, 0, problems);
    const jobs1 = await cluster.listJobs();
    const expectedNames = [...Array.from({ length: 80 }, (_, i) => `build-container-training-main-feature-b${i}-0123456`), `build-container-training-main-busy-${hot(19).slice(0, 7)}`].sort();
    same('Jobs after round 1', jobs1.map((j) => j.name).sort(), expectedNames, problems);
    same('Jobs running after round 1 (the limit)', jobs1.filter((j) => !j.suspended).length, LIMIT, problems);
    const cancelled = (first.output.match(/; cancelled /g) ?? []).length;
    same('decisions that cancelled an older busy-branch build', cancelled, 19, problems);

    // Round 2: a new process (nothing in memory), the 60 redeliveries again.
    const second = await Trigger.start(bundle, env);
    const idle2 = memory(second.child.pid!);
    const redeliveries = hooks.filter((h) => h.kind === 'redelivery').map((h, i) => ({ ...h, kind: 'redelivery after restart', at: i * 50 }));
    const round2 = await burst(second.url, redeliveries, second.child.pid!);
    same('round 2 answers (a new process: accepted, then decided from the labels)', round2.answers, { 'redelivery after restart → 202 accepted': 60 }, problems);

    // The flood: 500 concurrent unsigned 1 MiB bodies against the 64 MiB budget.
    resetPeak(second.child.pid!);
    const floodStarted = Date.now();
    const flooded = await flood(second.url, 500, 1024 * 1024, 3000);
    const floodMs = Date.now() - floodStarted;
    const peakFlood = memory(second.child.pid!).peak;
    const stop2 = await second.stop();
    same('second trigger exit code after SIGTERM', stop2.code, 0, problems);
    const duplicates = (second.output.match(/: duplicate: delivery d-\d+ from github already built by /g) ?? []).length;
    same('round 2 decisions found duplicate through the cluster labels', duplicates, 60, problems);
    const jobs2 = await cluster.listJobs();
    same('Jobs after round 2 (none created)', jobs2.map((j) => j.name).sort(), expectedNames, problems);
    same('Jobs running after round 2', jobs2.filter((j) => !j.suspended).length, LIMIT, problems);
    const lat = (l: Map<string, number[]>) => [...l.entries()].sort().map(([k, v]) => `    ${k.padEnd(24)} p50 ${pct(v, 0.5)} ms, p99 ${pct(v, 0.99)} ms, max ${Math.max(...v)} ms`).join('\n');
    console.log(`\nbuild trigger (its image's bundle, own process) against the local kube-apiserver`);
    console.log(`  round 1: ${hooks.length} webhooks in ${(round1.elapsed / 1000).toFixed(1)} s`);
    for (const [k, v] of Object.entries(round1.answers)) console.log(`    ${k.padEnd(32)} ${v}`);
    console.log(lat(round1.latencies));
    console.log(`    SIGTERM → exit ${stop1.code} after ${(stop1.ms / 1000).toFixed(1)} s (every decision finished first)`);
    console.log(`    Jobs: ${jobs1.length} (80 branches + the busy branch's last push; ${cancelled} older busy-branch builds cancelled), running ${jobs1.filter((j) => !j.suspended).length} (limit ${LIMIT})`);
    console.log(`  round 2 (restarted trigger): ${redeliveries.length} redeliveries in ${(round2.elapsed / 1000).toFixed(1)} s`);
    for (const [k, v] of Object.entries(round2.answers)) console.log(`    ${k.padEnd(32)} ${v}`);
    console.log(lat(round2.latencies));
    console.log(`    decided duplicate from the cluster's labels: ${duplicates}; Jobs after: ${jobs2.length}`);
    console.log(`  flood: 500 unsigned 1 MiB posts at once, each holding its last byte 3 s, in ${(floodMs / 1000).toFixed(1)} s: ${Object.entries(flooded).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    const ratio = (n: number, base: number) => `${mib(n)} (${(n / base).toFixed(2)}x idle)`;
    console.log(`  memory (RSS of the trigger process; idle = started, builds loaded, before any webhook: ${mib(idle.rss)}, ${mib(idle2.rss)} after the restart):`);
    console.log(`    round 1 peak ${ratio(peak1, idle.rss)}, sampled max ${ratio(round1.peakRss, idle.rss)}`);
    console.log(`    flood peak ${ratio(peakFlood, idle2.rss)}; the flood's bodies: ${mib(500 * 1024 * 1024)} (${((500 * 1024 * 1024) / idle2.rss).toFixed(1)}x idle) sent at once`);
    if (problems.length > 0) {
      console.log(`\nbench-trigger: ${problems.length} check(s) failed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
      process.exitCode = 1;
    }
  } finally {
    kubectl(['delete', 'namespace', namespace, '--wait=false']);
    rmSync(dir, { recursive: true, force: true });
    stopApiServer();
  }
}

main().catch((e) => {
  console.error(`bench-trigger failed: ${(e as Error).message}`);
  process.exit(1);
});
