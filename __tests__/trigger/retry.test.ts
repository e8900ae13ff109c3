import { Cluster, JobRecord } from '../../trigger/cluster';
import { transientClusterError } from '../../trigger/cluster-errors';
import { BuildController, SubmitResult } from '../../trigger/controller';
import { Push } from '../../trigger/providers';
import { build, COMMIT } from './fixtures';

/**
 * The retry policy of a decision, over a cluster client that fails on demand (the failures
 * themselves, against the real API server, are in __tests__/server/trigger.test.ts).
 */
const JOB = 'build-container-training-main-0123456';
const push = (delivery: string): Push => ({ provider: 'github', delivery, repoUrls: ['https://github.com/jpetazzo/container.training'], ref: 'refs/heads/main', commit: COMMIT });

/**
 * The API server's answer to a failed call, shaped as @kubernetes/client-node's ApiException (an
 * Error with `code` and the Status text as `body`; the client itself is ESM-only, which plain jest
 * does not load: its real errors are in the API-server suite).
 */
const apiError = (code: number, message: string) => Object.assign(new Error(`HTTP-Code: ${code}`), { code, body: JSON.stringify({ kind: 'Status', code, message }) });

/** Jobs in memory; `failures[call]` is thrown by the next calls of that verb, one each. */
function flakyCluster(failures: Partial<Record<'listJobs' | 'createJob' | 'resumeJob', unknown[]>>) {
  const jobs: JobRecord[] = [];
  const calls: string[] = [];
  const fail = (verb: 'listJobs' | 'createJob' | 'resumeJob') => {
    calls.push(verb);
    const next = failures[verb]?.shift();
    if (next) throw next;
  };
  const cluster: Cluster = {
    listJobs: async () => { fail('listJobs'); return [...jobs]; },
    createJob: async (m: any) => {
      fail('createJob');
      if (jobs.some((j) => j.name === m.metadata.name)) return false;
      jobs.push({ name: m.metadata.name, labels: m.metadata.labels, annotations: m.metadata.annotations, suspended: true, created: new Date(), succeeded: false, failed: false });
      return true;
    },
    resumeJob: async (name: string) => {
      fail('resumeJob');
      const i = jobs.findIndex((j) => j.name === name);
      jobs[i] = { ...jobs[i], suspended: false };
    },
    deleteJob: async () => undefined,
    jobPods: async () => [],
    streamLog: async () => undefined,
  };
  return { cluster, jobs, calls };
}

function controllerOver(cluster: Cluster, log: string[], attempts = 4) {
  return new BuildController(cluster, {
    builds: [build({ repo: 'https://github.com/jpetazzo/container.training' })],
    job: { registryPort: 30500 },
    maxConcurrentBuilds: 2,
    retry: { attempts, firstDelayMs: 20, maxDelayMs: 50 },
    log: (line) => log.push(line),
  });
}

test.each([
  ['a 503', apiError(503, 'the server is currently unable to handle the request')],
  ['a 429', apiError(429, 'too many requests, please try again later')],
  ['a 500', apiError(500, 'etcdserver: request timed out')],
])('createJob failing with %s is retried: the Job is created and started', async (_name, error) => {
  const { cluster, jobs, calls } = flakyCluster({ createJob: [error] });
  const log: string[] = [];
  const decided = await controllerOver(cluster, log).submit(push('d1')).decided;
  expect(decided).toMatchObject({ outcome: 'queued', jobs: [JOB] });
  expect(jobs.map((j) => [j.name, j.suspended])).toEqual([[JOB, false]]);
  expect(calls.filter((c) => c === 'createJob')).toHaveLength(2);
  expect(log).toEqual([expect.stringMatching(/^github d1 refs\/heads\/main 0123456: attempt 1 of 4 failed \(HTTP \d+: .+\); retrying in 20 ms$/)]);
});

test('a retry after the Job was created (resume failed) finishes that Job: queued and started, not a duplicate', async () => {
  const { cluster, jobs } = flakyCluster({ resumeJob: [apiError(503, 'unavailable')] });
  const decided = await controllerOver(cluster, []).submit(push('d1')).decided;
  expect(decided).toMatchObject({ outcome: 'queued', jobs: [JOB] });
  expect(jobs.map((j) => [j.name, j.suspended])).toEqual([[JOB, false]]);
});

test('the delivery stays a duplicate while retried; after the last attempt it is released, with a clear error', async () => {
  const unavailable = () => apiError(503, 'unavailable');
  const { cluster, jobs, calls } = flakyCluster({ createJob: [unavailable(), unavailable(), unavailable()] });
  const log: string[] = [];
  const controller = controllerOver(cluster, log, 3);
  const first = controller.submit(push('d1'));
  expect(first.answer.outcome).toBe('accepted');
  expect(controller.submit(push('d1')).answer.outcome).toBe('duplicate');
  await expect(first.decided).rejects.toThrow(/^gave up after 3 attempts over \d+\.\d s \(last: HTTP 503: unavailable\)$/);
  expect(calls.filter((c) => c === 'createJob')).toHaveLength(3);
  expect(log).toHaveLength(2);
  // released: the git server's redelivery is decided again, and now the cluster answers
  const again = controller.submit(push('d1'));
  expect(again.answer.outcome).toBe('accepted');
  expect((await again.decided as SubmitResult).jobs).toEqual([JOB]);
  expect(jobs).toHaveLength(1);
});

test('a 4xx (the API server refusing the Job) is not retried, and says so', async () => {
  const { cluster, calls } = flakyCluster({ createJob: [apiError(422, 'Job.batch "x" is invalid: spec.template.spec.containers[0].image: Required value')] });
  const log: string[] = [];
  const decided = controllerOver(cluster, log).submit(push('d1')).decided;
  await expect(decided).rejects.toThrow('the API server refused it (HTTP 422: Job.batch "x" is invalid: spec.template.spec.containers[0].image: Required value); not retried');
  expect(calls.filter((c) => c === 'createJob')).toHaveLength(1);
  expect(log).toEqual([]);
});

test('only answers that may change are transient: 5xx, 429 and no answer at all', () => {
  expect([500, 503, 504, 429].map((c) => transientClusterError(apiError(c, 'x')))).toEqual([true, true, true, true]);
  expect([400, 403, 404, 409, 422].map((c) => transientClusterError(apiError(c, 'x')))).toEqual([false, false, false, false, false]);
  const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }) });
  expect(transientClusterError(refused)).toBe(true);
  expect(transientClusterError(new Error('a bug of ours'))).toBe(false);
});
