// A cdk8s-cli validation plugin (cdk8s.yaml `validations:`, loaded from this local path, so it
// needs no npm install): `cdk8s synth` runs the project's policy rules (lib/policy.ts) on the
// manifests it just wrote and fails on any violation, through cdk8s's own report API.
'use strict';
require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
const { checkPolicy, RULES } = require('../lib/policy/rules');

class PolicyValidation {
  async validate(context) {
    const manifests = context.manifests.flatMap((manifestPath) =>
      context.parseManifest(manifestPath).filter((m) => m).map((manifest) => ({ manifestPath, manifest })));
    const violations = checkPolicy(manifests.map((m) => m.manifest));
    for (const rule of RULES) {
      const mine = violations.filter((v) => v.rule === rule.id);
      if (mine.length === 0) continue;
      context.report.addViolation({
        ruleName: `${rule.id}: ${rule.description}`,
        recommendation: mine.map((v) => `${v.object}: ${v.message}`).join('; '),
        fix: rule.fix,
        violatingResources: mine.map((v) => ({
          resourceName: v.object,
          locations: [v.path],
          manifestPath: manifests.find((m) => `${m.manifest.kind}/${m.manifest.metadata?.name}` === v.object).manifestPath,
        })),
      });
    }
    context.report.submit(violations.length === 0 ? 'success' : 'failure', { rules: String(RULES.length) });
  }
}

module.exports = { PolicyValidation };
