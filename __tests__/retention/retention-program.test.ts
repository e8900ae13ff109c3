import { decide, isCommitTag, keepFor, parsePolicy, TagInfo } from '../../lib/retention/retention-program';
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
    expect(js.match(/require\(["'][^"']+["']\)/g) ?? []).toEqual([]);
  });
});

test('created times compare as instants, not text (RFC 3339 trims trailing zeros of the fraction)', () => {
  const a = { ...commitTag(1), created: '2026-11-29T03:20:01.12Z' };
  const b = { ...commitTag(2), created: '2026-11-29T03:20:01.123Z' };
  expect(decide([a, b], 1).keptCommitTags).toEqual([b.tag]);
});
