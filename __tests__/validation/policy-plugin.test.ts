import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ROOT } from '../support/synth';

// The real cdk8s-cli ValidationContext (not in the package's exports map, so by path).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ValidationContext } = require(join(require.resolve('cdk8s-cli/package.json'), '..', 'lib', 'plugins', 'validation.js'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PolicyValidation } = require('../../scripts/cdk8s-policy-plugin.js');

async function validate(text: string, ...more: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'plugin-'));
  const files = [text, ...more].map((t, i) => {
    const file = join(dir, `app${i}.k8s.yaml`);
    writeFileSync(file, t);
    return file;
  });
  const context = new ValidationContext(files, 'cdk8s-policy-plugin', '0.0.0', {}, false);
  await new PolicyValidation().validate(context);
  return context.report.toJson();
}

const dist = () => readFileSync(join(ROOT, 'dist', 'image-builder.k8s.yaml'), 'utf-8');

// The plugin loads build/policy.js, compiled on first use (esbuild, all entries): not within a test's 5 s.
// eslint-disable-next-line @typescript-eslint/no-require-imports
beforeAll(() => require('../../scripts/build.js').ensureBuilt(), 5 * 60_000);

describe('cdk8s validation plugin (cdk8s.yaml validations:)', () => {
  test('passes dist/', async () => {
    const report = await validate(dist());
    expect(report.summary.status).toBe('success');
    expect(report.violations).toEqual([]);
  });

  test('fails a broken manifest, naming rule, resource, location and fix', async () => {
    const report = await validate(dist().replace('replicas: 1', 'replicas: 2').replace('value: "30500"', 'value: 30500'));
    expect(report.summary.status).toBe('failure');
    expect(report.violations.map((v: any) => v.ruleName)).toEqual([
      'IB001: every env value is a string',
      'IB007: the registry runs exactly one replica, replaced with Recreate, with a volume at /var/lib/registry',
    ]);
    expect(report.violations[1].violatingConstructs).toEqual([
      expect.objectContaining({ resourceName: 'Deployment/registry', locations: ['spec.replicas', 'line 125'] }),
    ]);
    expect(report.violations[1].fix).toMatch(/keep replicas: 1/);
  });

  test('reads with the same reader as npm run validate: the right file and line, unreadable YAML fails', async () => {
    const pod = (image: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: "${image}"}]}\n`;
    const report = await validate(pod('x:1'), `# comment\n---\n${pod('x')}`, 'a: 1\na: 2\n');
    expect(report.summary.status).toBe('failure');
    expect(report.violations.map((v: any) => [v.ruleName.slice(0, 5), v.violatingConstructs.map((c: any) => `${c.manifestPath.replace(/.*\//, '')} ${c.locations.join(' ')}`)])).toEqual([
      ['IB003', ['app1.k8s.yaml spec.containers[0].image line 3']],
      ['manif', ['app2.k8s.yaml line 2']],
    ]);
  });
});
