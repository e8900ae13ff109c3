import { readFileSync } from 'fs';
import { join } from 'path';
import { stringify } from 'yaml';
import { apiserverProblems, startApiServer } from '../../lib/validation/apiserver';
import { parseManifestText } from '../../lib/validation/manifests';
import { formatProblem } from '../../lib/validation/problems';
import { parseBuildsFile } from '../../lib/config/builds-file';
import { REFUSED_AT_SYNTH } from '../support/refused-at-synth';
import { ROOT } from '../support/synth';

/**
 * What synth refuses, the real API server refuses too: for every value
 * lib/config refuses "because the API server would", the object it would have
 * become (the default builder Job with that value) is sent to a real
 * kube-apiserver and must be refused. So the synth rules are neither missing
 * nor stricter than the API.
 */
let stop: () => void = () => undefined;
beforeAll(() => {
  stop = startApiServer();
}, 40 * 60_000);
afterAll(() => stop());

const distJob = () => parseManifestText(readFileSync(join(ROOT, 'dist', 'image-builder.k8s.yaml'), 'utf-8'), 'dist')
  .docs.map((d) => d.manifest!).find((m) => m.kind === 'Job')!;

test('the unbroken Job passes (so each refusal below is the value\'s)', async () => {
  expect(await apiserverProblems([parseManifestText(stringify(distJob()), 'job.yaml')])).toEqual([]);
});

test.each(REFUSED_AT_SYNTH.map((c) => [c.what, c]))('%s: refused by synth and by the API server', async (_what, c) => {
  expect(() => parseBuildsFile(c.yaml)).toThrow(c.refused);
  const job = distJob();
  c.breakJob(job);
  const problems = await apiserverProblems([parseManifestText(stringify(job), 'job.yaml')]);
  expect(problems.map(formatProblem)).toEqual([expect.stringMatching(/\[apiserver\]$/), ...problems.slice(1).map(() => expect.anything())]);
  expect(problems.map((p) => p.message).join(' ')).not.toMatch(/not checked/);
});
