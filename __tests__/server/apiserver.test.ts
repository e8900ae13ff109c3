import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { apiserverProblems, KUBECONFIG, kubectl, parseKubectlErrors, startApiServer } from '../../lib/validation/apiserver';
import { collectFiles } from '../../lib/validation/files';
import { parseManifestText, readManifestFile } from '../../lib/validation/manifests';
import { formatProblem, Problem } from '../../lib/validation/problems';
import { manifestsToYaml } from '../../lib/output/write-dist';
import { AWKWARD_VALUES } from '../support/awkward-values';
import { ROOT } from '../support/synth';

/**
 * The API-server layer against a real etcd + kube-apiserver on 127.0.0.1
 * (scripts/validate-tools/apiserver.sh). `npm run test:server`.
 */
const BAD = join(ROOT, '__tests__', 'fixtures', 'manifests', 'bad');
const DIST = join(ROOT, 'dist');
const summary = (ps: Problem[]) => ps.map((p) => formatProblem(p).replace(/^[^:]*:\d*: /, '').replace(/ \[apiserver\]$/, ''));
const read = (paths: string[]) => collectFiles(paths).map(readManifestFile);
const text = (name: string, body: string) => parseManifestText(body, name);
const tmp = () => mkdtempSync(join(tmpdir(), 'apiserver-test-'));
const APISERVER_SH = join(ROOT, 'scripts', 'validate-tools', 'apiserver.sh');

let stop: () => void = () => undefined;
beforeAll(() => {
  stop = startApiServer();
}, 40 * 60_000);
afterAll(() => stop());

const pod = (name: string, spec: string, meta = '') => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}${meta}}\nspec: ${spec}\n`;
const OK = '{containers: [{name: c, image: "busybox:1.36"}]}';

describe('kubectl apply --dry-run=server', () => {
  test('accepts dist/ and the seed-style Pod', async () => {
    expect(await apiserverProblems(read([DIST, join(ROOT, '__tests__', 'fixtures', 'manifests', 'good')]))).toEqual([]);
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
  ])('refuses %s', async (name, expected) => {
    expect(summary(await apiserverProblems([readManifestFile(join(BAD, `${name}.yaml`))]))).toEqual([expect.stringMatching(expected)]);
  });

  test('several errors in one object (kubectl\'s bulleted form): one problem per field', async () => {
    const file = text('multi.yaml', pod('multi', '{restartPolicy: Sometimes, containers: [{name: c, image: "x:1", resources: {requests: {cpu: "2"}, limits: {cpu: "1"}}}], tolerations: [{operator: Exists, value: x}]}', ', labels: {"a/b/c": x}'));
    expect(summary(await apiserverProblems([file])).map((s) => s.replace(/: Invalid value.*|: Unsupported value.*/, ''))).toEqual([
      'Pod/multi metadata.labels',
      'Pod/multi spec.containers[0].resources.requests',
      'Pod/multi spec.restartPolicy',
      'Pod/multi spec.tolerations[0].operator',
    ]);
  });

  test('many objects in one file (one kubectl run): each error on its own object, also unnamed and same-named ones', async () => {
    const file = text('many.yaml', [
      pod('fine', OK),
      pod('Bad_Name', '{restartPolicy: Sometimes, containers: [{name: c, image: "x:1"}]}'),
      '# a comment-only document\n',
      pod('fine', '{containers: [{name: c, image: "x:1", imagex: y, foo: 1}]}'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n',
      pod('envn', '{containers: [{name: c, image: "x:1", env: [{name: A, value: 1}]}]}'),
      'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n',
      pod('last', OK),
    ].join('---\n'));
    expect((await apiserverProblems([file])).map((p) => `${p.line} ${summary([p])[0].replace(/ Invalid value: .*| Unsupported value: .*/, '')}`)).toEqual([
      '6 Pod/Bad_Name metadata.name:',
      '6 Pod/Bad_Name spec.restartPolicy:',
      '13 Pod/fine spec.containers[0].foo: unknown field',
      '13 Pod/fine spec.containers[0].imagex: unknown field',
      expect.stringMatching(/^18 ConfigMap \(no name\): error when retrieving current configuration of: .* resource name may not be empty$/),
      '22 Pod/envn spec.containers.env.value: number given where the API wants string',
      expect.stringMatching(/^27 Widget\/w: .*no matches for kind "Widget"/),
    ]);
  });

  test('a list (kubectl applies its items): a valid one passes, an item\'s error is at the item\'s line and name', async () => {
    const list = (items: string[]) => `apiVersion: v1\nkind: List\nitems:\n${items.map((i) => `- ${i}\n`).join('')}`;
    const good = `{apiVersion: v1, kind: Pod, metadata: {name: ok-in-list}, spec: ${OK}}`;
    const bad = '{apiVersion: v1, kind: Pod, metadata: {name: bad-in-list}, spec: {restartPolicy: Sometimes, containers: [{name: c, image: "x:1"}]}}';
    expect(await apiserverProblems([text('good-list.yaml', list([good, `{apiVersion: v1, kind: ConfigMap, metadata: {name: cm-in-list, namespace: team-c}}`]))])).toEqual([]);
    expect((await apiserverProblems([text('bad-list.yaml', `${pod('before', OK)}---\n${list([good, bad])}`)])).map((p) => `${p.line} ${summary([p])[0]}`)).toEqual([
      expect.stringMatching(/^10 Pod\/bad-in-list spec\.restartPolicy: Unsupported value: "Sometimes"/),
    ]);
  });

  test('a JSON stream, and YAML documents that start with `{`: each checked, errors at their own lines', async () => {
    const json = (name: string, policy = 'Never') => `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "${name}"}, "spec": {"restartPolicy": "${policy}", "containers": [{"name": "c", "image": "x:1"}]}}`;
    expect((await apiserverProblems([text('s.json', `${json('j1')}\n${json('j2', 'Sometimes')}\n`)])).map((p) => `${p.line} ${summary([p])[0]}`)).toEqual([
      expect.stringMatching(/^2 Pod\/j2 spec\.restartPolicy: Unsupported value: "Sometimes"/),
    ]);
    const yaml = `${pod('y1', OK)}---\n{apiVersion: v1, kind: Pod, metadata: {name: y2}, spec: {restartPolicy: Sometimes, containers: [{name: c, image: "x:1"}]}}\n---\n${json('y3', 'Sometimes')}\n`;
    expect((await apiserverProblems([text('s.yaml', yaml)])).map((p) => `${p.line} ${summary([p])[0].replace(/: Unsupported value.*/, '')}`)).toEqual([
      '6 Pod/y2 spec.restartPolicy', '8 Pod/y3 spec.restartPolicy',
    ]);
  });

  test('objects in a namespace the server lacks are still checked', async () => {
    const file = text('ns.yaml', [pod('in-ns', OK, ', namespace: team-a'), pod('bad-in-ns', '{restartPolicy: Sometimes, containers: [{name: c, image: "x:1"}]}', ', namespace: team-b')].join('---\n'));
    expect(summary(await apiserverProblems([file]))).toEqual([
      expect.stringMatching(/^Pod\/bad-in-ns \(namespace team-b\) spec\.restartPolicy: Unsupported value: "Sometimes"/),
    ]);
  });
});

describe('fails closed: every object not checked is a problem carrying kubectl\'s text', () => {
  const two = () => text('two.yaml', [pod('a', OK), pod('b', OK)].join('---\n'));

  test('connection refused', async () => {
    const kubeconfig = join(tmp(), 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(KUBECONFIG, 'utf-8').replace(/127\.0\.0\.1:\d+/, '127.0.0.1:1'));
    expect(summary(await apiserverProblems([two()], { kubeconfig }))).toEqual([
      expect.stringMatching(/^Pod\/a: not checked: kubectl did not confirm this object \(exit 1\): The connection to the server 127\.0\.0\.1:1 was refused/),
      expect.stringMatching(/^Pod\/b: not checked: .*was refused/),
    ]);
  });

  test('a kubectl run that does not finish in time', async () => {
    expect(summary(await apiserverProblems([two()], { timeoutMs: 1 }))).toEqual([
      'Pod/a: not checked: kubectl did not confirm this object (did not finish within 1 ms and was stopped): (no output)',
      'Pod/b: not checked: kubectl did not confirm this object (did not finish within 1 ms and was stopped): (no output)',
    ]);
  });

  test('an error kubectl prints that says nothing about the objects (a broken kubeconfig)', async () => {
    const kubeconfig = join(tmp(), 'kubeconfig');
    writeFileSync(kubeconfig, 'this is not a kubeconfig');
    const problems = summary(await apiserverProblems([two()], { kubeconfig }));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^Pod\/a: not checked: kubectl did not confirm this object \(exit 1\): .*kubeconfig|^Pod\/a: not checked: .*error/);
  });

  test('the API server killed mid-run: the files after it are problems, not passes', async () => {
    const files = [1, 2, 3].map((n) => text(`f${n}.yaml`, pod(`p${n}`, OK)));
    const problems = await apiserverProblems(files, {
      onProgress: (done) => {
        if (done === 1) spawnSync('bash', [APISERVER_SH, 'stop']);
      },
    });
    stop = startApiServer(); // for the tests after this one; stopped again in afterAll
    expect(problems.map((p) => p.file)).toEqual(['f2.yaml', 'f3.yaml']);
    expect(summary(problems)).toEqual([
      expect.stringMatching(/^Pod\/p2: not checked: kubectl did not confirm this object \(exit 1\): .*(refused|connect)/),
      expect.stringMatching(/^Pod\/p3: not checked: .*(refused|connect)/),
    ]);
  }, 120_000);
});

test('npm run validate -- --server on 600 objects: progress on stderr, per kubectl run, the problems on stdout', () => {
  const dir = tmp();
  const objects = Array.from({ length: 600 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\ndata: {a: "1"}\n`);
  objects[550] = objects[550].replace('name: c550', 'name: C_550'); // refused by the API server only
  writeFileSync(join(dir, 'many.yaml'), objects.join('---\n'));
  const run = spawnSync(process.execPath, ['scripts/validate.js', '--server', '--no-policy', join(dir, 'many.yaml')], { cwd: ROOT, encoding: 'utf-8' });
  expect(run.stderr.split('\n').filter((l) => l.startsWith('[apiserver]'))).toEqual([
    `[apiserver] 250/600 objects checked (${dir}/many.yaml)`,
    `[apiserver] 500/600 objects checked (${dir}/many.yaml)`,
    `[apiserver] 600/600 objects checked (${dir}/many.yaml)`,
  ]);
  expect(run.stdout).toMatch(new RegExp(`^${dir}/many\\.yaml:2751: ConfigMap/C_550 metadata\\.name: Invalid value: "C_550": a lowercase RFC 1123 subdomain .*\\[apiserver\\]\\nINVALID: 1 file\\(s\\), 600 object\\(s\\), 1 problem\\(s\\)`));
  expect(run.status).toBe(1);
});

describe('flow-style env entries: kubectl (go-yaml) reads back what manifestsToYaml wrote', () => {
  // go-yaml v2 ends a plain scalar in flow context at `,?[]{}`, which the yaml package
  // would write plain (`{name: V, value: a?b}`): kubectl refused the whole file.
  test('every awkward value, one env entry each, in one Pod', () => {
    const env = AWKWARD_VALUES.map((value, i) => ({ name: `V${i}`, value }));
    const text = manifestsToYaml([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x:1', env }] } }]);
    const read = kubectl(['label', '--local', '-f', '-', 'read=back', '-o', 'json'], text);
    expect(read.stderr).toBe('');
    expect(JSON.parse(read.stdout).spec.containers[0].env).toEqual(env);
    expect(text).toContain('- {name: V0, value: "a?b"}');
  });

  // manifestsToYaml writes the easy scalars itself and has `yaml` write the rest: every kind of
  // place (block key and value, flow list, block literal) with every awkward string, read back.
  test('awkward keys and values as block map keys and values, a flow command, multi-line scripts', () => {
    const oneLine = AWKWARD_VALUES.filter((v) => !v.includes('\n'));
    const annotations = Object.fromEntries(AWKWARD_VALUES.filter((v) => v !== '').map((v, i) => [v, AWKWARD_VALUES[(i + 7) % AWKWARD_VALUES.length]]));
    const data = { ...Object.fromEntries(AWKWARD_VALUES.map((v, i) => [`k${i}`, v])), script: '#!/bin/sh\nset -eu\n  indented: yes\n', kept: 'x\n\n', lead: '\n  y\n' };
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm', annotations }, data };
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x:1', command: oneLine, args: ['sh', '-c', 'echo "$X"\nexit 0\n'] }] } };
    for (const manifest of [configMap, pod]) {
      const read = kubectl(['label', '--local', '-f', '-', 'read=back', '-o', 'json'], manifestsToYaml([manifest]));
      expect(read.stderr).toBe('');
      const back = JSON.parse(read.stdout);
      delete back.metadata.labels;
      expect(back).toEqual(manifest);
    }
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

    // the Job's name ends with a hash of its template; the build's name is in a label
    const jobs = get('jobs').items.filter((j: any) => j.metadata.labels?.['cdk8s-image-builder/build'] === 'build-container-training-main');
    expect(jobs.map((j: any) => j.metadata.name)).toEqual([expect.stringMatching(/^build-container-training-main-[0-9a-f]{8}$/)]);
    const job = jobs[0];
    const spec = job.spec.template.spec;
    const env = Object.fromEntries(spec.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(env.REGISTRY_PORT).toBe('30500');
    expect(typeof env.REGISTRY_PORT).toBe('string');
    expect(String(service.spec.ports[0].nodePort)).toBe(env.REGISTRY_PORT);
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.volumes).toContainEqual({ name: 'node-run', hostPath: { path: '/var/run', type: 'Directory' } });
    expect(job.spec).toMatchObject({ backoffLimit: 3, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 86400 });

    const deployment = get('deployment/registry');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe('Recreate');
  });
});

describe('a buildkit builds.yaml: the API server takes what synth writes, and a second apply changes nothing', () => {
  const dir = tmp();
  const dist = join(dir, 'dist');
  beforeAll(() => {
    // Both engines, a buildkit default and a docker override, as a user switching over would have.
    writeFileSync(join(dir, 'builds.yaml'), `registry:
  nodePort: 30555
builders:
  engine: buildkit
builds:
  - repo: https://git.example.com/team/shop.git
    ref: v2.1.0
    images: [{context: services/api}, {context: services/worker, dockerfile: docker/Dockerfile}]
  - repo: https://git.example.com/team/tools.git
    engine: docker
`);
    const synth = spawnSync(process.execPath, ['scripts/synth.js'], {
      cwd: ROOT, encoding: 'utf-8', env: { ...process.env, BUILDS_CONFIG: join(dir, 'builds.yaml'), CDK8S_OUTDIR: dist },
    });
    if (synth.status !== 0) throw new Error(`synth failed: ${synth.stderr}`);
    // No namespace of its own: without a controller manager a deleted namespace stays Terminating, with its objects.
    kubectl(['delete', '-f', DIST, '--ignore-not-found', '--wait=false']);
  }, 300_000);
  afterAll(() => {
    kubectl(['delete', '-f', dist, '--ignore-not-found', '--wait=false']);
  });

  test('npm run validate -- --server: valid, policy included', () => {
    const run = spawnSync(process.execPath, ['scripts/validate.js', '--server', dist], { cwd: ROOT, encoding: 'utf-8' });
    expect(run.stdout).toBe('valid: 1 file(s), 12 object(s), 0 problem(s); layers: yaml, policy, kubeconform, apiserver\n');
    expect(run.status).toBe(0);
  });

  test('kubectl apply, then again: every object unchanged, kubectl diff empty; the Job keeps its seccomp and AppArmor exceptions', () => {
    const applied = kubectl(['apply', '-f', dist]);
    expect(applied.stderr).toBe('');
    expect(applied.status).toBe(0);
    const again = kubectl(['apply', '-f', dist]);
    expect(again.status).toBe(0);
    const lines = again.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.filter((line) => !line.endsWith(' unchanged'))).toEqual([]);
    const diff = kubectl(['diff', '-f', dist]);
    expect(diff.stdout).toBe('');
    expect(diff.status).toBe(0);

    const jobs = JSON.parse(kubectl(['get', 'jobs', '-l', 'app.kubernetes.io/component=builder', '-o', 'json']).stdout).items;
    const buildkit = jobs.find((j: any) => j.spec.template.spec.containers[0].name === 'buildkit');
    expect(buildkit.metadata.name).toMatch(/^build-shop-v2-1-0-[0-9a-f]{8}$/);
    expect(buildkit.spec.template.metadata.annotations).toMatchObject({ 'container.apparmor.security.beta.kubernetes.io/buildkit': 'unconfined' });
    expect(buildkit.spec.template.spec.containers[0].securityContext).toMatchObject({ seccompProfile: { type: 'Unconfined' } });
    expect(jobs.map((j: any) => j.spec.template.spec.containers[0].name).sort()).toEqual(['buildkit', 'docker-build']);
  });
});

describe('parseKubectlErrors', () => {
  test('the bracket form (many objects per run)', () => {
    expect(parseKubectlErrors('Error from server (Invalid): error when creating "STDIN": Pod "x" is invalid: [spec.a: Required value, spec.b[0].c: Invalid value: "d, e": bad]')).toEqual([
      { path: 'spec.a', message: 'Required value' },
      { path: 'spec.b[0].c', message: 'Invalid value: "d, e": bad' },
    ]);
  });

  test('the bulleted form (one object per run)', () => {
    expect(parseKubectlErrors('The Deployment "d" is invalid: \n* spec.replicas: Invalid value: -1: must be greater than or equal to 0\n* spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`\n')).toEqual([
      { path: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' },
      { path: 'spec.template.metadata.labels', message: 'Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`' },
    ]);
  });
});
