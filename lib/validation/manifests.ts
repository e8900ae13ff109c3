import { readFileSync } from 'fs';
import { Composer, isMap, isScalar, isSeq, LineCounter, Parser } from 'yaml';
import type { Manifest } from '../policy/rules';
import type { Problem } from './problems';

/**
 * The one manifest reader of `npm run validate` and the cdk8s policy plugin.
 * Each file is read and parsed once, as kubectl reads it (YAML 1.1: an unquoted
 * `on` is a boolean), and every object gets one identity that all layers
 * (policy, kubeconform, API server) report against.
 */

/** Which object a problem is about: the identity shared by every layer. */
export interface ObjectRef {
  readonly kind?: string;
  readonly apiVersion?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** The file, as given on the command line (or relative to the working directory). */
  readonly file: string;
  /** 1-based line where the object starts in `file`. */
  readonly line: number;
  /** 0-based position among the objects of `file`. */
  readonly index: number;
}

/** One object (non-empty YAML document) of a file. */
export interface ManifestDoc {
  readonly ref: ObjectRef;
  /** The document's own text, exactly as in the file (what kubectl and kubeconform are given). */
  readonly text: string;
  /** The parsed object; undefined when the document has YAML errors or is not a mapping. */
  readonly manifest?: Manifest;
}

export interface ManifestFile {
  readonly file: string;
  readonly docs: ManifestDoc[];
  /** YAML-layer problems: syntax errors, duplicate keys, documents that are not objects. */
  readonly problems: Problem[];
}

const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** `Pod/web`, `Pod/web (namespace team-a)`, `Pod (no name)`, `(no kind)/web`. */
export function describeObject(ref: ObjectRef): string {
  const kind = ref.kind ?? '(no kind)';
  const base = ref.name !== undefined ? `${kind}/${ref.name}` : `${kind} (no name)`;
  return ref.namespace !== undefined ? `${base} (namespace ${ref.namespace})` : base;
}

const refs = new WeakMap<object, ObjectRef>();

/** The identity of an object this reader produced (undefined for objects from elsewhere). */
export function refOf(manifest: Manifest): ObjectRef | undefined {
  return refs.get(manifest);
}

/** kind, apiVersion and metadata of a document the reader refused, as far as they can be read. */
function identityOf(doc: { toJS(options: { maxAliasCount: number }): unknown }): any {
  try {
    const js: any = doc.toJS({ maxAliasCount: 1000 });
    return { kind: js?.kind, apiVersion: js?.apiVersion, metadata: js?.metadata };
  } catch {
    return {};
  }
}

/**
 * Reads one file; never throws for its content, only for I/O (see readManifestFile).
 * `linesBefore`: the text is a part of `file` that starts after this many lines
 * (lib/validation/parallel-reader.ts reads large files in parts).
 */
export function parseManifestText(source: string, file: string, linesBefore = 0): ManifestFile {
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
    if (manifest) refs.set(manifest, ref);
    found.push({ ref, text, manifest });
  }
  return { file, docs: found, problems };
}

/** Gives objects read in another thread (a structured clone) their identities here. */
export function adoptDocs(docs: ManifestDoc[]): void {
  for (const d of docs) if (d.manifest) refs.set(d.manifest, d.ref);
}

/** Reads a file from disk; a file that cannot be read is a problem, not an exception. */
export function readManifestFile(file: string): ManifestFile {
  let source: string;
  try {
    source = readFileSync(file, 'utf-8');
  } catch (e: any) {
    return { file, docs: [], problems: [{ layer: 'files', file, message: `cannot read the file (${e.code ?? e.message})` }] };
  }
  return parseManifestText(source, file);
}
