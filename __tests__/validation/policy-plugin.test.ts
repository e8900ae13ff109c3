import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ROOT } from '../support/synth';

// The real cdk8s-cli ValidationContext (not in the package's exports map, so by path).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ValidationContext } = require(join(require.resolve('cdk8s-cli/package.json'), '..', 'lib', 'plugins', 'validation.js'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PolicyValidation } = require('../../scripts/cdk8s-policy-plugin.js');

async function validate(text: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'plugin-')), 'app.k8s.yaml');
  writeFileSync(file, text);
  const context = new ValidationContext([file], 'cdk8s-policy-plugin', '0.0.0', {}, false);
  await new PolicyValidation().validate(context);
  return context.report.toJson();
}

const dist = () => readFileSync(join(ROOT, 'dist', 'image-builder.k8s.yaml'), 'utf-8');

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
      expect.objectContaining({ resourceName: 'Deployment/registry', locations: ['spec.replicas'] }),
    ]);
    expect(report.violations[1].fix).toMatch(/keep replicas: 1/);
  });
});
