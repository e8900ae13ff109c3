import { spawn } from 'child_process';
import { accessSync, constants, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { availableParallelism, tmpdir } from 'os';
import { dirname, join } from 'path';
import { aliasBomb, documentTexts, isObject, linesBeforeContent, ManifestDoc, ManifestFile, ObjectRef, refOf } from './manifests';
import { objectProblem, pointerToPath, Problem } from './problems';
import { projectPath } from '../project-root';

const SCRIPT = projectPath('scripts/validate-tools/kubeconform.sh');

/**
 * The pinned kubeconform with its flags, to be started directly (no bash),
 * when it is in place: the binary and the schemas of the pinned Kubernetes.
 * Otherwise undefined, and the wrapper script (SCRIPT) installs or generates
 * what is missing first. The wrapper's bash, version check and schema check
 * cost ~0.1 s before kubeconform starts: a tenth of a whole run on a
 * 1,000-build dist/. What the wrapper checks first is checked here while
 * kubeconform runs: its version (`-v`, a second process, every run) and
 * `schemasCurrent`, the stamp scripts/validate-tools/k8s-schemas.sh writes for
 * the current swagger.json and converter; a run that fails either is done
 * again through the wrapper.
 */
function directKubeconform(toolsDir?: string): { command: string[]; version: string; schemasCurrent: () => boolean } | undefined {
  try {
    const tools = dirname(SCRIPT);
    const pins = Object.fromEntries(readFileSync(join(tools, 'versions.env'), 'utf-8').split('\n')
      .map((l) => /^([A-Z0-9_]+)=([^$\s]+)$/.exec(l)).filter((m) => m).map((m) => [m![1], m![2]]));
    const dir = toolsDir ?? process.env.VALIDATE_TOOLS_DIR ?? join(dirname(dirname(tools)), '.tools');
    const bin = join(dir, 'bin', 'kubeconform');
    accessSync(bin, constants.X_OK);
    const stamp = join(dir, 'schemas', `${pins.K8S_VERSION}-standalone-strict`, '.stamp');
    const recorded = readSmallFile(stamp)?.trim();
    if (!pins.KUBECONFORM_VERSION || recorded === undefined) return undefined;
    const swagger = join(dir, 'src', 'swagger', pins.K8S_VERSION, 'swagger.json');
    const converter = join(tools, 'openapi2jsonschema.mjs');
    return {
      command: [bin, '-strict', '-summary', '-kubernetes-version', pins.K8S_VERSION.replace(/^v/, ''),
        '-schema-location', join(dir, 'schemas', '{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json')],
      version: pins.KUBECONFORM_VERSION,
      // crypto is loaded only to hash: loading it took ~8 ms of every run, before kubeconform started.
      schemasCurrent: () => hashChecked(join(dir, SCHEMAS_CHECKED), recorded, [stamp, swagger, converter],
        () => process.getBuiltinModule('node:crypto').createHash('sha256').update(readFileSync(swagger)).update(readFileSync(converter)).digest('hex')),
    };
  } catch {
    return undefined;
  }
}

/**
 * In the tools folder, after swagger.json and the converter hashed to what the
 * schemas' stamp says: the stamp and the stats (size, mtime, inode) of the
 * three files. A later run with the same stamp and stats skips the hash (5 MB,
 * ~20 ms of CPU in a run whose 2 cores kubeconform and the parse already keep
 * busy). As for build/ (scripts/build.js): a rewritten or replaced file has
 * another stat, and a stat is trusted only for files last changed RACY_NS
 * before the hash was taken.
 */
const SCHEMAS_CHECKED = '.validate-schemas-checked.json';
const RACY_NS = 2_000_000_000n;

/** Whether `hash()` is `expected`, from the record at `path` when `files` have not changed since it was written. */
function hashChecked(path: string, expected: string, files: string[], hash: () => string): boolean {
  try {
    const atNs = BigInt(Date.now()) * 1_000_000n;
    const stats = files.map((f) => statSync(f, { bigint: true }));
    const inputs = JSON.stringify([expected, ...stats.map((st) => `${st.size}:${st.mtimeNs}:${st.ino}`)]);
    try {
      const last = JSON.parse(readSmallFile(path) ?? 'null');
      if (last?.inputs === inputs && stats.every((st) => st.mtimeNs < BigInt(last.atNs) - RACY_NS)) return true;
    } catch {
      // an unreadable record: hash
    }
    if (hash() !== expected) return false;
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify({ inputs, atNs: String(atNs) }));
      renameSync(tmp, path);
    } catch {
      rmSync(tmp, { force: true }); // a read-only tools folder: hash again next time
    }
    return true;
  } catch {
    return false;
  }
}

/** A regular file of at most 4 KiB as text, else undefined (a FIFO or a device in its place would block the read). */
function readSmallFile(path: string): string | undefined {
  try {
    const st = statSync(path);
    return st.isFile() && st.size <= 4096 ? readFileSync(path, 'utf-8') : undefined;
  } catch {
    return undefined;
  }
}

export interface ToolRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the tool could not be started at all. */
  readonly error?: Error;
}

/** Runs a command without blocking the event loop, so other layers run meanwhile. */
export function runTool(command: string, args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ToolRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let failed: Error | undefined;
    const timer = options.timeoutMs ? setTimeout(() => {
      failed = new Error(`did not finish within ${options.timeoutMs! < 1000 ? `${options.timeoutMs} ms` : `${Math.round(options.timeoutMs! / 1000)} s`} and was stopped`);
      child.kill('SIGKILL');
      // A process it started may still hold the pipes open: stop waiting for them.
      child.stdout.destroy();
      child.stderr.destroy();
    }, options.timeoutMs) : undefined;
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', (e) => { failed = e; });
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin
    child.stdin.end(options.input ?? '');
    child.on('close', (status, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(out).toString('utf-8'), stderr: Buffer.concat(err).toString('utf-8'), error: failed });
    });
  });
}

/** What a tool printed, for a problem message: trimmed, on one line, bounded. */
export function toolText(run: ToolRun): string {
  const text = `${run.stderr}\n${run.stdout}`.trim().replace(/\s*\n\s*/g, ' | ');
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text || '(no output)';
}

export function exitText(run: ToolRun): string {
  if (run.error) return run.error.message;
  return run.signal ? `killed by ${run.signal}` : `exit ${run.status}`;
}

/**
 * The real kubeconform, strict, against the Kubernetes 1.27 schemas the
 * project generates offline (scripts/validate-tools/k8s-schemas.sh).
 *
 * Each result maps back to exactly one object, also unnamed ones and the
 * same Kind/name twice: objects share files only while kubeconform's names
 * for them tell them apart, else they are checked again with a file each
 * (startKubeconform). Fails closed: an object kubeconform does not report on, a
 * status it does not explain, output that is not its JSON report, or an
 * unexpected exit, is a problem carrying kubeconform's own text.
 */
export async function kubeconformProblems(files: ManifestFile[], options: KubeconformOptions = {}): Promise<Problem[]> {
  const docs = files.flatMap((f) => f.docs);
  if (docs.length === 0) return [];
  const started = startKubeconform(docs.map((d) => d.text), options);
  return started.finish(docs);
}

export interface KubeconformOptions {
  /**
   * The kubeconform to run, as command and leading arguments; it is given
   * `-n <cores> -output json -verbose <folder>`. Tests put stand-ins here for what the
   * real binary cannot be made to do (print garbage, hang).
   * @default the pinned kubeconform, strict, offline schemas (scripts/validate-tools/kubeconform.sh)
   */
  readonly command?: string[];
  /**
   * Where the pinned kubeconform and schemas are looked for, to start it
   * without its wrapper script (which always uses the default).
   * @default VALIDATE_TOOLS_DIR, or .tools/ of the project
   */
  readonly toolsDir?: string;
  /**
   * A run that takes longer is stopped, and every object is then a problem.
   * Objects checked again (startKubeconform) are a run of their own, with
   * its own timeout: the wait for them can be up to twice this.
   * @default 60 s + 0.1 s per object
   */
  readonly timeoutMs?: number;
}

/** A kubeconform run under way; `finish` maps its report to the objects. */
export interface KubeconformRun {
  finish(docs: ManifestDoc[]): Promise<Problem[]>;
}

/** Memory-backed /dev/shm when there is one (a run writes and removes its files), else the OS temp folder. */
function scratchRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/**
 * A run hands kubeconform its objects in at most this many files, object n in
 * file `n % FILES`, joined at `---` lines as kubectl and kubeconform cut them.
 * Measured on a generated 1,000-object dist/ (kubeconform -n 2, 2 cores): a
 * file per object took ~35 ms to write and ~10 ms to remove, before and after
 * kubeconform ran; kubeconform itself took 0.80 s on 16 files, 0.81 s on a
 * file per object, 0.91 s on one file, and on 5,000 objects 4.3 CPU-s on 16
 * files against 5.0 on a file per object.
 */
const FILES = 16;

/**
 * Starts kubeconform on these object texts and returns at once, so the caller
 * can parse and run the policy rules meanwhile. The documents read are given
 * to `finish`, in the same order. A result names only its file, kind,
 * apiVersion and name: a file of several objects is used only when its
 * results' names are its objects' signatures, one each, and none is a
 * statusError (`attribute`). Every object of another file (the same name
 * twice, a list, keys kubeconform reads otherwise, objects it cannot read) is
 * checked again in a run with a file each (`filePerObject`), as are, from the
 * start, objects it would not cut out of a shared file as they are
 * (`joinable`).
 */
export function startKubeconform(texts: string[], options: KubeconformOptions = {}, filePerObject = false): KubeconformRun {
  const dir = mkdtempSync(join(scratchRoot(), 'validate-kubeconform-'));
  // An alias bomb is not handed over: go-yaml would expand it in kubeconform's memory (gigabytes for a
  // file of kilobytes) before the reader refuses it.
  const bombs = texts.map(aliasBomb);
  const fileOf = texts.map((text, n) => (bombs[n] ? undefined : filePerObject ? `${n}.yaml` : !joinable(text) ? `alone-${n}.yaml` : `${n % FILES}.yaml`));
  const contents = new Map<string, string[]>();
  fileOf.forEach((name, n) => name !== undefined && pushTo(contents, name, texts[n]));
  for (const [name, parts] of contents) {
    // Each text as it is, then a LF and a `---` line before the next (its own where it starts with one): kubeconform
    // cuts before the LF of "\n---", so it reads each text whole, its last LF included (a block scalar's value ends with it).
    writeFileSync(join(dir, name), parts.map((t, i) => (i === 0 ? t : `\n${t.startsWith('---') ? '' : '---\n'}${t}`)).join(''));
  }
  const timeoutMs = options.timeoutMs ?? 60_000 + 100 * texts.length;
  // One worker per core (kubeconform's default is 4 whatever the machine): on 2 cores shared with
  // the parse and the policy rules, 4 workers cost ~10% more CPU and finish later (npm run bench).
  const workers = String(Math.max(1, availableParallelism()));
  const start = ([command, ...args]: string[]) => runTool(command, [...args, '-n', workers, '-output', 'json', '-verbose', dir], { timeoutMs });
  const direct = options.command ? undefined : directKubeconform(options.toolsDir);
  // Started directly, its version is asked at the same time and its schemas' stamp checked while it
  // runs; another version than the pinned one, or stale schemas, run again through the wrapper, which
  // installs the pinned one and generates the schemas.
  const run = direct
    ? Promise.all([start(direct.command), runTool(direct.command[0], ['-v'], { timeoutMs }), direct.schemasCurrent()])
      .then(([done, version, current]) => (version.stdout.trim() === direct.version && current ? done : start(['bash', SCRIPT])))
    : start(options.command ?? ['bash', SCRIPT]);
  return {
    finish: async (docs) => {
      // The objects' side of the attribution is taken while kubeconform still runs.
      const objects = docs.length === texts.length ? objectSide(docs, fileOf.map((name) => (name === undefined ? undefined : join(dir, name)))) : undefined;
      let again: ManifestDoc[];
      let problems: Problem[];
      try {
        const done = await run;
        if (objects === undefined) throw new Error(`kubeconform was given ${texts.length} objects, the reader found ${docs.length}`);
        const notGiven = docs.flatMap((d, n) => (!bombs[n] ? [] : [objectProblem('kubeconform', d.ref, 'not checked: kubeconform is not run on a document with aliases that the yaml layer refuses (go-yaml could expand them in its memory)')]));
        const attributed = attribute(done, objects);
        again = attributed.again;
        problems = [...notGiven, ...(objects.given.size > 0 ? readReport(done, attributed) : [])];
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      if (again.length > 0) {
        // The texts this run was given (the caller's cut may end a document with a LF its text in the file lacks).
        const indexOf = new Map(docs.map((d, n) => [d, n]));
        problems.push(...await startKubeconform(again.map((d) => texts[indexOf.get(d)!]), options, true).finish(again));
      }
      if (problems.length < 2) return problems;
      // In the order of the objects, a list's items in theirs (kubeconform reports in whatever order its workers finish).
      const order = new Map<ObjectRef, number>();
      docs.forEach((d, n) => [d.ref, ...(d.items ?? []).map((i) => refOf(i)!)].forEach((ref) => order.set(ref, n)));
      const at = (p: Problem) => (p.object ? order.get(p.object) ?? -1 : -1);
      return problems.sort((a, b) => at(a) - at(b) || (a.object?.line ?? 0) - (b.object?.line ?? 0));
    },
  };
}

/**
 * Whether kubeconform, cutting a file of several objects at "\n---"
 * (resource.SplitYAMLDocument, which drops the rest of that line up to a LF),
 * reads this object as it reads it alone: no such cut inside it, and a first
 * line that is `---` alone or with a comment (a blank before its `#`, no lone
 * CR: kubeconform would drop what follows a CR up to the next LF).
 */
function joinable(text: string): boolean {
  const lf = text.indexOf('\n');
  const first = !text.startsWith('---') ? '' : lf < 0 ? text : text.slice(0, lf + 1);
  return /^(?:---[ \t]*(?:[ \t]#[^\r\n]*)?\r?\n)?$/.test(first) && !text.includes('\n---');
}

/** Adds `item` to the list at `key`. */
function pushTo<K, T>(map: Map<K, T[]>, key: K, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}

/** Which object each result of a run is about. */
interface Attribution {
  /** kubeconform's report, parsed; undefined when its output is not JSON. */
  readonly report: any;
  /** The objects this run answers for. */
  readonly docs: ManifestDoc[];
  docOf(result: any): ManifestDoc | undefined;
  /** Whether a result is about an object of `again`. */
  skipped(result: any): boolean;
  /** Objects of files of several that no result names for sure: checked in another run. */
  readonly again: ManifestDoc[];
}

/** A key as Go's encoding/json matches it to a field: ASCII case folded, and ſ and K (Kelvin) as s and k. */
const goFold = (key: string) => (key.includes('\u017f') ? key.replace(/\u017f/g, 's') : key).toLowerCase();

/** Whether every key of `object` that Go's encoding/json would take for one of `fields` is spelled as that field. */
function onlyCanonical(object: Record<string, unknown>, fields: ReadonlySet<string>): boolean {
  for (const key in object) {
    if (!fields.has(key) && FOLDED.has(goFold(key))) return false;
  }
  return true;
}

const TOP_FIELDS: ReadonlySet<string> = new Set(['apiVersion', 'kind', 'metadata']);
const METADATA_FIELDS: ReadonlySet<string> = new Set(['name', 'namespace', 'generateName']);
/** Both sets folded: a key of one set in the other's place (a top-level `name`) also counts, which only makes an object checked again. */
const FOLDED = new Set([...TOP_FIELDS, ...METADATA_FIELDS].map(goFold));

/**
 * What kubeconform should name this object's result by (resource.Signature):
 * kind, apiVersion and name, or generateName with "{{ generateName }}" after
 * it. kubeconform reads them through Go's encoding/json, which matches keys
 * in any case (the last one wins): undefined when such a key is spelled
 * otherwise than the field, a value is not a string, the object is a list to
 * the reader (its items are named per file, in readReport) or to kubeconform
 * (whose result is its items'), or its text holds what go-yaml reads
 * otherwise than the reader (READ_OTHERWISE). Where they still differ, the
 * file's results do not match its objects one to one, and `attribute` sends
 * the file again.
 */
function signature(doc: ManifestDoc): string | undefined {
  const m = doc.manifest;
  if (doc.items !== undefined || !isObject(m) || !onlyCanonical(m, TOP_FIELDS) || READ_OTHERWISE.test(doc.text)) return undefined;
  const { kind, apiVersion } = m;
  const metadata = m.metadata ?? {};
  if (typeof kind !== 'string' || kind === '' || typeof apiVersion !== 'string' || apiVersion === '') return undefined;
  // A list to kubeconform (Resources: kind `list` in Go's lower case, items from a key matching `Items`): it checks the items only.
  if (kind.replace(/\u0130/g, 'i').toLowerCase() === 'list' || Object.keys(m).some((key) => goFold(key) === 'items')) return undefined;
  if (!isObject(metadata) || !onlyCanonical(metadata, METADATA_FIELDS)) return undefined;
  const { name, namespace, generateName } = metadata;
  if ([name, namespace, generateName].some((v) => v !== undefined && typeof v !== 'string')) return undefined;
  const named = typeof generateName === 'string' && generateName !== '' ? `${generateName}{{ generateName }}` : name;
  return named ? signatureKey(kind, apiVersion, named) : undefined;
}

/**
 * Texts whose names the reader may read otherwise than go-yaml: merge keys (go-yaml v2 merges in
 * order, so a later `<<` overrides a key; the reader keeps the key), and NEL, LS and PS, line breaks
 * to go-yaml but not to the reader (in a comment or a plain scalar they can hide keys).
 */
const READ_OTHERWISE = /<<|!!merge|2002:merge|[\u0085\u2028\u2029]/;

/** kind, apiVersion and name as one string, told apart whatever characters they hold. */
const signatureKey = (kind: string, apiVersion: string, name: string) => `${kind.length}:${kind}${apiVersion.length}:${apiVersion}${name}`;

/** A result's file and signature. */
const resultKey = (r: any) => `${r?.filename}\0${signatureKey(String(r?.kind ?? ''), String(r?.version ?? ''), String(r?.name ?? ''))}`;

/** The objects' side of an attribution: which file each went to, and what kubeconform should name each. */
interface ObjectSide {
  /** The objects given, by path of their file. */
  readonly given: Map<string, ManifestDoc[]>;
  /** Objects of files of several, by path and signature (as resultKey spells a result's). */
  readonly named: Map<string, ManifestDoc>;
  /** For each file of several: its objects' keys in `named`, sorted; undefined when one has no signature or shares it. */
  readonly keys: Map<string, string[] | undefined>;
}

function objectSide(docs: ManifestDoc[], paths: Array<string | undefined>): ObjectSide {
  const given = new Map<string, ManifestDoc[]>();
  docs.forEach((d, n) => paths[n] !== undefined && pushTo(given, paths[n]!, d));
  const named = new Map<string, ManifestDoc>();
  const keys = new Map<string, string[] | undefined>();
  for (const [path, inFile] of given) {
    if (inFile.length === 1) continue;
    const fileKeys = inFile.map((d) => {
      const sig = signature(d);
      return sig === undefined ? undefined : `${path}\0${sig}`;
    });
    // An object without a signature, or with another's, is named by no result alone: the file is not trusted.
    const usable = !fileKeys.includes(undefined) && new Set(fileKeys).size === fileKeys.length;
    if (usable) fileKeys.forEach((k, i) => named.set(k!, inFile[i]));
    keys.set(path, usable ? (fileKeys as string[]).sort() : undefined);
  }
  return { given, named, keys };
}

/**
 * A file of several objects is trusted one to one: its results' names are
 * its objects' signatures, one each, and none is a statusError (go-yaml's
 * error counts lines without the `---` line that starts the object, or is
 * about an object kubeconform could not name). Anything else (an object the
 * reader names otherwise than kubeconform, a list's items, the same name
 * twice) sends every object of that file again.
 */
function attribute(run: ToolRun, { given, named, keys }: ObjectSide): Attribution {
  let report: any;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    report = undefined;
  }
  const results: any[] | undefined = (run.status === 0 || run.status === 1) && Array.isArray(report?.resources) ? report.resources : undefined;
  const byFile = new Map([...given].filter(([, docs]) => docs.length === 1).map(([path, [doc]]) => [path, doc]));
  if (results === undefined) {
    // No report: readReport makes every object a problem.
    return { report, docs: [...given.values()].flat(), docOf: (r) => byFile.get(r?.filename), skipped: () => false, again: [] };
  }
  const keyOf = new Map<any, string>();
  const inFile = new Map<string, any[]>();
  for (const r of results) {
    if (!keys.has(r?.filename)) continue;
    keyOf.set(r, resultKey(r));
    pushTo(inFile, r.filename, r);
  }
  const byKey = new Map<string, ManifestDoc>();
  const again: ManifestDoc[] = [];
  for (const [path, expected] of keys) {
    const fileResults = inFile.get(path) ?? [];
    const got = fileResults.map((r) => keyOf.get(r)!).sort();
    // statusError: also a guard that no known input reaches any more (the reader builds no object for what go-yaml
    // cannot read, and READ_OTHERWISE keeps out the rest); its message's line would count without the `---` line.
    if (expected !== undefined && JSON.stringify(got) === JSON.stringify(expected) && fileResults.every((r) => r.status !== 'statusError')) {
      got.forEach((k) => byKey.set(k, named.get(k)!));
    } else {
      again.push(...given.get(path)!);
    }
  }
  const checkedAgain = new Set(again);
  return {
    report,
    docs: [...given.values()].flat().filter((d) => !checkedAgain.has(d)),
    docOf: (r) => byFile.get(r?.filename) ?? byKey.get(keyOf.get(r) ?? ''),
    skipped: (r) => keys.has(r?.filename) && !byKey.has(keyOf.get(r) ?? ''),
    again,
  };
}

/**
 * The objects of a YAML stream as text, cut where the manifest reader cuts
 * them (lines starting with `---`, as kubectl cuts; after a `...` line nothing), without parsing; empty and comment-only
 * documents are dropped, as the reader drops them. Used to start kubeconform
 * before the full parse.
 */
export const splitDocuments = documentTexts;

/**
 * kubeconform's YAML error (go-yaml's, the reader kubectl uses), whose line
 * counts from the start of the object's text: at the file's line, without the
 * layers of wrapping (`error unmarshalling resource: error converting YAML to
 * JSON: yaml: line 6: found unknown escape character`).
 */
const YAML_ERROR = /^error unmarshalling resource: error converting YAML to JSON: yaml: line (\d+): (.+)$/s;

function yamlErrorProblem({ ref, text }: ManifestDoc, msg: string): Problem | undefined {
  const m = YAML_ERROR.exec(msg);
  if (!m) return undefined;
  const line = ref.line - linesBeforeContent(text) + Number(m[1]) - 1;
  return { ...objectProblem('kubeconform', ref, `kubectl cannot read this YAML: ${m[2].replace(/\n\s*/g, ' ')} (go-yaml, the reader kubectl and kubeconform use); fix the YAML at this line`), line };
}

function readReport(run: ToolRun, { report, docs, docOf, skipped }: Attribution): Problem[] {
  const all = docs.map((d) => d.ref);
  const everyObject = (message: string) => all.map((ref) => objectProblem('kubeconform', ref, message));
  if (report === undefined) {
    return everyObject(`not checked: kubeconform did not report (${exitText(run)}): ${toolText(run)}`);
  }
  if (run.status !== 0 && run.status !== 1) {
    return everyObject(`not checked: kubeconform failed (${exitText(run)}): ${toolText(run)}`);
  }
  // kubeconform checks a list's items one by one and names each by kind and name only: a result is
  // about the one item of that kind and name (its own identity and line), or, when several items
  // share them (kubeconform's order tells them not apart), about the list.
  const subject = (doc: ManifestDoc, r: any): ObjectRef => {
    const items = (doc.items ?? []).map((i) => refOf(i)!).filter((ref) => (ref.kind ?? '') === r?.kind && (ref.name ?? '') === r?.name);
    return items.length === 1 ? items[0] : doc.ref;
  };
  const problems: Problem[] = [];
  const reported = new Set<ManifestDoc>();
  let failedElsewhere = false; // a result about an object checked again in another run
  for (const r of Array.isArray(report?.resources) ? report.resources : []) {
    if (skipped(r)) {
      failedElsewhere ||= r?.status !== 'statusValid';
      continue;
    }
    const doc = docOf(r);
    if (!doc) {
      problems.push({ layer: 'kubeconform', file: all[0]?.file ?? String(r?.filename), message: `kubeconform reported on an unknown file: ${JSON.stringify(r)}` });
      continue;
    }
    reported.add(doc);
    // An empty list: kubectl applies nothing, and kubeconform says so with an empty status.
    if (r.status === 'statusValid' || (r.status === '' && doc.items?.length === 0)) continue;
    const ref = subject(doc, r);
    const errors = Array.isArray(r.validationErrors) ? r.validationErrors : [];
    if (r.status === 'statusInvalid' && errors.length > 0) {
      for (const e of errors) {
        // Name the unknown field itself in the path, not just its parent.
        const extra = /^additional properties '([^']+)' not allowed$/.exec(e.msg)?.[1];
        const path = [pointerToPath(String(e.path ?? '')), extra].filter((p) => p).join('.');
        problems.push(objectProblem('kubeconform', ref, extra ? 'unknown field' : String(e.msg), path));
      }
    } else if (r.status === 'statusInvalid' || r.status === 'statusError') {
      const msg = String(r.msg || 'invalid (no reason given)');
      problems.push(yamlErrorProblem(doc, msg) ?? objectProblem('kubeconform', ref, msg.replace(/\n\s*/g, ' ')));
    } else {
      problems.push(objectProblem('kubeconform', ref, `not checked: kubeconform status ${JSON.stringify(r.status)}${r.msg ? `: ${r.msg}` : ''}`));
    }
  }
  for (const doc of docs) {
    if (!reported.has(doc)) problems.push(objectProblem('kubeconform', doc.ref, `not checked: kubeconform did not report on this object (${exitText(run)}): ${toolText(run)}`));
  }
  if (run.status === 1 && problems.length === 0 && !failedElsewhere) {
    problems.push({ layer: 'kubeconform', file: all[0]?.file ?? '', message: `kubeconform failed without naming a problem: ${toolText(run)}` });
  }
  return problems;
}
