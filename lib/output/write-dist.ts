import * as fs from 'fs';
import { join } from 'path';
import { App, Chart, Names } from 'cdk8s';
import { checkPolicy, formatViolation } from '../policy/rules';
import { Document, Scalar, YAMLMap } from 'yaml';

/**
 * Writing dist/: YAML that kubectl reads back as written, and a folder that
 * is never lost or half-written.
 */

const GO_YAML_WORDS = new Set([
  '', '~', 'null', 'Null', 'NULL',
  'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'true', 'True', 'TRUE',
  'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF', 'false', 'False', 'FALSE',
  '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF', '.nan', '.NaN', '.NAN', '<<',
]);

/**
 * True when kubectl (sigs.k8s.io/yaml, i.e. go-yaml v2, YAML 1.1) would read
 * this string, written plain, as something else: a boolean (`on`, `Y`), null,
 * or a number in any form Go's strconv takes once underscores are dropped
 * (`0X1F`, `0B11`, `0o17`, `1e1_0`, `1_000`, `0755`), or a timestamp
 * (`2024-01-02`). The `yaml` library's own YAML 1.1 schema misses several of
 * these, so cdk8s would write them plain.
 */
export function goYamlRetypes(value: string): boolean {
  if (GO_YAML_WORDS.has(value)) return true;
  if (!/^[-+.0-9]/.test(value)) return false;
  const plain = value.replace(/_/g, '');
  return /^[-+]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|[0-9]+)$/.test(plain)
    || /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain)
    || /^-?0b[01]+$/.test(plain)
    || /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$/.test(value);
}

/** Lists whose entries are written one to a line, in flow style (`- {name: X, value: y}`). */
export const FLOW_ENTRIES = new Set(['env', 'envFrom', 'volumeMounts', 'volumes']);

/** Short lists and quantity maps written on one line: a container's command and args, its limits and requests. */
export const FLOW_VALUES = new Set(['command', 'args', 'limits', 'requests']);

/**
 * True when a string may stand unquoted inside a flow collection for both
 * readers: kubectl's go-yaml v2 ends a plain scalar in flow context at any of
 * `,?[]{}` and refuses `:` before one of them, where the `yaml` library (YAML
 * 1.2's rules) writes `a?b` plain. So only letters, digits and `_./@+=~%-`,
 * starting with a letter, digit, `_`, `.` or `/`, with `:` only between two of
 * them (`https://host/x.git`, `localhost:30500`); anything else is quoted.
 */
export function plainInFlow(value: string): boolean {
  return /^[A-Za-z0-9_./][A-Za-z0-9_./@+=~%-]*(:[A-Za-z0-9_./@+=~%-]+)*$/.test(value);
}

/**
 * The manifests as YAML, as cdk8s writes them (YAML 1.1, no line wrapping,
 * documents joined by `---`), with three changes that keep what kubectl reads
 * and make dist/ smaller (1,000 builds: `npm run bench`): block sequences
 * unindented under their key, as kubectl and go-yaml write them; the entries
 * of FLOW_ENTRIES one to a line and FLOW_VALUES on one line, in flow style,
 * unless a string in them spans lines;
 * and every string kubectl would retype (goYamlRetypes), or that is not plain
 * inside a flow collection for kubectl (plainInFlow), double-quoted.
 *
 * The text is what a `yaml` Document of the manifest writes with those
 * options, byte for byte, in a fifth of the time (1,000 builds): this code lays
 * out the maps and sequences (cdk8s gives JSON values), and writes a key or
 * value itself only when it is a plain string for certain (PLAIN), `true`,
 * `false`, `null` or a safe integer. Every other scalar (a quoted or
 * multi-line string, a float) is written by `yaml`, in the same place
 * (yamlScalar), so the library decides every hard case.
 * __tests__/output/write-dist.test.ts checks both give the same text.
 */
export function manifestsToYaml(docs: unknown[]): string {
  return docs.map((manifest) => {
    if (manifest === undefined) return '\n';
    if (isCollection(manifest)) {
      noSharedObjects(manifest, new Set());
      return `${blockCollection(manifest, '', false)}\n`;
    }
    const doc = new Document(manifest, DOCUMENT_OPTIONS);
    quoteForKubectl(doc.contents as Scalar, false);
    return doc.toString(TO_STRING_OPTIONS);
  }).join('---\n');
}

const DOCUMENT_OPTIONS = { keepUndefined: true, version: '1.1' } as const;
const TO_STRING_OPTIONS = { lineWidth: 0, indentSeq: false, flowCollectionPadding: false } as const;

/**
 * Strings both readers take as the same string written plain, in a key or a
 * value, block or flow: a letter or `/`, then letters, digits and
 * `_./@+=~%-`, with `:` only between two of those (so plainInFlow holds, and no
 * `: `, ` #`, indicator or trailing `:` that YAML reads as syntax). Not
 * enough alone: GO_YAML_WORDS (`on`, `null`...) and `e5`-like floats of
 * YAML 1.1 are not strings; those go to `yaml`, which quotes them.
 */
const PLAIN = /^(?![eE][-+]?[0-9]+$)[A-Za-z/][A-Za-z0-9_./@+=~%-]*(:[A-Za-z0-9_./@+=~%-]+)*$/;

/** `yaml` writes an implicit key longer than this as an explicit one (`? key`). */
const MAX_IMPLICIT_KEY = 1024;

type Collection = Record<string, unknown> | unknown[];

/** A map or sequence of a manifest; a scalar is false, an object other than a plain object or an array an error. */
function isCollection(value: unknown): value is Collection {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return true;
  throw new Error(`manifestsToYaml: a ${proto?.constructor?.name ?? 'non-JSON'} object in a manifest; cdk8s gives JSON values`);
}

/**
 * `yaml` writes an object met twice in one document as an anchor and aliases
 * (`&a1`, `*a1`), which this writer does not: cdk8s's manifests never share
 * one (they are made fresh by its resolve step), so one that does is an error,
 * not a different text.
 */
function noSharedObjects(value: Collection, seen: Set<object>): void {
  if (seen.has(value)) throw new Error('manifestsToYaml: one object twice in a manifest; cdk8s gives a tree of fresh JSON values');
  seen.add(value);
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (isCollection(item)) noSharedObjects(item, seen);
}

const isEmpty = (value: Collection) => (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0);

/** Where a scalar stands, as far as how `yaml` writes it depends on it (with its indentation). */
type Place = 'key' | 'value' | 'flow key' | 'flow value';

/**
 * A scalar standing at `place`, where `yaml`'s context indentation is
 * `indent`: written here when it is certain (PLAIN, booleans, null, safe
 * integers), else by `yaml`.
 */
function scalar(value: unknown, indent: string, place: Place): string {
  if (typeof value === 'string') {
    if (PLAIN.test(value) && !GO_YAML_WORDS.has(value)) return value;
  } else if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  } else if (value === null) {
    return 'null';
  } else if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
    return String(value);
  }
  return yamlScalar(value, indent, place);
}

/**
 * A map or sequence in block style whose context indentation is `indent`
 * (its first line unindented: the caller writes what comes before it); with
 * `flowEntries`, a sequence's maps that fit on one line are written in flow style.
 */
function blockCollection(value: Collection, indent: string, flowEntries: boolean): string {
  const itemIndent = `${indent}  `;
  let text = '';
  if (Array.isArray(value)) {
    for (const item of value) {
      let itemText: string;
      if (!isCollection(item)) itemText = scalar(item, itemIndent, 'value');
      else itemText = (flowEntries && !Array.isArray(item) && flowCollection(item, itemIndent)) || blockCollection(item, itemIndent, false);
      text += text === '' ? `- ${itemText}` : `\n${indent}- ${itemText}`;
    }
    return text === '' ? '[]' : text;
  }
  for (const key of Object.keys(value)) {
    const pair = blockPair(key, value[key], indent);
    text += text === '' ? pair : `\n${indent}${pair}`;
  }
  return text === '' ? '{}' : text;
}

/** `key: value` in a block map whose indentation is `indent`. */
function blockPair(key: string, value: unknown, indent: string): string {
  const inner = `${indent}  `;
  let keyText = scalar(key, inner, 'key');
  const explicitKey = keyText.length > MAX_IMPLICIT_KEY;
  keyText = explicitKey ? `? ${keyText}\n${indent}:` : `${keyText}:`;
  if (!isCollection(value)) return `${keyText} ${scalar(value, inner, 'value')}`;
  const flowText = isEmpty(value) || FLOW_VALUES.has(key) ? flowCollection(value, inner) : undefined;
  if (flowText !== undefined) return `${keyText} ${flowText}`;
  // indentSeq false: the `- ` of a block sequence counts as indentation, so it starts at its key's column
  const valueIndent = Array.isArray(value) && !explicitKey ? indent : inner;
  const valueText = blockCollection(value, valueIndent, FLOW_ENTRIES.has(key));
  return explicitKey ? `${keyText} ${valueText}` : `${keyText}\n${valueIndent}${valueText}`;
}

/**
 * A map or sequence in flow style, on one line, whose context indentation is
 * `indent`; undefined when a string in it (a key included) spans lines: then
 * it stays in block style.
 */
function flowCollection(value: Collection, indent: string): string | undefined {
  // `yaml` indents a flow collection's items one step, and a pair's key and value one more.
  const inner = `${indent}    `;
  const item = (v: unknown): string | undefined => {
    if (isCollection(v)) return flowCollection(v, inner);
    return typeof v === 'string' && v.includes('\n') ? undefined : scalar(v, inner, 'flow value');
  };
  let text = '';
  if (Array.isArray(value)) {
    for (const v of value) {
      const itemText = item(v);
      if (itemText === undefined) return undefined;
      text += text === '' ? itemText : `, ${itemText}`;
    }
    return `[${text}]`;
  }
  for (const key of Object.keys(value)) {
    const itemText = key.includes('\n') ? undefined : item(value[key]);
    if (itemText === undefined) return undefined;
    const pair = `${scalar(key, inner, 'flow key')}: ${itemText}`;
    text += text === '' ? pair : `, ${pair}`;
  }
  return `{${text}}`;
}

/** Double-quotes a string node where kubectl would retype it, or, inside a flow collection, where it is not plain for kubectl there. */
function quoteForKubectl(node: Scalar, inFlow: boolean): void {
  if (typeof node.value === 'string' && (goYamlRetypes(node.value) || (inFlow && !plainInFlow(node.value)))) node.type = 'QUOTE_DOUBLE';
}

/** What yamlScalar has had `yaml` write, by place and indentation, then by value. */
const yamlScalars = new Map<string, Map<unknown, string>>();

/**
 * A scalar as `yaml` writes it at `place` with context indentation `indent`
 * (a block literal's lines are indented by it): `yaml` writes a small
 * document holding it there (yamlScalarDocument), and the scalar is cut out
 * of that text. Cached: dist/'s hard scalars are few (scripts, numbers as strings).
 */
function yamlScalar(value: unknown, indent: string, place: Place): string {
  const where = `${place}:${indent.length}`;
  let written = yamlScalars.get(where);
  if (!written) yamlScalars.set(where, (written = new Map()));
  let text = written.get(value);
  if (text === undefined) {
    text = yamlScalarDocument(value, indent.length / 2, place);
    written.set(value, text);
  }
  return text;
}

/**
 * Has `yaml` write a document where `value` stands at `place` at indentation
 * `depth` steps: block maps `a:` nested to that depth, then `v: VALUE` (a
 * value), `KEY: 0` (a key), or `f: {v: VALUE}` / `f: {KEY: 0}` in flow style
 * (whose scalars are two steps deeper). Returns the scalar's text in it.
 */
function yamlScalarDocument(value: unknown, depth: number, place: Place): string {
  const key = place === 'key' || place === 'flow key';
  const inFlow = place === 'flow key' || place === 'flow value';
  const levels = depth - (inFlow ? 3 : 1);
  if (levels < 0) throw new Error(`manifestsToYaml: no ${place} at depth ${depth}`);
  const leaf = key ? { [value as string]: 0 } : { v: value };
  let contents: Record<string, unknown> = inFlow ? { f: leaf } : leaf;
  for (let i = 0; i < levels; i++) contents = { a: contents };
  const doc = new Document(contents, DOCUMENT_OPTIONS);
  const path = [...Array<string>(levels).fill('a'), ...(inFlow ? ['f'] : [])];
  const map = (path.length > 0 ? doc.getIn(path, true) : doc.contents) as YAMLMap<Scalar, Scalar>;
  map.flow = inFlow;
  const pair = map.items[0];
  quoteForKubectl((key ? pair.key : pair.value) as Scalar, inFlow);
  const text = doc.toString(TO_STRING_OPTIONS);
  let head = '';
  for (let i = 0; i < levels; i++) head += `${'  '.repeat(i)}a:\n`;
  const lastIndent = '  '.repeat(levels);
  head += lastIndent;
  const cut = (before: string, after: string): string | undefined => (text.startsWith(before) && text.endsWith(after)
    && text.length >= before.length + after.length ? text.slice(before.length, text.length - after.length) : undefined);
  let found: string | undefined;
  if (place === 'key') found = cut(`${head}? `, `\n${lastIndent}: 0\n`) ?? cut(head, ': 0\n');
  else if (place === 'flow key') found = cut(`${head}f: {`, ': 0}\n');
  else found = cut(`${head}${inFlow ? 'f: {v: ' : 'v: '}`, inFlow ? '}\n' : '\n');
  if (found === undefined) throw new Error(`manifestsToYaml: yaml wrote ${JSON.stringify(text)} for a ${place} at depth ${depth}`);
  return found;
}

/** The file operations writeDist uses, so tests can make one fail (disk full, read-only). */
export interface DistIo {
  writeFileSync(path: string, data: string): void;
  renameSync(from: string, to: string): void;
  rmSync(path: string, options: { force: boolean }): void;
  readdirSync(path: string): string[];
  mkdirSync(path: string, options: { recursive: boolean }): void;
}

const REAL_IO: DistIo = {
  writeFileSync: (p, d) => fs.writeFileSync(p, d),
  renameSync: (a, b) => fs.renameSync(a, b),
  rmSync: (p, o) => fs.rmSync(p, o),
  readdirSync: (p) => fs.readdirSync(p),
  mkdirSync: (p, o) => { fs.mkdirSync(p, o); },
};

/** What writeDist owns in its folder: the synthesized manifests. Other files are left alone. */
export const MANIFEST_SUFFIX = '.k8s.yaml';

/** A write of dist/ failed; the old dist/ is whole. */
export class OutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputError';
  }
}

/**
 * Makes `dir` hold exactly `files` (name → content) among its `*.k8s.yaml`
 * files, without ever leaving it half-written: every new file is first
 * written next to its final name (`.<name>.tmp`), and only when all are
 * written are they renamed over the old ones (a rename within one folder
 * replaces a file whole); then manifests of builds that no longer exist are
 * removed, so `kubectl apply -f dist/` cannot apply them. If any write fails
 * (disk full, read-only), the temporary files are removed and the old files
 * stay as they were.
 */
export function writeDist(dir: string, files: Record<string, string>, io: DistIo = REAL_IO): void {
  const names = Object.keys(files).sort();
  const temp = (name: string) => join(dir, `.${name}.tmp`);
  try {
    io.mkdirSync(dir, { recursive: true });
    for (const name of names) io.writeFileSync(temp(name), files[name]);
  } catch (e) {
    for (const name of names) {
      try {
        io.rmSync(temp(name), { force: true });
      } catch {
        // nothing more to do: the old dist/ is untouched either way
      }
    }
    throw new OutputError(`cannot write ${dir}/ (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it was left as it was`);
  }
  for (const name of names) io.renameSync(temp(name), join(dir, name));
  for (const entry of io.readdirSync(dir)) {
    if (entry.endsWith(MANIFEST_SUFFIX) && !(entry in files)) io.rmSync(join(dir, entry), { force: true });
  }
}

/** The project's policy rules refused what the app synthesized; nothing was written. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

/**
 * The app's charts in the order cdk8s synthesizes them (App.charts, sorted by
 * their dependencies). One chart needs no sorting: then it is found without
 * App.charts' dependency graph of every construct (0.1 s of a 1,000-build synth).
 */
function chartsOf(app: App): Chart[] {
  const charts = app.node.findAll().filter(Chart.isChart);
  return charts.length === 1 ? charts : app.charts;
}

/**
 * Synthesizes every chart of the app in memory (cdk8s validation and
 * dependency resolution included), one `<chart>.k8s.yaml` per chart as
 * cdk8s's FILE_PER_CHART names them, and checks the policy rules on the
 * result: a violation is a PolicyError before anything is written.
 */
export function synthFiles(app: App): Record<string, string> {
  const files: Record<string, string> = {};
  const all: unknown[] = [];
  for (const chart of chartsOf(app)) {
    // App._synthChart: resolve dependencies, run every construct's validation, then toJson.
    const docs: unknown[] = (App as any)._synthChart(chart as Chart);
    files[`${Names.toDnsLabel(chart)}${MANIFEST_SUFFIX}`] = manifestsToYaml(docs);
    all.push(...docs);
  }
  const violations = checkPolicy(all as any[]);
  if (violations.length > 0) throw new PolicyError(violations.map(formatViolation).join('\n'));
  return files;
}
