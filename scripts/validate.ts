/**
 * npm run validate -- [--server] [--no-policy] [PATH...]
 *
 * Validates manifests (default: dist/) in layers, each the real tool of the field:
 *   yaml         duplicate keys and syntax, read as kubectl reads YAML (1.1)
 *   policy       this project's rules (lib/policy/rules.ts)
 *   kubeconform  strict JSON-schema validation, Kubernetes 1.27, offline schemas
 *   apiserver    (--server) `kubectl apply --dry-run=server` against a local kube-apiserver
 * Prints one line per problem (file, object, field, what is wrong) and exits 1 if any.
 */
import { parseArgs } from 'util';
import { apiserverProblems, startApiServer } from '../lib/validation/apiserver';
import { kubeconformProblems } from '../lib/validation/kubeconform';
import { collectFiles, formatProblem, parseFile, policyProblems, Problem } from '../lib/validation/problems';

function main(): number {
  const { values, positionals } = parseArgs({
    options: {
      'server': { type: 'boolean', default: false },
      'no-policy': { type: 'boolean', default: false },
      'help': { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log('usage: npm run validate -- [--server] [--no-policy] [PATH...]   (PATH: files or folders of YAML; default dist/)');
    return 0;
  }
  const files = collectFiles(positionals.length > 0 ? positionals : ['dist']);
  if (files.length === 0) {
    console.error('validate: no .yaml or .yml files found');
    return 1;
  }
  const parsed = files.map(parseFile);
  const problems: Problem[] = parsed.flatMap((p) => p.problems);
  if (!values['no-policy']) problems.push(...policyProblems(parsed));
  problems.push(...kubeconformProblems(files));
  if (values.server) {
    const stop = startApiServer();
    try {
      problems.push(...apiserverProblems(files));
    } finally {
      stop();
    }
  }
  problems.forEach((p) => console.log(formatProblem(p)));
  const objects = parsed.reduce((n, p) => n + p.manifests.length, 0);
  const layers = ['yaml', ...(values['no-policy'] ? [] : ['policy']), 'kubeconform', ...(values.server ? ['apiserver'] : [])];
  console.log(`${problems.length === 0 ? 'valid' : 'INVALID'}: ${files.length} file(s), ${objects} object(s), ${problems.length} problem(s); layers: ${layers.join(', ')}`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = main();
