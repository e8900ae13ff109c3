import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseManifestText, refOf } from '../../lib/validation/manifests';
import { cutIntoShares, readInWorker, readManifestFiles, readParts } from '../../lib/validation/parallel-reader';
import { ROOT } from '../support/synth';

/**
 * The reader on several threads gives exactly what the one-thread reader
 * gives: the same objects, identities (file, line, index), texts and
 * problems, for inputs cut at every place a cut can go wrong.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const build = require('../../scripts/build.js');
const WORKER = join(build.OUT, 'validate-worker.js');
beforeAll(() => build.ensureBuilt(), 5 * 60_000);

const DIST = readFileSync(join(ROOT, 'dist', 'image-builder.k8s.yaml'), 'utf-8');
const pod = (name: string, extra = '') => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  containers:\n  - name: c\n    image: "x:1"${extra}\n`;
const many = (n: number, at: (i: number) => string) => Array.from({ length: n }, (_, i) => at(i)).join('---\n');

const INPUTS: Record<string, Record<string, string>> = {
  'dist/ three times, in three files': { 'a.yaml': DIST, 'b.yaml': DIST, 'c.yaml': DIST },
  'one large file': { 'big.yaml': many(400, (i) => pod(`p${i}`)) },
  'a YAML error late in a large file (read whole again)': { 'bad.yaml': `${many(300, (i) => pod(`p${i}`))}---\nkey: [unclosed\n---\n${pod('after')}` },
  'duplicate keys and non-objects in parts': { 'x.yaml': many(300, (i) => (i % 97 === 0 ? 'a: 1\na: 2\n' : i % 101 === 0 ? '- a list\n' : pod(`p${i}`))) },
  'comments, empty documents, markers with content and "..."': { 'c.yaml': many(300, (i) => (i % 7 === 0 ? '# only a comment\n' : i % 11 === 0 ? '' : i % 13 === 0 ? `${pod(`p${i}`)}...\n` : pod(`p${i}`))).replace(/---\n(apiVersion: v1\nkind: Pod\nmetadata: \{name: p5\})/g, '--- # marker comment\n$1') },
  'directives (never cut)': { 'd.yaml': `%YAML 1.1\n---\n${many(300, (i) => pod(`p${i}`))}` },
  'block scalars that hold "---" indented': { 's.yaml': many(300, (i) => pod(`p${i}`).replace('spec:', `metadata2: |\n  ---\n  not a marker\nspec:`)) },
  'unnamed objects and the same name twice': { 'u.yaml': many(300, (i) => (i % 2 === 0 ? pod('same') : 'apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n')) },
};

/** What the one-thread reader says, in plain data (manifest, identity, text, problems). */
const plain = (files: ReturnType<typeof parseManifestText>[]) => files.map((f) => ({
  file: f.file, problems: f.problems, docs: f.docs.map((d) => ({ ref: d.ref, text: d.text, manifest: d.manifest })),
}));

describe.each(Object.entries(INPUTS))('%s', (_what, input) => {
  const dir = mkdtempSync(join(tmpdir(), 'parallel-reader-'));
  const names = Object.keys(input).map((f) => join(dir, f));
  Object.entries(input).forEach(([f, text]) => writeFileSync(join(dir, f), text));
  const sources = Object.values(input);
  const expected = () => plain(names.map((file, i) => parseManifestText(sources[i], file)));

  test.each([2, 3, 4])('%i threads (worker threads, build/validate-worker.js): the one-thread result', async (threads) => {
    const files = await readManifestFiles(names, sources, { threads, workerScript: WORKER, minBytes: 0 });
    expect(plain(files)).toEqual(expected());
    // Every object read elsewhere has its identity here.
    for (const f of files) for (const d of f.docs) if (d.manifest) expect(refOf(d.manifest)).toBe(d.ref);
  });

  test('the cut really cuts: more than one part', () => {
    const shares = cutIntoShares(names.map((file, i) => ({ file, text: sources[i] })), 3);
    expect(shares.flat().map((p) => p.text).join('')).toBe(sources.join(''));
    if (!/^%/m.test(sources.join(''))) expect(shares.flat().length).toBeGreaterThan(1);
  });
});

test('a worker that cannot start: its parts are read here, same result', async () => {
  const text = many(300, (i) => pod(`p${i}`));
  const files = await readManifestFiles(['w.yaml'], [text], { threads: 2, workerScript: '/nonexistent/worker.js', minBytes: 0 });
  expect(plain(files)).toEqual(plain([parseManifestText(text, 'w.yaml')]));
});

test('the compiled worker reads (the tests above do not pass by falling back to this thread)', async () => {
  const parts = cutIntoShares([{ file: 'big.yaml', text: many(300, (i) => pod(`p${i}`)) }], 2)[1];
  const read = await readInWorker(WORKER, parts);
  expect(read).toBeDefined();
  expect(plain(read!)).toEqual(plain(readParts(parts)));
  expect(read![0].docs[0].ref.line).toBeGreaterThan(1);
});
