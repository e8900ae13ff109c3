import { createHash, timingSafeEqual } from 'crypto';
import { IncomingHttpHeaders } from 'http';
import { verify } from '@octokit/webhooks-methods';

/** The git servers whose push webhooks the trigger understands. Forgejo speaks Gitea's dialect. */
export type Provider = 'github' | 'gitlab' | 'gitea';

export const PROVIDERS: readonly Provider[] = ['github', 'gitlab', 'gitea'];

/** A verified push, reduced to what the trigger uses. Nothing else of the payload is read. */
export interface Push {
  readonly provider: Provider;
  /** The provider's delivery id (the same on redelivery); a hash of the body when it sends none. */
  readonly delivery: string;
  /** Every URL the payload gives for the repository (https, ssh); matched against builds.yaml. */
  readonly repoUrls: string[];
  /** Full ref: `refs/heads/main`, `refs/tags/v1.2.0`. */
  readonly ref: string;
  /** The commit to build: what the ref now points at, peeled to its commit for an annotated tag (40 or 64 hex digits). */
  readonly commit: string;
  /** The commit the ref pointed at before the push (`before`); absent for a new ref or when the payload has none. */
  readonly before?: string;
}

/** A request refused before anything is looked at further; `status` is the HTTP answer. */
export class WebhookRefusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'WebhookRefusal';
  }
}

/** A verified event that is not a build: a ping, a deletion, another event kind. Answered 200 with the reason. */
export interface Ignored {
  readonly ignored: string;
}

const ZERO_SHA = /^0+$/;
const SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Constant-time equality of two secrets of any length (both hashed first, so lengths do not leak). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** GitHub `X-Hub-Signature-256: sha256=<hex>` and Gitea/Forgejo `<hex>`: HMAC-SHA256 of the raw body. */
async function hmacValid(secret: string, body: Buffer, signature: string): Promise<boolean> {
  if (!/^sha256=[0-9a-f]{64}$/.test(signature)) return false;
  try {
    return await verify(secret, body.toString('utf8'), signature);
  } catch {
    return false;
  }
}

function parseJson(body: Buffer, provider: Provider): any {
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    throw new WebhookRefusal(400, `the body is not JSON; set the ${provider} webhook's content type to application/json`);
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new WebhookRefusal(400, 'the body is JSON but not an object');
  }
  return payload;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The push fields every provider shares in shape; refuses a push that lacks them. */
function pushFields(payload: any, provider: Provider, delivery: string, repoUrls: (string | undefined)[], commit: unknown): Push | Ignored {
  const ref = str(payload.ref);
  if (!ref || !/^refs\/(heads|tags)\//.test(ref)) {
    throw new WebhookRefusal(400, `push payload has no branch or tag "ref" (got ${JSON.stringify(payload.ref)})`);
  }
  const after = str(payload.after) ?? '';
  if (payload.deleted === true || ZERO_SHA.test(after)) {
    return { ignored: `${ref} was deleted: nothing to build` };
  }
  const sha = str(commit) ?? after;
  if (!SHA.test(sha)) {
    throw new WebhookRefusal(400, `push payload has no full commit SHA in "after" (got ${JSON.stringify(sha)})`);
  }
  const urls = repoUrls.filter((u): u is string => typeof u === 'string' && u.length > 0);
  if (urls.length === 0) {
    throw new WebhookRefusal(400, 'push payload names no repository URL');
  }
  const before = str(payload.before);
  return { provider, delivery, repoUrls: urls, ref, commit: sha, ...(before && SHA.test(before) && !ZERO_SHA.test(before) ? { before } : {}) };
}

/**
 * The commit a GitHub or Gitea push builds. `after` is what the ref names after the push: for an
 * annotated tag that is the tag object, not a commit. The builder checks out what it fetches
 * (the tagged commit) and tags images with that commit's short SHA, so a Job named after the
 * tag object would name, list and annotate a SHA no image carries. For tags the payload's
 * head_commit is the tagged commit (GitHub sends it on every tag push); a lightweight tag's
 * after is that commit already.
 */
function pushedCommit(payload: any): unknown {
  const head = str(payload.head_commit?.id);
  if (typeof payload.ref === 'string' && payload.ref.startsWith('refs/tags/') && head && SHA.test(head)) return head;
  return payload.after;
}

function deliveryId(headers: IncomingHttpHeaders, names: string[], body: Buffer): string {
  for (const name of names) {
    const value = header(headers, name);
    if (value) return value;
  }
  return `sha256-${createHash('sha256').update(body).digest('hex')}`;
}

async function github(headers: IncomingHttpHeaders, body: Buffer, secret: string): Promise<Push | Ignored> {
  const signature = header(headers, 'x-hub-signature-256');
  if (!signature) throw new WebhookRefusal(401, 'missing X-Hub-Signature-256: set a secret on the GitHub webhook');
  if (!(await hmacValid(secret, body, signature))) throw new WebhookRefusal(401, 'X-Hub-Signature-256 does not match the body: the webhook secret differs');
  const payload = parseJson(body, 'github');
  const event = header(headers, 'x-github-event');
  if (event === 'ping') return { ignored: 'ping: the webhook reaches the trigger' };
  if (event !== 'push') return { ignored: `event "${event ?? '(none)'}" is not a push` };
  const repo = payload.repository ?? {};
  return pushFields(payload, 'github', deliveryId(headers, ['x-github-delivery'], body), [repo.clone_url, repo.ssh_url, repo.git_url, repo.html_url], pushedCommit(payload));
}

async function gitlab(headers: IncomingHttpHeaders, body: Buffer, secret: string): Promise<Push | Ignored> {
  const token = header(headers, 'x-gitlab-token');
  if (!token) throw new WebhookRefusal(401, 'missing X-Gitlab-Token: set the secret token on the GitLab webhook');
  if (!secretsEqual(token, secret)) throw new WebhookRefusal(401, 'X-Gitlab-Token does not match the webhook secret');
  const payload = parseJson(body, 'gitlab');
  const event = header(headers, 'x-gitlab-event');
  if (event !== 'Push Hook' && event !== 'Tag Push Hook') return { ignored: `event "${event ?? '(none)'}" is not a push` };
  const project = payload.project ?? {};
  const repository = payload.repository ?? {};
  return pushFields(
    payload, 'gitlab',
    deliveryId(headers, ['idempotency-key', 'x-gitlab-event-uuid'], body),
    [project.git_http_url, project.git_ssh_url, repository.git_http_url, repository.git_ssh_url, project.web_url],
    payload.checkout_sha ?? payload.after,
  );
}

async function gitea(headers: IncomingHttpHeaders, body: Buffer, secret: string): Promise<Push | Ignored> {
  const signature = header(headers, 'x-forgejo-signature') ?? header(headers, 'x-gitea-signature');
  if (!signature) throw new WebhookRefusal(401, 'missing X-Gitea-Signature (or X-Forgejo-Signature): set a secret on the webhook');
  if (!(await hmacValid(secret, body, `sha256=${signature}`))) throw new WebhookRefusal(401, 'X-Gitea-Signature does not match the body: the webhook secret differs');
  const payload = parseJson(body, 'gitea');
  const event = header(headers, 'x-forgejo-event') ?? header(headers, 'x-gitea-event');
  if (event !== 'push') return { ignored: `event "${event ?? '(none)'}" is not a push` };
  const repo = payload.repository ?? {};
  return pushFields(payload, 'gitea', deliveryId(headers, ['x-forgejo-delivery', 'x-gitea-delivery'], body), [repo.clone_url, repo.ssh_url, repo.html_url], pushedCommit(payload));
}

/**
 * Authenticates a webhook exactly as its provider signs it, then reads the
 * push out of it. Throws WebhookRefusal (401 bad or missing signature, 400
 * malformed body) — the signature is checked on the raw bytes before the body
 * is parsed at all.
 */
export function readWebhook(provider: Provider, headers: IncomingHttpHeaders, body: Buffer, secret: string): Promise<Push | Ignored> {
  switch (provider) {
    case 'github': return github(headers, body, secret);
    case 'gitlab': return gitlab(headers, body, secret);
    case 'gitea': return gitea(headers, body, secret);
  }
}
