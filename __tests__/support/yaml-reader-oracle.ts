/**
 * The manifest reader as it was before js-yaml (lib/validation/manifests.ts at
 * c307d91): the `yaml` package's Parser and Composer, YAML 1.1, unique keys.
 * Kept as the oracle of the differential test (__tests__/validation/reader.test.ts):
 * where js-yaml's reader gives something else, the test says which of the two
 * kubectl agrees with.
 */
import { Composer, isMap, isScalar, isSeq, LineCounter, Parser } from 'yaml';
import type { Manifest } from '../../lib/policy/rules';
import type { ManifestDoc, ManifestFile, ObjectRef } from '../../lib/validation/manifests';
import type { Problem } from '../../lib/validation/problems';

const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** kind, apiVersion and metadata of a document the reader refused, as far as they can be read. */
function identityOf(doc: { toJS(options: { maxAliasCount: number }): unknown }): any {
  try {
    const js: any = doc.toJS({ maxAliasCount: 1000 });
    return { kind: js?.kind, apiVersion: js?.apiVersion, metadata: js?.metadata };
  } catch {
    return {};
  }
}

/** The reader as it was (the `yaml` package, YAML 1.1), for one file's text. */
export function oracleParseManifestText(source: string, file: string): ManifestFile {
  const linesBefore = 0;
  const lines = new LineCounter();
  // parseAllDocuments, one document at a time: each document's syntax tree is dropped as soon as
  // it is read, instead of all of them living until the end (on 3 MB, that was a third of the time in GC).
  const composer = new Composer({ version: '1.1', uniqueKeys: true, prettyErrors: false });
  const problems: Problem[] = [];
  const found: ManifestDoc[] = [];
  for (const doc of composer.compose(new Parser(lines.addNewLine).parse(source))) {
    // Empty documents, comment-only documents and a trailing `---` hold no object: kubectl skips them.
    const empty = doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null && doc.contents.source === '');
    if (empty && doc.errors.length === 0) continue;
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const line = lines.linePos(start).line + linesBefore;
    const [docStart, , docEnd] = doc.range;
    const text = source.slice(docStart, docEnd);
    let manifest: Manifest | undefined;
    if (doc.errors.length === 0 && isMap(doc.contents)) {
      try {
        const js = doc.toJS({ maxAliasCount: 1000 });
        if (js !== null && typeof js === 'object' && !Array.isArray(js)) manifest = js;
      } catch (e) {
        problems.push({ layer: 'yaml', file, line, message: `cannot read this document: ${(e as Error).message.split('\n')[0]}` });
      }
    }
    // A document with YAML errors has no object, but its identity is still what its text says
    // (`Pod/web`, not "(no kind) (no name)"), as far as the parser could read it.
    const m: any = manifest ?? (isMap(doc.contents) ? identityOf(doc) : {});
    const ref: ObjectRef = {
      kind: str(m.kind), apiVersion: str(m.apiVersion), namespace: str(m.metadata?.namespace), name: str(m.metadata?.name),
      file, line, index: found.length,
    };
    for (const e of doc.errors) {
      const pos = lines.linePos(e.pos[0]);
      problems.push({ layer: 'yaml', file, line: pos.line + linesBefore, message: `${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')} (column ${pos.col})` });
    }
    if (doc.errors.length === 0 && !isMap(doc.contents)) {
      const what = isSeq(doc.contents) ? 'a list' : 'a single value';
      problems.push({ layer: 'yaml', file, line, message: `this document is ${what}, not a Kubernetes object (a mapping with apiVersion, kind and metadata)` });
    }
    found.push({ ref, text, manifest });
  }
  return { file, docs: found, problems };
}
