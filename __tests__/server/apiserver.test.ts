import { join } from 'path';
import { apiserverProblems, kubectl, parseKubectlErrors, startApiServer } from '../../lib/validation/apiserver';
import { collectFiles, Problem } from '../../lib/validation/problems';
import { ROOT } from '../support/synth';

/**
 * The API-server layer against a real etcd + kube-apiserver on 127.0.0.1
 * (scripts/validate-tools/apiserver.sh). `npm run test:server`.
 */
const BAD = join(ROOT, '__tests__', 'fixtures', 'manifests', 'bad');
const DIST = join(ROOT, 'dist');
const summary = (ps: Problem[]) => ps.map((p) => `${p.object} ${p.path ?? ''}: ${p.message}`);

let stop: () => void = () => undefined;
beforeAll(() => {
  stop = startApiServer();
}, 40 * 60_000);
afterAll(() => stop());

describe('kubectl apply --dry-run=server', () => {
  test('accepts dist/ and the seed-style Pod', () => {
    expect(apiserverProblems(collectFiles([DIST, join(ROOT, '__tests__', 'fixtures', 'manifests', 'good')]))).toEqual([]);
  });

  test.each([
    ['env-number', /^Pod\/env-number spec\.containers\.env\.value: number given where the API wants string$/],
    ['unknown-field', /^Pod\/unknown-field spec\.containers\[0\]\.imagePullPolicyy: unknown field$/],
    ['replicas-string', /^Deployment\/replicas-string spec\.replicas: string given where the API wants int32$/],
    ['invalid-name', /^Pod\/Build_Image metadata\.name: Invalid value: "Build_Image": a lowercase RFC 1123 subdomain/],
    ['restart-policy', /^Pod\/restart-policy spec\.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"$/],
    ['nodeport-out-of-range', /^Service\/nodeport-out-of-range spec\.ports\[0\]\.nodePort: Invalid value: 99999: provided port is not in the valid range/],
    ['hostpath-type', /^Pod\/hostpath-type spec\.volumes\[0\]\.hostPath\.type: Unsupported value: "Sockett"/],
    ['container-without-name', /^Pod\/container-without-name spec\.containers\[0\]\.name: Required value$/],
  ])('refuses %s', (name, expected) => {
    expect(summary(apiserverProblems([join(BAD, `${name}.yaml`)]))).toEqual([expect.stringMatching(expected)]);
  });
});

describe('round trip: kubectl apply -f dist/ for real, then read back', () => {
  afterAll(() => {
    kubectl(['delete', '-f', DIST, '--ignore-not-found', '--wait=false']);
  });

  test('what matters survives the API server', () => {
    const applied = kubectl(['apply', '-f', DIST]);
    expect(applied.stderr).toBe('');
    expect(applied.status).toBe(0);
    const get = (what: string) => JSON.parse(kubectl(['get', what, '-o', 'json']).stdout);

    const service = get('service/registry');
    expect(service.spec.type).toBe('NodePort');
    expect(service.spec.ports[0].nodePort).toBe(30500);

    const job = get('job/build-container-training-main');
    const pod = job.spec.template.spec;
    const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(env.REGISTRY_PORT).toBe('30500');
    expect(typeof env.REGISTRY_PORT).toBe('string');
    expect(String(service.spec.ports[0].nodePort)).toBe(env.REGISTRY_PORT);
    expect(pod.restartPolicy).toBe('OnFailure');
    expect(pod.volumes).toContainEqual({ name: 'docker-socket', hostPath: { path: '/var/run/docker.sock', type: 'Socket' } });
    expect(job.spec).toMatchObject({ backoffLimit: 3, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 86400 });

    const deployment = get('deployment/registry');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe('Recreate');
  });
});

test('parseKubectlErrors splits a multi-field Invalid error', () => {
  expect(parseKubectlErrors('The Pod "x" is invalid: [spec.a: Required value, spec.b[0].c: Invalid value: "d, e": bad]')).toEqual([
    { path: 'spec.a', message: 'Required value' },
    { path: 'spec.b[0].c', message: 'Invalid value: "d, e": bad' },
  ]);
});
