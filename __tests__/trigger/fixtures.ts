import { createHmac } from 'crypto';
import { BuildEntry } from '../../lib/config/builds-file';
import { TriggerableBuild, triggerableBuilds } from '../../trigger/match';

export const SECRET = 'a-webhook-secret-of-some-length';
export const TOKEN = 'an-api-token-of-some-length-0123';
export const COMMIT = '0123456789abcdef0123456789abcdef01234567';
export const COMMIT2 = 'fedcba9876543210fedcba9876543210fedcba98';
/** The `before` of the fixtures' pushes unless a test says otherwise: older than both commits above. */
export const PARENT = 'abcdef0123456789abcdef0123456789abcdef01';

export function entry(e: Partial<BuildEntry> & { repo: string }): BuildEntry {
  const ref = e.ref ?? 'main';
  return {
    ref,
    defaultBranch: 'main',
    images: [{ context: 'dockercoins/worker', dockerfile: 'Dockerfile' }],
    trigger: { branches: [ref], tags: [ref] },
    ...e,
  };
}

/** One builds.yaml entry, planned alone (its name is planBuilds' for it); several planned together: `triggerableBuilds`. */
export function build(e: Partial<BuildEntry> & { repo: string }, source = 'builds[0]'): TriggerableBuild {
  return { ...triggerableBuilds([entry(e)])[0], source };
}

/** GitHub's push payload shape (docs.github.com "push" event), trimmed to the fields a receiver may read. */
export function githubPush(o: { ref?: string; after?: string; before?: string; deleted?: boolean; repo?: string } = {}): any {
  const full = o.repo ?? 'jpetazzo/container.training';
  return {
    ref: o.ref ?? 'refs/heads/main',
    before: o.before ?? PARENT,
    after: o.after ?? COMMIT,
    created: false,
    deleted: o.deleted ?? false,
    forced: false,
    compare: `https://github.com/${full}/compare/x...y`,
    commits: [{ id: o.after ?? COMMIT, message: 'x', author: { name: 'a', email: 'a@example.com' } }],
    head_commit: { id: o.after ?? COMMIT },
    repository: {
      id: 1, name: full.split('/')[1], full_name: full, private: false,
      html_url: `https://github.com/${full}`,
      clone_url: `https://github.com/${full}.git`,
      git_url: `git://github.com/${full}.git`,
      ssh_url: `git@github.com:${full}.git`,
      default_branch: 'main',
    },
    pusher: { name: 'a', email: 'a@example.com' },
    sender: { login: 'a', id: 2 },
  };
}

/** GitLab's "Push Hook" payload shape (docs.gitlab.com webhook events). */
export function gitlabPush(o: { ref?: string; after?: string; before?: string; repo?: string; kind?: 'push' | 'tag_push' } = {}): any {
  const path = o.repo ?? 'team/app';
  const after = o.after ?? COMMIT;
  return {
    object_kind: o.kind ?? 'push',
    event_name: o.kind ?? 'push',
    before: o.before ?? PARENT,
    after,
    ref: o.ref ?? 'refs/heads/main',
    ref_protected: true,
    checkout_sha: /^0+$/.test(after) ? null : after,
    user_username: 'a',
    project_id: 15,
    project: {
      id: 15, name: path.split('/')[1], path_with_namespace: path, default_branch: 'main',
      web_url: `https://gitlab.example.com/${path}`,
      git_ssh_url: `git@gitlab.example.com:${path}.git`,
      git_http_url: `https://gitlab.example.com/${path}.git`,
    },
    commits: [{ id: after, message: 'x' }],
    total_commits_count: 1,
    repository: { name: 'app', url: `git@gitlab.example.com:${path}.git`, git_http_url: `https://gitlab.example.com/${path}.git`, git_ssh_url: `git@gitlab.example.com:${path}.git` },
  };
}

/** Gitea/Forgejo's push payload shape (GitHub-like). */
export function giteaPush(o: { ref?: string; after?: string; before?: string; repo?: string } = {}): any {
  const full = o.repo ?? 'team/app';
  return {
    ref: o.ref ?? 'refs/heads/main',
    before: o.before ?? PARENT,
    after: o.after ?? COMMIT,
    compare_url: '',
    commits: [{ id: o.after ?? COMMIT, message: 'x' }],
    repository: {
      id: 3, name: full.split('/')[1], full_name: full,
      html_url: `https://gitea.example.com/${full}`,
      clone_url: `https://gitea.example.com/${full}.git`,
      ssh_url: `git@gitea.example.com:${full}.git`,
      default_branch: 'main',
    },
    pusher: { login: 'a' },
    sender: { login: 'a' },
  };
}

export const hmac = (secret: string, body: string | Buffer) => createHmac('sha256', secret).update(body).digest('hex');

/** Headers a provider sends with `body`, signed with `secret`. */
export function signedHeaders(provider: 'github' | 'gitlab' | 'gitea' | 'forgejo', body: string, delivery: string, secret = SECRET, event?: string): Record<string, string> {
  switch (provider) {
    case 'github':
      return { 'content-type': 'application/json', 'x-github-event': event ?? 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': `sha256=${hmac(secret, body)}` };
    case 'gitlab':
      return { 'content-type': 'application/json', 'x-gitlab-event': event ?? 'Push Hook', 'idempotency-key': delivery, 'x-gitlab-token': secret };
    case 'gitea':
      return { 'content-type': 'application/json', 'x-gitea-event': event ?? 'push', 'x-gitea-delivery': delivery, 'x-gitea-signature': hmac(secret, body) };
    case 'forgejo':
      return { 'content-type': 'application/json', 'x-forgejo-event': event ?? 'push', 'x-forgejo-delivery': delivery, 'x-forgejo-signature': hmac(secret, body) };
  }
}
