import { createHash } from 'crypto';

/**
 * Names the project derives from a build's source. Users never pick image or
 * workload names: two teams choosing `app` would overwrite each other's images,
 * so every name here is a pure function of the repository, context and ref.
 */

/** Docker's tag grammar: `[\w][\w.-]{0,127}`. */
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** One path component of a repository name (distribution's reference grammar). */
export const IMAGE_NAME_PATTERN = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** RFC 1123 label: what Kubernetes wants for most object names. */
export const DNS_LABEL_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The repository's own name: the last path segment of its URL, without `.git`.
 * `https://github.com/jpetazzo/container.training` → `container.training`.
 */
export function repositoryName(repo: string): string {
  const path = repo.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '') // scheme://host
    .replace(/^[^/:]+@[^:]+:/, ''); // scp-like user@host:
  const segments = path.split('/').filter((s) => s.length > 0);
  const last = segments[segments.length - 1] ?? '';
  return last.replace(/\.git$/, '');
}

/**
 * Normalizes free text to one component of an image name: lower case,
 * anything outside `[a-z0-9._-]` becomes `-`, separators collapsed and trimmed.
 * Returns '' when nothing usable is left.
 */
export function normalizeImageName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/[._-]*([._-])[._-]*/g, '$1') // one separator between alphanumerics
    .replace(/^[._-]+|[._-]+$/g, '');
}

/**
 * The image name for one image of a build: the last segment of its context
 * directory, or the repository name when the context is the repository root.
 */
export function deriveImageName(repo: string, context: string): string {
  const segments = context.split('/').filter((s) => s !== '' && s !== '.');
  const source = segments.length > 0 ? segments[segments.length - 1] : repositoryName(repo);
  const name = normalizeImageName(source);
  if (!IMAGE_NAME_PATTERN.test(name)) {
    throw new Error(`cannot derive an image name from "${source}" (repo ${repo}, context ${context}): `
      + 'it has no letters or digits; point the context at a directory with a meaningful name');
  }
  return name;
}

/**
 * The image tag for a git ref, in Docker's tag grammar: characters outside
 * `[A-Za-z0-9_.-]` become `-` (`feature/login` → `feature-login`) and the
 * result is cut to 128 characters. A tag may not start with `.` or `-`;
 * validated refs never do, but the function stays total by prefixing `_`.
 */
export function refToTag(ref: string): string {
  let tag = ref.replace(/[^A-Za-z0-9_.-]/g, '-');
  if (!/^[A-Za-z0-9_]/.test(tag)) {
    tag = `_${tag}`;
  }
  return tag.slice(0, 128);
}

/**
 * A Kubernetes object name (RFC 1123 label, ≤ 63 characters) from parts.
 * Over-long names are cut and suffixed with a short hash of the full name, so
 * they stay unique and stable across runs.
 */
export function objectName(...parts: string[]): string {
  const full = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (full.length <= 63) {
    return full;
  }
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}
