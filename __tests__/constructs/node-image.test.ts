import { readFileSync } from 'fs';
import { join } from 'path';
import { NODE_IMAGE } from '../../lib/constructs/node-image';
import { RETENTION_IMAGE } from '../../lib/constructs/retention-cron-job';

const ROOT = join(__dirname, '..', '..');

describe('NODE_IMAGE: one pinned Node for the cluster and the tests', () => {
  test('is an exact Node release: the devDependency `node` that runs the tests', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf-8'));
    const m = /^node:(\d+\.\d+\.\d+)-alpine[\d.]*$/.exec(NODE_IMAGE);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(pkg.devDependencies.node);
  });

  test("is the retention CronJob's image and every FROM of trigger/Dockerfile", () => {
    expect(RETENTION_IMAGE).toBe(NODE_IMAGE);
    const froms = [...readFileSync(join(ROOT, 'trigger', 'Dockerfile'), 'utf-8').matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) expect(from).toBe(NODE_IMAGE);
  });

  test('scripts/cluster/images.mjs names its stand-in after it (reads it from node-image.ts)', () => {
    const source = readFileSync(join(ROOT, 'lib', 'constructs', 'node-image.ts'), 'utf-8');
    // the pattern images.mjs uses
    expect(/^export const NODE_IMAGE = '([^']+)';$/m.exec(source)?.[1]).toBe(NODE_IMAGE);
    expect(readFileSync(join(ROOT, 'scripts', 'cluster', 'images.mjs'), 'utf-8')).toContain("^export const NODE_IMAGE = '([^']+)';$");
  });
});
