import { spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { Server } from 'http';
import { AddressInfo, createServer } from 'net';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import * as k8s from '@kubernetes/client-node';
import { KUBECONFIG, kubectl, startApiServer } from '../../lib/validation/apiserver';
import { projectPath } from '../../lib/project-root';
import { KubeCluster } from '../../trigger/cluster';
import { BuildController } from '../../trigger/controller';
import { createTriggerServer } from '../../trigger/server';
import { kubeconfigServer, kubeconfigThrough, TcpProxy } from '../support/tcp-proxy';
import { build, githubPush, SECRET, signedHeaders, TOKEN } from '../trigger/fixtures';

/**
 * A webhook answered 202 is not delivered again by the git server, so its decision must survive
 * what the API server and the rollouts of the trigger do to it: real failures of the real API
 * server (a 500 from its admission, a refused connection), and SIGTERM while deciding.
 */
const JOB = 'build-container-training-main-0123456';
const BUILDS = [build({ repo: 'https://github.com/jpetazzo/container.training' })];
let stop: () => void = () => undefined;
let namespace = '';
let direct: KubeCluster;
let proxy: TcpProxy;
let dir = '';
const servers: Server[] = [];

beforeAll(() => {
  stop = startApiServer();
}, 40 * 60_000);
afterAll(() => stop());
beforeEach(async () => {
  namespace = `reliable-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  expect(kubectl(['create', 'namespace', namespace]).stderr).toBe('');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  direct = new KubeCluster(kc, namespace);
  proxy = await TcpProxy.start(kubeconfigServer(KUBECONFIG));
  dir = mkdtempSync(join(tmpdir(), 'trigger-reliability-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  await proxy.stop();
  kubectl(['delete', 'validatingwebhookconfiguration', `${namespace}-refuse-jobs`, '--ignore-not-found']);
  kubectl(['delete', 'namespace', namespace, '--wait=false']);
  rmSync(dir, { recursive: true, force: true });
});

const jobs = async () => (await direct.listJobs()).map((j) => ({ name: j.name, suspended: j.suspended }));

/** A controller and its HTTP server whose cluster calls go through the proxy; retries every 0.25-1 s. */
async function triggerThroughProxy(log: string[]) {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigThrough(KUBECONFIG, proxy, join(dir, 'kubeconfig')));
  const controller = new BuildController(new KubeCluster(kc, namespace), {
    builds: BUILDS, job: { registryPort: 30500 }, maxConcurrentBuilds: 2,
    retry: { attempts: 12, firstDelayMs: 250, maxDelayMs: 1000 }, log: (l) => log.push(l),
  });
  const server = createTriggerServer({ controller, webhookSecret: SECRET, apiToken: TOKEN, log: (l) => log.push(l) });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { controller, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/github` };
}

async function push(url: string, delivery: string): Promise<number> {
  const body = JSON.stringify(githubPush());
  const res = await fetch(url, { method: 'POST', headers: signedHeaders('github', body, delivery), body });
  await res.text();
  return res.status;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    if (await check()) return;
  }
  throw new Error(`timed out waiting for ${what}`);
}

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as AddressInfo;
    s.close(() => resolve(port));
  });
});

test('the API server answers createJob with a 500 (its admission webhook is down): retried, the Job is created once it recovers', async () => {
  // A real 500: a validating webhook for Jobs in this namespace whose server refuses connections.
  const webhook = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: `${namespace}-refuse-jobs` },
    webhooks: [{
      name: 'refuse-jobs.trigger.test', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 2,
      clientConfig: { url: `https://127.0.0.1:${await freePort()}/validate` },
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
      rules: [{ apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'], scope: 'Namespaced' }],
    }],
  };
  expect(kubectl(['apply', '-f', '-'], JSON.stringify(webhook)).stderr).toBe('');
  // in force once a server-side dry run of a Job is refused by it
  await until('the webhook to refuse Jobs', () => /failed calling webhook/.test(kubectl(['create', 'job', 'probe', '--image=x', '-n', namespace, '--dry-run=server']).stderr));

  const log: string[] = [];
  const { controller, url } = await triggerThroughProxy(log);
  expect(await push(url, 'five-hundred')).toBe(202);
  await until('a failed attempt', () => log.some((l) => /attempt 1 of 12 failed \(HTTP 500: .*failed calling webhook/.test(l)));
  expect(await jobs()).toEqual([]);
  expect(kubectl(['delete', 'validatingwebhookconfiguration', `${namespace}-refuse-jobs`]).stderr).toBe('');
  expect(await controller.drain(30_000)).toEqual([]);
  expect(await jobs()).toEqual([{ name: JOB, suspended: false }]);
  expect(log.filter((l) => /NOT BUILT/.test(l))).toEqual([]);
});

test('the API server is unreachable when the push comes (connection refused): retried, the Job is created once it is back', async () => {
  const log: string[] = [];
  const { controller, url } = await triggerThroughProxy(log);
  await proxy.down();
  expect(await push(url, 'refused')).toBe(202);
  await until('two failed attempts', () => log.filter((l) => /attempt \d+ of 12 failed \(ECONNREFUSED/.test(l)).length >= 2);
  // a redelivery meanwhile is still a duplicate: the delivery is kept while it is retried
  expect(await push(url, 'refused')).toBe(200);
  await proxy.up();
  expect(await controller.drain(30_000)).toEqual([]);
  expect(await jobs()).toEqual([{ name: JOB, suspended: false }]);
});

test('SIGTERM while a decision is under way (a slow API server): the trigger finishes it, then exits', async () => {
  writeFileSync(join(dir, 'builds.yaml'), 'registry:\n  nodePort: 30500\nbuilds:\n  - repo: https://github.com/jpetazzo/container.training\n    ref: main\n    images:\n      - context: dockercoins/worker\n');
  writeFileSync(join(dir, 'webhook-secret'), SECRET);
  writeFileSync(join(dir, 'api-token'), TOKEN);
  const port = await freePort();
  // `npm run trigger`, as the README runs it
  const child = spawn(process.execPath, [projectPath('node_modules/ts-node/dist/bin.js'), '--transpile-only', 'trigger/main.ts'], {
    cwd: dirname(projectPath('package.json')),
    env: {
      ...process.env, NODE_OPTIONS: '', KUBECONFIG: kubeconfigThrough(KUBECONFIG, proxy, join(dir, 'kubeconfig')), NAMESPACE: namespace,
      BUILDS_CONFIG: join(dir, 'builds.yaml'), WEBHOOK_SECRET_FILE: join(dir, 'webhook-secret'), API_TOKEN_FILE: join(dir, 'api-token'),
      PORT: String(port), LISTEN_HOST: '127.0.0.1', RECONCILE_SECONDS: '3600',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await until('the trigger to listen', () => /listening on/.test(output), 90_000);
    proxy.delayMs = 1500; // every request to the API server now takes 1.5 s or more
    const started = Date.now();
    expect(await push(`http://127.0.0.1:${port}/hooks/github`, 'sigterm')).toBe(202);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // it waited for the list, create and resume through the slow link
    expect(Date.now() - started).toBeGreaterThan(3000);
    expect(output).toMatch(/SIGTERM: accepting no more connections; finishing the decisions under way/);
    expect(await jobs()).toEqual([{ name: JOB, suspended: false }]);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
