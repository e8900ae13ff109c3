/**
 * Rules for the strings in builds.yaml that describe where source comes from.
 * They reach the builder only as environment values (never script text), but
 * we still refuse anything a shell or git could misread, so a typo or an
 * injection attempt fails at synth time with a message, not at 3 a.m. in a Pod.
 *
 * Each function returns `undefined` when the value is fine, else the reason
 * and the fix, phrased to follow "<field>: ".
 */

const SHELL_META = /[\s$`'"\\;&|<>(){}!*?[\]#~^:]/;

/**
 * A branch, tag or full commit SHA, following `git check-ref-format` plus a
 * stricter character set: letters, digits and `._/+-` only.
 */
export function checkRef(ref: string): string | undefined {
  const fix = 'use a branch name, a tag or a full 40-character commit SHA, e.g. "main", "v1.2.0", "feature/login"';
  if (ref.length === 0) {
    return `must not be empty; ${fix}`;
  }
  if (ref.length > 255) {
    return `is ${ref.length} characters long (max 255); ${fix}`;
  }
  if (ref.startsWith('-')) {
    return `"${ref}" starts with "-", which git would read as an option; ${fix}`;
  }
  if (SHELL_META.test(ref) || /[\x00-\x1f\x7f]/.test(ref)) {
    return `"${ref}" contains a space, control or shell character; ${fix}`;
  }
  if (!/^[A-Za-z0-9._/+@-]+$/.test(ref)) {
    return `"${ref}" contains characters outside letters, digits and ._/+-@; ${fix}`;
  }
  if (ref.includes('..')) {
    return `"${ref}" contains "..", which git refuses in ref names; ${fix}`;
  }
  if (ref.includes('@{') || ref === '@') {
    return `"${ref}" is a git revision expression, not a ref name; ${fix}`;
  }
  if (ref.includes('//') || ref.startsWith('/') || ref.endsWith('/')) {
    return `"${ref}" has an empty path component; ${fix}`;
  }
  if (ref.endsWith('.') || ref.endsWith('.lock')) {
    return `"${ref}" ends with "." or ".lock", which git refuses; ${fix}`;
  }
  if (ref.split('/').some((c) => c.startsWith('.'))) {
    return `"${ref}" has a component starting with ".", which git refuses; ${fix}`;
  }
  if (/^[0-9a-f]{7,39}$/.test(ref)) {
    return `"${ref}" looks like an abbreviated commit SHA; abbreviations are ambiguous and cannot be fetched, give all 40 characters`;
  }
  return undefined;
}

/** True when the ref is a full commit SHA (SHA-1 or SHA-256 repositories). */
export function isCommitSha(ref: string): boolean {
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(ref);
}

/**
 * A repository URL git can clone without prompting: https, http, git or ssh
 * URLs, or scp-like `user@host:path`. Credentials in the URL are refused: they
 * would be committed to dist/ in clear text.
 */
export function checkRepoUrl(repo: string): string | undefined {
  const fix = 'use a URL such as https://git.example.com/team/app.git or git@git.example.com:team/app.git';
  if (repo.startsWith('-')) {
    return `"${repo}" starts with "-", which git would read as an option; ${fix}`;
  }
  if (/[\s$`'"\\;&|<>(){}!*?[\]^]/.test(repo) || /[\x00-\x1f\x7f]/.test(repo)) {
    return `"${repo}" contains a space, control or shell character; ${fix}`;
  }
  const scpLike = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+$/;
  if (scpLike.test(repo)) {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    return `"${repo}" is not a URL; ${fix}`;
  }
  if (!['https:', 'http:', 'git:', 'ssh:'].includes(url.protocol)) {
    return `"${repo}" uses ${url.protocol.replace(/:$/, '')}://, which builders cannot clone from; ${fix}`;
  }
  if (url.password) {
    return `"${repo}" carries a password, which would be committed to dist/ in clear text; remove it and give the builder read access another way (a public mirror, or a deploy key in the node's git config)`;
  }
  if (!url.hostname) {
    return `"${repo}" has no host; ${fix}`;
  }
  if (url.search || url.hash) {
    return `"${repo}" has a query or fragment; ${fix}`;
  }
  if (url.pathname.split('/').filter((s) => s).length === 0) {
    return `"${repo}" names no repository path; ${fix}`;
  }
  return undefined;
}

/**
 * A path inside the repository (an image's context, or a Dockerfile relative
 * to it): relative, no `..`, and a plain character set.
 */
export function checkRelativePath(path: string, example: string): string | undefined {
  const fix = `give a path relative to the repository root without "..", e.g. "${example}"`;
  if (path.length === 0) {
    return `must not be empty; ${fix}`;
  }
  if (path.startsWith('/')) {
    return `"${path}" is absolute; ${fix}`;
  }
  if (path.startsWith('-')) {
    return `"${path}" starts with "-", which a command would read as an option; ${fix}`;
  }
  if (!/^[A-Za-z0-9._/@+-]+$/.test(path)) {
    return `"${path}" contains characters outside letters, digits and ._/@+-; ${fix}`;
  }
  if (path.split('/').includes('..')) {
    return `"${path}" escapes the repository with ".."; ${fix}`;
  }
  return undefined;
}

/** `a/./b/` → `a/b`; `./` → `.` */
export function normalizeRelativePath(path: string): string {
  const parts = path.split('/').filter((s) => s !== '' && s !== '.');
  return parts.length === 0 ? '.' : parts.join('/');
}
