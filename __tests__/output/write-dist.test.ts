import * as fs from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { AWKWARD_VALUES } from '../support/awkward-values';
import { DistIo, goYamlRetypes, manifestsToYaml, OutputError, plainInFlow, writeDist } from '../../lib/output/write-dist';

const tmp = () => fs.mkdtempSync(join(tmpdir(), 'write-dist-'));
const readDir = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(join(dir, f), 'utf-8')]));

/** The real file system, except that the n-th write fails the way a full disk or a read-only mount does. */
function failingIo(failAt: number, code: string): DistIo {
  let writes = 0;
  return {
    writeFileSync: (p, d) => {
      writes += 1;
      if (writes === failAt) {
        fs.writeFileSync(p, d.slice(0, 10)); // a full disk leaves a truncated file behind
        throw Object.assign(new Error(`${code}: simulated`), { code });
      }
      fs.writeFileSync(p, d);
    },
    renameSync: (a, b) => fs.renameSync(a, b),
    rmSync: (p, o) => fs.rmSync(p, o),
    readdirSync: (p) => fs.readdirSync(p),
    mkdirSync: (p, o) => { fs.mkdirSync(p, o); },
  };
}

describe('writeDist', () => {
  const OLD = { 'a.k8s.yaml': 'old a\n', 'b.k8s.yaml': 'old b\n', 'README.md': 'kept\n' };
  const withOld = () => {
    const dir = tmp();
    for (const [f, c] of Object.entries(OLD)) fs.writeFileSync(join(dir, f), c);
    return dir;
  };

  test('replaces the manifests, removes manifests no longer produced, keeps other files', () => {
    const dir = withOld();
    writeDist(dir, { 'a.k8s.yaml': 'new a\n' });
    expect(readDir(dir)).toEqual({ 'README.md': 'kept\n', 'a.k8s.yaml': 'new a\n' });
  });

  test.each([
    ['disk full on the second file', 2, 'ENOSPC'],
    ['read-only on the first file', 1, 'EROFS'],
  ])('%s: the old dist/ stays whole, no temporary files left', (_what, failAt, code) => {
    const dir = withOld();
    expect(() => writeDist(dir, { 'a.k8s.yaml': 'new a\n', 'c.k8s.yaml': 'new c\n' }, failingIo(failAt, code)))
      .toThrow(new OutputError(`cannot write ${dir}/ (${code}); it was left as it was`));
    expect(readDir(dir)).toEqual(OLD);
  });

  test('creates a missing folder', () => {
    const dir = join(tmp(), 'dist');
    writeDist(dir, { 'a.k8s.yaml': 'a\n' });
    expect(readDir(dir)).toEqual({ 'a.k8s.yaml': 'a\n' });
  });
});

describe('YAML that kubectl reads back as written', () => {
  // What go-yaml v2 (kubectl) makes of these plain scalars: not strings.
  test.each(['0X1F', '0B11', '0b11', '1e1_0', '0o17', '0O17', '1_000', '0755', '12', '-1', '+1', '.5', '1.', '1e3',
    'on', 'On', 'ON', 'yes', 'Y', 'n', 'NO', 'off', 'true', 'False', 'null', '~', '', '.inf', '-.Inf', '.NaN', '<<', '2024-01-02', '2024-1-2T10:00:00Z'])(
    '%j would be retyped', (value) => {
      expect(goYamlRetypes(value)).toBe(true);
    });

  test.each(['main', '100m', '128Mi', 'v1.2.0', 'feature/login', '0xg', '1.2.3', 'e10', 'registry:2.8.3', '30500a', 'yess', 'build-0x1f-main'])(
    '%j stays a string', (value) => {
      expect(goYamlRetypes(value)).toBe(false);
    });

  test('those strings are double-quoted; everything else is written as cdk8s writes it, sequences unindented as kubectl writes them', () => {
    const text = manifestsToYaml([{ a: '0X1F', b: 'main', c: ['on', '100m'], d: 30500, e: '30500' }]);
    expect(text).toBe('a: "0X1F"\nb: main\nc:\n- "on"\n- 100m\nd: 30500\ne: "30500"\n');
    expect(parseAllDocuments(text)[0].toJS()).toEqual({ a: '0X1F', b: 'main', c: ['on', '100m'], d: 30500, e: '30500' });
  });
});

describe('flow style: env, envFrom, mounts and volumes one entry to a line, command and quantities on one line', () => {
  const pod = (env: Array<Record<string, unknown>>) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
    spec: {
      containers: [{
        name: 'c', image: 'x:1', command: ['sh', '/opt/s/build.sh'], env, envFrom: [{ prefix: 'P_', secretRef: { name: 's' } }],
        resources: { limits: { cpu: '1', memory: '1Gi' } }, volumeMounts: [{ mountPath: '/w', name: 'w', readOnly: true }],
      }],
      volumes: [{ name: 'w', emptyDir: {} }, { name: 'h', hostPath: { path: '/var/run', type: 'Directory' } }],
    },
  });

  test('the Pod as written', () => {
    expect(manifestsToYaml([pod([{ name: 'A', value: 'main' }, { name: 'B', value: '30500' }, { name: 'C', valueFrom: { secretKeyRef: { key: 'k', name: 's' } } }])])).toBe(`apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: x:1
    command: [sh, /opt/s/build.sh]
    env:
    - {name: A, value: main}
    - {name: B, value: "30500"}
    - {name: C, valueFrom: {secretKeyRef: {key: k, name: s}}}
    envFrom:
    - {prefix: P_, secretRef: {name: s}}
    resources:
      limits: {cpu: "1", memory: 1Gi}
    volumeMounts:
    - {mountPath: /w, name: w, readOnly: true}
  volumes:
  - {name: w, emptyDir: {}}
  - {name: h, hostPath: {path: /var/run, type: Directory}}
`);
  });

  test.each(AWKWARD_VALUES)('env value %j reads back as written (YAML 1.1, the yaml package)', (value) => {
    const manifest = pod([{ name: 'V', value }]);
    const text = manifestsToYaml([manifest]);
    expect(parseAllDocuments(text, { version: '1.1' })[0].toJS()).toEqual(manifest);
  });

  test('a multi-line value keeps its entry in block style (a script stays readable)', () => {
    const text = manifestsToYaml([pod([{ name: 'A', value: 'main' }, { name: 'S', value: 'line 1\nline 2\n' }])]);
    expect(text).toContain('    - {name: A, value: main}\n    - name: S\n      value: |\n');
  });

  test.each(['a?b', 'a,b', 'a:', 'a:}', '{x', '-x', '? x', 'a #b', 'a b', ''])('%j is not plain inside a flow collection', (value) => {
    expect(plainInFlow(value)).toBe(false);
  });

  test.each(['main', 'https://git.example.com/team/x.git', 'localhost:30500', '/opt/image-builder/build.sh', 'v1.2.0', 'a_b.c@d+e=f~g%h'])('%j stays plain', (value) => {
    expect(plainInFlow(value)).toBe(true);
  });
});
