import { isDeepStrictEqual } from 'util';
import { splitDocuments } from '../../lib/validation/kubeconform';
import { KUBECTL_SCHEMA, parseManifestText } from '../../lib/validation/manifests';
import { KUBECTL_KEYS, kubectlSpec, scalarsWidget } from '../support/kubectl-scalars';
import { ALIASING_EARLY, asJson, corpus, disagreements, goodObjects, MANY_ALIASES, mutationBases, view } from '../support/reader-differential';
import { mutate, random } from '../support/yaml-mutants';
import { oracleParseManifestText } from '../support/yaml-reader-oracle';

/**
 * The manifest reader (js-yaml) against the reader it replaced (the `yaml`
 * package, YAML 1.1: __tests__/support/yaml-reader-oracle.ts), on the real
 * manifests and on randomized edits of them. Where they disagree on purpose
 * (scalars go-yaml types otherwise than the YAML 1.1 spec), kubectl decides:
 * __tests__/server/reader-kubectl.test.ts runs the real one on the same edits.
 */

const line = (text: string, file = 'x.yaml') => {
  const f = parseManifestText(text, file);
  return {
    docs: f.docs.map((d) => `${d.ref.kind ?? '-'}/${d.ref.name ?? '-'}@${d.ref.line}${d.manifest ? '' : ' (not read)'}`),
    problems: f.problems.map((p) => `${p.line}: ${p.message}`),
  };
};

describe('the same objects as the yaml-package reader', () => {
  test.each(corpus().map(([name, text]) => [name, text]))('%s: same identities, lines, objects and problems', (_name, text) => {
    const mine = parseManifestText(text, 'f.yaml');
    expect(view(mine)).toEqual(view(oracleParseManifestText(text, 'f.yaml')));
    // Each object's own text (what kubeconform and kubectl are given) reads as that object.
    for (const d of mine.docs.filter((doc) => doc.manifest)) expect(goodObjects(parseManifestText(d.text, 'part.yaml'))).toEqual([asJson(d.manifest)]);
  });

  const SEEDS = 600;
  test(`${SEEDS} randomized edits: they disagree only where a scalar was edited or a \`...\` line inserted (kubectl decides those)`, () => {
    const unexplained = disagreements(SEEDS)
      .filter((d) => !(d.problems === 'neither' && /replaced by|awkward|anchor/.test(d.mutant.what)))
      // The yaml package ends a document at `...` as YAML does; kubectl does not (reader-kubectl.test.ts).
      .filter((d) => !(d.problems !== 'oracle' && /^line \d+: "\.\.\./.test(d.mutant.what)))
      // A tab line: go-yaml (kubectl) refuses a tab where it reads indentation, the yaml package does not (reader-kubectl.test.ts).
      .filter((d) => !(d.problems === 'new' && /^line \d+: "\\t" inserted$/.test(d.mutant.what)))
      .map((d) => `seed ${d.seed} (${d.source}: ${d.mutant.what}): problems from ${d.problems}`);
    expect(unexplained).toEqual([]);
  });
});

test('kubeconform, started before the parse, is given exactly the documents the reader finds (corpus and 600 edits)', () => {
  const bases = mutationBases();
  const texts = [...corpus().map(([, text]) => text), ...Array.from({ length: 600 }, (_, seed) => mutate(bases[seed % bases.length][1], random(seed)).text)];
  const differ = texts.filter((text) => {
    const read = parseManifestText(text, 'x.yaml').docs.map((d) => (d.text.endsWith('\n') ? d.text : `${d.text}\n`));
    return !isDeepStrictEqual(splitDocuments(text), read);
  });
  expect(differ).toEqual([]);
});

describe('as kubectl reads YAML (go-yaml v2)', () => {
  test('scalars: what kubectl makes of each (the table the server test checks against kubectl itself)', () => {
    const f = parseManifestText(scalarsWidget(), 'w.yaml');
    expect(f.problems).toEqual([]);
    expect(asJson(f.docs[0].manifest).spec).toEqual(kubectlSpec());
  });

  test('the yaml package\'s YAML 1.1 differs from kubectl here, which is why the reader does not follow it', () => {
    const theirs = asJson(oracleParseManifestText(scalarsWidget(), 'w.yaml').docs[0].manifest).spec;
    const differ = Object.entries(kubectlSpec()).filter(([k, v]) => !isDeepStrictEqual(theirs[k], v)).length;
    expect(differ).toBeGreaterThan(5);
  });

  test('keys are typed too: `y` and `n` are booleans, `0x10` a number', () => {
    const f = parseManifestText('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k}\ndata: {y: a, n: b, 0x10: c}\n', 'k.yaml');
    expect(f.docs[0].manifest!.data).toEqual({ true: 'a', false: 'b', 16: 'c' });
  });

  test('number keys are written as kubectl writes them (ints exactly, floats as Go\'s FormatFloat(\'g\', 32)); a uint64 key is refused', () => {
    const key = (k: string) => {
      const f = parseManifestText(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k}\ndata:\n  ${k}: x\n`, 'k.yaml');
      return f.problems.length > 0 ? f.problems.map((p) => `${p.line}: ${p.message}`) : Object.keys(f.docs[0].manifest!.data as object);
    };
    for (const [k, kubectl] of Object.entries(KUBECTL_KEYS)) expect([k, key(k)]).toEqual([k, [kubectl]]);
    for (const k of ['9223372036854775808', '18446744073709551615', '0xFFFFFFFFFFFFFFFF']) {
      expect(key(k)).toEqual(['5: a number key of 2^63 or more: kubectl refuses it ("Unsupported map key of type: uint64"); quote the key (column 3)']);
    }
    // As values they stay numbers, in lists and through aliases too.
    const f = parseManifestText('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: v}\nspec: {a: &x 1e6, b: [*x, 1e21, -0], c: {*x : z}}\n', 'v.yaml');
    expect(asJson(f.docs[0].manifest).spec).toEqual({ a: 1e6, b: [1e6, 1e21, 0], c: { '1e+06': 'z' } });
  });

  test('the schema has no implicit timestamps: dates stay strings', () => {
    expect(KUBECTL_SCHEMA.tags.filter((t) => t.implicit).map((t) => t.tagName)).not.toContain('tag:yaml.org,2002:timestamp');
    expect(asJson(parseManifestText('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {a: 2024-01-02}\n', 'd.yaml').docs[0].manifest).data).toEqual({ a: '2024-01-02' });
  });

  test('tags as go-yaml takes them: `!!timestamp` is the text when it is a Go timestamp, a problem when not; any other tag is ignored', () => {
    const read = (v: string) => {
      const f = parseManifestText(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t}\nspec:\n  x: ${v}\n`, 't.yaml');
      return f.problems.length > 0 ? f.problems.map((p) => `${p.line}: ${p.message}`) : asJson(f.docs[0].manifest).spec.x;
    };
    for (const t of ['2024-01-02', '2024-1-2', '2024-02-29', '2001-12-14t21:59:43.10-05:00', '2024-01-02T03:04:05,5Z', '2024-01-02  3:4:5.123456789012']) expect(read(`!!timestamp ${t}`)).toBe(t);
    for (const t of ['foo', '2024', '2023-02-29', '2024-13-01', '2024-01-02T03:04:05', '2024-01-02 03:04:05Z', '2024-01-02 24:00:00', '2024-01-02T03:04:05+0530']) {
      expect(read(`!!timestamp ${t}`)).toEqual(['5: this value is not a valid !!timestamp, the tag it is given; kubectl refuses it ("cannot decode ... as a !!timestamp"): fix the value or remove the tag (column 6)']);
    }
    expect(read('!!int foo')).toEqual([expect.stringMatching(/^5: this value is not a valid !!int, the tag it is given; kubectl refuses it/)]);
    expect(read('!!str {a: b}')).toEqual({ a: 'b' });
    expect(read('!!int [1]')).toEqual([1]);
    expect(read('!foo {a: !bar b, c: !!map d, e: !!python/str 1}')).toEqual({ a: 'b', c: 'd', e: '1' });
    expect(read('!!set {a, b}')).toEqual({ a: null, b: null });
    expect(read('!!omap [a: 1]')).toEqual([{ a: 1 }]);
  });
});

describe('documents', () => {
  const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;

  test('a continued line of `[ ]`, `{ }` or a quoted string indented less than js-yaml needs (kubectl reads it): read, each object and problem at its own line', () => {
    const text = `${cm('a')}data:\n  a: [1,\n2,\n\t3]\n  b: {c: "d\ne", f:\n'g\nh'}\n  e: "x\\\ny"\nspec:\n  - - [a,\nb]\n---\n${cm('b')}data:\n  k: [x,\ny,\nz]\n  k: w\n`;
    const read = parseManifestText(text, 'x.yaml');
    expect(read.docs[0].manifest).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { a: [1, 2, 3], b: { c: 'd e', f: 'g h' }, e: 'xy' }, spec: [[['a', 'b']]] });
    expect(line(text)).toEqual({
      docs: ['ConfigMap/a@1', 'ConfigMap/b@18 (not read)'],
      problems: [expect.stringMatching(/^25: key "k" is given twice in this mapping/)],
    });
  });

  test('what kubectl refuses on such a line stays refused: a tab starting a continued unquoted value left of its mapping, a quoted key over two lines, a `[` never closed (the message does not blame the tab), `...` or `---` starting the line (a document marker to go-yaml)', () => {
    const tab = /kubectl \(go-yaml\) refuses a tab at the start of a continued line of an unquoted value/;
    expect(line(`${cm('a')}spec:\n  k: {a: x\n\ty}\n`).problems).toEqual([expect.stringMatching(new RegExp(`^6: ${tab.source}`))]);
    // The spaces go after the tab: before it, they would move it right of the mapping (column 2) and hide it.
    expect(line(`${cm('a')}spec:\n  k: {a: x,\n      b: x\n\ty}\n`).problems).toEqual([expect.stringMatching(new RegExp(`^7: ${tab.source}`))]);
    const deficient = /^6: deficient indentation: a \[ \], \{ \} or quoted value goes on here without its closing/;
    expect(line(`${cm('a')}data:\n  "a\nb": c\n`).problems).toEqual([expect.stringMatching(/^6: bad indentation of a mapping entry/)]);
    // Never closed: the line where the `[` or quote goes on, not the end of the document, also after many lines, or after
    // another `[` that was closed; the object still named.
    expect(line(`${cm('a')}data:\n  a: [1,\n\t2\n---\n${cm('b')}`).problems).toEqual([expect.stringMatching(deficient)]);
    expect(line(`${cm('a')}data:\n  k: [a,\nb]\n  j: [c,\n  d\n`).problems).toEqual([expect.stringMatching(new RegExp(deficient.source.replace('^6', '^8')))]);
    // A line of the same `[` indented enough between two that are not: the same `[`, refused where it goes on.
    expect(line(`${cm('a')}data:\n  k: [a,\nb,\n      c,\nd\n`).problems).toEqual([expect.stringMatching(deficient)]);
    expect(line(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: "oops\n${Array.from({ length: 250 }, (_, i) => `  k${i}: v\n`).join('')}`))
      .toEqual({ docs: ['ConfigMap/a@1 (not read)'], problems: [expect.stringMatching(/^7: deficient indentation/)] });
    // Only at the start of the line: after a tab, `...` is text (and read).
    expect(parseManifestText(`${cm('a')}data:\n  k: [a,\n\t... b]\n`, 'x.yaml').docs[0].manifest?.data).toEqual({ k: ['a', '... b'] });
    for (const body of ['data:\n  k: [a,\n... b]\n', 'data:\n  k: "a\n... b"\n', "data:\n  k: 'a\n...\tb'\n", 'data:\n  k: [a,\r--- b]\n', 'data:\n  k: "a\r... b"\n']) {
      expect(line(`${cm('a')}${body}`).problems).toEqual([expect.stringMatching(deficient)]);
    }
  });

  test('when the document, so read, has another error, that error is the problem, at its own line; the object is named from the lines before it', () => {
    expect(line(`${cm('a')}data:\n  k: [a,\nb]\n  j: |\n    x\n\ty\n`).problems).toEqual(['9: tab characters must not be used in indentation (column 1)']);
    expect(line('apiVersion: v1\nkind: ConfigMap\ndata:\n  k: [a,\nb,\nc,\nd]\nmetadata:\n  name: x\n  j: : y\n'))
      .toEqual({ docs: ['ConfigMap/x@1 (not read)'], problems: ['10: bad indentation of a mapping entry (column 6)'] });
  });

  test('bounded work: at most 200 parses of a document (one more for each such line, each `\\\'` string before it again); past them, the refusal at the first such line, or where the parses ran out', () => {
    const list = (n: number, before = '') => `${cm('a')}data:\n${before}  a: [0,\n${Array.from({ length: n }, (_, i) => `${i + 1}`).join(',\n')}]\n`;
    expect(parseManifestText(list(190), 'x.yaml').docs[0].manifest?.data).toEqual({ a: Array.from({ length: 191 }, (_, i) => i) });
    expect(line(list(250)).problems).toEqual([expect.stringMatching(/^6: deficient indentation/)]);
    // One budget for every rewrite of the document: 150 strings with `\'` and one such line are too many.
    const escapes = (n: number) => Array.from({ length: n }, (_, i) => `  e${i}: "x\\'y"\n`).join('');
    expect(line(`${cm('a')}data:\n${escapes(150)}  a: [0,\n    1]\n`).problems).toEqual([]);
    expect(line(list(1, escapes(150))).problems).toEqual([expect.stringMatching(/^156: deficient indentation/)]);
    // 250 strings with `\'`: the 200th is where the reader stops, and says so; the object is still named.
    expect(line(`${cm('a')}data:\n${escapes(250)}`)).toEqual({
      docs: ['ConfigMap/a@1 (not read)'], problems: [expect.stringMatching(/^204: cannot read this document: it needs more than 200 parses to be read as kubectl reads it/)],
    });
  });

  test('an error in one document hides none of the others; the broken one keeps its identity and line', () => {
    expect(line(`${cm('a')}---\n# the broken one\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec: [unclosed\n---\n${cm('c')}`)).toEqual({
      docs: ['ConfigMap/a@1', 'Pod/web@6 (not read)', 'ConfigMap/c@12'],
      problems: ['11: deficient indentation: a [ ], { } or quoted value goes on here without its closing ], } or quote; close it, or indent its next line more (column 1)'],
    });
  });

  test('errors in two documents: both reported, each at its line', () => {
    expect(line(`${cm('a')}x: [\n---\n${cm('b')}---\n${cm('c')}y: {\n`).problems.map((p) => p.split(':')[0])).toEqual(['5', '14']);
  });

  test('a key that is a list or a mapping: refused at its own line, also in a later document, in plain words', () => {
    const KEY = 'a key that is a list or a mapping: kubectl refuses it ("invalid map key"; JSON keys are strings); make the key a string';
    expect(line(`${cm('a')}---\n${cm('b')}? [a]\n: 1\n`)).toEqual({ docs: ['ConfigMap/a@1', 'ConfigMap/b@5 (not read)'], problems: [`8: ${KEY}`] });
    expect(line(`${cm('a')}---\n${cm('b')}data:\n  x: 1\n  ? {a: 1}\n  : 1\n`).problems).toEqual([`10: ${KEY}`]);
    expect(line(`${cm('a')}data: {[a]: 1}\n`).problems).toEqual([`4: ${KEY}`]);
  });

  test('duplicate keys: refused with the key and its line, the document still named, the others read', () => {
    expect(line(`${cm('a')}---\n${cm('dup')}data:\n  k: 1\n  k: 2\n---\n${cm('c')}`)).toEqual({
      docs: ['ConfigMap/a@1', 'ConfigMap/dup@5 (not read)', 'ConfigMap/c@12'],
      problems: ['10: key "k" is given twice in this mapping (kubectl silently keeps the last value; the API server refuses duplicate fields under strict field validation); keep one (column 3)'],
    });
  });

  test('what go-yaml reads as indicators or refuses in tags, which js-yaml reads as text: refused at its line', () => {
    const at = (text: string) => line(`${cm('a')}data:\n${text}`).problems.map((p) => p.split(':')[0] + ': ' + p.split(': ').slice(1).join(': ').slice(0, 40));
    expect(at('  k: [a, :1]\n')).toEqual(['5: kubectl (go-yaml) reads `:` at the start']);
    expect(at('  k: {"a"::b}\n')).toEqual(['5: kubectl (go-yaml) reads `:` at the start']);
    // `?` ends an unquoted value inside `[ ]` and `{ }` for go-yaml (`?x` starts a key): refused where it stands, also inside a value.
    expect(at('  k: {a: b,\n    c: ?x:y}\n')).toEqual(['6: kubectl (go-yaml) reads `?` inside `[ ]`']);
    expect(at('  k: [--url=http://h/?a=b]\n')).toEqual(['5: kubectl (go-yaml) reads `?` inside `[ ]`']);
    expect(at('  k: :z\n  j: ?x\n  m: http://h/?a=b\n  l: [":x", "?y", a:b]\n')).toEqual([]);
    expect(at('  k: [1, !!str]\n')).toEqual(['5: kubectl (go-yaml) refuses the tag "!!str']);
    expect(at('  k: !! x\n  j: [!! , a]\n')).toEqual(['5: kubectl (go-yaml) refuses the tag "!!" h', '6: kubectl (go-yaml) refuses the tag "!!" h']);
    expect(at('  k: [!!str :a]\n')).toEqual(['5: kubectl (go-yaml) reads a tag and then `']);
    expect(at('  k: !<a#b> x\n')).toEqual(['5: kubectl (go-yaml) refuses the tag "!<a#b']);
    expect(at('  k: !e%ff x\n')).toEqual(['5: kubectl (go-yaml) refuses the tag "!e%ff']);
    expect(at('  k: [!!str , a, !<tag:yaml.org,2002:str> b, !e%c3%a9 c]\n')).toEqual([]);
    expect(at('  j: !!binary aGVsbG8\n')).toEqual(['5: this value is not a valid !!binary, the ']);
    // Bytes that are no UTF-8: kubectl sends U+FFFD for each byte (Go), not one for the sequence (as Node would).
    expect(parseManifestText(`${cm('a')}data:\n  k: !!binary 4oI=\n  j: !!binary aGVsbG8=\n`, 'x.yaml').docs[0].manifest?.data).toEqual({ k: '\uFFFD\uFFFD', j: 'hello' });
  });

  test('a duplicate key written as an alias: named by the value of the node the alias names (its last anchor of that name)', () => {
    const twice = (key: string) => expect.stringMatching(new RegExp(`^\\d+: key ${key} is given twice in this mapping`));
    expect(line(`${cm('a')}data:\n  b: "1"\n  x: &k b\n  *k : "2"\n`).problems).toEqual([twice('"b" \\(the alias \\*k\\)')]);
    expect(line(`${cm('a')}data:\n  x: &k b\n  y: &k c\n  c: "1"\n  ? *k\n  : "2"\n`).problems).toEqual([twice('"c" \\(the alias \\*k\\)')]);
  });

  test('cut only where kubectl cuts (lines starting with `---`); a marker inside a block scalar ends it', () => {
    expect(line(`${cm('a')}---\n${cm('b')}data:\n  s: |\n    text\n--- # c\n${cm('c')}`)).toEqual({
      docs: ['ConfigMap/a@1', 'ConfigMap/b@5', 'ConfigMap/c@12'], problems: [],
    });
  });

  test('a `---` line with content after the marker: kubectl refuses it, so does the reader', () => {
    expect(line(`${cm('a')}--- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n`).problems)
      .toEqual(['4: kubectl refuses a `---` line with content after it: put the content on the next line']);
    expect(line(`${cm('a')}---foo: 1\n`).problems).toEqual(['4: kubectl refuses a `---` line with content after it: put the content on the next line']);
    // A comment is allowed, also right after the marker (kubectl drops the line it cuts at).
    expect(line(`${cm('a')}---# c\n${cm('b')}`)).toEqual({ docs: ['ConfigMap/a@1', 'ConfigMap/b@5'], problems: [] });
  });

  test('`...` does not cut: kubectl reads the first document of the part and drops the rest, which is a problem', () => {
    const f = line(`${cm('a')}...\n# fine\n${cm('b')}---\n${cm('c')}...\n\n`);
    expect(f.docs).toEqual(['ConfigMap/a@1', 'ConfigMap/c@10']);
    expect(f.problems).toEqual(['6: kubectl ignores everything after `...` up to the next `---`; remove the `...` line or start a new document with `---`']);
    expect(splitDocuments(`${cm('a')}...\n${cm('b')}`)).toEqual([`${cm('a')}...\n`]);
  });

  test('a `%` directive: kubectl refuses it, so does the reader (and still reads the document after it)', () => {
    expect(line(`%YAML 1.1\n%TAG !e! tag:example.com,2000:\n---\n${cm('a')}`)).toEqual({
      docs: ['ConfigMap/a@4'],
      problems: ['1: kubectl refuses YAML directives; remove the line', '2: kubectl refuses YAML directives; remove the line'],
    });
    // After a `---` too: kubectl drops the `---` line, so go-yaml sees the directive first.
    expect(line(`${cm('a')}---\n%YAML 1.1\n${cm('b')}`).problems).toEqual(['5: kubectl refuses YAML directives; remove the line']);
  });

  test('a BOM, CRLF line ends', () => {
    expect(line(`\uFEFF${cm('a')}`).docs).toEqual(['ConfigMap/a@1']);
    expect(line(`${cm('a')}---\n${cm('b')}`.replace(/\n/g, '\r\n')).docs).toEqual(['ConfigMap/a@1', 'ConfigMap/b@5']);
  });

  test('CR-only and CRLF line breaks: the same lines as with LF (what editors, js-yaml and kubectl count)', () => {
    const inputs = [
      `# c\n\n${cm('a')}data:\n  k: 1\n  k: 2\n`,
      `${cm('a')}data: {x: 1}\ny: [\n`,
      `${cm('a')}data:\n  ~: x\n  y: .inf\n`,
      `${cm('a')}data:\n  k: |\n    x\n\n    y\n  ? [a]\n  : 1\n`,
    ];
    for (const text of inputs) {
      const lf = line(text);
      expect(lf.problems).not.toEqual([]);
      expect(line(text.replace(/\n/g, '\r'))).toEqual(lf);
      expect(line(text.replace(/\n/g, '\r\n'))).toEqual(lf);
    }
  });

  test('CR-only line breaks: kubectl cuts only at a `---` after a LF, reads the first document and drops the rest; a problem', () => {
    expect(line(`${cm('a')}---\n# b\n${cm('b')}---\n${cm('c')}`.replace(/\n/g, '\r'))).toEqual({
      docs: ['ConfigMap/a@1'],
      problems: [expect.stringMatching(/^6: kubectl reads only the first document here and ignores the rest: the `---` before this line follows a lone CR/)],
    });
    // A part after a `---` at the start of a LF line is read, even when its own lines end in CR.
    expect(line(`${cm('a')}---\n${cm('b')}`.replace(/\n/g, '\r').replace('\r---\r', '\n---\n'))).toEqual({ docs: ['ConfigMap/a@1', 'ConfigMap/b@5'], problems: [] });
    expect(splitDocuments(`${cm('a')}---\n${cm('b')}`.replace(/\n/g, '\r'))).toHaveLength(1);
  });

  test('JSON, also indented with tabs, and on one line', () => {
    expect(line('{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {\n\t\t"name": "t"\n\t}\n}\n', 'x.json').docs).toEqual(['ConfigMap/t@1']);
    expect(line('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j","namespace":"n"}}', 'x.json').docs).toEqual(['ConfigMap/j@1']);
  });
});

describe('values kubectl cannot send as JSON', () => {
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: v}\n';
  const INF = 'kubectl cannot send infinity/NaN as JSON; quote it if it is a string';

  test('infinity and NaN, in every form go-yaml takes, as values: a problem at their line; quoted they are strings', () => {
    for (const v of ['.inf', '-.inf', '+.inf', '.Inf', '-.INF', '.nan', '.NaN', '.NAN', '!!float .inf']) {
      expect(line(`${cm}data:\n  a: ok\n  x: ${v}\n`)).toEqual({ docs: ['ConfigMap/v@1 (not read)'], problems: [`6: ${INF}`] });
    }
    expect(line(`${cm}x: [1, .nan]\ny: {a: -.inf}\n`).problems).toEqual([`4: ${INF}`, `5: ${INF}`]);
    expect(line(`${cm}data: {x: '.inf', y: ".nan", z: .infinity}\n`).problems).toEqual([]);
  });

  test('a null key (`~`, `null`, none): a problem at its line; quoted it is a string', () => {
    for (const k of ['~', 'null', 'Null', 'NULL', '!!null ""']) {
      expect(line(`${cm}data:\n  ${k}: x\n`).problems).toEqual(['5: a null key (`~`, `null` or none): kubectl cannot send it as JSON; quote it if it is a string']);
    }
    expect(line(`${cm}data:\n  a: 1\n  ?\n  : x\n`).problems).toEqual(['7: a null key (`~`, `null` or none): kubectl cannot send it as JSON; quote it if it is a string']);
    expect(line(`${cm}data:\n  "~": x\n  'null': y\n  "": z\n`).problems).toEqual([]);
  });

  test('an implicit key of more than 1024 characters: a problem (go-yaml refuses it); 1024, or an explicit `?` key, is read', () => {
    const k = (n: number) => 'k'.repeat(n);
    expect(line(`${cm}data:\n  ${k(1025)}: x\n`).problems).toEqual([expect.stringMatching(/^5: a key longer than 1024 characters: kubectl \(go-yaml\) refuses it; shorten it/)]);
    expect(line(`${cm}data: {"${k(1023)}": x}\n`).problems).toHaveLength(1);
    expect(line(`${cm}data:\n  ${k(1024)}: x\n  "${k(1022)}": y\n  ? ${k(2000)}\n  : z\n`).problems).toEqual([]);
  });
});

describe('JSON streams (a file that starts with `{`, whatever its name)', () => {
  const obj = (name: string) => `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "${name}"}}`;
  test('objects one after another, on one line or many: each an object at its line, its text what kubeconform is given', () => {
    for (const file of ['s.json', 's.yaml']) {
      const text = `\n${obj('a')}\n${obj('b')} ${obj('c')}\n`;
      expect(line(text, file)).toEqual({ docs: ['ConfigMap/a@2', 'ConfigMap/b@3', 'ConfigMap/c@3'], problems: [] });
      expect(splitDocuments(text)).toEqual([`${obj('a')}\n`, `${obj('b')}\n`, `${obj('c')}\n`]);
    }
  });
  test('where kubectl stops (a `---` line, text that is not JSON, an object not closed), a problem at its line; the objects before are read', () => {
    expect(line(`${obj('a')}\n---\n${obj('b')}\n`)).toEqual({ docs: ['ConfigMap/a@1'], problems: [expect.stringMatching(/^2: "---" is not a JSON object: kubectl reads a file that starts with `\{` as JSON objects one after another, and fails here/)] });
    expect(line(`${obj('a')}\n{"kind": x}\n`).problems).toEqual([expect.stringMatching(/^2: not JSON \(/)]);
    expect(line(`${obj('a')}\n{"kind": "x"\n`).problems).toEqual([expect.stringMatching(/^2: this JSON object is not closed/)]);
  });
  test('a duplicate key: the last value, as kubectl\'s JSON decoder keeps it; braces inside strings do not end an object', () => {
    const f = parseManifestText('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "name": "b"}, "data": {"k": "}{\\"]"}}\n', 'd.json');
    expect(f.problems).toEqual([]);
    expect(f.docs.map((d) => d.manifest)).toEqual([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' }, data: { k: '}{"]' } }]);
  });
});

describe('line breaks only kubectl sees', () => {
  test('NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR: a problem at each one\'s line (kubectl reads `true<U+2028># c` as true); escaped they are fine', () => {
    const pod = (v: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true${v}# off\n  containers: [{name: c, image: "x:1", args: ["a${v}b"]}]\n`;
    for (const [ch, code] of [['\u0085', '0085'], ['\u2028', '2028'], ['\u2029', '2029']]) {
      expect(line(pod(ch)).problems).toEqual([
        `5: U+${code} (an invisible line break): kubectl reads it as a line break, editors and this reader do not, so the object kubectl sends is not the one you see; remove it, or write it as an escape (\\u${code.toLowerCase()}) inside double quotes`,
        expect.stringMatching(new RegExp(`^6: U\\+${code} `)),
      ]);
    }
    expect(line(pod(' ').replace('a b', 'a\\u2028b')).problems).toEqual([]);
  });
});

describe('what js-yaml reads but kubectl (go-yaml v2) refuses', () => {
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: g}\n';
  const ESCAPE = 'kubectl (go-yaml) refuses the escape `\\/` in a double-quoted string ("found unknown escape character"); write `/`';
  const TAB = 'kubectl (go-yaml) refuses a tab here: at the start of a line or after a `-` or `?` it reads indentation, which takes spaces only; replace the tab with spaces';

  test('a `\\/` escape in a double-quoted string, value or key: a problem at its line; elsewhere it is text', () => {
    expect(line(`${cm}data:\n  a: "x\\/y"\n  "k\\/": z\n`).problems).toEqual([`5: ${ESCAPE}`, `6: ${ESCAPE}`]);
    expect(line(`${cm}data:\n  a: "x\\\\/y"\n  b: 'x\\/y'\n  c: x\\/y\n  d: |\n    "x\\/y"\n`).problems).toEqual([]);
  });

  test('a tab where go-yaml reads indentation: after `-` or `?`, a tab-led blank or comment line; tabs in content are read', () => {
    for (const [text, at] of [[`${cm}spec:\n  a:\n  -\tb\n`, 6], [`${cm}spec:\n  - -\tb\n`, 5], [`${cm}spec:\n  -  \tb\n`, 5], [`${cm}spec:\n  ?\ta\n  : b\n`, 5],
      [`${cm}spec:\n  a: b\n\t\n  c: d\n`, 6], [`${cm}spec:\n  a: b\n\t# c\n`, 6], [`\t\n${cm}`, 1], [`${cm}data:\n  a: |+\n    x\n\t\n`, 7]] as Array<[string, number]>) {
      expect([text, line(text).problems]).toEqual([text, [`${at}: ${TAB}`]]);
    }
    const fine = [`${cm}data:\n  a: |\n    x\ty\n    \tz\n    \t\n`, `${cm}data:\n  a: "x\ty"\n  b: x\ty\n  c: x\t# c\td\n`, `${cm}spec:\n  a:\tb\n  - a:\tb\n`.replace('  - a:\tb\n', ''),
      '{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {\n\t\t"name": "t"\n\t}\n}\n'];
    for (const text of fine) expect([text, line(text).problems]).toEqual([text, []]);
  });

  test('a tab that starts the first line of a block scalar (go-yaml is still reading its indentation there): a problem; with `|2`, or on a later line, content', () => {
    const FIRST = 'kubectl (go-yaml) refuses a tab that starts the first line of a `|` or `>` block ("found a tab character where an indentation space is expected"): it is still reading the block\'s indentation there; indent with spaces, or give the indentation (`|2`) so that the tab is content';
    expect(line(`${cm}data:\n  a: |\n    \tx\n  b: >-\n\n    \ty\n`).problems).toEqual([`6: ${FIRST}`, `9: ${FIRST}`]);
    expect(line(`${cm}data:\n  a: |2\n    \tx\n  b: |\n    x\n    \ty\n`).problems).toEqual([]);
  });

  test('a key in `{ }` that goes on to another line before its `:`: a problem (go-yaml takes a key on one line only); an explicit key may', () => {
    const KEY = 'kubectl (go-yaml) refuses a key inside `{ }` that goes on to another line before its `:` ("did not find expected \',\' or \'}\'"); put the key and its `:` on one line, or make it an explicit key (`? key`)';
    expect(line(`${cm}data: {a\n    : b, c: d, "e\n     f": g}\n---\n${cm}`).problems).toEqual([`4: ${KEY}`, `5: ${KEY}`]);
    expect(line(`${cm}data: {? a\n    : b, c:\n    d,\n    e: f}\n`).problems).toEqual([]);
  });

  test('an anchor or alias name with other characters than letters, digits, `-`, `_`: a problem (kubectl refuses it or reads another value); `&&` in text is not an anchor', () => {
    expect(line(`${cm}spec:\n  a: &x.y b\n  c: *x.y\n`).problems).toEqual([
      '5: kubectl (go-yaml) takes only letters, digits, `-` and `_` in the anchor name "x.y": it refuses the file or reads another value; rename the anchor and its aliases',
      '6: kubectl (go-yaml) takes only letters, digits, `-` and `_` in the alias name "x.y": it refuses the file or reads another value; rename the anchor and its aliases',
    ]);
    // go-yaml ends the name at `:` and reads ":y b" (kubectl-checked in the server suite): not what YAML 1.2 reads, so a problem too.
    expect(line(`${cm}spec:\n  a: &x:y b\n`).problems).toHaveLength(1);
    expect(line(`${cm}spec:\n  a: &Ab-9_z b\n  c: *Ab-9_z\n  d: |\n    x && y\n`).problems).toEqual([]);
  });
});

describe('what go-yaml reads and js-yaml refuses: read as kubectl reads it (each kubectl-checked in reader-kubectl.test.ts)', () => {
  const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;
  const values = (text: string) => goodObjects(parseManifestText(text, 'x.yaml')).map((o: any) => o.data ?? o.spec);
  const twice = (key: string, column: number) => `key "${key}" is given twice in this mapping (kubectl silently keeps the last value; the API server refuses duplicate fields under strict field validation); keep one (column ${column})`;

  test('a `\\\'` escape in a double-quoted string is go-yaml\'s `\'`; what follows keeps its lines', () => {
    expect(values(`${cm('a')}data:\n  "k\\'": "it\\'s\n    \\"x\\"\\\\\\'"\n  e: 'x\\'\n`)).toEqual([{ "k'": 'it\'s "x"\\\'', e: 'x\\' }]);
    expect(line(`${cm('a')}data:\n  "k\\'": "it\\'s\n    x"\n  b: x\n  b: y\n---\n${cm('b')}`))
      .toEqual({ docs: ['ConfigMap/a@1 (not read)', 'ConfigMap/b@10'], problems: [`8: ${twice('b', 3)}`] });
  });

  test('a tab between the tokens of `{ }` or `[ ]` is a space to go-yaml, but not at the start of a continued unquoted value', () => {
    expect(values(`${cm('a')}data: {a:\tb,\n\tc: "d\te"}\n`)).toEqual([{ a: 'b', c: 'd\te' }]);
    expect(line(`${cm('a')}data: {a:\tb,\n\tc: d}\nspec: [a,\tb]\nx: {y: 1, y: 2}\n---\n${cm('b')}`))
      .toEqual({ docs: ['ConfigMap/a@1 (not read)', 'ConfigMap/b@9'], problems: [`7: ${twice('y', 11)}`] });
    // With a tab in a block scalar (read line by line then: a space there would change the scalar's indentation).
    expect(values(`${cm('a')}spec:\n  a: [b,\tc]\n  d: |\n    x\ty\n    \tz\n  e: {f:\tg}\n`)).toEqual([{ a: ['b', 'c'], d: 'x\ty\n\tz\n', e: { f: 'g' } }]);
    expect(line(`${cm('a')}spec:\n  k: {a: x\n  \ty}\n`).problems).toEqual([
      '6: kubectl (go-yaml) refuses a tab at the start of a continued line of an unquoted value ("found a tab character that violates indentation"); replace it with spaces, or quote the value',
    ]);
  });

  test('an alias right before `:` is a key (go-yaml ends its name there); `*x:` in text stays text', () => {
    expect(values(`${cm('a')}x: &x v\nspec: [*x:w, {*x: w}, *x:]\n`)).toEqual([[{ v: 'w' }, { v: 'w' }, { v: null }]]);
    expect(line(`${cm('a')}x: &x v\nspec: [*x:w]\ny: {a: 1, a: 2}\n---\n${cm('b')}`))
      .toEqual({ docs: ['ConfigMap/a@1 (not read)', 'ConfigMap/b@8'], problems: [`6: ${twice('a', 11)}`] });
    expect(values(`${cm('a')}x: &x v\nspec: {a: "*x: b", c: '*x: d', e: f *x:g}\n# *x: z\n`)).toEqual([{ a: '*x: b', c: '*x: d', e: 'f *x:g' }]);
  });
});

describe('aliases', () => {
  test('anchors used several times are read (shared values)', () => {
    const f = parseManifestText('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: &l {x: z}}\ndata: &d {a: "1"}\nx: [*l, *l, *d, *d]\n', 'a.yaml');
    expect(f.problems).toEqual([]);
    expect(asJson(f.docs[0].manifest).x).toEqual([{ x: 'z' }, { x: 'z' }, { a: '1' }, { a: '1' }]);
  });

  test('one anchor used 12,000 times, and 12,000 merged keys, are read as kubectl reads them (no cap of 10,000)', () => {
    const f = parseManifestText(MANY_ALIASES, 'many.yaml');
    expect(f.problems).toEqual([]);
    const m = asJson(f.docs[0].manifest);
    expect(Object.keys(m.data)).toHaveLength(12_000);
    expect(m.data.k11999).toBe('x');
    expect(m.spec).toHaveLength(600);
    expect(m.spec[599]).toEqual({ ...Object.fromEntries(Array.from({ length: 20 }, (_, n) => [`m${n}`, 'v'])), own: 599 });
  });

  describe('what aliases expand to, in bytes of JSON as kubectl sends it: over 3 MiB per object is refused before anything is built', () => {
    const TOO_BIG = '1: cannot read this document: with its aliases expanded, an object here is more than 3 MiB of JSON: the API server refuses a request over 3 MiB, and kubectl would hold every copy in memory; write fewer copies';
    const uses = (value: string, n: number, head = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\n') => `${head}x: &big ${value}\ndata:\n${Array.from({ length: n }, (_, k) => `  k${k}: *big\n`).join('')}`;

    test('one 100 KB value used 40 times (4 MB) is refused; 30 uses (3 MB) are read', () => {
      expect(line(uses(`"${'x'.repeat(100_000)}"`, 40)).problems).toEqual([TOO_BIG]);
      expect(line(uses(`"${'x'.repeat(100_000)}"`, 30)).problems).toEqual([]);
    });

    test('bytes, not characters: 100,000 CJK characters (300 KB in UTF-8) used 12 times are refused; 600 KB of `\\u4E00` escapes (the same 300 KB) used 6 times are read', () => {
      expect(line(uses(`"${'\u4e00'.repeat(100_000)}"`, 12)).problems).toEqual([TOO_BIG]);
      expect(line(uses(`"${'\\u4E00'.repeat(100_000)}"`, 6)).problems).toEqual([]);
    });

    test('a List: kubectl sends each item on its own, so four items of 900 KB sharing one anchor are read (its `items` key plain or quoted)', () => {
      const item = (n: number, value: string) => `- {apiVersion: v1, kind: ConfigMap, metadata: {name: c${n}}, data: {a: ${value}}}\n`;
      for (const key of ['items', '"items"', "'items'"]) {
        const text = `apiVersion: v1\nkind: List\n${key}:\n${item(0, `&b "${'x'.repeat(900_000)}"`)}${[1, 2, 3].map((n) => item(n, '*b')).join('')}`;
        expect(line(text).problems).toEqual([]);
      }
      // One item of 4 x 900 KB is refused.
      const one = `apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: &b "${'x'.repeat(900_000)}", b: *b, c: *b, d: *b}}\n`;
      expect(line(one).problems).toEqual([TOO_BIG]);
    });
  });

  test('heavy aliasing early is refused where go-yaml refuses it, even when plain nodes after it dilute the ratio', () => {
    expect(line(ALIASING_EARLY).problems).toEqual([expect.stringMatching(/^1: cannot read this document: its aliases expand to \d+ nodes, \d+% of them from aliases \(an alias bomb/)]);
  });

  test('an alias to a node that contains it is refused (the object would contain itself)', () => {
    expect(line('apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: self, x: *m}\n')).toEqual({
      docs: ['ConfigMap/self@1 (not read)'],
      problems: ['1: cannot read this document: alias *m refers to a node that contains it'],
    });
  });

  test('an alias bomb is refused before anything is built, and the next document is still read', () => {
    const bomb = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: bomb}', 'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`)].join('\n');
    const f = line(`${bomb}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n`);
    expect(f.docs).toEqual(['ConfigMap/bomb@1 (not read)', 'ConfigMap/after@13']);
    expect(f.problems).toEqual([expect.stringMatching(/^1: cannot read this document: its aliases expand to \d+ nodes, \d+% of them from aliases \(an alias bomb/)]);
  });
});
