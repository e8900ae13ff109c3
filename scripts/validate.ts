/**
 * npm run validate -- [--server] [--no-policy] [PATH...]
 * npm run validate -- --helm [--server] [--no-policy] [CHART...]
 *
 * Validates manifests (default: dist/) in layers, each the real tool of the field:
 *   yaml         duplicate keys and syntax, read as kubectl reads YAML (1.1)
 *   policy       this project's rules (lib/policy/rules.ts)
 *   kubeconform  strict JSON-schema validation, Kubernetes 1.27, offline schemas
 *   apiserver    (--server) `kubectl apply --dry-run=server` against a local kube-apiserver
 * With --helm the arguments are Helm charts (default: chart/), checked the kubeconform-helm way:
 *   helm         `helm lint --strict`, then `helm template`, whose output goes through the layers above
 * Prints one line per problem (file:line, object, field, what is wrong, layer) and exits 1 if
 * any. Any input it cannot use (missing path, unknown flag, ...) is a plain message and exit 1.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { parseArgs } from 'util';
import { chartProblems } from '../lib/validation/helm';
import { formatProblem, Problem } from '../lib/validation/problems';
import { validate } from '../lib/validation/validate';

const USAGE = [
  'usage: npm run validate -- [--server] [--no-policy] [PATH...]   (PATH: files or folders of .yaml/.yml/.json; default dist/)',
  '       npm run validate -- --helm [--server] [--no-policy] [CHART...]   (CHART: chart folders; default chart/)',
].join('\n');

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'server': { type: 'boolean', default: false },
        'helm': { type: 'boolean', default: false },
        'no-policy': { type: 'boolean', default: false },
        'help': { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
    });
  } catch (e) {
    console.error(`validate: ${(e as Error).message.split('\n')[0]}\n${USAGE}`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.helm) return validateCharts(positionals.length > 0 ? positionals : ['chart'], values.server!, !values['no-policy']);
  const started = Date.now();
  const result = await validate(positionals.length > 0 ? positionals : ['dist'], {
    server: values.server,
    policy: !values['no-policy'],
    apiserver: {
      // Progress on long runs (stderr, so stdout stays the problem list).
      onProgress: (done, total, file) => {
        if (Date.now() - started > 2000 || total >= 500) process.stderr.write(`[apiserver] ${done}/${total} objects checked (${file})\n`);
      },
    },
  });
  if (result.files.length === 0) {
    console.error('validate: no .yaml, .yml or .json files found');
    return 1;
  }
  result.problems.forEach((p) => console.log(formatProblem(p)));
  const { problems, files, objects, layers } = result;
  console.log(`${problems.length === 0 ? 'valid' : 'INVALID'}: ${files.length} file(s), ${objects} object(s), ${problems.length} problem(s); layers: ${layers.join(', ')}`);
  return problems.length === 0 ? 0 : 1;
}

/** --helm: lint, render, then the same layers on what helm rendered. */
async function validateCharts(charts: string[], server: boolean, policy: boolean): Promise<number> {
  let files = 0;
  let objects = 0;
  const problems: Problem[] = [];
  const missing = charts.filter((chart) => !existsSync(join(chart, 'Chart.yaml')));
  if (missing.length > 0) {
    console.error(`validate: ${missing.join(', ')}: not a Helm chart (no Chart.yaml); run npm run synth:helm, or name the chart folder`);
    return 1;
  }
  for (const chart of charts) {
    const result = await chartProblems(chart, { server, policy });
    problems.push(...result.problems);
    files += result.files;
    objects += result.objects;
  }
  problems.forEach((p) => console.log(formatProblem(p)));
  const layers = ['helm lint', 'helm template', 'yaml', ...(policy ? ['policy'] : []), 'kubeconform', ...(server ? ['apiserver'] : [])];
  console.log(`${problems.length === 0 ? 'valid' : 'INVALID'}: ${charts.length} chart(s), ${files} rendered file(s), ${objects} object(s), ${problems.length} problem(s); layers: ${layers.join(', ')}`);
  return problems.length === 0 ? 0 : 1;
}

// `npm run validate | head`: a reader that stops early ends the run quietly, with no stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') process.stderr.write(`validate: cannot write the results: ${e.message}\n`);
  process.exit(e.code === 'EPIPE' ? process.exitCode ?? 0 : 1);
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (e: Error) => {
  // No stack trace for any input: the message is the answer (InputError says what to fix).
  console.error(`validate: ${e?.message ?? e}`);
  process.exitCode = 1;
});
