import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { BODY_BYTES_IN_FLIGHT } from '../lib/constructs/build-trigger';
import { BuildController, SubmitResult } from './controller';
import { Provider, PROVIDERS, readWebhook, secretsEqual, WebhookRefusal } from './providers';

export interface ServerOptions {
  readonly controller: BuildController;
  readonly webhookSecret: string;
  readonly apiToken: string;
  /** Largest webhook body accepted; bigger ones get 413 without being read. @default DEFAULT_MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /**
   * Webhook body bytes held at once, over all requests (read before the signature can be checked,
   * so anyone can send them): a webhook that would go over gets 503 with Retry-After, unread.
   * Bounds the memory unsigned traffic can take. At least `maxBodyBytes`.
   * @default BODY_BYTES_IN_FLIGHT (lib/constructs/build-trigger.ts: the Pod's memory limit is made from it)
   */
  readonly maxBodyBytesInFlight?: number;
  /**
   * How long a webhook's answer may wait for the cluster's decision: 201 (or 200) with what was
   * created when it came in time, else 202 with the Jobs being created. The answer needs nothing
   * from the cluster (signature, builds.yaml, the deliveries seen), so by default it never waits:
   * git servers give up after 10 s, and an API server under load is what would make it late.
   * @default 0
   */
  readonly answerWithinMs?: number;
  /** Webhooks still being decided at once before new ones get 503 (the provider retries). @default 1000 */
  readonly maxPending?: number;
  /** Where refusals and decisions are logged; never secrets, never bodies. @default console.log */
  readonly log?: (line: string) => void;
}

/** What a 503 asks the git server to wait (GitLab and Gitea retry; GitHub's redelivery is by hand). */
const RETRY_AFTER_SECONDS = 5;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** GitHub's payloads are capped at 25 MB; pushes are far smaller. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** The body bytes all requests hold at once; `take` refuses what would go over. */
class BodyBudget {
  private used = 0;
  constructor(readonly limit: number) {}
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
  give(bytes: number): void {
    this.used -= bytes;
  }
}

/**
 * Reads the body up to `limit` bytes; refuses 413 on Content-Length alone when it says more.
 * Its bytes are taken from `budget` (all of Content-Length at once, else chunk by chunk) and given
 * back when the answer is sent; 503 when the budget has no room.
 */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number, budget: BodyBudget): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new WebhookRefusal(413, `body of ${declared} bytes is over the ${limit}-byte limit`));
      return;
    }
    let held = 0;
    res.once('close', () => budget.give(held));
    const full = () => new WebhookRefusal(503, `webhook bodies being read take the whole ${budget.limit}-byte budget; retry later`);
    if (declared > 0) {
      if (!budget.take(declared)) {
        reject(full());
        return;
      }
      held = declared;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new WebhookRefusal(413, `body is over the ${limit}-byte limit`));
        return;
      }
      if (size > held) {
        if (!budget.take(size - held)) {
          req.removeAllListeners('data');
          reject(full());
          return;
        }
        held = size;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The trigger's HTTP API: webhooks in (`POST /hooks/{github,gitlab,gitea}`),
 * `GET /healthz`, and behind `Authorization: Bearer <token>` the builds
 * (`GET /builds`) and their logs (`GET /builds/<id>/logs`).
 */
export function createTriggerServer(options: ServerOptions): Server {
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const budget = new BodyBudget(options.maxBodyBytesInFlight ?? BODY_BYTES_IN_FLIGHT);
  if (budget.limit < limit) throw new Error(`maxBodyBytesInFlight (${budget.limit}) is below maxBodyBytes (${limit}): no webhook of the largest size could be read`);
  const answerWithin = options.answerWithinMs ?? 0;
  const maxPending = options.maxPending ?? 1000;
  const log = options.log ?? ((line: string) => console.log(line));
  const { controller } = options;
  let pending = 0;

  async function hook(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, res, limit, budget);
    const event = await readWebhook(provider, req.headers, body, options.webhookSecret);
    if ('ignored' in event) {
      send(res, 200, { outcome: 'ignored', reason: event.ignored });
      return;
    }
    if (pending >= maxPending) {
      throw new WebhookRefusal(503, `${pending} webhooks are still being decided; retry later`);
    }
    const { answer, decided } = controller.submit(event);
    if (answer.outcome !== 'accepted') {
      send(res, 200, answer);
      return;
    }
    pending++;
    decided.finally(() => { pending--; }).then(
      (r) => log(`${provider} ${event.delivery} ${event.ref} ${event.commit.slice(0, 7)}: ${r.outcome}: ${r.reason}${r.cancelled.length ? `; cancelled ${r.cancelled.join(', ')}` : ''}`),
      (e) => log(`${provider} ${event.delivery} ${event.ref} ${event.commit.slice(0, 7)}: NOT BUILT: ${(e as Error).message}; `
        + 'the push is lost unless the git server delivers it again (GitHub: the webhook\'s Recent Deliveries → Redeliver)'),
    );
    if (answerWithin <= 0) {
      send(res, 202, answer);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), answerWithin); });
    const result = await Promise.race([decided, late]).finally(() => clearTimeout(timer));
    if (result === 'late') {
      send(res, 202, answer);
      return;
    }
    const r = result as SubmitResult;
    send(res, r.outcome === 'queued' ? 201 : 200, r);
  }

  function authorized(req: IncomingMessage): boolean {
    const value = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(value);
    return match !== null && secretsEqual(match[1], options.apiToken);
  }

  async function logs(id: string, res: ServerResponse): Promise<void> {
    const job = await controller.find(id);
    if (!job) {
      send(res, 404, { error: `no build ${id} (finished builds are deleted with their Job, after ttlSecondsAfterFinished)` });
      return;
    }
    const view = controller.view(job);
    if (view.state === 'queued') {
      send(res, 409, { error: `build ${id} is queued: it has no Pod and no log yet`, state: view.state });
      return;
    }
    // Newest first: the list comes in name order, and a Job's retries leave older failed Pods behind.
    const pods = (await controller.pods(id)).sort((a, b) => b.created.getTime() - a.created.getTime());
    const pod = pods.find((p) => p.phase === 'Running') ?? pods[0];
    if (!pod && view.state === 'running') {
      send(res, 409, { error: `build ${id} has no Pod yet (the Job controller has not created it, or it is being scheduled); retry in a few seconds`, state: view.state });
      return;
    }
    if (!pod) {
      send(res, 410, { error: `build ${id} is ${view.state} but its Pod is gone, and its log with it`, state: view.state });
      return;
    }
    if (pod.phase === 'Pending') {
      send(res, 409, { error: `build ${id}: Pod ${pod.name} is Pending (image pull or scheduling); retry in a few seconds`, state: view.state });
      return;
    }
    // Sent with the log's first bytes, or when the cluster has opened a followed log that is still
    // silent; a log the cluster will not give gets an answer naming the Pod, not a reset connection.
    res.statusCode = 200;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.setHeader('x-build-state', view.state);
    res.setHeader('x-build-pod', pod.name);
    try {
      await controller.streamLog(pod.name, res, pod.phase === 'Running', () => res.flushHeaders());
    } catch (e) {
      if (res.headersSent) throw e;
      log(`GET /builds/${id}/logs: 502 ${(e as Error).message}`);
      send(res, 502, { error: `the cluster did not give the log of build ${id}'s Pod ${pod.name} (${pod.phase}); see the trigger log`, state: view.state });
      return;
    }
    if (!res.writableEnded) res.end();
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://trigger');
    const hookMatch = /^\/hooks\/([a-z]+)$/.exec(url.pathname);
    if (hookMatch) {
      const provider = hookMatch[1] === 'forgejo' ? 'gitea' : hookMatch[1];
      if (!PROVIDERS.includes(provider as Provider)) {
        send(res, 404, { error: `unknown provider "${hookMatch[1]}"; use /hooks/github, /hooks/gitlab or /hooks/gitea (Forgejo too)` });
        return;
      }
      if (req.method !== 'POST') {
        send(res, 405, { error: 'webhooks are POSTed' });
        return;
      }
      await hook(provider as Provider, req, res);
      return;
    }
    if (url.pathname === '/healthz' && req.method === 'GET') {
      send(res, 200, { ok: true });
      return;
    }
    const buildsMatch = /^\/builds(?:\/([a-z0-9-]{1,63})\/logs)?$/.exec(url.pathname);
    if (buildsMatch && req.method === 'GET') {
      if (!authorized(req)) {
        res.setHeader('www-authenticate', 'Bearer');
        send(res, 401, { error: 'send Authorization: Bearer <token> (the API token Secret)' });
        return;
      }
      if (buildsMatch[1]) {
        await logs(buildsMatch[1], res);
      } else {
        send(res, 200, { builds: await controller.list() });
      }
      return;
    }
    send(res, 404, { error: 'not found: POST /hooks/{github,gitlab,gitea}, GET /healthz, GET /builds, GET /builds/<id>/logs' });
  }

  return createServer((req, res) => {
    route(req, res).catch((e) => {
      if (e instanceof WebhookRefusal) {
        log(`${req.method} ${req.url}: ${e.status} ${e.message}`);
        // unread bodies (413, and 503 for want of room) are not read: the connection goes with them
        if (e.status === 413 || e.status === 503) res.setHeader('connection', 'close');
        if (e.status === 503) res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
        send(res, e.status, { error: e.message });
        return;
      }
      log(`${req.method} ${req.url}: 500 ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, { error: 'the cluster did not answer; see the trigger log' });
      else res.destroy();
    });
  });
}
