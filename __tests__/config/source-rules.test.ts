import { parseBuildsFile } from '../../lib/config/builds-file';
import { checkDockerfilePath, checkRef, checkRelativePath, checkRepoUrl, isCommitSha, normalizeRelativePath } from '../../lib/config/source-rules';

describe('checkRef', () => {
  test.each(['main', 'v1.2.0', 'feature/login', 'release/2.x', 'fix_12-b', 'user+topic', '0123456789abcdef0123456789abcdef01234567'])('accepts %s', (ref) => {
    expect(checkRef(ref)).toBeUndefined();
  });

  test.each([
    ['', /must not be empty/],
    ['main; rm -rf /', /space, control or shell character/],
    ['$(reboot)', /shell character/],
    ['`id`', /shell character/],
    ['a|b', /shell character/],
    ['a&&b', /shell character/],
    ["it's", /shell character/],
    ['two words', /space/],
    ['line\nbreak', /control/],
    ['--upload-pack=touch /tmp/x', /starts with "-"/],
    ['-b', /starts with "-"/],
    ['../../etc', /"\.\."/],
    ['a..b', /"\.\."/],
    ['feature/', /empty path component/],
    ['a//b', /empty path component/],
    ['branch.lock', /"\.lock"/],
    ['ends.', /ends with "\."/],
    ['.hidden', /starting with "\."/],
    ['a/.b', /starting with "\."/],
    ['HEAD@{1}', /shell character|revision expression/],
    ['@', /revision expression/],
    ['abc1234', /abbreviated commit SHA/],
    ['a'.repeat(256), /max 255/],
    ['ref~1', /shell character/],
    ['ref^', /shell character/],
    ['a:b', /shell character/],
  ])('refuses %j', (ref, reason) => {
    expect(checkRef(ref)).toMatch(reason);
  });

  test('every refusal says how to fix it', () => {
    expect(checkRef('a b')).toMatch(/use a branch name, a tag or a full 40-character commit SHA/);
  });

  // Shapes of real tokens, built here so that no token-like string sits in the repository.
  const tokens = [
    `ghp_${'a1B2'.repeat(9)}`, `github_pat_${'11ABCD_x'.repeat(6)}`, `glpat-${'x1Y2z3'.repeat(4)}`, `xoxb-${'12345-abc'.repeat(3)}`,
    `AKIA${'ABCD1234'.repeat(2)}`, `ATBB${'aB3d'.repeat(8)}`,
  ];
  test.each(tokens.flatMap((t) => [t, `feature/${t}`]))('refuses a ref shaped like an access token, without printing it: %#', (ref) => {
    const problem = checkRef(ref);
    expect(problem).toMatch(/looks like an access token \(.{4}…, not shown\): a ref is written into dist\/, the build log and every image's labels/);
    expect(problem).not.toContain(ref.slice(8));
  });
  test.each(['asia/launch', 'akia-ui', 'ghp_short', 'release/glpat-notes', 'xoxb-1'])('accepts %s (a token prefix without a token\'s shape)', (ref) => {
    expect(checkRef(ref)).toBeUndefined();
  });
});

describe('isCommitSha', () => {
  test('knows full SHA-1 and SHA-256 ids only', () => {
    expect(isCommitSha('0123456789abcdef0123456789abcdef01234567')).toBe(true);
    expect(isCommitSha('a'.repeat(64))).toBe(true);
    expect(isCommitSha('0123456')).toBe(false);
    expect(isCommitSha('main')).toBe(false);
  });
});

describe('checkRepoUrl', () => {
  test.each([
    'https://github.com/jpetazzo/container.training',
    'https://git.example.com:8443/team/app.git',
    'http://127.0.0.1:8080/fixture.git',
    'git://127.0.0.1:9418/fixture.git',
    'ssh://git@git.example.com/team/app.git',
    'git@git.example.com:team/app.git',
    'ssh://git@git.example.com:2222/team/app.git',
    'deploy_user@git.example.com:team/app.git',
  ])('accepts %s', (repo) => {
    expect(checkRepoUrl(repo)).toBeUndefined();
  });

  test.each([
    ['https://user:secret@git.example.com/app.git', /password/],
    // Credentials in any form: never in dist/, logs or labels.
    ['https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/team/app.git', /user part, which in https:\/\/ URLs is a credential/],
    ['https://token@git.example.com/team/app.git', /credential/],
    ['http://x-access-token@git.example.com/team/app.git', /credential/],
    ['git://me@git.example.com/team/app.git', /credential/],
    ['ssh://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/team/app.git', /not a plain login name/],
    ['ssh://git:pw@github.com/team/app.git', /password/],
    ['glpat-abcdefghijklmnopqrst@gitlab.com:team/app.git', /not a plain login name/],
    ['a1b2c3d4e5f6@gitlab.com:team/app.git', /not a plain login name/],
    ['git:secret@gitlab.com:team/app.git', /not a plain login name/],
    // Invisible and control characters, also percent-encoded.
    ['https://git.example.com/team/app\u200b.git', /control or invisible character/],
    ['https://git.example.com/team/\u202eppa.git', /control or invisible character/],
    ['https://git.example.com/team/app.git\u0000', /control or invisible character/],
    ['https://git.example.com/team/app%0a.git', /control or invisible character/],
    ['https://git.example.com/team/app\u00a0.git', /control or invisible character/],
    // Disguised ssh options: hosts and paths that start with "-".
    ['ssh://-oProxyCommand=touch@x/app.git', /not a plain login name/],
    ['ssh://-oProxyCommand=x/app.git', /host starts with "-"/],
    ['ssh://git@-oProxyCommand=x/app.git', /host starts with "-"/],
    ['git@-oProxyCommand=x:team/app.git', /host starts with "-"/],
    ['git@host:-team/app.git', /path starts with "-"/],
    ['ssh://git@host/-team/app.git', /path component starts with "-"/],
    ['file:///etc', /uses file:\/\//],
    ['ftp://x.example/app.git', /uses ftp:\/\//],
    ['https://x.example/app.git; curl evil', /space or shell character/],
    ['https://x.example/$(id).git', /shell character/],
    ['--upload-pack=touch /tmp/pwned', /starts with "-"/],
    ['not a url', /space/],
    ['just-a-word', /not a URL/],
    ['https://x.example/', /no repository path/],
    ['https://x.example/app.git#main', /has a query \("\?\.\.\."\) or a fragment \("#\.\.\."\); .*a branch or tag goes in "ref"/],
    // Its own reason, not "a shell character" ("?" is one).
    ['https://x.example/app.git?ref=main', /^"https:\/\/x\.example\/app\.git\?\*\*\*" has a query \("\?\.\.\."\) or a fragment/],
    ['git@x.example:team/app.git#main', /^"\*\*\*@x\.example:team\/app\.git#\*\*\*" has a query .* or a fragment/],
    ['ext::sh -c touch% /tmp/pwned', /space|not a URL|uses/],
  ])('refuses %j', (repo, reason) => {
    expect(checkRepoUrl(repo)).toMatch(reason);
    // The message never repeats a user part (it may be a secret).
    expect(checkRepoUrl(repo)).not.toMatch(/secret|ghp_|glpat-|token@|a1b2c3|x-access|me@/);
  });
});

describe('checkRepoUrl: no refusal message repeats a credential', () => {
  const SECRET = 'ghp_Zq9Kx7SECRETw2';
  /** Every place a URL can carry a credential, in the https, http, git, ssh and scp-like forms. */
  const FORMS = [
    `https://user:${SECRET}@github.com/a/b.git`,
    `https://${SECRET}@github.com/a/b.git`,
    `https://${SECRET}:x-oauth-basic@github.com/a/b.git`,
    `https://github.com/a/b.git?access_token=${SECRET}`,
    `https://github.com/a/b.git?ref=main&token=${SECRET}#x`,
    `https://github.com/a/b.git#${SECRET}`,
    `http://oauth2:${SECRET}@git.example.com/a/b.git`,
    `git://${SECRET}@git.example.com/a/b.git`,
    `ssh://git:${SECRET}@github.com/a/b.git`,
    `ssh://${SECRET}@github.com/a/b.git`,
    `ssh://git@github.com/a/b.git?token=${SECRET}`,
    `ssh://git@github.com/a/b.git#${SECRET}`,
    `${SECRET}@github.com:a/b.git`,
    `git:${SECRET}@github.com:a/b.git`,
    `git@github.com:a/b.git?token=${SECRET}`,
    `git@github.com:a/b.git#${SECRET}`,
    // Passwords holding the characters that end a user part, or other refused characters.
    `https://user:${SECRET}/x@github.com/a/b.git`,
    `https://user:p?${SECRET}@github.com/a/b.git`,
    `https://user:p#${SECRET}@github.com/a/b.git`,
    `https://user:p@${SECRET}@github.com/a/b.git`,
    `https://user:${SECRET}$x@github.com/a/b.git`,
    `https://user:${SECRET}\u200b@github.com/a/b.git`,
    `-https://${SECRET}@github.com/a/b.git`,
  ];

  test.each(FORMS)('%j', (repo) => {
    const message = checkRepoUrl(repo);
    expect(message).toBeDefined();
    expect(message).not.toContain('Zq9Kx7');
    expect(message).not.toContain('SECRET');
    // And nothing else in the file repeats it either, with either engine.
    for (const engine of ['docker', 'buildkit']) {
      let text = '';
      try {
        parseBuildsFile(`builders: {engine: ${engine}}\nbuilds:\n  - repo: ${JSON.stringify(repo)}\n`);
      } catch (e) {
        text = (e as Error).message;
      }
      expect(text).toMatch(/^builds\.yaml:3:\d+: builds\[0\]\.repo: /);
      expect(text).not.toContain('Zq9Kx7');
    }
  });
});

describe('checkRelativePath', () => {
  test.each(['.', 'dockercoins/worker', 'docker/Dockerfile.prod', 'a/b/c', 'app@2'])('accepts %s', (path) => {
    expect(checkRelativePath(path, 'x')).toBeUndefined();
  });

  test.each([
    ['', /must not be empty/],
    ['/etc', /absolute/],
    ['../other', /escapes the repository/],
    ['a/../../b', /escapes the repository/],
    ['-rf', /starts with "-"/],
    ['a b', /characters outside/],
    ['$(id)', /characters outside/],
    ['a;b', /characters outside/],
  ])('refuses %j', (path, reason) => {
    expect(checkRelativePath(path, 'dockercoins/worker')).toMatch(reason);
  });

  test('normalizes ./ and trailing slashes', () => {
    expect(normalizeRelativePath('./')).toBe('.');
    expect(normalizeRelativePath('./a/./b/')).toBe('a/b');
  });
});

describe('checkDockerfilePath', () => {
  test.each([
    ['Dockerfile', '.'],
    ['docker/Dockerfile.prod', 'services/api'],
    ['../../docker/api.Dockerfile', 'services/api'],
    ['../Dockerfile', 'services/api'],
    ['./../shared/../docker/x.Dockerfile', 'a/b'],
  ])('docker engine accepts %j from context %j (inside the repository)', (dockerfile, context) => {
    expect(checkDockerfilePath(dockerfile, context, 'docker')).toBeUndefined();
  });

  test.each([
    ['../Dockerfile', '.', /escapes the repository/],
    ['../../../Dockerfile', 'services/api', /escapes the repository/],
    ['a/../../../x', 'b', /escapes the repository/],
    ['../', 'services/api', /names a directory/],
    ['../$(id)', 'services/api', /characters outside/],
    ['/Dockerfile', 'services/api', /absolute/],
    ['../-x', 'services/api', /characters outside|starts with "-"|escapes/],
  ])('refuses %j from context %j', (dockerfile, context, reason) => {
    expect(checkDockerfilePath(dockerfile, context, 'docker')).toMatch(reason);
  });

  test('buildkit keeps the Dockerfile inside the context (it reads the context subdirectory only)', () => {
    expect(checkDockerfilePath('docker/Dockerfile', 'services/api', 'buildkit')).toBeUndefined();
    expect(checkDockerfilePath('../../docker/api.Dockerfile', 'services/api', 'buildkit')).toMatch(/buildkit engine reads the Dockerfile from the context/);
  });
});
