// What scripts/cdk8s-policy-plugin.js uses, bundled by scripts/build.js into build/policy.js so
// that `cdk8s synth` runs the rules as compiled JS (no ts-node at synth time).
export { RULES } from '../lib/policy/rules';
export { describeObject, readManifestFile } from '../lib/validation/manifests';
export { policyProblems } from '../lib/validation/policy';
export { formatProblem } from '../lib/validation/problems';
