// A cdk8s-cli validation plugin (cdk8s.yaml `validations:`, loaded from this local path, so it
// needs no npm install): `cdk8s synth` runs the project's policy rules (lib/policy/rules.ts) on the
// manifests it just wrote and fails on any violation, through cdk8s's own report API. The files are
// read by the same reader as `npm run validate` (lib/validation/manifests.ts), so a violation names
// the same object, file and line there and here.
'use strict';
// The rules and reader come compiled from lib/ (build/policy.js, scripts/build.js), rebuilt when a
// source changed.
const { requireBuilt } = require('./build');

class PolicyValidation {
  async validate(context) {
    const { RULES, readManifestFile, describeObject, policyProblems, formatProblem } = await requireBuilt('policy');
    const files = context.manifests.map((manifestPath) => readManifestFile(manifestPath));
    const unreadable = files.flatMap((f) => f.problems);
    const problems = policyProblems(files);
    for (const rule of RULES) {
      const mine = problems.filter((p) => p.message.startsWith(`${rule.id} `));
      if (mine.length === 0) continue;
      context.report.addViolation({
        ruleName: `${rule.id}: ${rule.description}`,
        recommendation: mine.map((p) => `${p.object ? describeObject(p.object) : p.file}: ${p.message.slice(rule.id.length + 1).replace(/ \(fix: [^]*\)$/, '')}`).join('; '),
        fix: rule.fix,
        violatingResources: mine.map((p) => ({
          resourceName: p.object ? describeObject(p.object) : '(all objects)',
          locations: [p.path ?? '', `line ${p.line ?? 1}`],
          manifestPath: p.file,
        })),
      });
    }
    if (unreadable.length > 0) {
      // Fail closed: a manifest the rules could not read is a violation too.
      context.report.addViolation({
        ruleName: 'manifests are readable YAML objects',
        recommendation: unreadable.map(formatProblem).join('; '),
        fix: 'fix the YAML the app wrote',
        violatingResources: unreadable.map((p) => ({ resourceName: '(file)', locations: [`line ${p.line ?? 1}`], manifestPath: p.file })),
      });
    }
    const failed = problems.length > 0 || unreadable.length > 0;
    context.report.submit(failed ? 'failure' : 'success', { rules: String(RULES.length) });
  }
}

module.exports = { PolicyValidation };
