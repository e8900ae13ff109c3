import { join } from 'path';
import { kubeconformProblems } from '../../lib/validation/kubeconform';
import { collectFiles, parseFile, pointerToPath, policyProblems, Problem } from '../../lib/validation/problems';
import { ROOT } from '../support/synth';

const BAD = join(ROOT, '__tests__', 'fixtures', 'manifests', 'bad');
const GOOD = join(ROOT, '__tests__', 'fixtures', 'manifests', 'good');
const bad = (name: string) => join(BAD, `${name}.yaml`);
const summary = (ps: Problem[]) => ps.map((p) => `${p.object ?? ''} ${p.path ?? ''}: ${p.message}`);

// First use builds kubeconform and the 1.27 schemas into .tools/ (cached afterwards).
const SETUP_TIMEOUT = 15 * 60_000;

describe('kubeconform layer (strict, Kubernetes 1.27, offline schemas)', () => {
  test('dist/ is valid', () => {
    expect(kubeconformProblems(collectFiles([join(ROOT, 'dist')]))).toEqual([]);
  }, SETUP_TIMEOUT);

  test('the seed-style Pod is valid', () => {
    expect(kubeconformProblems(collectFiles([GOOD]))).toEqual([]);
  });

  test.each([
    ['env-number', 'Pod/env-number spec.containers[0].env[0].value: got number, want null or string'],
    ['unknown-field', 'Pod/unknown-field spec.containers[0].imagePullPolicyy: unknown field'],
    ['replicas-string', 'Deployment/replicas-string spec.replicas: got string, want null or integer'],
    ['container-without-name', "Pod/container-without-name spec.containers[0]: missing property 'name'"],
  ])('%s is refused: %s', (name, expected) => {
    expect(summary(kubeconformProblems([bad(name)]))).toEqual([expected]);
  });

  test('duplicate keys are refused', () => {
    expect(summary(kubeconformProblems([bad('duplicate-key')]))).toEqual([
      expect.stringMatching(/^Pod\/duplicate-key : .*key "image" already set in map/),
    ]);
  });

  test.each(['invalid-name', 'restart-policy', 'nodeport-out-of-range', 'hostpath-type'])(
    '%s passes the schema (only the API server knows this rule)', (name) => {
      expect(kubeconformProblems([bad(name)])).toEqual([]);
    });
});

describe('yaml layer', () => {
  test('duplicate keys are refused with their line', () => {
    expect(summary(parseFile(bad('duplicate-key')).problems)).toEqual([' line 10: Map keys must be unique at line 10, column 7:']);
  });

  test('dist/ parses to the three objects, no problems', () => {
    const parsed = parseFile(join(ROOT, 'dist', 'image-builder.k8s.yaml'));
    expect(parsed.problems).toEqual([]);
    expect(parsed.manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(['Deployment/registry', 'Service/registry', 'Job/build-container-training-main']);
  });
});

describe('policy layer', () => {
  test('dist/ keeps every rule', () => {
    expect(policyProblems([parseFile(join(ROOT, 'dist', 'image-builder.k8s.yaml'))])).toEqual([]);
  });

  test('an env number is refused by IB001 with the fix', () => {
    expect(summary(policyProblems([parseFile(bad('env-number'))]))).toEqual([
      'Pod/env-number spec.containers[0].env[0].value: IB001 env PORT is number 30500, not a string (fix: quote the value in YAML ("30500"); the API server refuses numbers and booleans in EnvVar.value)',
    ]);
  });

  test('the seed Pod is flagged: unpinned image, socket outside a labelled builder', () => {
    expect(policyProblems([parseFile(join(GOOD, 'seed-pod.yaml'))]).map((p) => p.message.slice(0, 5))).toEqual(['IB003', 'IB006']);
  });
});

test('pointerToPath', () => {
  expect(pointerToPath('/spec/containers/0/env/1/value')).toBe('spec.containers[0].env[1].value');
  expect(pointerToPath('/metadata/labels/app.kubernetes.io~1name')).toBe('metadata.labels.app.kubernetes.io/name');
});
