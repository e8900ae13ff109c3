import { existsSync } from 'fs';
import { dirname, join } from 'path';

/**
 * A file or folder of this project, found upwards from the running module:
 * from lib/... when run from source (ts-node, ts-jest), from build/ when
 * bundled (scripts/build.js). Throws when no directory above has it.
 */
export function projectPath(relative: string): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`${relative} not found in any directory above ${__dirname}`);
  }
}
