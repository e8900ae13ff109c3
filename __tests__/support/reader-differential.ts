/**
 * The differential test's shared part: the corpus (dist/, chart/, the test
 * fixtures), the two readers side by side, and the mutants on which they
 * disagree. Used by __tests__/validation/reader.test.ts (the readers against
 * each other) and __tests__/server/reader-kubectl.test.ts (kubectl decides
 * where they disagree).
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { isDeepStrictEqual } from 'util';
import { ManifestFile, parseManifestText } from '../../lib/validation/manifests';
import { ROOT } from './synth';
import { Disagreement, mutate, random } from './yaml-mutants';
import { oracleParseManifestText } from './yaml-reader-oracle';

export const CORPUS_DIRS = ['dist', 'chart/templates', '__tests__/fixtures/manifests/bad', '__tests__/fixtures/manifests/good'];

/** Every manifest file of the corpus: [path relative to the repository, text]. */
export function corpus(): Array<[string, string]> {
  return CORPUS_DIRS.flatMap((dir) => readdirSync(join(ROOT, dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()
    .map((f): [string, string] => [`${dir}/${f}`, readFileSync(join(ROOT, dir, f), 'utf-8')]));
}

/** The objects as JSON would carry them (what kubectl sends): a Date or a NaN shows. */
export const asJson = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? `number ${x}` : x)) ?? 'null');

/** What the two readers are compared on: each object's identity and line, its object, and the lines with problems. */
export function view(f: ManifestFile) {
  return {
    docs: f.docs.map((d) => ({ ref: d.ref, manifest: d.manifest === undefined ? undefined : asJson(d.manifest) })),
    problemLines: f.problems.map((p) => p.line),
  };
}

/** The objects read without problems, in order. */
export const goodObjects = (f: ManifestFile) => f.docs.flatMap((d) => (d.manifest ? [asJson(d.manifest)] : []));

/** Mutants are made from small texts: each fixture whole, and the first three documents of dist/ and chart/. */
export function mutationBases(): Array<[string, string]> {
  return corpus().map(([name, text]): [string, string] => [name, /^(dist|chart)\//.test(name) ? text.split(/^(?=---)/m).slice(0, 3).join('') : text]);
}

/**
 * The mutants of seeds [0, count) on which the readers disagree. They agree
 * when they give the same objects, identities, lines and problem lines; or,
 * when both report a problem (an edit that breaks YAML: each reports its first
 * error its own way), when they find the same number of documents and the same
 * objects in the documents without problems.
 */
export function disagreements(count: number): Disagreement[] {
  const bases = mutationBases();
  const found: Disagreement[] = [];
  for (let seed = 0; seed < count; seed++) {
    const [source, base] = bases[seed % bases.length];
    const mutant = mutate(base, random(seed));
    const mine = parseManifestText(mutant.text, 'm.yaml');
    const theirs = oracleParseManifestText(mutant.text, 'm.yaml');
    const a = view(mine);
    const b = view(theirs);
    if (isDeepStrictEqual(a, b)) continue;
    const mineBad = mine.problems.length > 0;
    const theirsBad = theirs.problems.length > 0;
    if (mineBad && theirsBad && mine.docs.length === theirs.docs.length && isDeepStrictEqual(goodObjects(mine), goodObjects(theirs))) continue;
    const problems = mineBad && theirsBad ? 'both' : mineBad ? 'new' : theirsBad ? 'oracle' : 'neither';
    found.push({ seed, source, mutant, problems });
  }
  return found;
}

/**
 * A ConfigMap that uses one anchor 12,000 times and merges a 20-key anchor into 600 mappings
 * (12,000 merged keys): kubectl reads it (__tests__/server/reader-kubectl.test.ts), so the reader
 * must too; a cap of 10,000 aliases or merged keys refused it.
 */
export const MANY_ALIASES = [
  'apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: many, labels: {a: &v x}}',
  `m: &m {${Array.from({ length: 20 }, (_, n) => `m${n}: v`).join(', ')}}`,
  'data:', ...Array.from({ length: 12_000 }, (_, n) => `  k${n}: *v`),
  'spec:', ...Array.from({ length: 600 }, (_, n) => `- {<<: *m, own: ${n}}`),
].join('\n');

/**
 * A 1,000-item anchor used 300 times, then 20,000 plain items: go-yaml checks its alias ratio at
 * every node it decodes, so kubectl refuses it as "excessive aliasing" before the plain items
 * dilute the ratio (__tests__/server/reader-kubectl.test.ts); a check of the final totals read it.
 */
export const ALIASING_EARLY = [
  'apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: early}',
  `a: &a [${Array(1000).fill('x').join(', ')}]`,
  `b: [${Array(300).fill('*a').join(', ')}]`,
  `c: [${Array(20_000).fill('y').join(', ')}]`,
].join('\n');

/**
 * A List of `n` ConfigMaps, each merging (`<<: *m`) a 20-key anchor: go-yaml counts neither the `<<`
 * key nor a list given as its value, so its alias ratio passes at about 24,500 items; kubectl
 * reads 24,000 and refuses 25,000 as "excessive aliasing" (__tests__/server/reader-kubectl.test.ts).
 */
export function mergedList(n: number): string {
  const m = Array.from({ length: 20 }, (_, k) => `m${k}: v`).join(', ');
  return ['apiVersion: v1', 'kind: List', `x: &m {${m}}`, 'items:',
    ...Array.from({ length: n }, (_, i) => `- {apiVersion: v1, kind: ConfigMap, metadata: {name: c${i}}, data: {<<: *m}}`)].join('\n');
}
