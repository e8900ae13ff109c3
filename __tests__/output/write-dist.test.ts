import * as fs from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { AWKWARD_VALUES } from '../support/awkward-values';
import { ROOT, synthBuilds, synthDefault } from '../support/synth';
import { manifestsToYamlByDocument } from '../support/yaml-document-writer';
import { ApiObject, App, Chart } from 'cdk8s';
import { DistIo, FLOW_ENTRIES, FLOW_VALUES, goYamlRetypes, manifestsToYaml, OutputError, plainInFlow, synthFiles, writeDist } from '../../lib/output/write-dist';

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

describe('the text is what a yaml Document of the manifests writes (the writer before it was written by hand)', () => {
  const same = (docs: unknown[]) => expect(manifestsToYaml(docs)).toBe(manifestsToYamlByDocument(docs));

  test("dist/'s manifests, synthesized", () => {
    same(synthDefault());
  });

  test.each([
    ['dist/', join(ROOT, 'dist')],
    ['chart/', join(ROOT, 'chart', 'templates')],
  ])('%s as committed: read back and written again, the same text from both writers', (_what, dir) => {
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const text = fs.readFileSync(join(dir, file), 'utf-8');
      const docs = parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS());
      same(docs);
      expect(manifestsToYaml(docs)).toBe(text);
    }
  });

  test('a 1,000-build app (npm run bench)', () => {
    const lines = ['builds:'];
    for (let b = 0; b < 1000; b++) lines.push(`  - repo: https://git.example.com/team/service-${b}.git`, '    ref: main', '    images:', `      - context: components/s${b}-c0`);
    const docs = synthBuilds(`${lines.join('\n')}\n`);
    expect(docs.length).toBeGreaterThan(1000);
    same(docs);
  }, 120_000);

  /** Strings that are plain for neither reader, or only nearly: indicators, YAML 1.1 words and numbers, multi-line scripts, odd characters. */
  const STRINGS = [...AWKWARD_VALUES, 'e5', 'E+10', 'e-3', 'e', 'ex5', 'E5x', '.5', '1e3', '0x1F', '1_000', '190:20:30', '2024-01-02', 'y', 'Yes', 'NULL', '<<',
    '---x', '--- x', '...', '...x', '%x', 'a: b', 'a:b:c', 'http://h:80/x', 'a#b', '/opt/x.sh', 'Build-1.2_3', 'a//b',
    'line 1\nline 2\n', '  indented\nscript\n', 'trailing\n\n', 'two\n\n\nblank\n', '\n', '\n\nlead', 'end \n', 'tab\t\nx', 'x\n  y', '#!/bin/sh\nset -eu\n',
    'x\u0007y', 'nul\u0000', 'é', 'line\u2028sep', '\u00a0nbsp', 'emoji 🙂', 'a"b\'c', "'", '"', 'x'.repeat(1100), `${'k'.repeat(1030)}`];
  const KEYS = [...FLOW_ENTRIES, ...FLOW_VALUES, 'name', 'value', 'data', 'spec', 'items', '0', '12', ...STRINGS];
  const SCALARS: unknown[] = [...STRINGS, 0, 1, -1, 30500, 1.5, -0, 1e21, 2 ** 53, 0.1, -2.5e-7, true, false, null];

  /** A small seeded generator (mulberry32), so a failure names a seed that reproduces it. */
  function random(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function randomManifest(next: () => number): Record<string, unknown> {
    const pick = <T>(from: readonly T[]): T => from[Math.floor(next() * from.length)];
    const scalar = () => pick(SCALARS);
    const map = (depth: number): Record<string, unknown> => {
      const m: Record<string, unknown> = {};
      const size = Math.floor(next() * 5);
      for (let i = 0; i < size; i++) {
        const key = next() < 0.5 ? pick([...FLOW_ENTRIES, ...FLOW_VALUES]) : pick(KEYS);
        m[key] = FLOW_ENTRIES.has(key) && next() < 0.7 ? Array.from({ length: Math.floor(next() * 4) }, () => (next() < 0.8 ? map(depth + 1) : value(depth + 1))) : value(depth + 1);
      }
      return m;
    };
    const value = (depth: number): unknown => {
      const r = next();
      if (depth > 4 || r < 0.45) return scalar();
      if (r < 0.75) return map(depth);
      return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
    };
    return map(0);
  }

  test.each(Array.from({ length: 20 }, (_, i) => i + 1))('random manifests from awkward keys and values, seed %i', (seed) => {
    const next = random(seed);
    for (let i = 0; i < 50; i++) same([randomManifest(next), randomManifest(next)]);
  });

  test('every awkward string as a key and a value, in block and flow style, at several depths', () => {
    for (const s of STRINGS) {
      const flowed = { name: s, [s]: s, value: [s, { [s]: s }] };
      same([{ [s]: s, list: [s, [s], { [s]: s }], env: [flowed], command: [s, s], deep: { er: { still: { [s]: [s] } } } }]);
    }
  });

  test('documents that are not maps: absent, a sequence, a scalar', () => {
    same([undefined, ['a', 'on', { b: 1 }], 'on', 'plain', 'line 1\nline 2\n', 5, null, {}]);
  });
});

describe('synthFiles', () => {
  const appWith = (...chartNames: string[]) => {
    const app = new App({ outdir: tmp() });
    for (const name of chartNames) new ApiObject(new Chart(app, name), 'c', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${name}` }, data: { a: 'on' } });
    return app;
  };

  test('one chart, and several: a file per chart, named as cdk8s names it, holding its objects', () => {
    expect(synthFiles(appWith('one'))).toEqual({ 'one.k8s.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-one\ndata:\n  a: "on"\n' });
    const files = synthFiles(appWith('b', 'a', 'c'));
    expect(Object.keys(files).sort()).toEqual(['a.k8s.yaml', 'b.k8s.yaml', 'c.k8s.yaml']);
    expect(files['c.k8s.yaml']).toContain('name: cm-c\n');
  });
});
