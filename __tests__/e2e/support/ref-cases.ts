import { E2ESuite, expectSuccess, short } from './suite';

/**
 * Successful builds both builder engines' e2e suites run (describeRefCases):
 * what a ref becomes as tags, and that the commit it names is what was built
 * (the revision label, the files its RUN steps wrote). They follow each
 * suite's own cold and cached builds of v1.0.0, which are about the engine.
 */
export function describeRefCases(suite: E2ESuite): void {
  describe('refs to tags: the commit a ref names, built and pushed under its tags', () => {
    test('branch feature/login: tagged feature-login and the short SHA; a custom dockerfile path', async () => {
      const { registry, repo } = suite;
      const { job, run } = await suite.build('feature', {
        repo: repo.url, ref: 'feature/login',
        images: [{ context: 'services/worker' }, { context: 'services/api', dockerfile: 'docker/Dockerfile.prod' }],
      });
      expect(job.env).toMatchObject({ GIT_REF: 'feature/login', IMAGE_TAGS: 'feature-login', IMAGE_2_DOCKERFILE: 'docker/Dockerfile.prod' });
      expectSuccess(run);

      const s = short(repo.commits.feature);
      await suite.checkPushed(run, { worker: ['feature-login', s], api: ['feature-login', s] });
      expect(await registry.tags('worker')).not.toContain('feature/login');
      // The branch's later commit is what was built.
      await suite.checkConfig('worker', 'feature-login', repo.commits.feature, { 'e2e.image': 'worker' }, ['WORKER_QUEUE=login-jobs']);
      expect(await suite.layerFile('worker', 'feature-login', 'srv/worker-built.txt')).toBe('worker queue=login-jobs\n');
      // docker/Dockerfile.prod, relative to the context; COPY reads from the context.
      await suite.checkConfig('api', 'feature-login', repo.commits.feature,
        { 'e2e.image': 'api', 'e2e.dockerfile': 'docker/Dockerfile.prod' }, ['API_ENV=production']);
      expect(await suite.layerFile('api', s, 'srv/api/built.txt')).toBe('api config from the services/api context\n');
    });

    test('default branch main: tagged main, latest and the short SHA', async () => {
      const { repo } = suite;
      const { job, run } = await suite.build('main', { repo: repo.url, ref: 'main', images: [{ context: 'services/hasher' }, { context: 'services/worker' }] });
      expect(job.env).toMatchObject({ GIT_REF: 'main', IMAGE_TAGS: 'main latest', IMAGE_1_NAME: 'hasher', IMAGE_2_NAME: 'worker' });
      expectSuccess(run);

      const s = short(repo.commits.main);
      await suite.checkPushed(run, { hasher: ['main', 'latest', s], worker: ['main', 'latest', s] });
      for (const name of ['hasher', 'worker']) {
        await suite.checkConfig(name, 'latest', repo.commits.main, { 'e2e.image': name }, [`E2E_IMAGE=${name}`]);
      }
      await suite.checkConfig('worker', 'main', repo.commits.main, {}, ['WORKER_QUEUE=jobs']);
    });

    test('full 40-character commit SHA: tagged with that SHA and its short form', async () => {
      const sha = suite.repo.commits.v1;
      const { job, run } = await suite.build('sha', { repo: suite.repo.url, ref: sha, images: [{ context: 'services/hasher' }] });
      expect(job.env).toMatchObject({ GIT_REF: sha, IMAGE_TAGS: sha });
      expectSuccess(run);
      await suite.checkPushed(run, { hasher: [sha, short(sha)] });
      await suite.checkConfig('hasher', sha, sha, { 'e2e.image': 'hasher' }, ['HASHER_ALGO=sha256']);
    });
  });
}
