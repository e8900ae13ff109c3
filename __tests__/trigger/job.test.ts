import { BuilderEngine, repoHash } from '../../lib/plan/build-plan';
import { ANNOTATIONS, MAX_BEFORE, olderCommits, triggeredJob } from '../../trigger/job';
import { matchPush, TriggerableBuild, triggerableBuilds } from '../../trigger/match';
import { build, COMMIT, entry, PARENT } from './fixtures';

const push = (ref: string) => ({ provider: 'github' as const, delivery: 'd-1', repoUrls: ['https://evil.example.com/x.git'], ref, commit: COMMIT });
const env = (manifest: any) => Object.fromEntries(manifest.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));

describe('the Job of a pushed commit', () => {
  const entry = build({ repo: 'https://github.com/jpetazzo/container.training', trigger: { branches: ['main', 'feature/*'], tags: ['v*'] } });

  test('BuildJob, created suspended: the exact commit, tags as synth gives the ref, builds.yaml URL and contexts only', () => {
    const { name, manifest } = triggeredJob({ build: entry, refName: 'main', refKind: 'branch' }, push('refs/heads/main'), { registryPort: 30500 }, new Date(0));
    expect(name).toBe('build-container-training-main-0123456');
    expect(manifest.kind).toBe('Job');
    expect(manifest.spec.suspend).toBe(true);
    expect(env(manifest)).toMatchObject({ REPO_URL: 'https://github.com/jpetazzo/container.training', GIT_REF: COMMIT, IMAGE_TAGS: 'main latest', IMAGE_1_NAME: 'worker', IMAGE_1_CONTEXT: 'dockercoins/worker', REGISTRY_PORT: '30500' });
    expect(manifest.metadata.labels['app.kubernetes.io/managed-by']).toBe('build-trigger');
    // the script comes from the ConfigMap dist/ deploys, not a copy of its own
    expect(manifest.spec.template.spec.volumes).toContainEqual(expect.objectContaining({ configMap: expect.objectContaining({ name: 'image-builder-script' }) }));
    expect(manifest.metadata.annotations['trigger.cdk8s-image-builder/images']).toBe('worker:0123456 worker:main worker:latest');
  });

  test('a feature branch and a tag: their own tag, no latest', () => {
    const feature = triggeredJob({ build: entry, refName: 'feature/login', refKind: 'branch' }, push('refs/heads/feature/login'), { registryPort: 30500 }, new Date(0));
    expect(env(feature.manifest).IMAGE_TAGS).toBe('feature-login');
    const tag = triggeredJob({ build: entry, refName: 'v1.2.0', refKind: 'tag' }, push('refs/tags/v1.2.0'), { registryPort: 30500 }, new Date(0));
    expect(env(tag.manifest).IMAGE_TAGS).toBe('v1.2.0');
  });

  test('a buildkit build: the buildkit container, pushing to the registry Service the settings carry', () => {
    const buildkit = build({ repo: 'https://github.com/jpetazzo/container.training.git', engine: BuilderEngine.BUILDKIT, trigger: { branches: ['main'], tags: [] } });
    const { manifest } = triggeredJob({ build: buildkit, refName: 'main', refKind: 'branch' }, push('refs/heads/main'),
      { registryPort: 30500, registryHost: 'registry:5000' }, new Date(0));
    const [container] = manifest.spec.template.spec.containers;
    expect(container.name).toBe('buildkit');
    expect(env(manifest)).toMatchObject({ GIT_REF: COMMIT, REGISTRY_HOST: 'registry:5000', REGISTRY_PORT: '30500', IMAGE_TAGS: 'main latest' });
    expect(JSON.stringify(manifest)).not.toContain('hostPath');
  });
});

describe('Job names: one per builds.yaml entry, as planBuilds names the entries', () => {
  const jobsFor = (builds: TriggerableBuild[], ref: string) => {
    const match = matchPush({ ...push(ref), repoUrls: builds.map((b) => b.repo) }, builds);
    if (!('builds' in match)) throw new Error(match.ignored);
    return match.builds.map((m) => triggeredJob(m, push(ref), { registryPort: 30500 }, new Date(0)));
  };

  test('a monorepo: two entries (two contexts) both allowing feature/* get two Jobs for one push, each building its own image', () => {
    const builds = triggerableBuilds([
      entry({ repo: 'https://github.com/team/mono', ref: 'main', images: [{ context: 'services/api', dockerfile: 'Dockerfile' }], trigger: { branches: ['main', 'feature/*'], tags: [] } }),
      entry({ repo: 'https://github.com/team/mono', ref: 'release', images: [{ context: 'services/web', dockerfile: 'Dockerfile' }], trigger: { branches: ['release', 'feature/*'], tags: [] } }),
    ]);
    const jobs = jobsFor(builds, 'refs/heads/feature/x');
    expect(jobs.map((j) => j.name)).toEqual(['build-mono-main-feature-x-0123456', 'build-mono-release-feature-x-0123456']);
    expect(jobs.map((j) => env(j.manifest).IMAGE_1_NAME)).toEqual(['api', 'web']);
    // a push of an entry's own ref keeps the short name
    expect(jobsFor(builds, 'refs/heads/main').map((j) => j.name)).toEqual(['build-mono-main-0123456']);
  });

  test('two forks with the same repository name at the same commit: the repoHash planBuilds gives them tells their Jobs apart', () => {
    const builds = triggerableBuilds([
      entry({ repo: 'https://github.com/a/app', images: [{ context: 'a', dockerfile: 'Dockerfile' }] }),
      entry({ repo: 'https://github.com/b/app', images: [{ context: 'b', dockerfile: 'Dockerfile' }] }),
    ]);
    const names = builds.map((b) => jobsFor([b], 'refs/heads/main')[0].name);
    expect(names).toEqual([`build-app-${repoHash('https://github.com/a/app')}-main-0123456`, `build-app-${repoHash('https://github.com/b/app')}-main-0123456`]);
  });

  test('two branches pushed at one commit: two Jobs (each pushes its own ref tag)', () => {
    const builds = [entry({ repo: 'https://github.com/team/mono', trigger: { branches: ['feature/*'], tags: [] } })];
    const names = ['refs/heads/feature/x', 'refs/heads/feature/y'].map((ref) => jobsFor(triggerableBuilds(builds), ref)[0].name);
    expect(new Set(names).size).toBe(2);
  });
});

describe('the older commits a Job records (its push is newer than them)', () => {
  const entry1 = build({ repo: 'https://github.com/jpetazzo/container.training' });
  const annotations = (j: { manifest: any }) => j.manifest.metadata.annotations;

  test('the push\'s before, and those passed by the controller (what it cancelled), at most MAX_BEFORE', () => {
    const p = { ...push('refs/heads/main'), before: PARENT };
    const m = { build: entry1, refName: 'main', refKind: 'branch' as const };
    expect(olderCommits(annotations(triggeredJob(m, p, { registryPort: 30500 }, new Date(0))))).toEqual([PARENT]);
    const many = Array.from({ length: 30 }, (_, i) => i.toString(16).padStart(40, '0'));
    expect(olderCommits(annotations(triggeredJob(m, p, { registryPort: 30500 }, new Date(0), many)))).toEqual(many.slice(0, MAX_BEFORE));
    expect(annotations(triggeredJob(m, push('refs/heads/main'), { registryPort: 30500 }, new Date(0)))).not.toHaveProperty([ANNOTATIONS.before]);
  });
});
