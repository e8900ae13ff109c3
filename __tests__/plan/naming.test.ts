import { deriveImageName, IMAGE_NAME_PATTERN, normalizeImageName, objectName, refToTag, repositoryName, TAG_PATTERN } from '../../lib/plan/naming';

describe('repositoryName', () => {
  test.each([
    ['https://github.com/jpetazzo/container.training', 'container.training'],
    ['https://git.example.com/team/App.git', 'App'],
    ['https://git.example.com/team/app/', 'app'],
    ['git@git.example.com:team/tools.git', 'tools'],
    ['ssh://git@git.example.com:2222/team/api.git', 'api'],
    ['git://127.0.0.1:9418/fixture.git', 'fixture'],
  ])('%s → %s', (repo, name) => {
    expect(repositoryName(repo)).toBe(name);
  });
});

describe('deriveImageName', () => {
  test.each([
    ['https://github.com/jpetazzo/container.training', 'dockercoins/worker', 'worker'],
    ['https://github.com/jpetazzo/container.training', '.', 'container.training'],
    ['https://git.example.com/team/My_App.git', '.', 'my_app'],
    ['https://git.example.com/team/app.git', 'services/Payment Service', 'payment-service'],
    ['https://git.example.com/team/app.git', 'a/b/--web--', 'web'],
    ['https://git.example.com/team/app.git', 'x/API..v2', 'api.v2'],
  ])('%s + %s → %s', (repo, context, name) => {
    const derived = deriveImageName(repo, context);
    expect(derived).toBe(name);
    expect(derived).toMatch(IMAGE_NAME_PATTERN);
  });

  test('refuses a context with nothing to name an image after', () => {
    expect(() => deriveImageName('https://x.example/r.git', 'a/---')).toThrow(/cannot derive an image name from "---"/);
  });

  test('normalizes to the registry grammar', () => {
    for (const text of ['UPPER', 'a__b', 'a--b', '.dot.', 'ü-name', 'x y z']) {
      const n = normalizeImageName(text);
      expect(n).toMatch(IMAGE_NAME_PATTERN);
    }
  });
});

describe('refToTag', () => {
  test.each([
    ['main', 'main'],
    ['feature/login', 'feature-login'],
    ['release/2.0/rc+1', 'release-2.0-rc-1'],
    ['v1.2.3', 'v1.2.3'],
    ['Fix_Bug-12', 'Fix_Bug-12'],
    ['0123456789abcdef0123456789abcdef01234567', '0123456789abcdef0123456789abcdef01234567'],
    ['user@branch', 'user-branch'],
  ])('%s → %s', (ref, tag) => {
    expect(refToTag(ref)).toBe(tag);
    expect(refToTag(ref)).toMatch(TAG_PATTERN);
  });

  test('cuts long refs to 128 characters and keeps a valid first character', () => {
    expect(refToTag(`feature/${'x'.repeat(200)}`)).toHaveLength(128);
    expect(refToTag('-odd')).toBe('_-odd');
    expect(refToTag('.odd')).toMatch(TAG_PATTERN);
  });
});

describe('objectName', () => {
  test('joins and lower-cases parts into an RFC 1123 label', () => {
    expect(objectName('build', 'container.training', 'main')).toBe('build-container-training-main');
    expect(objectName('build', 'My_Repo', 'Feature-X')).toBe('build-my-repo-feature-x');
  });

  test('shortens long names with a stable hash', () => {
    const long = objectName('build', 'a'.repeat(80), 'main');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(objectName('build', 'a'.repeat(80), 'main')).toBe(long);
    expect(objectName('build', 'a'.repeat(80), 'dev')).not.toBe(long);
  });
});
