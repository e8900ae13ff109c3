import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { triggeredJob } from '../../trigger/job';
import { matchPush } from '../../trigger/match';
import { readWebhook } from '../../trigger/providers';
import { build, githubPush, giteaPush, gitlabPush, SECRET, signedHeaders } from './fixtures';

/**
 * An annotated tag is a git object of its own: a push of it moves the ref to the tag object, and
 * GitHub (and Gitea) send that object's SHA as `after`, with the tagged commit in `head_commit`.
 * The builder checks out what it fetches and tags the image with the short SHA of HEAD, the
 * commit. So the Job must name the commit, or its name, its images annotation and GET /builds
 * name a SHA that no image carries. Real git here, real payload shape.
 */
let dir: string;
let tagObject: string;
let commit: string;
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf-8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir } }).trim();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trigger-tag-'));
  const repo = join(dir, 'repo');
  git(dir, 'init', '-q', '-b', 'main', repo);
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'release');
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'tag', '-a', 'v1.2.0', '-m', 'release 1.2.0');
  tagObject = git(repo, 'rev-parse', 'v1.2.0');
  commit = git(repo, 'rev-parse', 'v1.2.0^{commit}');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the builder script does with GIT_REF (lib/constructs/builder-script.ts: fetch, checkout FETCH_HEAD, the short SHA of HEAD). */
function builderShortSha(gitRef: string): string {
  const clone = mkdtempSync(join(dir, 'clone-'));
  git(dir, 'init', '-q', clone);
  git(clone, 'remote', 'add', 'origin', `file://${join(dir, 'repo')}`);
  git(clone, 'fetch', '-q', '--depth', '1', 'origin', gitRef);
  git(clone, '-c', 'advice.detachedHead=false', 'checkout', '-q', 'FETCH_HEAD');
  return git(clone, 'rev-parse', '--short=7', 'HEAD');
}

test('the repository: the tag ref names the tag object, not the commit the builder checks out and tags', () => {
  expect(tagObject).not.toBe(commit);
  expect(git(join(dir, 'repo'), 'cat-file', '-t', tagObject)).toBe('tag');
  expect(builderShortSha(tagObject)).toBe(commit.slice(0, 7));
});

const payloads = {
  // GitHub: after is the tag object, head_commit the tagged commit (sent on every tag push)
  github: () => ({ ...githubPush({ ref: 'refs/tags/v1.2.0', after: tagObject, before: '0'.repeat(40) }), created: true, commits: [], head_commit: { id: commit, message: 'release' } }),
  // Gitea and Forgejo: GitHub's shape
  gitea: () => ({ ...giteaPush({ ref: 'refs/tags/v1.2.0', after: tagObject, before: '0'.repeat(40) }), commits: [], head_commit: { id: commit, message: 'release' } }),
  // GitLab's Tag Push Hook: checkout_sha is the commit
  gitlab: () => ({ ...gitlabPush({ ref: 'refs/tags/v1.2.0', after: tagObject, before: '0'.repeat(40), kind: 'tag_push' }), checkout_sha: commit, commits: [] }),
};
const repos = { github: 'https://github.com/jpetazzo/container.training', gitea: 'https://gitea.example.com/team/app', gitlab: 'https://gitlab.example.com/team/app' };

test.each(['github', 'gitea', 'gitlab'] as const)('%s: the Job of an annotated tag push builds, names and lists the tagged commit, the one its images carry', async (provider) => {
  const body = JSON.stringify(payloads[provider]());
  const push = await readWebhook(provider, signedHeaders(provider, body, 'tag-1', SECRET, provider === 'gitlab' ? 'Tag Push Hook' : undefined), Buffer.from(body), SECRET);
  if ('ignored' in push) throw new Error(push.ignored);
  expect(push.commit).toBe(commit);
  const builds = [build({ repo: repos[provider], trigger: { branches: [], tags: ['v*'] } })];
  const match = matchPush(push, builds);
  if ('ignored' in match) throw new Error(match.ignored);
  const { name, manifest } = triggeredJob(match.builds[0], push, { registryPort: 30500 }, new Date(0));
  const gitRef = manifest.spec.template.spec.containers[0].env.find((e: any) => e.name === 'GIT_REF').value;
  const short = builderShortSha(gitRef);
  expect(name).toBe(`${builds[0].name}-v1-2-0-${short}`);
  expect(manifest.metadata.annotations['trigger.cdk8s-image-builder/images'].split(' ')).toContain(`worker:${short}`);
  expect(manifest.metadata.annotations['trigger.cdk8s-image-builder/commit']).toBe(commit);
});
