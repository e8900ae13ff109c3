import { createHmac } from 'crypto';
import { AddressInfo } from 'net';
import { monitorEventLoopDelay } from 'perf_hooks';
import * as k8s from '@kubernetes/client-node';
import { KUBECONFIG, kubectl, startApiServer } from '../lib/validation/apiserver';
import { KubeCluster } from '../trigger/cluster';
import { BuildController } from '../trigger/controller';
import { triggerableBuilds } from '../trigger/match';
import { createTriggerServer } from '../trigger/server';

/**
 * A burst of 200 GitHub webhooks in 10 s against the trigger and the real
 * local API server: 80 valid pushes (80 branches), 60 redeliveries of them,
 * 60 badly signed. Prints answer counts, Jobs created, answer latencies (all and
 * per kind), the event loop's delay (the process's own stalls, apart from the
 * machine's load), when the last Job existed, and memory.
 */
const SECRET = 'bench-webhook-secret-0123456789';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function payload(i: number): string {
  return JSON.stringify({
    ref: `refs/heads/feature/b${i}`, before: '0'.repeat(39) + '1', after: COMMIT, deleted: false,
    repository: { clone_url: 'https://github.com/jpetazzo/container.training.git', full_name: 'jpetazzo/container.training' },
    commits: Array.from({ length: 20 }, (_, c) => ({ id: COMMIT, message: `commit ${c} `.repeat(20) })),
  });
}

async function main(): Promise<void> {
  const stop = startApiServer();
  const namespace = `bench-${Date.now().toString(36)}`;
  kubectl(['create', 'namespace', namespace]);
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(KUBECONFIG);
    const cluster = new KubeCluster(kc, namespace);
    const controller = new BuildController(cluster, {
      builds: triggerableBuilds([{ repo: 'https://github.com/jpetazzo/container.training', ref: 'main', defaultBranch: 'main', images: [{ context: 'dockercoins/worker', dockerfile: 'Dockerfile' }], trigger: { branches: ['feature/*'], tags: [] } }]),
      job: { registryPort: 30500 },
      maxConcurrentBuilds: 2,
    });
    const server = createTriggerServer({ controller, webhookSecret: SECRET, apiToken: 'bench-api-token-0123456789', log: () => undefined });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/github`;
    // As `npm run trigger` starts: a warm-up and one reconcile before listening (the API client's first call),
    // and the bench's own HTTP client warmed up, so the burst measures answers, not start-up.
    controller.warmUp();
    await controller.reconcile();
    await (await fetch(url.replace('/hooks/github', '/healthz'))).text();

    const requests: { kind: string; delivery: string; body: string; sig: string }[] = [];
    for (let i = 0; i < 80; i++) requests.push({ kind: 'valid', delivery: `d-${i}`, body: payload(i), sig: '' });
    for (let i = 0; i < 60; i++) requests.push({ kind: 'duplicate', delivery: `d-${i}`, body: payload(i), sig: '' });
    for (let i = 0; i < 60; i++) requests.push({ kind: 'bad signature', delivery: `x-${i}`, body: payload(100 + i), sig: 'sha256=' + 'f'.repeat(64) });
    // interleave deterministically: valid first for each delivery, duplicates and forgeries spread
    const order = requests.map((r, i) => ({ r, at: r.kind === 'valid' ? i * 100 : r.kind === 'duplicate' ? (Number(r.delivery.slice(2)) * 100 + 4000) : (i - 140) * 160 + 50 }))
      .sort((a, b) => a.at - b.at).map((x) => x.r);

    if (global.gc) global.gc();
    const before = process.memoryUsage();
    const latencies: number[] = [];
    const byKind = new Map<string, number[]>();
    const slowest: { ms: number; at: number; kind: string }[] = [];
    const answers = new Map<string, number>();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    let peakRss = before.rss;
    const started = Date.now();
    await Promise.all(order.map(async (r, i) => {
      await new Promise((res) => setTimeout(res, i * 50)); // 200 over 10 s
      const sig = r.sig || `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`;
      const t0 = Date.now();
      const res = await fetch(url, { method: 'POST', body: r.body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': r.delivery, 'x-hub-signature-256': sig } });
      await res.text();
      latencies.push(Date.now() - t0);
      byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), Date.now() - t0]);
      slowest.push({ ms: Date.now() - t0, at: t0 - started, kind: r.kind });
      const key = `${r.kind} → ${res.status}`;
      answers.set(key, (answers.get(key) ?? 0) + 1);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }));
    const elapsed = Date.now() - started;
    // the 202-accepted decisions finish in the background: the reconcile runs after all of them
    await controller.reconcile();
    const settled = Date.now() - started;
    loop.disable();
    const jobs = await cluster.listJobs();
    const after = process.memoryUsage();
    latencies.sort((a, b) => a - b);
    const pctOf = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))];
    const pct = (p: number) => pctOf(latencies, p);
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

    console.log(`\nbuild trigger: 200 webhooks in ${(elapsed / 1000).toFixed(1)} s against the local kube-apiserver`);
    for (const [k, v] of [...answers.entries()].sort()) console.log(`  ${k.padEnd(26)} ${v}`);
    const running = jobs.filter((j) => !j.suspended).length;
    console.log(`  Jobs: ${jobs.length} (expected 80), running ${running} (limit 2), queued ${jobs.length - running}`);
    console.log(`  answer latency: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${latencies[latencies.length - 1]} ms (limit 1000 ms)`);
    for (const [kind, values] of [...byKind.entries()].sort()) {
      console.log(`    ${kind.padEnd(14)} p50 ${pctOf(values, 0.5)} ms, p99 ${pctOf(values, 0.99)} ms, max ${Math.max(...values)} ms`);
    }
    console.log(`    slowest: ${slowest.sort((a, b) => b.ms - a.ms).slice(0, 3).map((x) => `${x.ms} ms (${x.kind}, sent at ${(x.at / 1000).toFixed(1)} s)`).join(', ')}`);
    const ms = (ns: number) => (ns / 1e6).toFixed(0);
    console.log(`  event loop delay: p50 ${ms(loop.percentile(50))} ms, p99 ${ms(loop.percentile(99))} ms, max ${ms(loop.max)} ms`);
    console.log(`  every Job created and the queue started: ${(settled / 1000).toFixed(1)} s after the first webhook`);
    console.log(`  memory: rss ${mib(before.rss)} → ${mib(after.rss)} (peak ${mib(peakRss)}), heap used ${mib(before.heapUsed)} → ${mib(after.heapUsed)}`);
    if (jobs.length !== 80) process.exitCode = 1;
    await new Promise<void>((r) => server.close(() => r()));
  } finally {
    kubectl(['delete', 'namespace', namespace, '--wait=false']);
    stop();
  }
}

main().catch((e) => {
  console.error(`bench-trigger failed: ${(e as Error).message}`);
  process.exit(1);
});
