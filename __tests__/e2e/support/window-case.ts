import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import { READ_ONLY_FLAG } from '../../../lib/constructs/registry-config';
import { steps } from './builder';
import { CASE_BRANCHES } from './fixture';
import { httpRequest } from './registry';
import { E2ESuite, expectSuccess, short } from './suite';

/**
 * The garbage collector's read-only window during a build, as both engines' suites run it
 * (describeReadOnlyWindowCase): the flag file the collector creates is there when the build
 * starts, so the auth proxy answers every write with 503 + Retry-After; it is removed only
 * `refusedFor` after the proxy first refused one of the builder's pushes, a span longer than the
 * engine's own push retries. One attempt of the builder Job must still complete, its log saying
 * which step waited for the window.
 */

/** The auth proxy's access log lines since `offset` that refused a write to `/v2/<name>/` with 503. */
function refusedWrites(logFile: string, offset: number, name: string): string[] {
  const text = readFileSync(logFile).subarray(offset).toString('utf-8');
  return text.split('\n').filter((l) => new RegExp(`"(POST|PUT|PATCH) /v2/${name}/[^"]*" 503 `).test(l));
}

export function describeReadOnlyWindowCase(suite: E2ESuite, refusedForSeconds: number): void {
  describe('the registry\'s read-only window (garbage collection)', () => {
    test(`a window that outlasts the engine's own push retries (writes refused for ${refusedForSeconds} s after the builder's first push): the build waits it out and completes`, async () => {
      const { env, repo } = suite;
      const accessLog = join(env.stateDir, 'logs', 'nginx.log');
      const flag = join(env.maintenanceDir, READ_ONLY_FLAG);
      mkdirSync(env.maintenanceDir, { recursive: true });
      const offset = statSync(accessLog).size;
      writeFileSync(flag, '');
      let closedAt = 0;
      let firstRefusal = 0;
      const watcher = setInterval(() => {
        if (firstRefusal === 0 && refusedWrites(accessLog, offset, 'hasher').length > 0) firstRefusal = Date.now();
        if (firstRefusal > 0 && closedAt === 0 && Date.now() - firstRefusal >= refusedForSeconds * 1000) {
          rmSync(flag, { force: true });
          closedAt = Date.now();
        }
      }, 200);
      try {
        // The window is open: an authenticated write gets 503 with Retry-After, as the builder's will.
        const probe = await httpRequest('POST', `${env.registryUrl}/v2/hasher/blobs/uploads/`, {
          Authorization: `Basic ${Buffer.from(`${env.registryUsername}:${env.registryPassword}`).toString('base64')}`,
        });
        expect([probe.status, probe.headers['retry-after']]).toEqual([503, '120']);

        const { run } = await suite.build('gc-window', { repo: repo.url, ref: CASE_BRANCHES.gcWindow, images: [{ context: 'services/hasher' }] });
        const s = short(repo.commits.gcWindow);
        const refused = refusedWrites(accessLog, offset, 'hasher');
        const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
        console.log(`read-only window: ${refused.length} writes of the builder refused; `
          + (closedAt > 0 ? `the window closed ${seconds(closedAt - firstRefusal)} after the first, the build ended ${seconds(Date.now() - closedAt)} later` : 'the build ended inside the window')
          + ` (exit ${run.code})\n  ${run.output.split('\n').filter((l) => /read-only|^!!/.test(l)).join('\n  ')}`);
        expectSuccess(run);
        expect(closedAt).toBeGreaterThan(0);
        expect(refused.length).toBeGreaterThan(0);
        // The script said which step waited, and then that step went through.
        expect(run.stdout).toMatch(new RegExp(`^registry read-only \\(garbage-collection window, HTTP 503[^)]*\\): step 'push hasher:${s}' waits \\d+s and pushes again`, 'm'));
        expect(steps(run.stdout)).toEqual(expect.arrayContaining([`push hasher:${s}`, 'push hasher:e2e-gc-window', 'done']));
        await suite.checkPushed(run, { hasher: [s, 'e2e-gc-window'] });
      } finally {
        clearInterval(watcher);
        rmSync(flag, { force: true });
      }
    });
  });
}
