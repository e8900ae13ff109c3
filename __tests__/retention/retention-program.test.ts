import { builtinModules } from 'module';
import {
  addInUse, decide, imagesOf, InUse, isCommitTag, keepFor, parseImageHosts, parsePageSize, parsePolicy, parseRegistryImage, TagInfo,
} from '../../lib/retention/retention-program';
import { retentionProgramJs } from '../../lib/retention/retention-program-js';

const sha = (n: number) => n.toString(16).padStart(2, '0').repeat(20);
/** A commit tag of commit n, built at minute n. */
const commitTag = (n: number, digest = `sha256:d${n}`): TagInfo => ({
  tag: sha(n).slice(0, 7), digest, created: `2026-11-01T00:${String(n).padStart(2, '0')}:00Z`, revision: sha(n),
});

describe('retention policy (pure)', () => {
  test('commit tags are hex prefixes of the image\'s revision label; everything else is a moving tag', () => {
    expect(isCommitTag('abcdef1', 'abcdef1234')).toBe(true);
    expect(isCommitTag('abcdef1234', 'abcdef1234')).toBe(true); // a full-SHA ref names a commit too
    expect(isCommitTag('main', 'abcdef1234')).toBe(false);
    expect(isCommitTag('abcdef1', 'bbcdef1234')).toBe(false); // a branch that only looks like a SHA
    expect(isCommitTag('abcdef1', undefined)).toBe(false); // not pushed by a builder
    expect(isCommitTag('abcde', 'abcdef1234')).toBe(false); // shorter than the builder's 7
  });

  test('keeps the newest N commit tags and every moving tag; deletes the rest by digest', () => {
    const tags = [1, 2, 3, 4, 5].map((n) => commitTag(n));
    const main = { ...tags[4], tag: 'main' };
    const latest = { ...tags[4], tag: 'latest' };
    const d = decide([...tags, main, latest], 2);
    expect(d.keptCommitTags).toEqual([tags[4].tag, tags[3].tag]);
    expect(d.keptOtherTags).toEqual(['latest', 'main']);
    expect(d.delete).toEqual([
      { digest: 'sha256:d1', tags: [tags[0].tag] },
      { digest: 'sha256:d2', tags: [tags[1].tag] },
      { digest: 'sha256:d3', tags: [tags[2].tag] },
    ]);
  });

  test('never deletes a manifest a kept tag points at (Distribution would drop that tag too)', () => {
    const old = commitTag(1, 'sha256:same');
    const release = { tag: 'v1.0.0', digest: 'sha256:same', created: old.created, revision: old.revision };
    const d = decide([old, commitTag(2), commitTag(3), release], 1);
    expect(d.delete.map((x) => x.digest)).toEqual(['sha256:d2']);
    expect(d.keptShared).toEqual([{ tag: old.tag, with: 'v1.0.0' }]);
  });

  test('keep counts builds, not tags: a full-SHA build\'s two commit tags (SHA and prefix) on one manifest count once', () => {
    const pinned = [1, 2, 3].flatMap((n) => [commitTag(n), { ...commitTag(n), tag: sha(n) }]);
    const d = decide(pinned, 2);
    expect(d.keptCommitTags.sort()).toEqual([sha(2), sha(2).slice(0, 7), sha(3), sha(3).slice(0, 7)].sort());
    expect(d.delete).toEqual([{ digest: 'sha256:d1', tags: [sha(1).slice(0, 7), sha(1)].sort() }]);
    expect(d.keptShared).toEqual([]);
  });

  test('images without the revision label are never touched', () => {
    const foreign = [1, 2, 3].map((n) => ({ ...commitTag(n), revision: undefined }));
    expect(decide(foreign, 1).delete).toEqual([]);
  });

  test('the order does not depend on how the registry lists tags', () => {
    const tags = [1, 2, 3, 4].map((n) => commitTag(n));
    expect(decide([...tags].reverse(), 2)).toEqual(decide(tags, 2));
  });

  test('per-image overrides, validated', () => {
    const policy = parsePolicy('{"keepCommitTags":10,"images":{"worker":3}}');
    expect(keepFor(policy, 'worker')).toBe(3);
    expect(keepFor(policy, 'hasher')).toBe(10);
    expect(() => parsePolicy('{"keepCommitTags":0}')).toThrow(/keepCommitTags must be a whole number >= 1/);
    expect(() => parsePolicy('{"keepCommitTags":2,"images":{"x":"3"}}')).toThrow(/images\.x must be/);
    expect(() => parsePolicy(undefined)).toThrow(/not JSON/);
  });

  test('the CronJob\'s program is this module, transpiled deterministically and importing only Node built-ins', () => {
    const js = retentionProgramJs();
    expect(js).toBe(retentionProgramJs());
    expect(js).toContain('function decide(');
    const required = (js.match(/require\(["'][^"']+["']\)/g) ?? []).map((r) => r.slice(9, -2));
    expect(required.sort()).toEqual(['fs', 'https', 'path']);
    for (const m of required) expect(builtinModules).toContain(m);
    expect(Buffer.byteLength(js)).toBeLessThan(64 * 1024); // a ConfigMap holds 1 MiB
  });
});

test('created times compare as instants, not text (RFC 3339 trims trailing zeros of the fraction)', () => {
  const a = { ...commitTag(1), created: '2026-11-29T03:20:01.12Z' };
  const b = { ...commitTag(2), created: '2026-11-29T03:20:01.123Z' };
  expect(decide([a, b], 1).keptCommitTags).toEqual([b.tag]);
});

describe('images in use (the cluster\'s Pods and workload templates)', () => {
  const HOSTS = ['localhost:30500', '127.0.0.1:30500', 'registry:5000'];

  test('a commit tag past the policy stays while a Pod, a template or a digest names its manifest', () => {
    const tags = [1, 2, 3, 4].map((n) => commitTag(n));
    const byTag = decide(tags, 1, { tags: new Map([[tags[0].tag, 'Pod shop/web-1']]), digests: new Map() });
    expect(byTag.keptInUse).toEqual([{ tag: tags[0].tag, by: 'Pod shop/web-1' }]);
    expect(byTag.delete.map((x) => x.digest)).toEqual(['sha256:d2', 'sha256:d3']);
    const byDigest = decide(tags, 1, { tags: new Map(), digests: new Map([['sha256:d2', 'CronJob shop/report']]) });
    expect(byDigest.keptInUse).toEqual([{ tag: tags[1].tag, by: 'CronJob shop/report' }]);
    expect(byDigest.delete.map((x) => x.digest)).toEqual(['sha256:d1', 'sha256:d3']);
    // Without the cluster's view, the same tags go: the policy alone.
    expect(decide(tags, 1).delete.map((x) => x.digest)).toEqual(['sha256:d1', 'sha256:d2', 'sha256:d3']);
  });

  test('a tag in use protects the manifest, so its other commit tags stay too', () => {
    const a = commitTag(1, 'sha256:shared');
    const b = { ...commitTag(1, 'sha256:shared'), tag: sha(1) }; // the full-SHA tag of the same build
    const d = decide([a, b, commitTag(2), commitTag(3)], 1, { tags: new Map([[b.tag, 'Deployment shop/web']]), digests: new Map() });
    expect(d.delete.map((x) => x.digest)).toEqual(['sha256:d2']);
    expect(d.keptInUse.map((k) => k.tag).sort()).toEqual([a.tag, b.tag].sort());
  });

  test('only references of this registry count, by every name Pods pull it with', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(parseRegistryImage('localhost:30500/app:abc1234', HOSTS)).toEqual({ name: 'app', tag: 'abc1234', digest: undefined });
    expect(parseRegistryImage('127.0.0.1:30500/app', HOSTS)).toEqual({ name: 'app', tag: 'latest', digest: undefined });
    expect(parseRegistryImage(`registry:5000/app@${digest}`, HOSTS)).toEqual({ name: 'app', tag: undefined, digest });
    expect(parseRegistryImage(`localhost:30500/app:main@${digest}`, HOSTS)).toEqual({ name: 'app', tag: 'main', digest });
    expect(parseRegistryImage(`docker-pullable://localhost:30500/app@${digest}`, HOSTS)).toEqual({ name: 'app', tag: undefined, digest });
    expect(parseRegistryImage('docker.io/library/app:abc1234', HOSTS)).toBeUndefined();
    expect(parseRegistryImage('localhost:30501/app:abc1234', HOSTS)).toBeUndefined();
    expect(parseRegistryImage('localhost:305000/app:abc1234', HOSTS)).toBeUndefined();
  });

  test('a Pod\'s containers, init and ephemeral containers and resolved imageIDs; a workload\'s Pod template', () => {
    const digest = `sha256:${'cd'.repeat(32)}`;
    const pod = {
      spec: { initContainers: [{ image: 'localhost:30500/init:1111111' }], containers: [{ image: 'localhost:30500/app:main' }], ephemeralContainers: [{ image: 'busybox:1' }] },
      status: { containerStatuses: [{ imageID: `localhost:30500/app@${digest}` }, { imageID: '' }] },
    };
    expect(imagesOf('Pod', pod)).toEqual(['localhost:30500/init:1111111', 'localhost:30500/app:main', 'busybox:1', `localhost:30500/app@${digest}`]);
    expect(imagesOf('CronJob', { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ image: 'registry:5000/report:2222222' }] } } } } } }))
      .toEqual(['registry:5000/report:2222222']);
    expect(imagesOf('Deployment', { spec: { template: { spec: { containers: [{ image: 'x' }] } } } })).toEqual(['x']);
    expect(imagesOf('ReplicaSet', { spec: {} })).toEqual([]);
    const inUse: InUse = new Map();
    for (const image of imagesOf('Pod', pod)) addInUse(inUse, image, HOSTS, 'Pod a/b');
    expect([...inUse.keys()].sort()).toEqual(['app', 'init']);
    expect([...inUse.get('app')!.tags]).toEqual([['main', 'Pod a/b']]);
    expect([...inUse.get('app')!.digests]).toEqual([[digest, 'Pod a/b']]);
  });

  test('REGISTRY_IMAGE_HOSTS is validated', () => {
    expect(parseImageHosts('localhost:30500, registry:5000')).toEqual(['localhost:30500', 'registry:5000']);
    expect(() => parseImageHosts('')).toThrow(/REGISTRY_IMAGE_HOSTS must list host:port/);
    expect(() => parseImageHosts('localhost')).toThrow(/REGISTRY_IMAGE_HOSTS must list host:port/);
  });

  test('REGISTRY_PAGE_SIZE: default 100, 1-1000, anything else named', () => {
    expect(parsePageSize(undefined)).toBe(100);
    expect(parsePageSize('2')).toBe(2);
    expect(parsePageSize('1000')).toBe(1000);
    for (const bad of ['0', '1001', '-1', '2.5', 'ten', ' 2']) expect(() => parsePageSize(bad)).toThrow(/REGISTRY_PAGE_SIZE must be a whole number from 1 to 1000/);
  });
});
