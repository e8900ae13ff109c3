import { ClientRequest, IncomingMessage, request, Server } from 'http';
import { AddressInfo } from 'net';
import { Cluster } from '../../trigger/cluster';
import { BuildController } from '../../trigger/controller';
import { createTriggerServer } from '../../trigger/server';
import { build, SECRET, signedHeaders, TOKEN } from './fixtures';

/**
 * Bodies are read before their signature can be checked: what all requests hold at once is
 * bounded (maxBodyBytesInFlight), and a webhook over it gets 503 with Retry-After, unread.
 */
const KIB = 1024;
const untouchable = new Proxy({}, { get: (_t, name) => () => { throw new Error(`cluster.${String(name)} called`); } }) as Cluster;
const controller = new BuildController(untouchable, { builds: [build({ repo: 'https://github.com/jpetazzo/container.training' })], job: { registryPort: 30500 }, maxConcurrentBuilds: 2 });

let server: Server;
let port = 0;
beforeAll(async () => {
  server = createTriggerServer({ controller, webhookSecret: SECRET, apiToken: TOKEN, maxBodyBytes: 64 * KIB, maxBodyBytesInFlight: 256 * KIB, log: () => undefined });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A signed ping of exactly `size` bytes: 200 "ignored" once read, touching no cluster. */
function ping(size: number, delivery: string): { body: Buffer; headers: Record<string, string> } {
  const head = '{"zen":"Keep it logically awesome.","pad":"';
  const body = Buffer.from(`${head}${'x'.repeat(size - head.length - 2)}"}`);
  return { body, headers: signedHeaders('github', body.toString(), delivery, SECRET, 'ping') };
}

interface Sent { req: ClientRequest; answer: Promise<{ status: number; retryAfter?: string; body: string }> }

/** Sends the headers (with Content-Length unless `chunked`) and the first `sendBytes` of the body; the rest is for later. */
function start(size: number, delivery: string, sendBytes: number, chunked = false): Sent & { rest: Buffer } {
  const { body, headers } = ping(size, delivery);
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/hooks/github', headers: chunked ? headers : { ...headers, 'content-length': String(size) }, agent: false });
  const answer = new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body: text }));
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  if (sendBytes > 0) req.write(body.subarray(0, sendBytes));
  return { req, answer, rest: body.subarray(sendBytes) };
}

const settle = () => new Promise((r) => setTimeout(r, 300));

test('within the budget bodies are read; over it 503 with Retry-After, and room again once answered', async () => {
  // four 64 KiB bodies half sent: the whole 256 KiB budget is held (by Content-Length)
  const held = [0, 1, 2, 3].map((i) => start(64 * KIB, `held-${i}`, 32 * KIB));
  await settle();
  const refused = start(64 * KIB, 'over', 0);
  expect(await refused.answer).toEqual({ status: 503, retryAfter: '5', body: expect.stringMatching(/whole 262144-byte budget; retry later/) });
  refused.req.destroy();
  // a body without Content-Length is refused as its first chunk arrives
  const chunked = start(64 * KIB, 'chunked', 16 * KIB, true);
  expect((await chunked.answer).status).toBe(503);
  chunked.req.destroy();
  // the held ones get through
  for (const h of held) h.req.end(h.rest);
  expect((await Promise.all(held.map((h) => h.answer))).map((a) => [a.status, JSON.parse(a.body).outcome])).toEqual([[200, 'ignored'], [200, 'ignored'], [200, 'ignored'], [200, 'ignored']]);
  // and their bytes are given back: four more fit
  const again = [0, 1, 2, 3].map((i) => start(64 * KIB, `again-${i}`, 0));
  for (const a of again) a.req.end(a.rest);
  expect((await Promise.all(again.map((a) => a.answer))).map((a) => a.status)).toEqual([200, 200, 200, 200]);
});

test('bytes of refused, unsigned and abandoned requests are given back too', async () => {
  const { body } = ping(64 * KIB, 'x');
  // unsigned (401), over the size limit (413, by Content-Length), and a client that goes away mid-body
  for (let i = 0; i < 8; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/hooks/github`, { method: 'POST', headers: { 'x-github-event': 'push', 'x-github-delivery': `u${i}` }, body });
    expect(res.status).toBe(401);
  }
  const gone = start(64 * KIB, 'gone', 16 * KIB);
  gone.answer.catch(() => undefined);
  await settle();
  gone.req.destroy();
  await settle();
  const full = [0, 1, 2, 3].map((i) => start(64 * KIB, `after-${i}`, 0));
  for (const a of full) a.req.end(a.rest);
  expect((await Promise.all(full.map((a) => a.answer))).map((a) => a.status)).toEqual([200, 200, 200, 200]);
});

test('a budget below the body limit is refused at start', () => {
  expect(() => createTriggerServer({ controller, webhookSecret: SECRET, apiToken: TOKEN, maxBodyBytes: 2 * 1024 * 1024, maxBodyBytesInFlight: 1024 * 1024 })).toThrow(/maxBodyBytesInFlight \(1048576\) is below maxBodyBytes \(2097152\)/);
});
