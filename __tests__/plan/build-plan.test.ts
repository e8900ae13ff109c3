import { PlanError, planBuilds, tagsForRef } from '../../lib/plan/build-plan';
import { parseBuildsFile } from '../../lib/config/builds-file';

const plan = (text: string) => planBuilds(parseBuildsFile(text).builds);

function conflictsOf(text: string): string[] {
  try {
    plan(text);
  } catch (e) {
    expect(e).toBeInstanceOf(PlanError);
    return (e as PlanError).conflicts;
  }
  throw new Error('expected a PlanError');
}

describe('tagsForRef', () => {
  test.each([
    ['main', 'main', ['main', 'latest']],
    ['feature/login', 'main', ['feature-login']],
    ['v1.0.0', 'main', ['v1.0.0']],
    ['master', 'master', ['master', 'latest']],
    ['main', 'master', ['main']],
    ['0123456789abcdef0123456789abcdef01234567', 'main', ['0123456789abcdef0123456789abcdef01234567']],
  ])('%s (default branch %s) → %j', (ref, defaultBranch, tags) => {
    expect(tagsForRef(ref, defaultBranch)).toEqual(tags);
  });
});

describe('planBuilds', () => {
  test('one clone, several images, names derived from contexts', () => {
    const [build] = plan(`builds:
  - repo: https://github.com/jpetazzo/container.training
    images: [{context: dockercoins/hasher}, {context: dockercoins/rng}, {context: dockercoins/webui}, {context: dockercoins/worker}]
`);
    expect(build.name).toBe('build-container-training-main');
    expect(build.tags).toEqual(['main', 'latest']);
    expect(build.images.map((i) => i.name)).toEqual(['hasher', 'rng', 'webui', 'worker']);
  });

  test('the repository name names a root-context image', () => {
    const [build] = plan('builds: [{repo: "git@git.example.com:team/Billing-API.git", ref: release/2.0}]');
    expect(build.images.map((i) => i.name)).toEqual(['billing-api']);
    expect(build.tags).toEqual(['release-2.0']);
    expect(build.name).toBe('build-billing-api-release-2-0');
  });

  test('two Dockerfiles of one context need different directories: same name:tag is refused', () => {
    const conflicts = conflictsOf(`builds:
  - repo: https://x.example/app.git
    images:
      - {context: api, dockerfile: Dockerfile}
      - {context: api, dockerfile: Dockerfile.debug}
`);
    expect(conflicts[0]).toMatch(/^image "api:main" would be pushed by both builds\[0\]\.images\[0\] \(https:\/\/x\.example\/app\.git at main, context api, dockerfile Dockerfile\) and builds\[0\]\.images\[1\] \(.*dockerfile Dockerfile\.debug\)/);
    expect(conflicts[1]).toMatch(/^image "api:latest"/);
  });

  test('the same image name from two repositories on the same ref is refused', () => {
    const conflicts = conflictsOf(`builds:
  - {repo: "https://x.example/a.git", ref: v1, images: [{context: services/worker}]}
  - {repo: "https://y.example/b.git", ref: v1, images: [{context: worker}]}
`);
    expect(conflicts).toEqual([expect.stringMatching(/^image "worker:v1" would be pushed by both builds\[0\]\.images\[0\] .* and builds\[1\]\.images\[0\] \(https:\/\/y\.example\/b\.git at v1, context worker/)]);
  });

  test('refs that normalize to the same tag collide', () => {
    const conflicts = conflictsOf(`builds:
  - {repo: "https://x.example/app.git", ref: feature/login}
  - {repo: "https://x.example/app.git", ref: feature-login}
`);
    expect(conflicts[0]).toMatch(/^image "app:feature-login" would be pushed by both/);
    expect(conflicts[1]).toMatch(/^builds\[0\] and builds\[1\] would both be builder "build-app-feature-login"/);
  });

  test('a context with nothing to name an image after is a PlanError naming the entry', () => {
    expect(conflictsOf('builds: [{repo: "https://x.example/a.git", images: [{context: "x/---"}]}]')).toEqual([
      expect.stringMatching(/^builds\[0\]\.images\[0\]\.context: cannot derive an image name from "---"/),
    ]);
  });

  test('the same repository at two refs is fine', () => {
    const builds = plan(`builds:
  - {repo: "https://x.example/app.git", ref: main}
  - {repo: "https://x.example/app.git", ref: v2.0.0}
`);
    expect(builds.map((b) => [b.name, b.tags])).toEqual([
      ['build-app-main', ['main', 'latest']],
      ['build-app-v2-0-0', ['v2.0.0']],
    ]);
  });
});
