import * as fs from 'fs';
import { join } from 'path';
import { App, Chart, Names } from 'cdk8s';
import { checkPolicy, formatViolation } from '../policy/rules';
import { Document, isCollection, isMap, isScalar, isSeq, Scalar, visit, YAMLMap, YAMLSeq } from 'yaml';

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
 * Writes `node` (an env entry, a command...) in flow style, unless a string in
 * it spans lines (a script stays a block, readable in review); its strings that
 * are not plain inside a flow collection for kubectl (plainInFlow) are quoted.
 */
function flowWhenOneLine(node: YAMLMap | YAMLSeq): void {
  const strings: Scalar[] = [];
  let multiLine = false;
  visit(node, {
    Scalar(_key, scalar) {
      if (typeof scalar.value !== 'string') return undefined;
      if (scalar.value.includes('\n')) {
        multiLine = true;
        return visit.BREAK;
      }
      strings.push(scalar);
      return undefined;
    },
  });
  if (multiLine) return;
  node.flow = true;
  for (const scalar of strings) {
    if (!scalar.type?.startsWith('QUOTE') && !plainInFlow(scalar.value as string)) scalar.type = 'QUOTE_DOUBLE';
  }
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
 */
export function manifestsToYaml(docs: unknown[]): string {
  return docs.map((manifest) => {
    if (manifest === undefined) return '\n';
    const doc = new Document(manifest, { keepUndefined: true, version: '1.1' });
    visit(doc, {
      Pair(_key, pair) {
        if (!isScalar(pair.key) || typeof pair.key.value !== 'string') return;
        if (FLOW_ENTRIES.has(pair.key.value) && isSeq(pair.value)) {
          for (const item of pair.value.items) if (isMap(item)) flowWhenOneLine(item);
        } else if (FLOW_VALUES.has(pair.key.value) && isCollection(pair.value)) {
          flowWhenOneLine(pair.value);
        }
      },
      Scalar(_key, node) {
        if (typeof node.value === 'string' && !node.type?.startsWith('QUOTE') && goYamlRetypes(node.value)) node.type = 'QUOTE_DOUBLE';
      },
    });
    return doc.toString({ lineWidth: 0, indentSeq: false, flowCollectionPadding: false });
  }).join('---\n');
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
 * Synthesizes every chart of the app in memory (cdk8s validation and
 * dependency resolution included), one `<chart>.k8s.yaml` per chart as
 * cdk8s's FILE_PER_CHART names them, and checks the policy rules on the
 * result: a violation is a PolicyError before anything is written.
 */
export function synthFiles(app: App): Record<string, string> {
  const files: Record<string, string> = {};
  const all: unknown[] = [];
  for (const chart of app.charts) {
    // App._synthChart: resolve dependencies, run every construct's validation, then toJson.
    const docs: unknown[] = (App as any)._synthChart(chart as Chart);
    files[`${Names.toDnsLabel(chart)}${MANIFEST_SUFFIX}`] = manifestsToYaml(docs);
    all.push(...docs);
  }
  const violations = checkPolicy(all as any[]);
  if (violations.length > 0) throw new PolicyError(violations.map(formatViolation).join('\n'));
  return files;
}
