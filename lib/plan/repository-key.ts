/**
 * One repository, however its URL is written: https, http, git and ssh URLs
 * and scp-like `user@host:path` of the same repository give the same key,
 * `host/owner/name` in lower case without `.git`, user, port or trailing slash.
 * The build trigger matches a push's repository to builds.yaml with it.
 *
 * `https://github.com/Team/App.git`, `git@github.com:team/app`,
 * `ssh://git@github.com:22/team/app.git` → `github.com/team/app`.
 */
export function repositoryKey(repo: string): string {
  const trimmed = repo.trim();
  let host: string;
  let path: string;
  const scpLike = /^(?:[^@/:]+@)?([^/:]+):(?!\/\/)(.*)$/.exec(trimmed);
  if (scpLike && !/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    host = scpLike[1];
    path = scpLike[2];
  } else {
    try {
      const url = new URL(trimmed);
      host = url.hostname;
      path = decodeURIComponent(url.pathname);
    } catch {
      return trimmed.toLowerCase();
    }
  }
  const segments = path.split('/').filter((s) => s.length > 0);
  const last = segments.length - 1;
  if (last >= 0) segments[last] = segments[last].replace(/\.git$/i, '');
  return [host, ...segments].join('/').toLowerCase();
}
