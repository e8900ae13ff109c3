import { constructFromEvents, EVENT_ID, Event, parseEvents } from 'js-yaml';
import { documentTexts, KUBECTL_SCHEMA, NOT_PLAIN, parseManifestText, plainObject } from '../../lib/validation/manifests';
import { corpus, mutationBases } from '../support/reader-differential';
import { AWKWARD_SCALARS, mutate, random } from '../support/yaml-mutants';

/**
 * The reader builds most documents in one pass over js-yaml's events
 * (plainObject) and leaves the rest to js-yaml's constructor. Wherever the
 * one pass answers, it must answer exactly what the constructor does (same
 * values, same key order) for a document kubectl can send (no yaml-layer
 * problem); and it must leave every case it does not handle to the
 * constructor.
 */

/** The events of one document's text, and where its content is (as the reader walks them), or undefined when js-yaml refuses the text. */
function documentEvents(text: string): { events: Event[]; from: number; to: number } | undefined {
  let events: Event[];
  try {
    events = parseEvents(text, { maxDepth: 1000 });
  } catch {
    return undefined;
  }
  if (events.length < 3 || events[0].type !== EVENT_ID.DOCUMENT) return undefined;
  return { events, from: 1, to: events.length - 1 };
}

const oneDocument = (text: string) => {
  const at = documentEvents(text);
  if (!at) throw new Error(`not one document: ${text}`);
  return plainObject(text, at.events, at.from, at.to);
};

/** Each document of the corpus and of 600 random edits of it, as the reader cuts them. */
function documents(): string[] {
  const bases = mutationBases();
  const texts = [...corpus().map(([, text]) => text), ...Array.from({ length: 600 }, (_, seed) => mutate(bases[seed % bases.length][1], random(seed)).text)];
  return texts.flatMap((text) => documentTexts(text));
}

const isMapping = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);

test('corpus and 600 random edits: where the one pass answers, it is what js-yaml constructs, and the reader finds no problem in such an object', () => {
  let answered = 0;
  const differ: string[] = [];
  for (const text of documents()) {
    const at = documentEvents(text);
    if (!at || at.events.filter((e) => e.type === EVENT_ID.DOCUMENT).length !== 1) continue;
    const mine = plainObject(text, at.events, at.from, at.to);
    if (mine === NOT_PLAIN) continue;
    answered++;
    const theirs = constructFromEvents(at.events, { schema: KUBECTL_SCHEMA, source: text })[0];
    // JSON text, so that key order counts too (kubeconform and the API server get the objects in this order).
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) differ.push(text);
    // (Not counted: what go-yaml refuses in the text itself, a tab or a `\/`, found whichever way the object is built: goRefusals.)
    else if (isMapping(mine) && parseManifestText(text, 'x.yaml').problems.some((p) => !p.message.startsWith('kubectl (go-yaml) '))) differ.push(`(a problem the one pass did not see) ${text}`);
  }
  expect(differ).toEqual([]);
  expect(answered).toBeGreaterThan(500);
});

test("every object of dist/ and chart/ is built in one pass (the constructor is the exception, not the rule)", () => {
  const ours = corpus().filter(([name]) => /^(dist|chart)\//.test(name)).flatMap(([, text]) => documentTexts(text));
  expect(ours.length).toBeGreaterThan(10);
  expect(ours.filter((text) => oneDocument(text) === NOT_PLAIN)).toEqual([]);
});

test('awkward plain scalars as values: typed as the constructor types them', () => {
  for (const scalar of AWKWARD_SCALARS) {
    const text = `a: ${scalar}\nb: [${scalar}]\n`;
    const mine = oneDocument(text);
    if (mine === NOT_PLAIN) continue; // a tag (`!!str 12`): the constructor's
    expect([scalar, mine]).toEqual([scalar, constructFromEvents(documentEvents(text)!.events, { schema: KUBECTL_SCHEMA, source: text })[0]]);
  }
});

test.each([
  ['a tag', 'a: !!str 12\n'],
  ['a tag on a collection', 'a: !!map {b: c}\n'],
  ['an anchor', 'a: &x 1\nb: 2\n'],
  ['an alias', 'a: &x 1\nb: *x\n'],
  ['a merge key', 'a: {b: 1}\n<<: {c: 2}\n'],
  ['a merge key in a flow mapping', 'a: {b: 1, <<: {c: 2}}\n'],
  ['a number as key', '80: http\n'],
  ['a boolean as key', 'on: push\n'],
  ['a null key', '~: x\n'],
  ['an empty key', ': x\n'],
  ['a collection as key', '? [a]\n: 1\n'],
  ['a __proto__ key', '__proto__: {polluted: true}\n'],
  ['a key every object has', 'data: {constructor: x}\n'],
  ['a duplicate key', 'a: 1\nb: 2\na: 3\n'],
  ['infinity', 'a: .inf\n'],
  ['NaN in a list', 'a: [1, .nan]\n'],
  ['an implicit key of more than 1024 characters', `${'k'.repeat(1030)}: v\n`],
  ['a quoted implicit key of about 1024 characters', `"${'k'.repeat(1022)}": v\n`],
])('%s: left to the constructor', (_what, text) => {
  expect(oneDocument(text)).toBe(NOT_PLAIN);
});

test('a key of exactly what go-yaml takes is still built in one pass, with its value', () => {
  expect(oneDocument(`${'k'.repeat(1000)}: v\n`)).toEqual({ ['k'.repeat(1000)]: 'v' });
});
