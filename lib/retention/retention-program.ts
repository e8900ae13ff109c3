/**
 * Registry retention: deletes commit tags beyond a per-image policy, through
 * the registry's HTTP API (Distribution v2). It runs as the retention CronJob's
 * container (node, this file transpiled into a ConfigMap) and in the tests
 * against the real registry; it imports nothing but Node's built-ins.
 *
 * What is a commit tag: a tag the builder pushed for the commit it built, i.e.
 * 7-64 hex digits that are a prefix of the image's `org.opencontainers.image.revision`
 * label. Every other tag (branch, git tag, `latest`) is a moving tag and is
 * kept. Images without that label were not pushed by a builder: never touched.
 *
 * Policy: per image, keep the commit tags of the newest `keep` builds (manifests,
 * by the image config's `created` time) and every moving tag; delete the rest.
 * Distribution deletes manifests by digest, which removes every tag on it, so a manifest that any
 * kept tag points at is never deleted (its old commit tag stays too).
 * Garbage collection (the registry Pod's garbage-collector) then frees the blobs.
 *
 * Environment: REGISTRY_URL, REGISTRY_USERNAME, REGISTRY_PASSWORD (the push
 * Secret: deleting is a write), RETENTION_POLICY (JSON, see RetentionPolicy),
 * DRY_RUN ("true": report, delete nothing).
 */

export interface RetentionPolicy {
  /** Builds whose commit tags are kept per image, newest first (the tags of one manifest count once). */
  readonly keepCommitTags: number;
  /** Per-image overrides: image name → commit tags kept. */
  readonly images?: Record<string, number>;
}

/** One tag as the registry describes it. */
export interface TagInfo {
  readonly tag: string;
  /** Digest of the manifest the tag points at. */
  readonly digest: string;
  /** The image config's `created`, ISO 8601; '' when absent. */
  readonly created: string;
  /** The `org.opencontainers.image.revision` label; undefined when absent. */
  readonly revision?: string;
}

export interface RetentionDecision {
  /** Manifests to delete: digest → the tags on it. */
  readonly delete: Array<{ readonly digest: string; readonly tags: string[] }>;
  /** Commit tags kept, newest first. */
  readonly keptCommitTags: string[];
  /** Tags never considered: moving tags and images not pushed by a builder. */
  readonly keptOtherTags: string[];
  /** Commit tags past the policy that stay because a kept tag shares their manifest. */
  readonly keptShared: Array<{ readonly tag: string; readonly with: string }>;
}

const MEDIA_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
];

/** A commit tag names (a prefix of) the commit the image was built from. */
export function isCommitTag(tag: string, revision: string | undefined): boolean {
  return revision !== undefined && /^[0-9a-f]{7,64}$/.test(tag) && revision.toLowerCase().startsWith(tag);
}

/** The number of commit tags kept for an image. */
export function keepFor(policy: RetentionPolicy, image: string): number {
  return policy.images?.[image] ?? policy.keepCommitTags;
}

/** Pure: which manifests of one image to delete under `keep`. */
export function decide(tags: TagInfo[], keep: number): RetentionDecision {
  const commit = tags.filter((t) => isCommitTag(t.tag, t.revision));
  const other = tags.filter((t) => !isCommitTag(t.tag, t.revision));
  // Newest first; equal times (same second) fall back to the tag, so the result never depends on listing order.
  // Times compare as instants: RFC 3339 strings with trimmed fractions do not sort as text.
  const time = (t: TagInfo) => Date.parse(t.created) || 0;
  const sorted = [...commit].sort((a, b) => (time(a) === time(b) ? (a.tag < b.tag ? 1 : -1) : time(b) - time(a)));
  // `keep` counts images, not tags: a build of a full-SHA ref pushes two commit tags (the SHA
  // and its 7-digit prefix) on one manifest, and they must not halve what is kept.
  const keptImages = new Set<string>();
  for (const t of sorted) {
    if (keptImages.size >= keep) break;
    keptImages.add(t.digest);
  }
  const kept = sorted.filter((t) => keptImages.has(t.digest));
  const past = sorted.filter((t) => !keptImages.has(t.digest));
  const protectedBy = new Map<string, string>();
  for (const t of [...other, ...kept]) {
    if (!protectedBy.has(t.digest)) protectedBy.set(t.digest, t.tag);
  }
  const byDigest = new Map<string, string[]>();
  const keptShared: Array<{ tag: string; with: string }> = [];
  for (const t of past) {
    const keeper = protectedBy.get(t.digest);
    if (keeper !== undefined) {
      keptShared.push({ tag: t.tag, with: keeper });
      continue;
    }
    byDigest.set(t.digest, [...(byDigest.get(t.digest) ?? []), t.tag]);
  }
  return {
    delete: [...byDigest.entries()].map(([digest, ts]) => ({ digest, tags: ts.sort() })).sort((a, b) => (a.digest < b.digest ? -1 : 1)),
    keptCommitTags: kept.map((t) => t.tag),
    keptOtherTags: other.map((t) => t.tag).sort(),
    keptShared,
  };
}

/** Parses RETENTION_POLICY; throws a message naming the problem. */
export function parsePolicy(text: string | undefined): RetentionPolicy {
  let raw: any;
  try {
    raw = JSON.parse(text ?? '');
  } catch {
    throw new Error(`RETENTION_POLICY is not JSON: ${JSON.stringify(text)}`);
  }
  const count = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (!raw || typeof raw !== 'object' || !count(raw.keepCommitTags)) {
    throw new Error('RETENTION_POLICY.keepCommitTags must be a whole number >= 1');
  }
  for (const [image, n] of Object.entries(raw.images ?? {})) {
    if (!count(n)) throw new Error(`RETENTION_POLICY.images.${image} must be a whole number >= 1`);
  }
  return { keepCommitTags: raw.keepCommitTags, images: raw.images ?? {} };
}

interface Response {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** A minimal Distribution v2 client: basic auth on every request, pagination by Link header. */
export class RegistryApi {
  private readonly auth?: string;

  constructor(readonly url: string, username?: string, password?: string) {
    this.url = url.replace(/\/+$/, '');
    if (username && password) {
      this.auth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
  }

  async request(method: string, path: string, accept?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.auth) headers.Authorization = this.auth;
    if (accept) headers.Accept = accept;
    let res: globalThis.Response;
    try {
      res = await fetch(`${this.url}${path}`, { method, headers, redirect: 'follow' });
    } catch (e: any) {
      // The message carries the cause's code (ECONNREFUSED...): the log line is all a CronJob leaves.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`${method} ${this.url}${path}: ${e?.cause?.code ?? e?.message ?? e} (is the registry Service up?)`);
    }
    return { status: res.status, headers: res.headers, body: await res.text() };
  }

  private async paged(path: string, field: string): Promise<string[]> {
    const all: string[] = [];
    let next: string | undefined = path;
    while (next) {
      const res = await this.request('GET', next);
      if (res.status === 404) return all;
      if (res.status !== 200) throw new Error(`GET ${next}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      all.push(...(JSON.parse(res.body)[field] ?? []));
      const link = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '');
      next = link?.[1];
    }
    return all;
  }

  repositories(): Promise<string[]> {
    return this.paged('/v2/_catalog?n=100', 'repositories');
  }

  tags(name: string): Promise<string[]> {
    return this.paged(`/v2/${name}/tags/list?n=100`, 'tags');
  }

  private async manifest(name: string, reference: string): Promise<{ digest: string; manifest: any }> {
    const res = await this.request('GET', `/v2/${name}/manifests/${reference}`, MEDIA_TYPES.join(', '));
    if (res.status !== 200) throw new Error(`GET /v2/${name}/manifests/${reference}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    const digest = res.headers.get('docker-content-digest');
    if (!digest) throw new Error(`GET /v2/${name}/manifests/${reference}: no Docker-Content-Digest header`);
    return { digest, manifest: JSON.parse(res.body) };
  }

  /** Digest, created time and revision label of name:tag. */
  async describe(name: string, tag: string): Promise<TagInfo> {
    const top = await this.manifest(name, tag);
    let image = top.manifest;
    if (Array.isArray(image.manifests)) {
      // An index: the first platform image (attestations have platform os "unknown").
      const child = image.manifests.find((m: any) => m.platform?.os !== 'unknown') ?? image.manifests[0];
      image = child ? (await this.manifest(name, child.digest)).manifest : {};
    }
    if (!image.config?.digest) return { tag, digest: top.digest, created: '' };
    const res = await this.request('GET', `/v2/${name}/blobs/${image.config.digest}`);
    if (res.status !== 200) throw new Error(`GET /v2/${name}/blobs/${image.config.digest}: HTTP ${res.status}`);
    const config = JSON.parse(res.body);
    return {
      tag,
      digest: top.digest,
      created: typeof config.created === 'string' ? config.created : '',
      revision: config.config?.Labels?.['org.opencontainers.image.revision'],
    };
  }

  async deleteManifest(name: string, digest: string): Promise<void> {
    const res = await this.request('DELETE', `/v2/${name}/manifests/${digest}`);
    if (res.status === 202 || res.status === 404) return;
    if (res.status === 405) {
      throw new Error(`DELETE /v2/${name}/manifests/${digest}: HTTP 405: the registry has deletion disabled (storage.delete.enabled)`);
    }
    if (res.status === 401 || res.status === 403) {
      throw new Error(`DELETE /v2/${name}/manifests/${digest}: HTTP ${res.status}: the push Secret's credentials were refused`);
    }
    throw new Error(`DELETE /v2/${name}/manifests/${digest}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  }
}

export interface RunResult {
  readonly deletedManifests: number;
  readonly deletedTags: string[];
}

/** One retention pass over every repository. */
export async function runRetention(api: RegistryApi, policy: RetentionPolicy, dryRun: boolean, log: (line: string) => void): Promise<RunResult> {
  const repositories = (await api.repositories()).sort();
  const overrides = Object.entries(policy.images ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ');
  log(`==> [retention] ${api.url}: ${repositories.length} repositories; keep the commit tags of the newest ${policy.keepCommitTags} builds per image${overrides ? ` (${overrides})` : ''} and every moving tag${dryRun ? '; DRY RUN' : ''}`);
  const deletedTags: string[] = [];
  let deletedManifests = 0;
  for (const name of repositories) {
    const tags = (await api.tags(name)).sort();
    const infos: TagInfo[] = [];
    for (const tag of tags) infos.push(await api.describe(name, tag));
    const keep = keepFor(policy, name);
    const d = decide(infos, keep);
    log(`${name}: ${d.keptCommitTags.length + d.keptShared.length + d.delete.reduce((n, x) => n + x.tags.length, 0)} commit tags, keep the newest ${keep} builds'; other tags kept: ${d.keptOtherTags.join(' ') || '-'}`);
    for (const s of d.keptShared) log(`kept ${name}:${s.tag}: same manifest as ${name}:${s.with}`);
    for (const x of d.delete) {
      if (!dryRun) await api.deleteManifest(name, x.digest);
      deletedManifests += 1;
      for (const t of x.tags) {
        deletedTags.push(`${name}:${t}`);
        log(`${dryRun ? 'would delete' : 'deleted'} ${name}:${t} ${x.digest}`);
      }
    }
  }
  log(`==> [done] ${dryRun ? 'would delete' : 'deleted'} ${deletedManifests} manifests (${deletedTags.length} tags); the registry's garbage collection frees their blobs`);
  return { deletedManifests, deletedTags };
}

/** The CronJob's entry point. */
export async function main(env: Record<string, string | undefined> = process.env): Promise<number> {
  try {
    if (!env.REGISTRY_URL) throw new Error('REGISTRY_URL is not set');
    const policy = parsePolicy(env.RETENTION_POLICY);
    const api = new RegistryApi(env.REGISTRY_URL, env.REGISTRY_USERNAME, env.REGISTRY_PASSWORD);
    await runRetention(api, policy, env.DRY_RUN === 'true', (line) => console.log(line));
    return 0;
  } catch (e: any) {
    console.error(`!! retention failed: ${e?.message ?? e}`);
    return 1;
  }
}

if (require.main === module) {
  main().then((code) => { process.exitCode = code; });
}
