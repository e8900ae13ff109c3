import { execFileSync, spawnSync } from 'child_process';
import { join } from 'path';
import { isDeepStrictEqual } from 'util';
import { KUBECTL } from '../../lib/validation/apiserver';
import { objectsOf, parseManifestText } from '../../lib/validation/manifests';
import { KUBECTL_KEYS, kubectlSpec, scalarsWidget } from '../support/kubectl-scalars';
import { ALIASING_EARLY, asJson, disagreements, goodObjects, MANY_ALIASES, mergedList } from '../support/reader-differential';
import { oracleParseManifestText } from '../support/yaml-reader-oracle';
import { ROOT } from '../support/synth';

/**
 * Where the manifest reader (js-yaml) and the reader it replaced (the `yaml`
 * package) disagree, the real kubectl decides: `kubectl label --local -o json`
 * reads a file exactly as `kubectl apply` does (sigs.k8s.io/yaml, go-yaml v2)
 * and needs no server. The edits are the seeds of __tests__/validation/reader.test.ts.
 */

beforeAll(() => {
  // The kubectl built with the API server (cached in .tools/ after the first build).
  execFileSync('bash', [join(ROOT, 'scripts', 'validate-tools', 'install-apiserver.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}, 40 * 60_000);

const LABEL = 'reader-test.example.com/read';

/** The objects kubectl reads from `text` (without the label it was asked to add), or its error. */
function kubectlReads(text: string): { objects?: unknown[]; error?: string } {
  const run = spawnSync(KUBECTL, ['label', '--local', '-f', '-', `${LABEL}=yes`, '-o', 'json'], { input: text, encoding: 'utf-8' });
  if (run.status !== 0) return { error: run.stderr.trim() };
  const objects = JSON.parse(`[${run.stdout.replace(/\n}\n{/g, '\n},\n{')}]`);
  for (const o of objects) {
    delete o.metadata.labels[LABEL];
    if (Object.keys(o.metadata.labels).length === 0) delete o.metadata.labels;
  }
  return { objects };
}

/** The reader's problem for content after a `...` line, which kubectl drops without a word. */
const DROPS = 'kubectl ignores everything after `...`';
/** The reader's problems for what kubectl drops without a word: after `...`, and documents after a `---` that follows a lone CR. */
const DROPPED = /^kubectl ignores everything after `\.\.\.`|^kubectl reads only the first document here and ignores the rest/;

/** A kubectl error about the YAML itself (not about the object it found). */
const YAML_ERROR = /error converting YAML to JSON|invalid Yaml document separator|yaml: /;

test('the scalar table is what kubectl reads', () => {
  const read = kubectlReads(scalarsWidget());
  expect(read.error).toBeUndefined();
  expect((read.objects![0] as any).spec).toEqual(kubectlSpec());
  expect(asJson(parseManifestText(scalarsWidget(), 'w.yaml').docs[0].manifest).spec).toEqual(kubectlSpec());
});

test('where the two readers disagree on randomized edits, kubectl reads what the js-yaml reader reads', () => {
  const judged = disagreements(600).map((d) => {
    const mine = parseManifestText(d.mutant.text, 'm.yaml');
    const read = kubectlReads(d.mutant.text);
    const label = `seed ${d.seed} (${d.source}: ${d.mutant.what})`;
    if (read.error !== undefined && !YAML_ERROR.test(read.error)) return `${label}: not judged, kubectl refused the object: ${read.error}`;
    if (read.error !== undefined) return mine.problems.length > 0 ? 'agrees' : `${label}: kubectl refused the YAML (${read.error}), the reader did not`;
    // Content after a `...` line: kubectl drops it silently, the reader reads what kubectl reads and says so.
    const dropped = mine.problems.length > 0 && mine.problems.every((p) => p.message.startsWith(DROPS));
    if (mine.problems.length > 0 && !dropped) return `${label}: kubectl read it, the reader refused it: ${mine.problems[0].message}`;
    return isDeepStrictEqual(read.objects, goodObjects(mine)) ? 'agrees' : `${label}: kubectl read ${JSON.stringify(read.objects)}, the reader ${JSON.stringify(goodObjects(mine))}`;
  });
  expect(judged.filter((j) => j !== 'agrees' && !j.includes('not judged'))).toEqual([]);
  // Most disagreements are judged (an edit may also make the object one kubectl refuses, such as a numeric kind).
  expect(judged.filter((j) => j === 'agrees').length).toBeGreaterThan(judged.length / 2);
});

describe('aliases, as kubectl takes them', () => {
  test('an anchor name with `:` or `?`: go-yaml ends the name there and reads the rest as the value, so the reader refuses it', () => {
    for (const n of ['x:y', 'x?y']) {
      const text = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nspec:\n  a: &${n} b\n`;
      expect((kubectlReads(text).objects![0] as any).spec).toEqual({ a: `${n.slice(1)} b` });
      expect(parseManifestText(text, 'a.yaml').problems.map((p) => p.message)).toEqual([expect.stringContaining('it refuses the file or reads another value')]);
    }
  });

  test('an alias to a node that contains it: kubectl refuses it, and so does the reader (the yaml package did not)', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: self, x: *m}\n';
    expect(kubectlReads(text).error).toMatch(YAML_ERROR);
    expect(parseManifestText(text, 's.yaml').problems).toHaveLength(1);
    expect(oracleParseManifestText(text, 's.yaml').problems).toHaveLength(0);
  });

  test('an alias bomb: kubectl refuses it as excessive aliasing, the reader too', () => {
    const bomb = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: bomb}', 'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`)].join('\n');
    expect(kubectlReads(bomb).error).toMatch(/excessive aliasing/);
    expect(parseManifestText(bomb, 'b.yaml').problems.map((p) => p.message)).toEqual([expect.stringMatching(/alias bomb/)]);
  });

  test('a List whose objects merge one anchor: kubectl and the reader draw the line between 24,000 and 25,000 objects', () => {
    const kubectl = (text: string) => spawnSync(KUBECTL, ['label', '--local', '-f', '-', `${LABEL}=yes`, '-o', 'name'], { input: text, encoding: 'utf-8', maxBuffer: 1 << 28 });
    const read = kubectl(mergedList(24_000));
    expect([read.status, read.stderr]).toEqual([0, '']);
    expect(parseManifestText(mergedList(24_000), 'l.yaml').problems).toEqual([]);
    expect(kubectl(mergedList(25_000)).stderr).toMatch(/excessive aliasing/);
    expect(parseManifestText(mergedList(25_000), 'l.yaml').problems.map((p) => p.message)).toEqual([expect.stringMatching(/an alias bomb; kubectl refuses it as "excessive aliasing"/)]);
  });

  test('anchors used several times, and a merge key: kubectl reads the same object as the reader', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {x: z}}\ndata: &d {a: "1"}\nx: [*l, *l, *d, *d]\nm: {<<: *d, b: "2"}\n';
    expect(goodObjects(parseManifestText(text, 'a.yaml'))).toEqual(kubectlReads(text).objects);
  });
});

describe('inputs kubectl itself judges (the reviewer\'s list): it refuses them and so does the reader, or it reads the same objects', () => {
  const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;
  /** refuses: kubectl fails on the YAML; reads: kubectl reads all of it; drops: kubectl reads part of it without a word. */
  const CASES: Array<[string, 'refuses' | 'reads' | 'drops' | 'reads as a line break', string]> = [
    ['`---` with an object after it', 'refuses', `${cm('a')}--- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n`],
    ['`---foo`', 'refuses', `${cm('a')}---foo: 1\n`],
    ['`--- # comment` and `---# comment`', 'reads', `${cm('a')}--- # c\n${cm('b')}---# c\n${cm('c')}`],
    ['a `---` inside a block scalar ends it', 'reads', `${cm('a')}data:\n  s: |\n    text\n---\n${cm('b')}`],
    ['content after `...`', 'drops', `${cm('a')}...\n${cm('b')}`],
    ['`...` then comments only', 'reads', `${cm('a')}...\n# c\n\n---\n${cm('b')}`],
    ['%YAML 1.1 directive', 'refuses', `%YAML 1.1\n---\n${cm('a')}`],
    ['%YAML 1.2 directive', 'refuses', `%YAML 1.2\n---\n${cm('a')}`],
    ['%TAG directive', 'refuses', `%TAG !e! tag:example.com,2000:\n---\n${cm('a')}`],
    ['a directive after `---`', 'refuses', `${cm('a')}---\n%YAML 1.1\n${cm('b')}`],
    ...['.inf', '-.inf', '+.Inf', '.INF', '.nan', '.NaN', '.NAN', '!!float .inf'].map((v): [string, 'refuses', string] => [`the value ${v}`, 'refuses', `${cm('a')}data: {x: ${v}}\n`]),
    ['infinity in a list', 'refuses', `${cm('a')}spec: {x: [1, -.inf]}\n`],
    ['quoted infinity and NaN, and .infinity', 'reads', `${cm('a')}data: {x: '.inf', y: ".nan", z: .infinity}\n`],
    ...['~', 'null', 'NULL', '!!null ""'].map((k): [string, 'refuses', string] => [`the key ${k}`, 'refuses', `${cm('a')}data:\n  ${k}: x\n`]),
    ['an empty explicit key', 'refuses', `${cm('a')}data:\n  ?\n  : x\n`],
    ['quoted null keys', 'reads', `${cm('a')}data:\n  "~": x\n  'null': y\n`],
    ['a plain key of 1025 characters', 'refuses', `${cm('a')}data:\n  ${'k'.repeat(1025)}: x\n`],
    ['a quoted key of 1025 characters with its quotes', 'refuses', `${cm('a')}data: {"${'k'.repeat(1023)}": x}\n`],
    ['a list as a key in a later document', 'refuses', `${cm('a')}---\n${cm('b')}? [a]\n: 1\n`],
    ['a mapping as a flow key', 'refuses', `${cm('a')}data: {{a: 1}: x}\n`],
    ['CR-only line breaks, documents after `---` lines', 'drops', `${cm('a')}---\n${cm('b')}---\n${cm('c')}`.replace(/\n/g, '\r')],
    ['CR-only line breaks, one document', 'reads', `# c\n${cm('a')}data:\n  k: |\n    x\n\n    y\n`.replace(/\n/g, '\r')],
    ['CR-only line breaks at a `---` line with content after it (the CRs are on its line)', 'refuses', `---\n${cm('a')}`.replace(/\n/g, '\r')],
    ['CRLF line breaks', 'reads', `${cm('a')}---\n${cm('b')}--- # c\n${cm('c')}`.replace(/\n/g, '\r\n')],
    ...['2024-01-02', '2024-1-2', '2001-12-14t21:59:43.10-05:00', '2024-01-02T03:04:05,5Z', '2024-01-02  3:4:5.123456789012'].map((t): [string, 'reads', string] => [`!!timestamp ${t}`, 'reads', `${cm('a')}data:\n  a: !!timestamp ${t}\n`]),
    ...['foo', '2023-02-29', '2024-01-02T03:04:05', '2024-01-02 03:04:05Z', '2024-01-02 24:00:00', '2024-01-02T03:04:05+0530'].map((t): [string, 'refuses', string] => [`!!timestamp ${t}`, 'refuses', `${cm('a')}data:\n  a: !!timestamp ${t}\n`]),
    ['!!int foo', 'refuses', `${cm('a')}spec: {a: !!int foo}\n`],
    ['tags go-yaml ignores: on mappings, lists and scalars', 'reads', `${cm('a')}data: !!str {a: !bar b, c: !!map d, e: !!python/str 1}\nspec: !foo {x: !!int [1], y: !!set {a, b}, z: !!omap [a: 1]}\n`],
    ...['9223372036854775808', '18446744073709551615', '0xFFFFFFFFFFFFFFFF'].map((k): [string, 'refuses', string] => [`the key ${k} (a uint64)`, 'refuses', `${cm('a')}data:\n  ${k}: x\n`]),
    ...Object.keys(KUBECTL_KEYS).map((k): [string, 'reads', string] => [`the key ${k}`, 'reads', `${cm('a')}data:\n  ${k}: x\n`]),
    ...['\u0085', '\u2028', '\u2029'].map((ch): [string, 'reads as a line break', string] => [`U+${ch.charCodeAt(0).toString(16).padStart(4, '0')} after a value`, 'reads as a line break', `${cm('a')}data:\n  a: x${ch}# c\n`]),
    ['a `\\/` escape in a double-quoted value', 'refuses', `${cm('a')}data:\n  a: "x\\/y"\n`],
    ['a `\\/` escape in a double-quoted key', 'refuses', `${cm('a')}data: {"a\\/b": x}\n`],
    ['`\\\\/` and `\\/` outside double quotes', 'reads', `${cm('a')}data:\n  a: "x\\\\/y"\n  b: 'x\\/y'\n  c: x\\/y\n`],
    ...[['after `-`', 'spec:\n  a:\n  -\tb\n'], ['after `- -`', 'spec:\n  - -\tb\n'], ['after `-` and spaces', 'spec:\n  -  \tb\n'], ['after `?`', 'spec:\n  ?\ta\n  : b\n'],
      ['on a blank line', 'spec:\n  a: b\n\t\n  c: d\n'], ['before a comment', 'spec:\n  a: b\n\t# c\n'], ['after a kept block scalar', 'data:\n  a: |+\n    x\n\t\n']]
      .map(([where, body]): [string, 'refuses', string] => [`a tab ${where}`, 'refuses', `${cm('a')}${body}`]),
    ...[['`|`', 'data:\n  d: |\n    \tx\n'], ['`>-`, after a blank line', 'data:\n  d: >-\n\n    \tx\n'], ['`|` in a list, a comment after it', 'spec:\n- | # c|2\n  \tx\n'], ['a tab-led blank line', 'data:\n  d: |\n    \t\n    x\n']]
      .map(([what, body]): [string, 'refuses', string] => [`a tab starting the first line of a block scalar: ${what}`, 'refuses', `${cm('a')}${body}`]),
    ['a tab starting a later line of a block scalar, or the first line of one with an indentation indicator', 'reads', `${cm('a')}data:\n  a: |\n    x\n\n    \ty\n  b: |2\n    \tx\n  c: |1 # c\n     \tx\n`],
    ...[['its `:` on the next line', 'data: {a\n    : b}\n'], ['a plain key over two lines', 'data: {a\n     b: c}\n'], ['a quoted key over two lines', 'data: {"a\n     b": c}\n'],
      ['a comment before its `:`', 'data: {a # c\n    : b}\n'], ['a later key, with an anchor', 'data: {a: b, &x c\n    : d}\n']]
      .map(([what, body]): [string, 'refuses', string] => [`a key in \`{ }\` that goes on to another line: ${what}`, 'refuses', `${cm('a')}${body}`]),
    ['an explicit key in `{ }` over two lines, and values and entries on later lines', 'reads', `${cm('a')}data: {? a\n    : b, c:\n    d,\n    e: f}\n`],
    ['tabs in content, after `:` and in values', 'reads', `${cm('a')}data:\n  a: |\n    x\ty\n    \tz\n  b: "x\ty"\n  c: x\ty\n  d:\tz\n`],
    ...['x.y', 'x/y', 'é', 'x%y'].map((n): [string, 'refuses', string] => [`the anchor name ${n}`, 'refuses', `${cm('a')}spec:\n  a: &${n} b\n`]),
    ['the anchor and alias name x:y', 'refuses', `${cm('a')}spec:\n  a: &x:y b\n  c: *x:y\n`],
    ['anchors with letters, digits, - and _, and && in text', 'reads', `${cm('a')}spec:\n  a: &Ab-9_z b\n  c: *Ab-9_z\n  d: |\n    x && y\n`],
    ['one anchor used 12,000 times, and 12,000 merged keys', 'reads', `${MANY_ALIASES}\n`],
    ['heavy aliasing early, plain nodes after it', 'refuses', `${ALIASING_EARLY}\n`],
    ['keys of 1024 characters, and an explicit key of 2000', 'reads', `${cm('a')}data:\n  ${'k'.repeat(1024)}: x\n  "${'q'.repeat(1022)}": y\n  ? ${'e'.repeat(2000)}\n  : z\n`],
    // What go-yaml reads and js-yaml refuses: the reader reads what kubectl reads.
    ['a `\\\'` escape (go-yaml\'s `\'`) in double-quoted values and keys, also folded and after `\\\\`', 'reads',
      `${cm('a')}data:\n  a: "it\\'s"\n  "k\\'": "\\'v\\'"\n  b: "x\\\\\\'y"\n  c: "a\\'\n    b\\'"\n  d: "a\\'\\\n    b"\n  e: 'x\\'\n`],
    ['a `\\\'` escape and a `\\/` in one string', 'refuses', `${cm('a')}data:\n  a: "\\'\\/"\n`],
    ['a `\\\'` escape in a string tagged !!int', 'refuses', `${cm('a')}spec:\n  a: !!int "1\\'"\n`],
    ['tabs between the tokens of `{ }` and `[ ]`, before them, and at the start of their continued lines', 'reads',
      `${cm('a')}data: {a:\tb,\tc: d, \te:\t"f\tg"}\nspec:\t[a,\tb, {c:\td}, [\te], !!str\th, &y\ti, *y\t, {?\tj: k},\n\tl, "m\n\tn", 'o\n\tp'\t]\nx:\n- {a:\tb}\t# c\n- k:\t[a,\n    \tb]\n`],
    ['a tab between flow tokens, and tabs in a block scalar', 'reads', `${cm('a')}spec:\n  a: [b,\tc]\n  d: |\n    x\ty\n    \tz\n  e: {f:\tg}\n`],
    ...[['in `{ }`', 'data: {a: x\n\ty}\n'], ['in `[ ]`, left of the block mapping around it', 'spec:\n  k: [a, x\n  \ty]\n']]
      .map(([where, body]): [string, 'refuses', string] => [`a tab at the start of a continued line of an unquoted value ${where}`, 'refuses', `${cm('a')}${body}`]),
    ['a tab after `-` before `[`, with a tab in `[ ]`', 'refuses', `${cm('a')}spec:\n-\t[a,\tb]\n`],
    ['continued lines of `[ ]`, `{ }` and quoted strings indented less than js-yaml needs, also after a tab and an escaped line break', 'reads',
      `${cm('a')}data:\n  a: [1,\n2,\n\t3]\n  b: {c: "d\ne", f:\n'g\nh'}\n  e: "x\\\ny"\nspec:\n  - - [a,\nb]\n  - {k: [x,\n y]}\n`],
    ['a quoted key over two lines, its second line indented too little', 'refuses', `${cm('a')}data:\n  "a\nb": c\n`],
    ...[['`:1` in `[ ]`', 'data:\n  k: [n#m, :1]\n'], ['`:z` as a key in `{ }`', 'data:\n  k: {b c, :z}\n'], ['`:b` as a value in `{ }`', 'data:\n  k: {a: :b}\n'], ['`::b` in `[ ]`', 'data:\n  k: [a, ::b]\n']]
      .map(([what, body]): [string, 'refuses', string] => [`a plain value starting with \`:\` inside \`[ ]\` or \`{ }\`: ${what}`, 'refuses', `${cm('a')}${body}`]),
    ['plain values starting with `:` and `?` outside `[ ]` and `{ }`, and quoted inside them', 'reads', `${cm('a')}data:\n  k: :z\n  j: ?x\n  m: http://h/?a=b\n  l: [":x", '?y', "http://h/?a=b"]\n`],
    ...[['in a URL in `[ ]`', 'data:\n  k: [--url=http://h/?a=b]\n'], ['in a value in `{ }`', 'data:\n  k: {url: http://h/p?x=1}\n'], ['at the end', 'data:\n  k: [a?]\n'], ['`:` after a quoted key', 'data:\n  k: {"a"::b}\n']]
      .map(([what, body]): [string, 'refuses', string] => [`\`?\` in an unquoted value inside \`[ ]\` or \`{ }\`, or \`:\` starting it: ${what}`, 'refuses', `${cm('a')}${body}`]),
    ...[['`!<a#b>`', 'data:\n  k: !<a#b> x\n'], ['`!<>`', 'data:\n  k: !<> x\n'], ['`!e%ff`', 'data:\n  k: !e%ff x\n'], ['`!!` before a value', 'data:\n  k: !! x\n'], ['`!!` alone', 'data:\n  k: !!\n'], ['`!!` in `[ ]`', 'data:\n  k: [!! , a]\n'], ['`!!` on a key', 'data:\n  !! k: x\n']]
      .map(([what, body]): [string, 'refuses', string] => [`a tag go-yaml cannot read: ${what}`, 'refuses', `${cm('a')}${body}`]),
    ['a tag with `%` escapes of UTF-8', 'reads', `${cm('a')}data:\n  k: !e%c3%a9 x\n`],
    ['!!binary of bytes that are no UTF-8: a U+FFFD for each', 'reads', `${cm('a')}data:\n  k: !!binary 4oI=\n`],
    ...[["`!'r'` before `]`", "data:\n  k: [1, !'r']\n"], ['`!!str` before `,`', 'data:\n  k: [!!str,a]\n'], ['`!!str` before `}`', 'data:\n  k: {a: !!str}\n'], ['`!!str` before `]`', 'data:\n  k: [!!str]\n'], ['`!n#m`', 'data:\n  k: [1, !n#m]\n'], ['`!n#m` before a value', 'data:\n  k: !n#m x\n']]
      .map(([what, body]): [string, 'refuses', string] => [`a tag not followed by a space, or with a character go-yaml does not take: ${what}`, 'refuses', `${cm('a')}${body}`]),
    ['tags followed by a space or the end of the line, and a verbatim tag', 'reads', `${cm('a')}data:\n  k: [a, !x ]\n  j: [!!str , a]\n  l: !!str\n  m: !<tag:yaml.org,2002:str> x\n`],
    ...[['with a space', 'data:\n  j: !!binary "aGVs bG8="\n'], ['unpadded', 'data:\n  j: !!binary aGVsbG8\n'], ['with a wrong padding', 'data:\n  j: !!binary aGVsbA=\n'], ['one character', 'data:\n  j: !!binary x\n']]
      .map(([what, body]): [string, 'refuses', string] => [`!!binary that is not base64 to Go: ${what}`, 'refuses', `${cm('a')}${body}`]),
    ['!!binary over lines in a block scalar, empty, and with non-zero trailing bits', 'reads', `${cm('a')}data:\n  j: !!binary |\n    aGVs\n    bG8=\n  k: !!binary ""\n  l: !!binary aGVsbG9=\n`],
    ['`...` after a tab on a continued line indented too little is text', 'reads', `${cm('a')}data:\n  k: [a,\n\t... b]\n`],
    ['a tab starting a continued unquoted value in `{ }`, its line indented too little', 'refuses', `${cm('a')}spec:\n  k: {a: x,\n      b: x\n\ty}\n`],
    ...[['`...` in `[ ]`', 'data:\n  k: [a,\n... b]\n'], ['`...` in a double-quoted string', 'data:\n  k: "a\n... b"\n'], ['`...` and a tab in a single-quoted string', "data:\n  k: 'a\n...\tb'\n"],
      ['`...` in a top-level value', 'x: "a\n... b"\n'], ['`---` after a lone CR in `[ ]`', 'data:\n  k: [a,\r--- b]\n'], ['`...` after a lone CR in a string', 'data:\n  k: "a\r... b"\n']]
      .map(([where, body]): [string, 'refuses', string] => [`a document marker starting a continued line indented too little: ${where}`, 'refuses', `${cm('a')}${body}`]),
    ['an alias right before `:` is a key (go-yaml ends the name there): `[*x:y]`, `{*x: y}`, `*x: y`', 'reads',
      `${cm('a')}x: &x v\nspec: [*x:w, *x: w, *x:, *x:*x, *x:w:z, {*x:[a]}, *x:"q"]\nblock:\n  *x: w\nlist:\n- *x: w\n- *x:\n    a: b\n`],
    ['`*x:` in strings, in plain values, in a block scalar and in a comment: text', 'reads', `${cm('a')}x: &x v\nspec: {a: "*x: b", c: '*x: d', e: f *x:g}\nd: |\n  *x: y\n# *x: z\n`],
    ...[['`*x:y` in a block mapping', 'spec:\n  - *x:w\n'], ['an anchor on the alias', 'spec: [&a *x: w]\n'], ['a tag on the alias', 'spec: [!!str *x: w]\n'], ['`[*x:?]`', 'spec: [*x:?]\n'], ['`*x?:`', 'spec: [*x?:w]\n']]
      .map(([what, body]): [string, 'refuses', string] => [`an alias before \`:\` kubectl refuses: ${what}`, 'refuses', `${cm('a')}x: &x v\n${body}`]),
  ];
  test.each(CASES)('%s: kubectl %s', (_name, verdict, text) => {
    const read = kubectlReads(text);
    const mine = parseManifestText(text, 'r.yaml');
    if (verdict === 'refuses') {
      expect(read.error).toMatch(YAML_ERROR);
      expect(mine.problems.length).toBeGreaterThan(0);
      return;
    }
    expect(read.error).toBeUndefined();
    if (verdict === 'reads as a line break') {
      // kubectl ends the value there (the rest is a comment to it); the reader would not, so it reports the character.
      expect(read.objects).toEqual([expect.objectContaining({ data: { a: 'x' } })]);
      expect(mine.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^U\+\w{4} \(an invisible line break\): kubectl reads it as a line break/)]);
      return;
    }
    expect(goodObjects(mine)).toEqual(read.objects);
    if (verdict === 'reads') expect(mine.problems).toEqual([]);
    else expect(mine.problems.map((p) => p.message)).toEqual([expect.stringMatching(DROPPED)]);
  });
});

describe('lists: kubectl applies the items of any object with apiVersion and items', () => {
  const items = '- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {k: v}}\n- {apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {password: x}}\n';
  test.each([
    ['kind: List', `apiVersion: v1\nkind: List\nitems:\n${items}`],
    ['a kind of its own', `apiVersion: v1\nkind: Foo\nitems:\n${items}`],
    ['kind: ConfigMapList', `apiVersion: v1\nkind: ConfigMapList\nmetadata: {}\nitems:\n${items}`],
    ['an empty list', 'apiVersion: v1\nkind: List\nitems: []\n'],
  ])('%s: the reader hands the policy layer the objects kubectl applies', (_what, text) => {
    const read = kubectlReads(text);
    expect(read.error).toBeUndefined();
    const mine = parseManifestText(text, 'l.yaml');
    expect(mine.problems).toEqual([]);
    expect(mine.docs.flatMap(objectsOf).map(asJson)).toEqual(read.objects ?? []);
  });

  test.each([
    ['items that are not a list', 'apiVersion: v1\nkind: List\nitems: 5\n'],
    ['an item that is not an object', 'apiVersion: v1\nkind: List\nitems: [5]\n'],
    ['a list inside the list', 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items: [{apiVersion: v1, kind: ConfigMap, metadata: {name: n}}]\n'],
  ])('%s: kubectl refuses it, the reader says so', (_what, text) => {
    expect(kubectlReads(text).error).toBeDefined();
    expect(parseManifestText(text, 'l.yaml').problems.map((p) => p.message)).toEqual([expect.stringMatching(/kubectl reads a document with apiVersion and items as a list of objects to apply, and refuses this one/)]);
  });

  test('no apiVersion: not a list to kubectl, one object', () => {
    const text = 'kind: ConfigMap\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: n}}\n';
    expect(kubectlReads(text).objects).toHaveLength(1);
    expect(parseManifestText(text, 'l.yaml').docs.flatMap(objectsOf)).toHaveLength(1);
  });
});

describe('JSON streams: kubectl reads a file that starts with `{` as JSON objects', () => {
  const obj = (name: string) => `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "${name}"}, "data": {"k": "a\\/b"}}`;
  test('objects one after another: the same objects (a duplicate key keeps the last value)', () => {
    const text = `${obj('a')}\n${obj('b')} {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "name": "d"}}\n`;
    expect(kubectlReads(text).objects).toEqual(parseManifestText(text, 's.json').docs.map((d) => asJson(d.manifest)));
    expect(parseManifestText(text, 's.json').problems).toEqual([]);
  });
  test('a `---` line in it: kubectl fails there, the reader says so', () => {
    const text = `${obj('a')}\n---\n${obj('b')}\n`;
    expect(kubectlReads(text).error).toMatch(/invalid character/);
    expect(parseManifestText(text, 's.json').problems).toHaveLength(1);
  });
});
