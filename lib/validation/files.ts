import { readdirSync, realpathSync, statSync } from 'fs';
import { join, relative } from 'path';

/** What `kubectl apply -f <folder>` applies: these extensions, recursively here. */
export const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/;

/** A path given to validate cannot be used; the message says why, in plain words. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

function describeIoError(path: string, e: any): string {
  switch (e?.code) {
    case 'ENOENT': return `${path}: no such file or directory`;
    case 'ELOOP': return `${path}: symbolic link loop`;
    case 'EACCES': return `${path}: permission denied`;
    case 'ENOTDIR': return `${path}: a path component is not a directory`;
    default: return `${path}: cannot read (${e?.code ?? e?.message ?? e})`;
  }
}

/**
 * Files to validate: each PATH itself when it is a file (whatever its name),
 * or the .yaml, .yml and .json files under it (recursively, sorted, each
 * real directory visited once, so symlink loops end). Throws InputError when a
 * PATH cannot be used.
 */
export function collectFiles(paths: string[], cwd = process.cwd()): string[] {
  const files: string[] = [];
  const seenDirs = new Set<string>();
  const walk = (dir: string) => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch (e) {
      throw new InputError(describeIoError(dir, e));
    }
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch (e) {
      throw new InputError(describeIoError(dir, e));
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      let stat;
      try {
        stat = statSync(path);
      } catch (e) {
        // A dangling or looping link inside a folder is skipped only if kubectl would skip it too:
        // it would not (it fails), so neither do we.
        throw new InputError(describeIoError(path, e));
      }
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile() && MANIFEST_EXTENSIONS.test(entry)) files.push(path);
    }
  };
  for (const path of paths) {
    let stat;
    try {
      stat = statSync(path);
    } catch (e) {
      throw new InputError(describeIoError(path, e));
    }
    if (stat.isDirectory()) walk(path);
    else if (stat.isFile()) files.push(path);
    else throw new InputError(`${path}: not a regular file or directory`);
  }
  // Named as the user named them (a relative PATH stays relative to where validate runs).
  return files.map((f) => (cwd === process.cwd() ? f : relative(cwd, f) || f));
}
