import { readWebhook, WebhookRefusal } from '../../trigger/providers';
import { COMMIT, githubPush, gitlabPush, giteaPush, hmac, PARENT, SECRET, signedHeaders } from './fixtures';

const read = (provider: 'github' | 'gitlab' | 'gitea', headers: Record<string, string>, body: string | Buffer) =>
  readWebhook(provider, headers, Buffer.isBuffer(body) ? body : Buffer.from(body), SECRET);

async function refusal(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WebhookRefusal) return { status: e.status, message: e.message };
    throw e;
  }
  throw new Error('expected a WebhookRefusal');
}

describe('GitHub', () => {
  test("GitHub's published vector verifies, and one changed byte does not", async () => {
    const headers = { 'x-github-event': 'ping', 'x-github-delivery': 'd', 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' };
    // the vector's payload is not JSON: passing the signature is proven by reaching the JSON check (400), not 401
    const ok = await refusal(readWebhook('github', headers, Buffer.from('Hello, World!'), "It's a Secret to Everybody"));
    expect(ok.status).toBe(400);
    const bad = await refusal(readWebhook('github', headers, Buffer.from('Hello, World?'), "It's a Secret to Everybody"));
    expect(bad.status).toBe(401);
  });

  test('a push: ref, exact commit, every repository URL, delivery id', async () => {
    const body = JSON.stringify(githubPush());
    expect(await read('github', signedHeaders('github', body, 'guid-1'), body)).toEqual({
      provider: 'github', delivery: 'guid-1', ref: 'refs/heads/main', commit: COMMIT, before: PARENT,
      repoUrls: ['https://github.com/jpetazzo/container.training.git', 'git@github.com:jpetazzo/container.training.git', 'git://github.com/jpetazzo/container.training.git', 'https://github.com/jpetazzo/container.training'],
    });
  });

  test('a new branch (before is all zeros) has no before', async () => {
    const body = JSON.stringify(githubPush({ before: '0'.repeat(40) }));
    const push = await read('github', signedHeaders('github', body, 'guid-1'), body);
    expect(push).toMatchObject({ commit: COMMIT });
    expect('before' in push).toBe(false);
  });

  test.each([
    ['missing', {}, /missing X-Hub-Signature-256/],
    ['wrong secret', { 'x-hub-signature-256': `sha256=${hmac('other', '{}')}` }, /does not match/],
    ['sha1 form', { 'x-hub-signature-256': 'sha1=0123456789abcdef0123456789abcdef01234567' }, /does not match/],
    ['bare hex (Gitea form)', { 'x-hub-signature-256': hmac(SECRET, '{}') }, /does not match/],
  ])('signature %s: 401', async (_name, sig, message) => {
    const r = await refusal(read('github', { 'x-github-event': 'push', 'x-github-delivery': 'd', ...sig }, '{}'));
    expect(r).toEqual({ status: 401, message: expect.stringMatching(message) });
  });

  test('a signed body that is not JSON: 400', async () => {
    expect((await refusal(read('github', signedHeaders('github', '{"ref":', 'd'), '{"ref":'))).status).toBe(400);
  });

  test('ping, other events and branch deletion are answered, not built', async () => {
    const ping = JSON.stringify({ zen: 'x', hook_id: 1 });
    expect(await read('github', signedHeaders('github', ping, 'd', SECRET, 'ping'), ping)).toEqual({ ignored: expect.stringMatching(/^ping/) });
    const issue = JSON.stringify({ action: 'opened' });
    expect(await read('github', signedHeaders('github', issue, 'd', SECRET, 'issues'), issue)).toEqual({ ignored: 'event "issues" is not a push' });
    const deleted = JSON.stringify(githubPush({ deleted: true, after: '0'.repeat(40) }));
    expect(await read('github', signedHeaders('github', deleted, 'd'), deleted)).toEqual({ ignored: 'refs/heads/main was deleted: nothing to build' });
  });

  test('a push without a full SHA or without a branch/tag ref: 400', async () => {
    const short = JSON.stringify(githubPush({ after: 'abc1234' }));
    expect((await refusal(read('github', signedHeaders('github', short, 'd'), short))).status).toBe(400);
    const note = JSON.stringify(githubPush({ ref: 'refs/notes/x' }));
    expect((await refusal(read('github', signedHeaders('github', note, 'd'), note))).status).toBe(400);
  });
});

describe('GitLab', () => {
  test('Push Hook with the token: the checkout SHA and both clone URLs; Idempotency-Key is the delivery', async () => {
    const body = JSON.stringify(gitlabPush());
    expect(await read('gitlab', signedHeaders('gitlab', body, 'idem-1'), body)).toMatchObject({
      provider: 'gitlab', delivery: 'idem-1', ref: 'refs/heads/main', commit: COMMIT, before: PARENT,
      repoUrls: expect.arrayContaining(['https://gitlab.example.com/team/app.git', 'git@gitlab.example.com:team/app.git']),
    });
  });

  test('Tag Push Hook is a push of refs/tags/...', async () => {
    const body = JSON.stringify(gitlabPush({ ref: 'refs/tags/v1.0.0', kind: 'tag_push' }));
    expect(await read('gitlab', signedHeaders('gitlab', body, 'i', SECRET, 'Tag Push Hook'), body)).toMatchObject({ ref: 'refs/tags/v1.0.0' });
  });

  test('missing or wrong X-Gitlab-Token: 401; other events ignored; deletion ignored', async () => {
    const body = JSON.stringify(gitlabPush());
    expect((await refusal(read('gitlab', { 'x-gitlab-event': 'Push Hook' }, body))).status).toBe(401);
    expect((await refusal(read('gitlab', { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': `${SECRET}x` }, body))).status).toBe(401);
    expect(await read('gitlab', signedHeaders('gitlab', body, 'i', SECRET, 'Merge Request Hook'), body)).toEqual({ ignored: 'event "Merge Request Hook" is not a push' });
    const deleted = JSON.stringify(gitlabPush({ after: '0'.repeat(40) }));
    expect(await read('gitlab', signedHeaders('gitlab', deleted, 'i'), deleted)).toEqual({ ignored: expect.stringMatching(/deleted/) });
  });
});

describe('Gitea and Forgejo', () => {
  test.each(['gitea', 'forgejo'] as const)('%s: hex HMAC without prefix, its own delivery header', async (dialect) => {
    const body = JSON.stringify(giteaPush());
    expect(await read('gitea', signedHeaders(dialect, body, `${dialect}-1`), body)).toMatchObject({
      provider: 'gitea', delivery: `${dialect}-1`, commit: COMMIT, before: PARENT,
      repoUrls: expect.arrayContaining(['https://gitea.example.com/team/app.git']),
    });
  });

  test('the GitHub form (sha256= prefix) or another secret: 401', async () => {
    const body = JSON.stringify(giteaPush());
    expect((await refusal(read('gitea', { 'x-gitea-event': 'push', 'x-gitea-signature': `sha256=${hmac(SECRET, body)}` }, body))).status).toBe(401);
    expect((await refusal(read('gitea', { 'x-gitea-event': 'push', 'x-gitea-signature': hmac('other', body) }, body))).status).toBe(401);
    expect((await refusal(read('gitea', { 'x-gitea-event': 'push' }, body))).status).toBe(401);
  });
});
