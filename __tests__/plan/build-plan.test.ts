import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse } from 'yaml';
import { BuilderEngine, BuildSource, PlanError, planBuilds, repoHash, tagsForRef } from '../../lib/plan/build-plan';
import { ConfigError, loadBuildsFile, parseBuildsFile } from '../../lib/config/builds-file';

/** builds.yaml's builds with its defaults, without lib/config's checks (which run planBuilds themselves). */
const sources = (text: string): BuildSource[] => parse(text).builds.map((b: any) => ({
  repo: b.repo, ref: b.ref ?? 'main', defaultBranch: b.defaultBranch ?? 'main',
  images: (b.images ?? [{}]).map((i: any) => ({ context: i.context ?? '.', dockerfile: i.dockerfile ?? 'Dockerfile' })),
}));
const plan = (text: string) => planBuilds(sources(text));

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
    expect(conflicts[0]).toMatch(/^builds\[0\]\.images\[1\]: image "api:main" would be pushed by both builds\[0\]\.images\[0\] \(https:\/\/x\.example\/app\.git at main, context api, dockerfile Dockerfile\) and builds\[0\]\.images\[1\] \(.*dockerfile Dockerfile\.debug\)/);
    expect(conflicts[1]).toMatch(/^builds\[0\]\.images\[1\]: image "api:latest"/);
  });

  test('the same image name from two repositories on the same ref is refused', () => {
    const conflicts = conflictsOf(`builds:
  - {repo: "https://x.example/a.git", ref: v1, images: [{context: services/worker}]}
  - {repo: "https://y.example/b.git", ref: v1, images: [{context: worker}]}
`);
    expect(conflicts).toEqual([expect.stringMatching(/^builds\[1\]\.images\[0\]: image "worker:v1" would be pushed by both builds\[0\]\.images\[0\] .* and builds\[1\]\.images\[0\] \(https:\/\/y\.example\/b\.git at v1, context worker/)]);
  });

  test('refs that normalize to the same tag collide', () => {
    const conflicts = conflictsOf(`builds:
  - {repo: "https://x.example/app.git", ref: feature/login}
  - {repo: "https://x.example/app.git", ref: feature-login}
`);
    expect(conflicts[0]).toMatch(/^builds\[1\]\.images\[0\]: image "app:feature-login" would be pushed by both/);
    expect(conflicts[1]).toMatch(/^builds\[1\]: builds\[0\] and builds\[1\] would both be builder "build-app-feature-login"/);
  });

  test('a context with nothing to name an image after is a PlanError naming the entry', () => {
    expect(conflictsOf('builds: [{repo: "https://x.example/a.git", images: [{context: "x/---"}]}]')).toEqual([
      expect.stringMatching(/^builds\[0\]\.images\[0\]\.context: cannot derive an image name from "---"/),
    ]);
  });

  test('two repositories with the same last path segment are no conflict: their builders get a short hash of the URL', () => {
    const builds = plan(`builds:
  - {repo: "https://github.com/team-a/app.git", images: [{context: api}]}
  - {repo: "https://github.com/team-b/app.git", images: [{context: web}]}
  - {repo: "https://github.com/team-a/other.git"}
`);
    expect(builds.map((b) => b.name)).toEqual([
      `build-app-${repoHash('https://github.com/team-a/app.git')}-main`,
      `build-app-${repoHash('https://github.com/team-b/app.git')}-main`,
      'build-other-main',
    ]);
    expect(builds[0].name).not.toBe(builds[1].name);
    // Deterministic: the same input gives the same names.
    expect(plan(`builds:
  - {repo: "https://github.com/team-a/app.git", images: [{context: api}]}
  - {repo: "https://github.com/team-b/app.git", images: [{context: web}]}
`).map((b) => b.name)).toEqual(builds.slice(0, 2).map((b) => b.name));
  });

  test('...but their images still collide when both build the repository root', () => {
    expect(conflictsOf(`builds:
  - {repo: "https://github.com/team-a/app.git"}
  - {repo: "git@gitlab.example.com:team-b/app.git"}
`)).toEqual([
      expect.stringMatching(/^builds\[1\]\.images\[0\]: image "app:main" would be pushed by both/),
      expect.stringMatching(/^builds\[1\]\.images\[0\]: image "app:latest"/),
    ]);
  });

  test('an image name over 63 characters (it names a label key) is refused at its context or repo', () => {
    const long = 'a'.repeat(64);
    expect(conflictsOf(`builds: [{repo: "https://x.example/${long}.git", images: [{context: "."}, {context: "x/${long}b"}]}]`)).toEqual([
      expect.stringMatching(/^builds\[0\]\.repo: the image name derived from the repository name is 64 characters long .*more than 63/),
      expect.stringMatching(/^builds\[0\]\.images\[1\]\.context: the image name derived from the last directory of the context is 65 characters long/),
    ]);
    expect(plan(`builds: [{repo: "https://x.example/a.git", images: [{context: "${'b'.repeat(63)}"}]}]`)[0].images[0].name).toHaveLength(63);
  });

  test('plan problems reach the user as builds.yaml problems: file:line, the real file name', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'plan-')), 'team-builds.yaml');
    writeFileSync(file, 'builds:\n  - repo: https://x.example/a.git\n    images: [{context: api}]\n  - repo: https://x.example/b.git\n    images:\n      - context: x/api\n');
    let error: unknown;
    try {
      loadBuildsFile(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6:9: builds\\[1\\]\\.images\\[0\\]: image "api:main" would be pushed by both`)),
      expect.stringMatching(/:6:9: builds\[1\]\.images\[0\]: image "api:latest"/),
    ]);
    expect(() => parseBuildsFile('builds: [{repo: "https://x.example/a.git", images: [{context: "x/---"}]}]')).toThrow(/^builds\.yaml:1:63: builds\[0\]\.images\[0\]\.context: cannot derive/);
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

describe('planBuilds: engine and the buildkit layer cache', () => {
  const source = (ref: string, defaultBranch = 'main') => ({ repo: 'https://x.example/app.git', ref, defaultBranch, images: [{ context: '.', dockerfile: 'Dockerfile' }] });

  test('engine defaults to docker and is kept when given', () => {
    expect(planBuilds([source('main')])[0].engine).toBe(BuilderEngine.DOCKER);
    expect(planBuilds([{ ...source('main'), engine: BuilderEngine.BUILDKIT }])[0].engine).toBe(BuilderEngine.BUILDKIT);
  });

  test("cache tags: the ref's own first (exported there), then the default branch's (imported too)", () => {
    expect(planBuilds([source('feature/login')])[0].cacheTags).toEqual(['feature-login', 'main']);
    expect(planBuilds([source('main')])[0].cacheTags).toEqual(['main']);
    expect(planBuilds([source('v1.0.0', 'trunk')])[0].cacheTags).toEqual(['v1.0.0', 'trunk']);
  });
});
