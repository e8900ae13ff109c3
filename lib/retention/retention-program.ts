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
 * Images in use are kept: before deleting anything it lists, cluster-wide, the
 * Pods and the Pod templates of every workload (WORKLOADS) as its ServiceAccount
 * (a read-only ClusterRole), and a manifest that any of them names, by tag or by
 * digest, through one of REGISTRY_IMAGE_HOSTS is not deleted. If the cluster
 * cannot be read, nothing is deleted and it exits non-zero (fail closed).
 *
 * Environment: REGISTRY_URL, REGISTRY_USERNAME, REGISTRY_PASSWORD (the push
 * Secret: deleting is a write), RETENTION_POLICY (JSON, see RetentionPolicy),
 * REGISTRY_IMAGE_HOSTS (comma-separated: how Pods name this registry, e.g.
 * `localhost:30500,127.0.0.1:30500,registry:5000`), DRY_RUN ("true": report,
 * delete nothing); the kubelet's KUBERNETES_SERVICE_HOST/PORT and the token,
 * CA and namespace in SERVICE_ACCOUNT_DIR (default: where the kubelet mounts them).
 */

import { readFileSync } from 'fs';
import { request as httpsRequest } from 'https';
import { join } from 'path';

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
  /** Commit tags past the policy that stay because the cluster uses their manifest (`by`: who). */
  readonly keptInUse: Array<{ readonly tag: string; readonly by: string }>;
}

/** What the cluster uses of one image: tag → who, digest → who. */
export interface ImageInUse {
  readonly tags: Map<string, string>;
  readonly digests: Map<string, string>;
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

/**
 * Pure: which manifests of one image to delete under `keep`. A manifest that `inUse`
 * names (one of its tags, or its digest) is never deleted, whatever its age.
 */
export function decide(tags: TagInfo[], keep: number, inUse?: ImageInUse): RetentionDecision {
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
  const usedBy = new Map<string, string>();
  for (const t of tags) {
    const by = inUse?.tags.get(t.tag);
    if (by !== undefined && !usedBy.has(t.digest)) usedBy.set(t.digest, by);
  }
  for (const [digest, by] of inUse?.digests ?? []) {
    if (!usedBy.has(digest)) usedBy.set(digest, by);
  }
  const byDigest = new Map<string, string[]>();
  const keptShared: Array<{ tag: string; with: string }> = [];
  const keptInUse: Array<{ tag: string; by: string }> = [];
  for (const t of past) {
    const keeper = protectedBy.get(t.digest);
    if (keeper !== undefined) {
      keptShared.push({ tag: t.tag, with: keeper });
      continue;
    }
    const user = usedBy.get(t.digest);
    if (user !== undefined) {
      keptInUse.push({ tag: t.tag, by: user });
      continue;
    }
    byDigest.set(t.digest, [...(byDigest.get(t.digest) ?? []), t.tag]);
  }
  return {
    delete: [...byDigest.entries()].map(([digest, ts]) => ({ digest, tags: ts.sort() })).sort((a, b) => (a.digest < b.digest ? -1 : 1)),
    keptCommitTags: kept.map((t) => t.tag),
    keptOtherTags: other.map((t) => t.tag).sort(),
    keptShared,
    keptInUse,
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

/** Where the kubelet mounts the Pod's ServiceAccount token, the cluster's CA and the namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * What the cluster runs or may run again, read cluster-wide (list only): Pods (their
 * containers' images and the digests the kubelet resolved), and the Pod templates of
 * every workload that creates Pods: a Deployment scaled to zero, the old ReplicaSets a
 * rollback returns to, a CronJob's next run. The retention ClusterRole grants exactly these.
 */
export const WORKLOADS = [
  { kind: 'Pod', apiGroup: '', resource: 'pods', path: '/api/v1/pods' },
  { kind: 'Deployment', apiGroup: 'apps', resource: 'deployments', path: '/apis/apps/v1/deployments' },
  { kind: 'ReplicaSet', apiGroup: 'apps', resource: 'replicasets', path: '/apis/apps/v1/replicasets' },
  { kind: 'StatefulSet', apiGroup: 'apps', resource: 'statefulsets', path: '/apis/apps/v1/statefulsets' },
  { kind: 'DaemonSet', apiGroup: 'apps', resource: 'daemonsets', path: '/apis/apps/v1/daemonsets' },
  { kind: 'Job', apiGroup: 'batch', resource: 'jobs', path: '/apis/batch/v1/jobs' },
  { kind: 'CronJob', apiGroup: 'batch', resource: 'cronjobs', path: '/apis/batch/v1/cronjobs' },
] as const;

/** An image reference of this registry: repository name, and the tag and/or digest it names. */
export interface RegistryImageRef {
  readonly name: string;
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Parses `<host>/<name>[:<tag>][@sha256:<hex>]` when host is one of `hosts` (how nodes and
 * builders reach this registry); undefined for an image of any other registry. The kubelet's
 * resolved imageID (`docker-pullable://` with cri-dockerd) is read the same way.
 */
export function parseRegistryImage(image: string, hosts: readonly string[]): RegistryImageRef | undefined {
  const ref = image.replace(/^docker-pullable:\/\//, '');
  const host = hosts.find((h) => ref.startsWith(`${h}/`));
  if (host === undefined) return undefined;
  const m = /^([a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(ref.slice(host.length + 1));
  if (!m) return undefined;
  return { name: m[1], tag: m[2] ?? (m[3] ? undefined : 'latest'), digest: m[3] };
}

/** What the cluster uses, per repository name; who is `Pod ns/name`, `Deployment ns/name`, ... */
export type InUse = Map<string, ImageInUse>;

function imagesOfPodSpec(spec: any): string[] {
  const containers = [...(spec?.initContainers ?? []), ...(spec?.containers ?? []), ...(spec?.ephemeralContainers ?? [])];
  return containers.map((c: any) => c?.image).filter((i: unknown): i is string => typeof i === 'string');
}

/** Every image an object runs or will run: a Pod's spec and resolved imageIDs, a workload's Pod template. */
export function imagesOf(kind: string, object: any): string[] {
  if (kind === 'Pod') {
    const statuses = [...(object?.status?.initContainerStatuses ?? []), ...(object?.status?.containerStatuses ?? []), ...(object?.status?.ephemeralContainerStatuses ?? [])];
    return [...imagesOfPodSpec(object?.spec), ...statuses.map((s: any) => s?.imageID).filter((i: unknown): i is string => typeof i === 'string' && i !== '')];
  }
  const template = kind === 'CronJob' ? object?.spec?.jobTemplate?.spec?.template : object?.spec?.template;
  return imagesOfPodSpec(template?.spec);
}

/** Adds `image` to `inUse` when it is of this registry. */
export function addInUse(inUse: InUse, image: string, hosts: readonly string[], by: string): void {
  const ref = parseRegistryImage(image, hosts);
  if (!ref) return;
  let entry = inUse.get(ref.name);
  if (!entry) {
    entry = { tags: new Map(), digests: new Map() };
    inUse.set(ref.name, entry);
  }
  if (ref.digest) {
    if (!entry.digests.has(ref.digest)) entry.digests.set(ref.digest, by);
  } else if (ref.tag && !entry.tags.has(ref.tag)) {
    entry.tags.set(ref.tag, by);
  }
}

/** Reads the cluster as the CronJob's ServiceAccount: its token, the cluster's CA, Node's https. */
export class KubernetesApi {
  /** @param namespace the Pod's own namespace, for messages */
  constructor(readonly server: string, private readonly token: string, private readonly ca: Buffer, readonly namespace: string) {}

  /** In a Pod: the API server from KUBERNETES_SERVICE_HOST/PORT, token and CA from SERVICE_ACCOUNT_DIR. */
  static inCluster(env: Record<string, string | undefined>): KubernetesApi {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (!host || !port) throw new Error('KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set: run it in a Pod (the kubelet sets them)');
    const dir = env.SERVICE_ACCOUNT_DIR || SERVICE_ACCOUNT_DIR;
    const read = (file: string) => {
      try {
        return readFileSync(join(dir, file));
      } catch (e: any) {
        // The code (ENOENT...) is in the message: the log line is all a CronJob leaves.
        // eslint-disable-next-line preserve-caught-error
        throw new Error(`cannot read ${join(dir, file)} (${e?.code ?? e}): the CronJob's Pod needs its ServiceAccount token (automountServiceAccountToken: true)`);
      }
    };
    const token = read('token').toString().trim();
    const ca = read('ca.crt');
    const namespace = read('namespace').toString().trim();
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return new KubernetesApi(server, token, ca, namespace);
  }

  get(path: string): Promise<any> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${this.server}${path}`, { method: 'GET', ca: this.ca, headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json' }, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) {
            let message = body.slice(0, 300);
            try { message = JSON.parse(body).message ?? message; } catch { /* not JSON: the raw text */ }
            const hint = res.statusCode === 401 || res.statusCode === 403
              ? ` (this Pod runs in namespace ${this.namespace}: the retention ClusterRoleBinding must name its ServiceAccount there, builds.yaml registry.retention.namespace)`
              : '';
            reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${message}${hint}`));
            return;
          }
          try { resolve(JSON.parse(body)); } catch { reject(new Error(`GET ${path}: not JSON: ${body.slice(0, 200)}`)); }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${this.server}${path}: no answer in 30 s`)));
      req.on('error', (e: any) => reject(new Error(`GET ${this.server}${path}: ${e?.code ?? ''} ${e?.message ?? e}`.trim())));
      req.end();
    });
  }

  /** Each item of a cluster-wide list, page by page (limit/continue): one page in memory at a time. */
  async forEach(path: string, each: (item: any) => void): Promise<void> {
    let next = '';
    do {
      const page = await this.get(`${path}?limit=500${next ? `&continue=${encodeURIComponent(next)}` : ''}`);
      if (!Array.isArray(page?.items)) throw new Error(`GET ${path}: no items in the answer`);
      page.items.forEach(each);
      next = page.metadata?.continue ?? '';
    } while (next);
  }
}

/** What every Pod and workload template of the cluster uses of this registry (`hosts`). */
export async function imagesInUse(cluster: KubernetesApi, hosts: readonly string[]): Promise<{ inUse: InUse; objects: number }> {
  const inUse: InUse = new Map();
  let objects = 0;
  for (const w of WORKLOADS) {
    await cluster.forEach(w.path, (item) => {
      objects += 1;
      const by = `${w.kind} ${item?.metadata?.namespace}/${item?.metadata?.name}`;
      for (const image of imagesOf(w.kind, item)) addInUse(inUse, image, hosts, by);
    });
  }
  return { inUse, objects };
}

interface Response {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** How long one registry request may take. */
const REGISTRY_TIMEOUT_MS = 30_000;

/** A minimal Distribution v2 client: basic auth on every request, pagination by Link header. */
export class RegistryApi {
  private readonly auth?: string;
  /** Config blobs already read: tags on one manifest share it. */
  private readonly configs = new Map<string, Promise<any>>();

  /** @param pageSize `n` of catalog and tag list pages (REGISTRY_PAGE_SIZE) */
  constructor(readonly url: string, username?: string, password?: string, readonly pageSize = 100) {
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
      res = await fetch(`${this.url}${path}`, { method, headers, redirect: 'follow', signal: AbortSignal.timeout(REGISTRY_TIMEOUT_MS) });
      return { status: res.status, headers: res.headers, body: await res.text() };
    } catch (e: any) {
      // The message carries the cause's code (ECONNREFUSED...): the log line is all a CronJob leaves.
      const why = e?.name === 'TimeoutError' ? `no answer in ${REGISTRY_TIMEOUT_MS / 1000} s` : e?.cause?.code ?? e?.message ?? e;
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`${method} ${this.url}${path}: ${why} (is the registry Service up?)`);
    }
  }

  /** Every `field` entry of a paged list; `unknownIsEmpty`: a 404 NAME_UNKNOWN (a repository without tags) is an empty list. */
  private async paged(path: string, field: string, unknownIsEmpty: boolean): Promise<string[]> {
    const all: string[] = [];
    let next: string | undefined = path;
    while (next) {
      const res = await this.request('GET', next);
      if (res.status === 404 && unknownIsEmpty && res.body.includes('NAME_UNKNOWN')) return all;
      // Any other 404 (a wrong REGISTRY_URL, a proxy's page) is not "nothing to do".
      if (res.status !== 200) throw new Error(`GET ${next}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      all.push(...(JSON.parse(res.body)[field] ?? []));
      const link = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '');
      next = link?.[1];
    }
    return all;
  }

  repositories(): Promise<string[]> {
    return this.paged(`/v2/_catalog?n=${this.pageSize}`, 'repositories', false);
  }

  tags(name: string): Promise<string[]> {
    return this.paged(`/v2/${name}/tags/list?n=${this.pageSize}`, 'tags', true);
  }

  /** The digest name:tag points at now: one HEAD. */
  async digestOf(name: string, tag: string): Promise<string | undefined> {
    const res = await this.request('HEAD', `/v2/${name}/manifests/${tag}`, MEDIA_TYPES.join(', '));
    if (res.status === 404) return undefined;
    const digest = res.headers.get('docker-content-digest');
    if (res.status !== 200 || !digest) throw new Error(`HEAD /v2/${name}/manifests/${tag}: HTTP ${res.status}${digest ? '' : ', no Docker-Content-Digest header'}`);
    return digest;
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
    const config = await this.config(name, image.config.digest);
    return {
      tag,
      digest: top.digest,
      created: typeof config.created === 'string' ? config.created : '',
      revision: config.config?.Labels?.['org.opencontainers.image.revision'],
    };
  }

  /** An image config blob, read once per digest. */
  private config(name: string, digest: string): Promise<any> {
    const key = `${name}@${digest}`;
    if (!this.configs.has(key)) {
      this.configs.set(key, this.request('GET', `/v2/${name}/blobs/${digest}`).then((res) => {
        if (res.status !== 200) throw new Error(`GET /v2/${name}/blobs/${digest}: HTTP ${res.status}`);
        try { return JSON.parse(res.body); } catch { throw new Error(`GET /v2/${name}/blobs/${digest}: not an image config (not JSON)`); }
      }));
    }
    return this.configs.get(key)!;
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

/**
 * The tag that points at `digest` now although the listing did not say so: a
 * moving tag (`movingTags`) or a tag pushed since (`listed` lacks it). Commit
 * tags name one commit and are not re-checked. The registry API has no
 * conditional delete, so a push between this look and the DELETE is still lost.
 */
async function tagsNowOn(api: RegistryApi, name: string, digest: string, listed: Set<string>, movingTags: string[]): Promise<string | undefined> {
  const now = await api.tags(name);
  for (const tag of now.filter((t) => !listed.has(t) || movingTags.includes(t)).sort()) {
    if (await api.digestOf(name, tag) === digest) return tag;
  }
  return undefined;
}

export interface RunResult {
  readonly deletedManifests: number;
  readonly deletedTags: string[];
  /** Repositories that could not be processed, with why: the others were. */
  readonly failed: string[];
}

/** One retention pass over every repository. */
export async function runRetention(api: RegistryApi, policy: RetentionPolicy, dryRun: boolean, log: (line: string) => void, inUse: InUse = new Map()): Promise<RunResult> {
  const repositories = (await api.repositories()).sort();
  const overrides = Object.entries(policy.images ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ');
  log(`==> [retention] ${api.url}: ${repositories.length} repositories; keep the commit tags of the newest ${policy.keepCommitTags} builds per image${overrides ? ` (${overrides})` : ''} and every moving tag${dryRun ? '; DRY RUN' : ''}`);
  const deletedTags: string[] = [];
  const failed: string[] = [];
  let deletedManifests = 0;
  /** Retention for one repository. */
  const retainRepository = async (name: string): Promise<void> => {
    const tags = (await api.tags(name)).sort();
    const infos: TagInfo[] = [];
    for (const tag of tags) infos.push(await api.describe(name, tag));
    const keep = keepFor(policy, name);
    const d = decide(infos, keep, inUse.get(name));
    log(`${name}: ${d.keptCommitTags.length + d.keptShared.length + d.keptInUse.length + d.delete.reduce((n, x) => n + x.tags.length, 0)} commit tags, keep the newest ${keep} builds; other tags kept: ${d.keptOtherTags.join(' ') || '-'}`);
    for (const s of d.keptShared) log(`kept ${name}:${s.tag}: same manifest as ${name}:${s.with}`);
    for (const u of d.keptInUse) log(`kept ${name}:${u.tag}: in use by ${u.by}`);
    for (const x of d.delete) {
      if (!dryRun) {
        // A push since the listing may have put a moving tag (a rebuild of an old commit) or a new
        // tag on this manifest, and deleting by digest would take that tag too: look again first.
        const moved = await tagsNowOn(api, name, x.digest, new Set(tags), d.keptOtherTags);
        if (moved !== undefined) {
          log(`kept ${x.tags.map((t) => `${name}:${t}`).join(' ')}: ${name}:${moved} was pushed onto the same manifest during this run`);
          continue;
        }
        await api.deleteManifest(name, x.digest);
      }
      deletedManifests += 1;
      for (const t of x.tags) {
        deletedTags.push(`${name}:${t}`);
        log(`${dryRun ? 'would delete' : 'deleted'} ${name}:${t} ${x.digest}`);
      }
    }
  };
  for (const name of repositories) {
    try {
      await retainRepository(name);
    } catch (e: any) {
      // One repository that cannot be read (an artifact that is no image, a tag deleted meanwhile)
      // must not stop the others night after night: carry on, and fail the run at the end.
      failed.push(`${name}: ${e?.message ?? e}`);
      log(`!! ${name}: skipped: ${e?.message ?? e}`);
    }
  }
  log(`==> [done] ${dryRun ? 'would delete' : 'deleted'} ${deletedManifests} manifests (${deletedTags.length} tags); the registry's garbage collection frees their blobs${failed.length > 0 ? `; ${failed.length} repositories skipped` : ''}`);
  return { deletedManifests, deletedTags, failed };
}

/** REGISTRY_IMAGE_HOSTS: `host:port` names of this registry, comma-separated. */
export function parseImageHosts(text: string | undefined): string[] {
  const hosts = (text ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
  const bad = hosts.filter((h) => !/^[a-z0-9.-]+:\d+$/.test(h));
  if (hosts.length === 0 || bad.length > 0) {
    throw new Error(`REGISTRY_IMAGE_HOSTS must list host:port names of the registry, comma-separated (e.g. localhost:30500,registry:5000); got ${JSON.stringify(text ?? '')}`);
  }
  return hosts;
}

/** REGISTRY_PAGE_SIZE: `n` of the registry's list pages; default 100. */
export function parsePageSize(text: string | undefined): number {
  if (text === undefined || text === '') return 100;
  if (!/^[1-9][0-9]{0,3}$/.test(text) || Number(text) > 1000) throw new Error(`REGISTRY_PAGE_SIZE must be a whole number from 1 to 1000; got ${JSON.stringify(text)}`);
  return Number(text);
}

/** The CronJob's entry point: retentionProgramJs() ends the program with a call to it. */
export async function main(env: Record<string, string | undefined> = process.env): Promise<number> {
  try {
    if (!env.REGISTRY_URL) throw new Error('REGISTRY_URL is not set');
    const policy = parsePolicy(env.RETENTION_POLICY);
    const hosts = parseImageHosts(env.REGISTRY_IMAGE_HOSTS);
    const log = (line: string) => console.log(line);
    let found: { inUse: InUse; objects: number };
    try {
      found = await imagesInUse(KubernetesApi.inCluster(env), hosts);
    } catch (e: any) {
      // Fail closed: without knowing what runs, any deletion could break a Pod.
      console.error(`!! retention failed: cannot read what the cluster runs, so nothing was deleted: ${e?.message ?? e}`);
      return 1;
    }
    const used = [...found.inUse.entries()].flatMap(([name, u]) => [...u.tags.keys()].map((t) => `${name}:${t}`).concat([...u.digests.keys()].map((d) => `${name}@${d}`)));
    log(`==> [in use] ${found.objects} Pods and workloads read; images of ${hosts.join(', ')} they use: ${used.sort().join(' ') || '-'}`);
    const api = new RegistryApi(env.REGISTRY_URL, env.REGISTRY_USERNAME, env.REGISTRY_PASSWORD, parsePageSize(env.REGISTRY_PAGE_SIZE));
    const result = await runRetention(api, policy, env.DRY_RUN === 'true', log, found.inUse);
    if (result.failed.length > 0) {
      console.error(`!! retention failed for ${result.failed.length} repositories (the others were done):\n${result.failed.map((f) => `   ${f}`).join('\n')}`);
      return 1;
    }
    return 0;
  } catch (e: any) {
    console.error(`!! retention failed: ${e?.message ?? e}`);
    return 1;
  }
}
