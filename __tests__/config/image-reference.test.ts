import { parseBuildsFile } from '../../lib/config/builds-file';
import { imageReferenceProblem, MAX_IMAGE_NAME_TOTAL_LENGTH } from '../../lib/config/image-reference';
import { REGISTRY_CONTAINER_PORT } from '../../lib/constructs/registry';
import { planBuilds } from '../../lib/plan/build-plan';

/**
 * Image references over the limit are refused at synth, as the kubelet
 * refuses them (InvalidImageName; the 1.27 API server stores them):
 * __tests__/cluster/image-reference.cluster.test.ts shows the real kubelet
 * refusing a 256-character name and taking a 255-character one.
 */
const withTrigger = (image: string) => `buildTrigger:\n  image: "${image}"\nbuilds:\n  - repo: https://example.com/a.git\n`;
/** `localhost:30500/aaa...:v1` whose repository name (host and path) is `length` characters long. */
const nameOfLength = (length: number) => `localhost:30500/${'a'.repeat(length - 'localhost:30500/'.length)}`;

describe('buildTrigger.image: the one image reference a user writes', () => {
  test('a repository name of 255 characters is taken, 256 refused with file:line, key and fix', () => {
    expect(() => parseBuildsFile(withTrigger(`${nameOfLength(255)}:v1`))).not.toThrow();
    expect(() => parseBuildsFile(withTrigger(`${nameOfLength(256)}:v1`))).toThrow(
      /^builds\.yaml:2:10: buildTrigger\.image: the repository name "localhost:30500\/a+\.\.\." is 256 characters long, more than 255 \(tag and digest not counted\); the kubelet refuses such an image \(InvalidImageName\)\. Use a shorter name, e\.g\. "localhost:30500\/cdk8s-image-builder:main"$/);
  });

  test('the tag does not count (as for the kubelet): a 255-character name with a 128-character tag is taken', () => {
    const ref = `${nameOfLength(255)}:${'t'.repeat(128)}`;
    expect(ref.length).toBe(384);
    expect(imageReferenceProblem(ref)).toBeUndefined();
  });

  test('a name without a host is measured as the kubelet measures it (docker.io/library/ added)', () => {
    expect(imageReferenceProblem('b'.repeat(237))).toBeUndefined();
    expect(imageReferenceProblem('b'.repeat(238))).toMatch(/"docker\.io\/library\/b+\.\.\." is 256 characters long/);
  });

  test.each([
    ['upper case in the path', 'localhost:30500/Trigger:main'],
    ['two colons', 'localhost::30500/trigger'],
    ['a tag over 128 characters', `localhost:30500/trigger:${'t'.repeat(129)}`],
    ['a short digest', 'localhost:30500/trigger@sha256:abc'],
    ['a space', 'localhost:30500/trig ger'],
  ])('%s is no image reference', (_what, ref) => {
    expect(() => parseBuildsFile(withTrigger(ref))).toThrow(/^builds\.yaml:2:10: buildTrigger\.image: ".*" is not an image reference \(\[host\[:port\]\/\]path\[:tag\]\[@digest\], the path in lower case\); e\.g\. "localhost:30500\/cdk8s-image-builder:main"$/);
  });
});

describe('derived image references: by construction far below the limit', () => {
  test('the longest name (63), the longest ref (255 characters, tag cut to 128), the highest nodePort and the cache', () => {
    const longestName = 'n'.repeat(63);
    const longestRef = `r${'/x'.repeat(127)}`;
    expect(longestRef).toHaveLength(255);
    const config = parseBuildsFile(`builds:\n  - repo: https://example.com/a.git\n    ref: "${longestRef}"\n    images:\n      - context: ${longestName}\n`);
    const [build] = planBuilds(config.builds);
    // As the scripts write them: pushes (docker engine, buildkit engine) and buildkit's layer cache.
    const name = build.images[0].name;
    const refs = build.tags.flatMap((tag) => [`localhost:32767/${name}:${tag}`, `registry:${REGISTRY_CONTAINER_PORT}/${name}:${tag}`])
      .concat(build.cacheTags.map((tag) => `registry:${REGISTRY_CONTAINER_PORT}/buildcache/${name}:${tag}`));
    expect(name).toHaveLength(63);
    expect(Math.max(...build.tags.map((t) => t.length))).toBe(128);
    for (const ref of refs) {
      expect(imageReferenceProblem(ref)).toBeUndefined();
      expect(ref.replace(/:[^:/]+$/, '').length).toBeLessThanOrEqual(MAX_IMAGE_NAME_TOTAL_LENGTH);
    }
  });
});
