/**
 * npm run synth:helm [-- --out DIR]
 *
 * Writes the Helm chart (default: chart/) from the same app as `npm run synth`:
 * Chart.yaml (version from package.json) and templates/ = the manifests of dist/.
 * A bad builds.yaml prints its problems, exits 1 and leaves the chart as it was.
 */
import { join } from 'path';
import { parseArgs } from 'util';
import { synthHelm } from '../lib/output/helm';

try {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const result = synthHelm({ root: join(__dirname, '..'), outDir: values.out });
  process.stderr.write(result.stderr);
  process.exitCode = result.status;
} catch (e) {
  // Bad arguments, a package.json version Helm refuses, a synth that wrote no manifests:
  // the message says what to fix; nothing was written.
  process.stderr.write(`error: synth:helm: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
