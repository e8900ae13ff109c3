import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { collectFiles } from '../../lib/validation/files';
import { kubeconformProblems, splitDocuments, startKubeconform } from '../../lib/validation/kubeconform';
import { aliasBomb, parseManifestText, readManifestFile } from '../../lib/validation/manifests';
import { policyProblems } from '../../lib/validation/policy';
import { formatProblem, pointerToPath, Problem } from '../../lib/validation/problems';
import { ROOT } from '../support/synth';

const BAD = join(ROOT, '__tests__', 'fixtures', 'manifests', 'bad');
const GOOD = join(ROOT, '__tests__', 'fixtures', 'manifests', 'good');
const DIST = join(ROOT, 'dist', 'image-builder.k8s.yaml');
const bad = (name: string) => readManifestFile(join(BAD, `${name}.yaml`));
const summary = (ps: Problem[]) => ps.map((p) => formatProblem(p).replace(/^[^:]*:\d*:? ?/, '').replace(/ \[\w+\]$/, ''));
const tmp = () => mkdtempSync(join(tmpdir(), 'layers-'));

// First use builds kubeconform and the 1.27 schemas into .tools/ (cached afterwards).
const SETUP_TIMEOUT = 15 * 60_000;

describe('kubeconform layer (strict, Kubernetes 1.27, offline schemas)', () => {
  test('dist/ is valid', async () => {
    expect(await kubeconformProblems(collectFiles([join(ROOT, 'dist')]).map(readManifestFile))).toEqual([]);
  }, SETUP_TIMEOUT);

  test('the seed-style Pod is valid', async () => {
    expect(await kubeconformProblems(collectFiles([GOOD]).map(readManifestFile))).toEqual([]);
  });

  test.each([
    ['env-number', 'Pod/env-number spec.containers[0].env[0].value: got number, want null or string'],
    ['unknown-field', 'Pod/unknown-field spec.containers[0].imagePullPolicyy: unknown field'],
    ['replicas-string', 'Deployment/replicas-string spec.replicas: got string, want null or integer'],
    ['container-without-name', "Pod/container-without-name spec.containers[0]: missing property 'name'"],
  ])('%s is refused: %s', async (name, expected) => {
    expect(summary(await kubeconformProblems([bad(name)]))).toEqual([expected]);
  });

  test('duplicate keys are refused, on the object the text names (the reader refused it, its identity stays)', async () => {
    expect(summary(await kubeconformProblems([bad('duplicate-key')]))).toEqual([
      expect.stringMatching(/^Pod\/duplicate-key: .*key "image" already set in map/),
    ]);
  });

  test.each(['invalid-name', 'restart-policy', 'nodeport-out-of-range', 'hostpath-type'])(
    '%s passes the schema (only the API server knows this rule)', async (name) => {
      expect(await kubeconformProblems([bad(name)])).toEqual([]);
    });

  test('each problem names its own object: the same Kind/name in two files, unnamed objects', async () => {
    const dir = tmp();
    const pod = (name: string | undefined, field: string) => `apiVersion: v1\nkind: Pod\nmetadata: {${name ? `name: ${name}` : 'labels: {a: b}'}}\nspec: {containers: [{name: c, image: x:1, ${field}: 1}]}\n`;
    writeFileSync(join(dir, 'a.yaml'), `${pod('same', 'fieldA')}---\n${pod(undefined, 'fieldB')}---\n${pod(undefined, 'fieldC')}`);
    writeFileSync(join(dir, 'b.yaml'), `# second file\n${pod('same', 'fieldD')}`);
    const problems = await kubeconformProblems(collectFiles([dir], dir).map((f) => readManifestFile(join(dir, f))));
    expect(problems.map((p) => `${p.file.replace(dir, '.')}:${p.line} ${p.object?.name ?? '-'} ${p.path}`)).toEqual([
      './a.yaml:1 same spec.containers[0].fieldA',
      './a.yaml:6 - spec.containers[0].fieldB',
      './a.yaml:11 - spec.containers[0].fieldC',
      './b.yaml:2 same spec.containers[0].fieldD',
    ]);
  });

  describe('started without its wrapper script when the pinned binary and current schemas are in place', () => {
    // A tools folder whose kubeconform is a stand-in printing `version` for -v and a report naming no object otherwise.
    const standInTools = (version: string, stamp = readFileSync(join(ROOT, '.tools', 'schemas', 'v1.27.16-standalone-strict', '.stamp'), 'utf-8')) => {
      const dir = tmp();
      mkdirSync(join(dir, 'bin'));
      mkdirSync(join(dir, 'schemas', 'v1.27.16-standalone-strict'), { recursive: true });
      mkdirSync(join(dir, 'src', 'swagger', 'v1.27.16'), { recursive: true });
      writeFileSync(join(dir, 'bin', 'kubeconform'), `#!/bin/sh\n[ "$1" = -v ] && echo ${version} && exit 0\necho '{"resources": []}'\n`, { mode: 0o755 });
      writeFileSync(join(dir, 'schemas', 'v1.27.16-standalone-strict', '.stamp'), stamp);
      symlinkSync(join(ROOT, '.tools', 'src', 'swagger', 'v1.27.16', 'swagger.json'), join(dir, 'src', 'swagger', 'v1.27.16', 'swagger.json'));
      return dir;
    };
    const pod = () => [bad('unknown-field')];

    test('the pinned version with current schemas: started directly (here the stand-in, whose silence is a problem)', async () => {
      expect(summary(await kubeconformProblems(pod(), { toolsDir: standInTools('v0.8.0') }))).toEqual([
        expect.stringMatching(/^Pod\/unknown-field: not checked: kubeconform did not report on this object/),
      ]);
    });

    describe('the schemas\' hash is taken again whenever a file it covers may have changed', () => {
      // The stand-in reports nothing ("not checked"), while a hash that does not match the stamp makes
      // the wrapper run the real kubeconform ("unknown field"): which one answers shows what was trusted.
      const notChecked = [expect.stringMatching(/^Pod\/unknown-field: not checked: kubeconform did not report on this object/)];
      const checkedAgain = ['Pod/unknown-field spec.containers[0].imagePullPolicyy: unknown field'];
      const SECOND = 1_000;
      /** Tools whose swagger.json is a copy (to be edited), with stamp and copy last changed at `mtime` (whole seconds). */
      const tools = (mtime: number) => {
        const dir = standInTools('v0.8.0');
        const swagger = join(dir, 'src', 'swagger', 'v1.27.16', 'swagger.json');
        const text = readFileSync(swagger);
        rmSync(swagger);
        writeFileSync(swagger, text);
        const stamp = join(dir, 'schemas', 'v1.27.16-standalone-strict', '.stamp');
        for (const f of [swagger, stamp]) utimesSync(f, mtime / SECOND, mtime / SECOND);
        return { dir, swagger, stamp, mtime };
      };
      /** Flips the first `{` of swagger.json to a space (same size), in place or as a new file, then sets its mtime back. */
      const edit = (t: ReturnType<typeof tools>, how: 'in place' | 'new inode', mtime = t.mtime) => {
        const text = readFileSync(t.swagger, 'latin1').replace('{', ' ');
        const target = how === 'in place' ? t.swagger : `${t.swagger}.new`;
        writeFileSync(target, text, 'latin1');
        if (how === 'new inode') renameSync(target, t.swagger);
        utimesSync(t.swagger, mtime / SECOND, mtime / SECOND);
      };
      const aMinuteAgo = () => Math.floor(Date.now() / SECOND - 60) * SECOND;
      const run = (t: ReturnType<typeof tools>) => kubeconformProblems(pod(), { toolsDir: t.dir }).then(summary);

      test('unchanged stats: the record is trusted (the limit it shares with build/ and git: same size, mtime and inode)', async () => {
        const t = tools(aMinuteAgo());
        expect(await run(t)).toEqual(notChecked);
        edit(t, 'in place');
        expect(await run(t)).toEqual(notChecked);
      });

      test.each([
        ['swagger.json rewritten (another mtime)', (t: ReturnType<typeof tools>) => edit(t, 'in place', t.mtime + SECOND)],
        ['swagger.json replaced by a file of the same size and mtime (another inode)', (t: ReturnType<typeof tools>) => edit(t, 'new inode')],
        ['the stamp rewritten', (t: ReturnType<typeof tools>) => {
          writeFileSync(t.stamp, 'stale\n');
          utimesSync(t.stamp, t.mtime / SECOND, t.mtime / SECOND);
        }],
      ])('%s', async (_what, change) => {
        const t = tools(aMinuteAgo());
        expect(await run(t)).toEqual(notChecked);
        change(t);
        expect(await run(t)).toEqual(checkedAgain);
      });

      test('a file changed less than 2 s before the hash: not trusted, even with the same stats', async () => {
        const t = tools(Math.floor(Date.now() / SECOND) * SECOND);
        expect(await run(t)).toEqual(notChecked);
        edit(t, 'in place');
        expect(await run(t)).toEqual(checkedAgain);
      });

      test('a FIFO or a folder where the record goes: no hang, nothing left behind, the hash is taken', async () => {
        const t = tools(aMinuteAgo());
        execFileSync('mkfifo', [join(t.dir, '.validate-schemas-checked.json')]);
        expect(await run(t)).toEqual(notChecked);
        const u = tools(aMinuteAgo());
        mkdirSync(join(u.dir, '.validate-schemas-checked.json'));
        expect(await run(u)).toEqual(notChecked);
        edit(u, 'in place');
        expect(await run(u)).toEqual(checkedAgain);
        expect(readdirSync(u.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      });
    });

    test.each([
      ['another version', () => standInTools('v0.7.0')],
      ['schemas stamped for another swagger.json or converter', () => standInTools('v0.8.0', 'stale\n')],
    ])('%s: the wrapper runs it, which installs and generates what the pins say', async (_what, tools) => {
      expect(summary(await kubeconformProblems(pod(), { toolsDir: tools() }))).toEqual(['Pod/unknown-field spec.containers[0].imagePullPolicyy: unknown field']);
    });
  });

  test('a document the reader refuses for its aliases is not handed to kubeconform (go-yaml would expand it in its memory), also when only the reader\'s rewrites read it; the others are', async () => {
    // 4 MB of JSON from 100 KB; kubeconform itself would find `x` an unknown field of a ConfigMap. The `\\'` escape
    // is one js-yaml reads only as the reader rewrites it (kubectl reads it as `'`).
    const bomb = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\nx: &big "it\\'s ${'x'.repeat(100_000)}"\ndata:\n${Array.from({ length: 40 }, (_, n) => `  k${n}: *big\n`).join('')}`;
    const file = parseManifestText(`${bomb}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\nspec: {}\n`, 'f.yaml');
    expect(file.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^cannot read this document: with its aliases expanded, an object here is more than 3 MiB/)]);
    expect(summary(await kubeconformProblems([file]))).toEqual([
      'ConfigMap/bomb: not checked: kubeconform is not run on a document with aliases that the yaml layer refuses (go-yaml could expand them in its memory)',
      'ConfigMap/plain spec: unknown field',
    ]);
  });

  test('a document js-yaml reads only with a continued line indented more (kubectl reads it as written) is handed to kubeconform when its aliases are harmless, and kept from it when they are a bomb', async () => {
    const ok = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\ndata: {a: &v x, b: *v,\nc: z}\n';
    const bomb = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\nx: &big "${'x'.repeat(100_000)}"\ndata: {${Array.from({ length: 40 }, (_, n) => `k${n}: *big`).join(', ')},\nlast: z}\n`;
    const file = parseManifestText(`${ok}---\n${bomb}`, 'f.yaml');
    expect(file.docs[0].manifest?.data).toEqual({ a: 'x', b: 'x', c: 'z' });
    expect(file.problems.map((p) => `${p.line}: ${p.message}`)).toEqual([expect.stringMatching(/^7: cannot read this document: with its aliases expanded, an object here is more than 3 MiB/)]);
    expect(summary(await kubeconformProblems([file]))).toEqual([
      'ConfigMap/bomb: not checked: kubeconform is not run on a document with aliases that the yaml layer refuses (go-yaml could expand them in its memory)',
    ]);
  });

  test('which texts are kept from kubeconform: a bomb whose anchor follows a quoted flow key\'s `:`; not dist/\'s scripts, whose `&&` and `*` are no anchor or alias', () => {
    const bomb = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata: {"x":&big "${'x'.repeat(100_000)}", ${Array.from({ length: 40 }, (_, n) => `"k${n}": *big`).join(', ')}}\n`;
    expect(aliasBomb(bomb)).toBe(true);
    const texts = splitDocuments(readFileSync(DIST, 'utf-8'));
    expect(texts.filter((t) => t.includes('&&') && t.includes('*')).length).toBeGreaterThan(0);
    expect(texts.filter(aliasBomb)).toEqual([]);
  });

  describe('a run hands kubeconform its objects in 16 files, several to a file; each result still lands on its object', () => {
    // A stand-in command that logs how many files each kubeconform run got, then runs the real one.
    const counted = () => {
      const dir = tmp();
      const log = join(dir, 'runs.log');
      const script = join(dir, 'kubeconform.sh');
      writeFileSync(script, `ls "\${@: -1}" | wc -l >> '${log}'\nexec bash '${join(ROOT, 'scripts', 'validate-tools', 'kubeconform.sh')}' "$@"\n`);
      return { command: ['bash', script], runs: () => readFileSync(log, 'utf-8').split('\n').filter((l) => l).map(Number) };
    };
    const pod = (metadata: string, field?: string) => `apiVersion: v1\nkind: Pod\nmetadata: {${metadata}}\nspec: {containers: [{name: c, image: x:1${field ? `, ${field}: 1` : ''}}]}\n`;
    // Object n starts at line 1 + 5n (four lines and a `---`).
    const file = (pods: string[]) => parseManifestText(pods.map((p, n) => (n === 0 || p.startsWith('---') ? p : `---\n${p}`)).join(''), 'many.yaml');
    const found = (ps: Problem[]) => ps.map((p) => `${p.line} ${p.object?.namespace ?? '-'}/${p.object?.name ?? '-'} ${p.path ?? ''} ${p.message}`);

    test('40 objects, every fifth with an unknown field: one run, each problem at its own object', async () => {
      const kubeconform = counted();
      const pods = Array.from({ length: 40 }, (_, n) => pod(`name: p${n}`, n % 5 === 0 ? `field${n}` : undefined));
      expect(found(await kubeconformProblems([file(pods)], { command: kubeconform.command }))).toEqual(
        [0, 5, 10, 15, 20, 25, 30, 35].map((n) => `${1 + 5 * n} -/p${n} spec.containers[0].field${n} unknown field`));
      expect(kubeconform.runs()).toEqual([16]);
    });

    test('objects kubeconform names alike in one file (same kind and name in two namespaces, same generateName), or cannot read: checked again, a file each', async () => {
      const kubeconform = counted();
      const pods = Array.from({ length: 40 }, (_, n) => pod(`name: p${n}`));
      // Content on its `---` line (the yaml layer refuses it): kubeconform would drop that line in a file of several, so it gets its own.
      pods[19] = '--- {apiVersion: v1, kind: Pod, metadata: {name: marker}, spec: {containers: [{name: c, image: "x:1", fieldM: 1}]}}\n';
      // 1 and 17 share a file (n % 16), as do 2 and 18, and 3 and 35.
      pods[1] = pod('name: same, namespace: a');
      pods[17] = pod('name: same, namespace: b', 'fieldB');
      pods[2] = pod('generateName: gen-', 'fieldG');
      pods[18] = pod('generateName: gen-');
      pods[35] = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: escape}\ndata: {a: "x\\/y"}\n';
      // 4 and 20: the same name, and go-yaml cannot read the second, so kubeconform names only one of them.
      pods[4] = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: twin}\ndata: {a: "x"}\n';
      pods[20] = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: twin}\ndata: {a: "x\\/y"}\n';
      // kubeconform names it (its strict parse fails after its name was read): a line of the text, counted without the `---` line in a file of several.
      pods[21] = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\ndata:\n  a: x\n  a: y\n';
      // A generateName alone in its file: kubeconform's name for it is told apart.
      pods[6] = pod('generateName: solo-', 'fieldS');
      expect(found(await kubeconformProblems([file(pods)], { command: kubeconform.command }))).toEqual([
        '11 -/- spec.containers[0].fieldG unknown field',
        '31 -/- spec.containers[0].fieldS unknown field',
        '86 b/same spec.containers[0].fieldB unknown field',
        '95 -/marker spec.containers[0].fieldM unknown field',
        '100 -/twin  kubectl cannot read this YAML: found unknown escape character (go-yaml, the reader kubectl and kubeconform use); fix the YAML at this line',
        '102 -/dup  error unmarshalling resource: error converting YAML to JSON: yaml: unmarshal errors: line 7: key "a" already set in map',
        '177 -/escape  kubectl cannot read this YAML: found unknown escape character (go-yaml, the reader kubectl and kubeconform use); fix the YAML at this line',
      ]);
      // Again, every object of the files of 1 and 17 (with 33), 2 and 18 (34), 4 and 20 (36), 21 (5, 37), 35 (3).
      // 19 had a file of its own in the first run.
      expect(kubeconform.runs()).toEqual([17, 14]);
    });

    // kubeconform names an object through Go's encoding/json (keys in any case, the last one wins), lists by
    // kind `list` in any case, and cuts a file at "\n---" dropping the rest of that line: in each case, what
    // it says is what it says with a file per object (the run before files were shared), and the problem is there.
    const fill = Array.from({ length: 15 }, (_, n) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fill${n}}\n`);
    const list = 'apiVersion: v1\nkind: List\nmetadata: {name: l}\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n';
    test.each([
      ['a key in another case (generatename) names it otherwise, after a list item of the reader\'s name',
        [[list, ...fill, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, generatename: g-}\nbogus: 1\n']], 'bogus'],
      ['a list to kubeconform only (Items, kind list)',
        [['apiVersion: v1\nkind: list\nmetadata: {name: l}\nItems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n', ...fill,
          'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nbogus: 1\n']], 'bogus'],
      ['names that chain through generatename', [['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, generatename: g-}\nwrong1: 1\n', ...fill,
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "g-{{ generateName }}", generatename: h-}\nwrong2: 1\n']], 'wrong2'],
      ['a lone CR on the `---` line (go-yaml breaks the line there, kubeconform\'s cut does not)',
        [[...fill, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'], ['--- # c\rbogus: 1\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cr}\n']], 'bogus'],
      ['a lone CR on the `---` line, after a list', [[list, ...fill], ['--- # c\rapiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: a\rbogus: 1\r']], 'bogus'],
      // go-yaml (non-strict, as kubeconform names objects) lets a later `<<` override a key; the reader keeps the key.
      ['a merge key that renames it, after a list item of the reader\'s name',
        [['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n<<: {kind: Secret}\n', ...fill, list]], 'already set in map'],
      ['a merge key that renames it, beside an object named otherwise by kubeconform',
        [['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n<<: {kind: Secret}\n', ...fill, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, generatename: ""}\n']],
        'generatename: unknown field'],
      ['go-yaml\'s error with a line, in an object the reader names as kubeconform does', [[...fill, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  <<: {name: b}\n  name: a\n']], 'line 6: key "name" already set in map'],
      ['a name the reader ends at U+2028 (go-yaml reads on)', [[...fill, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: zz\u2028#c\nbogus: 1\n']], 'bogus'],
      // A list only to kubeconform (a `<<` makes it kind List for go-yaml, `Items` in any case): kubeconform checks only its
      // items, whose names can stand in for other objects' (one item valid, the other object's own result lost).
      ['a list to kubeconform only, made by a merge key, whose items pair up with other objects',
        [['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n<<: {kind: List}\nItems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n',
          ...fill, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n<<: {kind: List}\nItems: []\n']], 'not checked'],
      ['the same, its keys after a NEL in a comment (a line break to go-yaml only)',
        [['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n# c\u0085kind: List\u0085Items: [{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}, {apiVersion: v1, kind: ConfigMap, metadata: {name: b}, bogus: 1}]\n',
          ...fill, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n# c\u0085kind: List\u0085Items: []\n']], 'bogus'],
      ['a last object without a line break at its end: go-yaml\'s line is the file\'s',
        [[...fill, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'], ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: z\ndata: {a: "x']], 'f1.yaml:5:'],
      ['a block scalar key at the end of an object that is not last in its file (kubeconform cuts before the LF of "\\n---")',
        [['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n? |\n  immutable\n', ...fill, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n']], 'unknown field'],
      ['`---#c` (no comment to go-yaml)', [[...fill, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', '---#c\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: yy}\nbogus: 1\n']], 'mapping values'],
    ])('%s', async (_what, texts, expected) => {
      const files = texts.map((docs, f) => parseManifestText(docs.map((p, n) => (n === 0 || p.startsWith('---') ? p : `---\n${p}`)).join(''), `f${f}.yaml`));
      const docs = files.flatMap((f) => f.docs);
      expect(docs.length).toBeGreaterThan(16);
      const alone = await startKubeconform(docs.map((d) => d.text), {}, true).finish(docs);
      expect(alone.map(formatProblem).join('\n')).toContain(expected);
      expect((await kubeconformProblems(files)).map(formatProblem)).toEqual(alone.map(formatProblem));
    });

    test('objects checked again are given the texts the first run was given (validate cuts a last document with its LF)', async () => {
      const source = `${Array.from({ length: 16 }, (_, n) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${n}}\n---\n`).join('')}apiVersion: v1\nmetadata: {name: z}\nkind: |\n  ConfigMap`;
      const docs = parseManifestText(source, 'last.yaml').docs;
      const alone = (await startKubeconform(splitDocuments(source), {}, true).finish(docs)).map(formatProblem);
      expect(alone.join('\n')).toContain('ConfigMap\n/z');
      expect((await startKubeconform(splitDocuments(source)).finish(docs)).map(formatProblem)).toEqual(alone);
    });

    test('a List is checked again in a file of its own (kubeconform reports on its items)', async () => {
      const kubeconform = counted();
      const pods = Array.from({ length: 20 }, (_, n) => pod(`name: p${n}`));
      pods[16] = `apiVersion: v1\nkind: List\nitems:\n- ${pod('name: p0', 'fieldL').trimEnd().replace(/\n/g, '\n  ')}\n`;
      expect(found(await kubeconformProblems([file(pods)], { command: kubeconform.command }))).toEqual([
        '84 -/p0 spec.containers[0].fieldL unknown field',
      ]);
      expect(kubeconform.runs()).toEqual([16, 2]);
    });
  });

  test('fails closed: an object kubeconform cannot check (unknown kind) is a problem', async () => {
    const file = parseManifestText('apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n', 'widget.yaml');
    expect(summary(await kubeconformProblems([file]))).toEqual(['Widget/w: could not find schema for Widget']);
  });

  test("go-yaml's error (kubectl's reader) is at the file's line, not the line within the object (LF and CRLF)", async () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# c\n\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata:\n  a: "x\\/y"\n';
    for (const t of [text, text.replace(/\n/g, '\r\n')]) {
      expect((await kubeconformProblems([parseManifestText(t, 'x.yaml')])).map(formatProblem)).toEqual([
        'x.yaml:11: ConfigMap/s: kubectl cannot read this YAML: found unknown escape character (go-yaml, the reader kubectl and kubeconform use); fix the YAML at this line [kubeconform]',
      ]);
    }
  });
});

describe('lists (kubectl applies their items)', () => {
  const list = [
    'apiVersion: v1', 'kind: List', 'items:',
    '- apiVersion: v1', '  kind: Secret', '  metadata: {name: s}',
    '- apiVersion: v1', '  kind: Pod', '  metadata: {name: p}',
    '  spec: {hostNetwork: true, containers: [{name: c, image: "nginx:latest"}], volumes: [{name: v, hostPath: {path: /var/run/docker.sock}}]}',
  ].join('\n');
  test('the policy rules see each item, at its own line, with its own identity', () => {
    const problems = policyProblems([parseManifestText(`${list}\n`, 'list.yaml')]).map(formatProblem);
    expect(problems).toEqual([
      expect.stringMatching(/^list\.yaml:7: Pod\/p spec\.containers\[0\]\.image: IB003 image "nginx:latest" is not pinned/),
      expect.stringMatching(/^list\.yaml:7: Pod\/p spec\.volumes\[0\]\.hostPath: IB006 /),
      expect.stringMatching(/^list\.yaml:4: Secret\/s: IB014 a Secret in the manifests/),
    ]);
  });
  test('kubeconform: each item\'s errors at the item\'s line and identity; an empty list has nothing to check', async () => {
    const text = [
      'apiVersion: v1', 'kind: List', 'items:',
      '- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, datta: {}}',
      '- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}',
      '- apiVersion: v1', '  kind: ConfigMap', '  metadata: {name: c}', '  data: {k: 1}',
      '---', 'apiVersion: v1', 'kind: List', 'items: []', '',
    ].join('\n');
    expect((await kubeconformProblems([parseManifestText(text, 'list.yaml')])).map(formatProblem)).toEqual([
      'list.yaml:4: ConfigMap/a datta: unknown field [kubeconform]',
      'list.yaml:6: ConfigMap/c data.k: got number, want null or string [kubeconform]',
    ]);
    // Two items of one kind and name: kubeconform's results cannot tell them apart, so they are the list's.
    const twins = text.replace('{name: c}', '{name: a}');
    expect((await kubeconformProblems([parseManifestText(twins, 'list.yaml')])).map(formatProblem).sort()).toEqual([
      'list.yaml:1: List (no name) data.k: got number, want null or string [kubeconform]',
      'list.yaml:1: List (no name) datta: unknown field [kubeconform]',
    ]);
  });

  test('in flow style and after another document, the lines are still the items\'', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: List\nitems: [\n  {apiVersion: v1, kind: Secret, metadata: {name: s}}]\n';
    expect(policyProblems([parseManifestText(text, 'l.yaml')]).map((p) => `${p.line} ${p.object?.kind}/${p.object?.name}`)).toEqual(['8 Secret/s']);
  });
});

describe('manifest reader (one parse, one identity per object)', () => {
  test('dist/ parses to its ten objects, no problems', () => {
    const parsed = readManifestFile(DIST);
    expect(parsed.problems).toEqual([]);
    expect(parsed.docs.map((d) => `${d.ref.kind}/${d.ref.name}@${d.ref.line}`)).toEqual([
      'ConfigMap/registry-config@1', 'Deployment/registry@125', 'Service/registry@347', 'ConfigMap/image-builder-script@368',
      'ConfigMap/registry-retention@508', 'ServiceAccount/registry-retention@1061', 'ClusterRole/registry-retention@1073',
      'ClusterRoleBinding/registry-retention@1127', 'CronJob/registry-retention@1146',
      expect.stringMatching(/^Job\/build-container-training-main-[0-9a-f]{8}@1216$/),
    ]);
  });

  test('duplicate keys are refused with their line', () => {
    expect(bad('duplicate-key').problems.map((p) => `${p.line}: ${p.message}`)).toEqual(['10: key "image" is given twice in this mapping (kubectl silently keeps the last value; the API server refuses duplicate fields under strict field validation); keep one (column 7)']);
  });

  test('empty documents, comment-only documents and a trailing --- are no objects, as for kubectl', () => {
    const parsed = parseManifestText('---\n# only a comment\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# c\n---\n', 'x.yaml');
    expect(parsed.problems).toEqual([]);
    expect(parsed.docs.map((d) => `${d.ref.name}@${d.ref.line}`)).toEqual(['a@6']);
  });

  test('a document that is a list or a single value is named as such, with its line', () => {
    const parsed = parseManifestText('- a\n- b\n---\njust text\n', 'x.yaml');
    expect(parsed.problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      '1: this document is a list, not a Kubernetes object (a mapping with apiVersion, kind and metadata)',
      '4: this document is a single value, not a Kubernetes object (a mapping with apiVersion, kind and metadata)',
    ]);
  });

  test('an alias bomb is a plain problem, not a hang or a crash', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`)].join('\n');
    const parsed = parseManifestText(`${bomb}\n`, 'bomb.yaml');
    expect(parsed.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^cannot read this document: .*alias/i)]);
  });

  test('.json files are read too', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'cm.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'j', namespace: 'team' } }));
    const parsed = readManifestFile(join(dir, 'cm.json'));
    expect(parsed.docs.map((d) => d.ref)).toEqual([{ kind: 'ConfigMap', apiVersion: 'v1', namespace: 'team', name: 'j', file: join(dir, 'cm.json'), line: 1, index: 0 }]);
  });
});

describe('files: what kubectl apply -f would read', () => {
  test('.yaml, .yml and .json, recursively, sorted; other files skipped', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub'));
    for (const f of ['b.yaml', 'a.json', 'sub/c.yml', 'notes.txt', 'README.md']) writeFileSync(join(dir, f), '');
    expect(collectFiles([dir], dir)).toEqual(['a.json', 'b.yaml', 'sub/c.yml']);
  });

  test('a symlink loop ends; a missing path and a self-referencing link are plain errors', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'a.yaml'), '');
    symlinkSync('..', join(dir, 'sub', 'up'));
    expect(collectFiles([dir], dir)).toEqual(['sub/a.yaml']);
    expect(() => collectFiles([join(dir, 'nope')])).toThrow(/nope: no such file or directory$/);
    symlinkSync('self', join(dir, 'self'));
    expect(() => collectFiles([join(dir, 'self')])).toThrow(/self: symbolic link loop$/);
  });
});

describe('policy layer', () => {
  test('dist/ keeps every rule', () => {
    expect(policyProblems([readManifestFile(DIST)])).toEqual([]);
  });

  test('an env number is refused by IB001 with the fix, at its file and line', () => {
    const problems = policyProblems([bad('env-number')]);
    expect(problems.map((p) => `${p.line}: ${summary([p])[0]}`)).toEqual([
      '2: Pod/env-number spec.containers[0].env[0].value: IB001 env PORT is number 30500, not a string (fix: quote the value in YAML ("30500"); the API server refuses numbers and booleans in EnvVar.value)',
    ]);
  });

  test('the seed Pod is flagged: unpinned image, socket outside a labelled builder (saying how builders are recognised)', () => {
    const problems = policyProblems([readManifestFile(join(GOOD, 'seed-pod.yaml'))]);
    expect(problems.map((p) => p.message.slice(0, 5))).toEqual(['IB003', 'IB006']);
    expect(problems[1].message).toMatch(/builders are recognised by the Pod template label app\.kubernetes\.io\/component: builder/);
  });

  test('violations name the object\'s own file when the same Kind/name is in two files', () => {
    const a = parseManifestText('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: "x:1"}]}\n', 'a.yaml');
    const b = parseManifestText('\n\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n', 'b.yaml');
    expect(policyProblems([a, b]).map((p) => `${p.file}:${p.line} ${p.message.slice(0, 5)}`)).toEqual(['b.yaml:3 IB003']);
  });

  // Shapes third-party YAML really has: wrong types everywhere a rule looks.
  const MALFORMED = [
    'apiVersion: v1\nkind: Pod\nmetadata: []\nspec: "x"\n',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: "x", volumes: 3}\n',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [null, 3, {name: c, image: [a], env: [null, {name: A, value: null}, {name: B, value: {x: 1}}, {name: C, value: [1]}]}]}\n',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app.kubernetes.io/component: builder}}\nspec: {containers: [{name: docker-build, image: "x:1", env: "x", securityContext: 5, volumeMounts: [null]}], volumes: [null, {name: v, hostPath: "x"}, {name: w, hostPath: {path: [1]}}]}\n',
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: registry, labels: {app.kubernetes.io/component: registry}}\nspec: {replicas: [1], strategy: "x", template: {spec: {containers: [{volumeMounts: "x"}], volumes: null}}}\n',
    'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: {spec: {template: {metadata: {labels: "x"}, spec: {containers: {}}}}}}\n',
    'apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: {app.kubernetes.io/component: registry}}\nspec: {ports: [null, {nodePort: {}}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, labels: {app.kubernetes.io/component: builder}}\nspec: {containers: [{name: docker-build, image: "d:1", env: [{name: IMAGE_1_NAME, value: "x"}, {name: IMAGE_2_NAME, value: "y"}]}]}\n',
    '[1, 2]\n---\n"text"\n---\n42\n---\nnull\n',
  ];

  test.each(MALFORMED.map((m, i) => [i, m]))('malformed object %i: no crash, plain English', (_i, text) => {
    const problems = policyProblems([parseManifestText(String(text), 'third-party.yaml')]);
    for (const p of problems) {
      expect(formatProblem(p)).not.toMatch(/null null|undefined|\[object Object\]|\ba array|\ba object|could not be checked/);
    }
  });

  test('a malformed registry and builder are still judged, in words', () => {
    const problems = policyProblems([parseManifestText(MALFORMED[6], 'x.yaml')]);
    expect(problems.map((p) => p.message.replace(/ \(fix: .*\)$/, ''))).toEqual([
      "IB002 REGISTRY_PORT is not set, but the registry's nodePort is not set",
      'IB004 REPO_URL is not set, so the image names cannot be derived',
      'IB005 restartPolicy is not set, not "OnFailure"',
      'IB008 runs as user not set (runAsNonRoot not set), not root',
      'IB008 no emptyDir mounted at /workspace',
      'IB009 command is not set, not ["sh","/opt/image-builder/build.sh"]',
      'IB015 the push Secret is not read whole (envFrom secretRef with prefix PUSH_SECRET_): the script reads PUSH_SECRET_username and PUSH_SECRET_password',
    ]);
  });
});

test('pointerToPath', () => {
  expect(pointerToPath('/spec/containers/0/env/1/value')).toBe('spec.containers[0].env[1].value');
  expect(pointerToPath('/metadata/labels/app.kubernetes.io~1name')).toBe('metadata.labels.app.kubernetes.io/name');
});


describe('splitDocuments (kubeconform starts before the parse)', () => {
  test.each([
    ['dist/', readFileSync(DIST, 'utf-8')],
    ['comments, empty documents, a trailing ---, ... markers', '# head\n---\n# only a comment\n---\n\n---\napiVersion: v1\nkind: A\n...\n---\nkind: B\ndata: |\n  --- not a marker (indented)\n---\n'],
    ['content on the marker line', '--- {kind: A}\n--- # c\nkind: B\n'],
  ])('finds the documents the reader finds: %s', (_what, text) => {
    const parsed = parseManifestText(text, 'x.yaml');
    expect(splitDocuments(text).map((t) => parseManifestText(t, 'y').docs.map((d) => d.manifest))).toEqual(parsed.docs.map((d) => [d.manifest]));
  });
});
