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
 * Access tokens by their documented shapes (GitHub classic and fine-grained,
 * GitLab, Slack, AWS access key ids, Bitbucket), anywhere in a value: pasted
 * as a ref, one would be committed with dist/.
 */
const TOKEN_SHAPED = /gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{40,}|gl(?:pat|ptt|dt|rt)-[A-Za-z0-9_-]{20,}|xox[abpors]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[A-Z0-9]{16}|ATBB[A-Za-z0-9]{24,}/;

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
    return `${quoted(ref)} starts with "-", which git would read as an option; ${fix}`;
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (SHELL_META.test(ref) || /[\x00-\x1f\x7f]/.test(ref)) {
    return `${quoted(ref)} contains a space, control or shell character; ${fix}`;
  }
  if (!/^[A-Za-z0-9._/+@-]+$/.test(ref)) {
    return `${quoted(ref)} contains characters outside letters, digits and ._/+-@; ${fix}`;
  }
  if (ref.includes('..')) {
    return `${quoted(ref)} contains "..", which git refuses in ref names; ${fix}`;
  }
  if (ref.includes('@{') || ref === '@') {
    return `${quoted(ref)} is a git revision expression, not a ref name; ${fix}`;
  }
  if (ref.includes('//') || ref.startsWith('/') || ref.endsWith('/')) {
    return `${quoted(ref)} has an empty path component; ${fix}`;
  }
  if (ref.endsWith('.') || ref.endsWith('.lock')) {
    return `${quoted(ref)} ends with "." or ".lock", which git refuses; ${fix}`;
  }
  if (ref.split('/').some((c) => c.startsWith('.'))) {
    return `${quoted(ref)} has a component starting with ".", which git refuses; ${fix}`;
  }
  if (TOKEN_SHAPED.test(ref)) {
    return `looks like an access token (${ref.slice(0, 4)}…, not shown): a ref is written into dist/, the build log and every image's labels; ${fix}`;
  }
  if (/^[0-9a-f]{7,39}$/.test(ref)) {
    return `${quoted(ref)} looks like an abbreviated commit SHA; abbreviations are ambiguous and cannot be fetched, give all 40 characters`;
  }
  return undefined;
}

/** True when the ref is a full commit SHA (SHA-1 or SHA-256 repositories). */
export function isCommitSha(ref: string): boolean {
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(ref);
}

/**
 * Characters nobody can see or type by accident in a URL: controls, format
 * characters (zero-width space and joiner, bidi overrides, BOM), separators,
 * private use and unassigned code points, and the default-ignorable fillers.
 */
// eslint-disable-next-line no-misleading-character-class -- combining marks and fillers, each refused on its own
const INVISIBLE = /[\p{C}\p{Z}\u115F\u1160\u3164\uFFA0\u034F\u17B4\u17B5\u180B-\u180F\uFE00-\uFE0F\u2800\u{E0100}-\u{E01EF}]/u;

/** Prefixes of access tokens (GitHub, GitLab, Slack, AWS, Bitbucket) that people paste as a user name. */
const TOKEN_PREFIX = /^(gh[pousr]_|github_pat_|glpat-|glptt-|gldt-|glrt-|xox[abpors]-|AKIA|ASIA|ATBB|ATCTT)/i;

/**
 * A plain ssh login name such as `git`: POSIX user-name characters, at most
 * 32, not shaped like an access token. Anything else in the user part of a
 * URL is treated as a credential.
 */
function isPlainSshUser(user: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/.test(user) && !TOKEN_PREFIX.test(user) && !/[0-9].*[0-9].*[0-9].*[0-9].*[0-9]/.test(user);
}

/** Invisible characters (but the plain space) written as `\\u{...}`, so a message shows what was typed, on one line. */
export function showInvisible(text: string): string {
  // eslint-disable-next-line no-misleading-character-class -- the same class as INVISIBLE
  return text.replace(new RegExp(INVISIBLE.source, 'gu'), (c) => (c === ' ' ? c : `\\u{${c.codePointAt(0)!.toString(16)}}`));
}

/** A value from builds.yaml, quoted for a message: a line break or a control character in it cannot split or forge log lines. */
export const quoted = (value: string): string => `"${showInvisible(value)}"`;

/**
 * The URL for messages, with every place a credential can sit replaced by
 * `***` (never echo a secret into a log): all before the last "@" (the user
 * part, also when a password holds "/", "?" or "#"), the query (`?***`) and
 * the fragment (`#***`).
 */
export function redactRepoUrl(repo: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(repo)?.[0] ?? '';
  let rest = repo.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = `***${rest.slice(at)}`;
  const hash = rest.indexOf('#');
  const fragment = hash >= 0 ? '#***' : '';
  if (hash >= 0) rest = rest.slice(0, hash);
  const question = rest.indexOf('?');
  if (question >= 0) rest = `${rest.slice(0, question)}?***`;
  return showInvisible(`${scheme}${rest}${fragment}`);
}

const CREDENTIAL_FIX = 'remove it: dist/, build logs and image labels would carry it in clear text. Give the builder read access another way (a public mirror, or a deploy key in the node\'s git config)';

/**
 * A repository URL git can clone without prompting: https, http, git or ssh
 * URLs, or scp-like `user@host:path`. Refused, because dist/ is committed and
 * the URL reaches build logs and labels: any credential (a password, a token
 * as the user name, any user part at all in http(s) and git URLs, a user
 * other than a plain login name in ssh forms). Refused because git or ssh
 * could misread them: invisible characters, and hosts or paths that start
 * with "-" (ssh would take them as options), and a query or fragment (no
 * repository URL has one; a token may hide there). Messages never repeat the
 * user part, query or fragment (redactRepoUrl).
 */
export function checkRepoUrl(repo: string): string | undefined {
  const fix = 'use a URL such as https://git.example.com/team/app.git or git@git.example.com:team/app.git';
  const shown = `"${redactRepoUrl(repo)}"`;
  if (repo.startsWith('-')) {
    return `${shown} starts with "-", which git would read as an option; ${fix}`;
  }
  // Before the shell-character rule ("?" is one): a query or fragment gets its own reason.
  if (/[?#]/.test(repo)) {
    return `${shown} has a query ("?...") or a fragment ("#..."); a repository URL has neither, and a token there would reach dist/, `
      + 'build logs and image labels in clear text. Remove everything from the "?" or "#" on: a branch or tag goes in "ref", '
      + 'and read access comes another way (a public mirror, or a deploy key in the node\'s git config)';
  }
  if (/[ $`'"\\;&|<>(){}!*[\]^]/.test(repo)) {
    return `${shown} contains a space or shell character; ${fix}`;
  }
  if (INVISIBLE.test(repo) || /%(?:[01][0-9a-f]|7f)/i.test(repo)) {
    return `${shown} contains a control or invisible character (shown as \\u{...}, or percent-encoded); retype the URL. ${fix}`;
  }
  const scpLike = /^(?:([^@/]+)@)?([^@/:]+):(?!\/\/)(.+)$/.exec(repo);
  if (scpLike && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(repo)) {
    const [, user, host, path] = scpLike;
    if (user === undefined) return `${shown} is not a URL; ${fix}`;
    if (!isPlainSshUser(user)) return `${shown} has a user part that is not a plain login name such as "git" (it looks like a credential); ${CREDENTIAL_FIX}`;
    if (host.startsWith('-')) return `${shown}: the host starts with "-", which ssh would read as an option; ${fix}`;
    if (!/^[A-Za-z0-9.-]+$/.test(host)) return `${shown}: the host ${quoted(host)} is not a host name; ${fix}`;
    if (path.startsWith('-')) return `${shown}: the path starts with "-", which the remote git would read as an option; ${fix}`;
    if (!/^[A-Za-z0-9._~/-]+$/.test(path)) return `${shown}: the path contains characters outside letters, digits and ._~/-; ${fix}`;
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    return `${shown} is not a URL; ${fix}`;
  }
  if (!['https:', 'http:', 'git:', 'ssh:'].includes(url.protocol)) {
    return `${shown} uses ${url.protocol.replace(/:$/, '')}://, which builders cannot clone from; ${fix}`;
  }
  if (url.password) {
    return `${shown} carries a password; ${CREDENTIAL_FIX}`;
  }
  if (url.username && url.protocol !== 'ssh:') {
    return `${shown} has a user part, which in ${url.protocol.replace(/:$/, '')}:// URLs is a credential (a token as the user name); ${CREDENTIAL_FIX}`;
  }
  if (url.username && !isPlainSshUser(decodeURIComponent(url.username))) {
    return `${shown} has a user part that is not a plain login name such as "git" (it looks like a credential); ${CREDENTIAL_FIX}`;
  }
  const rawHost = /^[a-z]+:\/\/(?:[^@/]*@)?([^/:]*)/i.exec(repo)?.[1] ?? '';
  if (!url.hostname) {
    return `${shown} has no host; ${fix}`;
  }
  if (rawHost.startsWith('-') || url.hostname.startsWith('-')) {
    return `${shown}: the host starts with "-", which ssh would read as an option; ${fix}`;
  }
  const segments = url.pathname.split('/').filter((seg) => seg);
  if (segments.length === 0) {
    return `${shown} names no repository path; ${fix}`;
  }
  if (segments.some((seg) => seg.startsWith('-'))) {
    return `${shown}: a path component starts with "-", which the remote git would read as an option; ${fix}`;
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
    return `${quoted(path)} is absolute; ${fix}`;
  }
  if (path.startsWith('-')) {
    return `${quoted(path)} starts with "-", which a command would read as an option; ${fix}`;
  }
  if (!/^[A-Za-z0-9._/@+-]+$/.test(path)) {
    return `${quoted(path)} contains characters outside letters, digits and ._/@+-; ${fix}`;
  }
  if (path.split('/').includes('..')) {
    return `${quoted(path)} escapes the repository with ".."; ${fix}`;
  }
  return undefined;
}

/**
 * An image's Dockerfile, relative to its context. Unlike the context it may
 * step out of the context with `..` (`docker build -f ../docker/api.Dockerfile
 * services/api`), as long as it stays inside the repository. The buildkit
 * engine reads the Dockerfile from the context's own git subdirectory, so
 * there it must stay inside the context.
 */
export function checkDockerfilePath(dockerfile: string, context: string, engine: string): string | undefined {
  const steps = dockerfile.split('/').filter((s) => s !== '' && s !== '.');
  if (!steps.includes('..')) {
    return checkRelativePath(dockerfile, 'Dockerfile');
  }
  const problem = checkRelativePath(steps.filter((s) => s !== '..').join('/') || '.', 'Dockerfile');
  if (problem) return problem;
  const fix = `give a path relative to the context that stays inside the repository, e.g. "../docker/Dockerfile"`;
  if (steps[steps.length - 1] === '..') {
    return `${quoted(dockerfile)} names a directory, not a file; ${fix}`;
  }
  const at = context.split('/').filter((s) => s !== '' && s !== '.');
  for (const step of steps) {
    if (step !== '..') at.push(step);
    else if (at.pop() === undefined) return `${quoted(dockerfile)} escapes the repository from context ${quoted(context)}; ${fix}`;
  }
  if (engine === 'buildkit') {
    return `${quoted(dockerfile)} leaves the context ${quoted(context)}, but the buildkit engine reads the Dockerfile from the context's `
      + 'git subdirectory; move the Dockerfile into the context, or build this repository with engine "docker"';
  }
  return undefined;
}

/** `a/./b/` → `a/b`; `./` → `.` */
export function normalizeRelativePath(path: string): string {
  const parts = path.split('/').filter((s) => s !== '' && s !== '.');
  return parts.length === 0 ? '.' : parts.join('/');
}

/**
 * BuildKit's rule for an http(s) git context (v0.32 dfgitutil.ParseGitRef): the
 * scheme in any case, and the URL's path ends in `.git` exactly — no trailing
 * slash, lower case. Anything else BuildKit downloads as a file. POSIX EREs, the
 * same text for JavaScript here and `grep -E` in the buildkit script
 * (lib/constructs/buildkit-script.ts), so synth and the script refuse the same
 * URLs. (A repository URL has no query or fragment: checkRepoUrl refuses them.)
 */
export const BUILDKIT_HTTP_URL_ERE = '^[Hh][Tt][Tt][Pp][Ss]?://';
export const BUILDKIT_GIT_SUFFIX_ERE = '\\.git$';

/** Whether BuildKit would take `repo` as an http(s) URL that is not a git repository (BUILDKIT_HTTP_URL_ERE, BUILDKIT_GIT_SUFFIX_ERE). */
export function isHttpUrlBuildkitRefuses(repo: string): boolean {
  return new RegExp(BUILDKIT_HTTP_URL_ERE).test(repo) && !new RegExp(BUILDKIT_GIT_SUFFIX_ERE).test(repo);
}

/**
 * What an engine adds to the URL rules. BuildKit (the buildkit engine fetches
 * the git context itself) takes an http(s) URL as a git repository only when
 * its path ends in `.git`; anything else it would download as a tarball.
 */
export function checkRepoUrlForEngine(repo: string, engine: string): string | undefined {
  if (engine !== 'buildkit' || !isHttpUrlBuildkitRefuses(repo)) return undefined;
  const base = repo.replace(/\/+$/, '');
  const fixed = `${base.replace(/\.git$/i, '')}.git`;
  const how = base !== repo && /\.git$/.test(base) ? 'drop the trailing slash' : 'end it in .git';
  return `${JSON.stringify(repo)}: the buildkit engine needs an http(s) repository URL that ends in .git, with no trailing slash `
    + `(BuildKit treats any other http(s) URL as a file to download); ${how}: write ${JSON.stringify(fixed)}`;
}
