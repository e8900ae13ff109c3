import { repositoryKey } from '../../lib/plan/repository-key';
import { matchPush } from '../../trigger/match';
import { Push } from '../../trigger/providers';
import { build, COMMIT } from './fixtures';

const push = (ref: string, urls = ['https://github.com/jpetazzo/container.training.git']): Push => ({ provider: 'github', delivery: 'd', repoUrls: urls, ref, commit: COMMIT });

describe('repositoryKey', () => {
  test.each([
    'https://github.com/jpetazzo/container.training',
    'https://github.com/jpetazzo/container.training.git',
    'http://github.com/jpetazzo/container.training/',
    'git://github.com/jpetazzo/container.training.git',
    'ssh://git@github.com/jpetazzo/container.training.git',
    'ssh://git@github.com:22/jpetazzo/container.training',
    'git@github.com:jpetazzo/container.training.git',
    'https://GitHub.com/JPetazzo/Container.Training',
  ])('%s is github.com/jpetazzo/container.training', (url) => {
    expect(repositoryKey(url)).toBe('github.com/jpetazzo/container.training');
  });

  test('another owner, host or name is another repository', () => {
    const key = repositoryKey('https://github.com/jpetazzo/container.training');
    for (const other of ['https://github.com/other/container.training', 'https://gitlab.com/jpetazzo/container.training', 'git@github.com:jpetazzo/container.training2.git']) {
      expect(repositoryKey(other)).not.toBe(key);
    }
  });
});

describe('matchPush', () => {
  const builds = [build({ repo: 'git@github.com:jpetazzo/container.training.git' })];

  test('a listed repository (another URL form) at the build ref: that build', () => {
    expect(matchPush(push('refs/heads/main'), builds)).toEqual({ builds: [{ build: builds[0], refName: 'main', refKind: 'branch' }] });
  });

  test('an unlisted repository: a reason', () => {
    expect(matchPush(push('refs/heads/main', ['https://github.com/someone/else.git']), builds)).toEqual({ ignored: 'repository https://github.com/someone/else.git is not listed in builds.yaml' });
  });

  test('a ref the trigger does not allow: a reason naming what is allowed', () => {
    expect(matchPush(push('refs/heads/feature'), builds)).toEqual({ ignored: 'branch feature is not allowed by the trigger of builds[0]: branches [main], tags [main]' });
  });

  test('branch names and tag patterns are separate: a tag "main*" pattern does not admit branch main2', () => {
    const b = [build({ repo: 'https://github.com/jpetazzo/container.training', trigger: { branches: ['main', 'release/*'], tags: ['v*'] } })];
    expect('builds' in matchPush(push('refs/heads/release/1.x'), b)).toBe(true);
    expect('builds' in matchPush(push('refs/heads/release/1.x/hotfix'), b)).toBe(false);
    expect('builds' in matchPush(push('refs/tags/v1.2.0'), b)).toBe(true);
    expect('builds' in matchPush(push('refs/heads/v1.2.0'), b)).toBe(false);
    expect('builds' in matchPush(push('refs/tags/release/1.x'), b)).toBe(false);
  });

  test('two builds of one repository: only the one whose trigger allows the ref', () => {
    const b = [build({ repo: 'https://github.com/jpetazzo/container.training' }), build({ repo: 'https://github.com/jpetazzo/container.training', ref: 'dev', trigger: { branches: ['dev'], tags: [] } }, 'builds[1]')];
    const m = matchPush(push('refs/heads/dev'), b);
    expect('builds' in m && m.builds.map((x) => x.build.source)).toEqual(['builds[1]']);
  });
});
