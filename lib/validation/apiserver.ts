import { execFileSync, spawnSync } from 'child_process';
import { dirname, join } from 'path';
import { exitText, runTool, ToolRun, toolText } from './kubeconform';
import { JSON_STREAM, ManifestDoc, ManifestFile, refOf } from './manifests';
import { objectProblem, Problem } from './problems';
import { DNS_LABEL_PATTERN } from '../plan/naming';
import { projectPath } from '../project-root';

const TOOLS = projectPath('scripts/validate-tools');
const ROOT = dirname(dirname(TOOLS));
const TOOLS_DIR = process.env.VALIDATE_TOOLS_DIR ?? join(ROOT, '.tools');
export const KUBECONFIG = join(TOOLS_DIR, 'run', 'kubeconfig');
export const KUBECTL = join(TOOLS_DIR, 'bin', 'kubectl');

function apiserverScript(command: 'start' | 'stop' | 'status'): { status: number | null; output: string } {
  const run = spawnSync('bash', [join(TOOLS, 'apiserver.sh'), command], { encoding: 'utf-8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/**
 * Starts etcd + kube-apiserver on 127.0.0.1 (building them on first use) and
 * returns a function that stops them again, unless they were already running
 * before: then they are left as found.
 */
export function startApiServer(): () => void {
  const wasRunning = apiserverScript('status').status === 0;
  if (!wasRunning) {
    execFileSync('bash', [join(TOOLS, 'install-apiserver.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    const started = apiserverScript('start');
    if (started.status !== 0) {
      apiserverScript('stop');
      throw new Error(`the local API server did not start:\n${started.output}`);
    }
  }
  return () => {
    if (!wasRunning) apiserverScript('stop');
  };
}

/** Runs the kubectl built from the same Kubernetes source as the API server. */
export function kubectl(args: string[], input?: string, kubeconfig = KUBECONFIG) {
  return spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf-8', input, maxBuffer: 256 * 1024 * 1024 });
}

/** One field problem read from kubectl's text. */
export interface KubectlError {
  readonly path?: string;
  readonly message: string;
}

/** One error kubectl printed, with what it says about the object it belongs to. */
export interface KubectlBlock {
  /** The whole error, on one line. */
  readonly text: string;
  readonly kind?: string;
  readonly name?: string;
  /**
   * The error names no object (the connection, the tool, or text in no form
   * this reader knows): it explains every object kubectl did not confirm, and
   * is pinned on none of them.
   */
  readonly global: boolean;
  readonly errors: KubectlError[];
}

// field.ErrorType strings (k8s.io/apimachinery/pkg/util/validation/field).
const FIELD_ERROR_TYPES = 'Invalid value|Required value|Unsupported value|Duplicate value|Forbidden|Too long|Too many|Not found|Internal error';
const FIELD_ERROR = new RegExp(`^([A-Za-z][\\w.\\[\\]/-]*): ((?:${FIELD_ERROR_TYPES}).*)$`, 's');
const BETWEEN_FIELD_ERRORS = new RegExp(`, (?=[A-Za-z][\\w.\\[\\]/-]*: (?:${FIELD_ERROR_TYPES}))`);
const BLOCK_START = /^(Error from server|error:|Error:|error when|The \S+ "[^"]*" is invalid|The connection to the server|Unable to connect|Unable to recognize|unable to recognize|Warning:)/;

/** The field errors in the text after `is invalid:`: the bracket form `[a, b]`, the bulleted form, or one error. */
function fieldErrors(body: string): KubectlError[] {
  const trimmed = body.trim();
  const parts = trimmed.startsWith('* ')
    ? trimmed.split(/\n\* /).map((p) => p.replace(/^\* /, ''))
    : trimmed.replace(/^\[(.*)\]$/s, '$1').split(BETWEEN_FIELD_ERRORS);
  return parts.map((p) => p.replace(/\s*\n\s*/g, ' ').trim()).filter((p) => p).map((part) => {
    const m = FIELD_ERROR.exec(part);
    return m ? { path: m[1], message: m[2] } : { message: part };
  });
}

function readBlock(raw: string): KubectlBlock {
  const text = raw.replace(/\s*\n\s*/g, ' ').trim();
  const body = raw.replace(/^Error from server \([\w ]+\): /, '').replace(/^error: /, '')
    .replace(/^error when (creating|patching|applying patch|retrieving current configuration of)[^]*?(from server for|"[^"]*"): /, '');
  let kind: string | undefined;
  let name: string | undefined;
  let errors: KubectlError[];
  const invalid = /^(?:The )?(\w+)(?:\.[\w.]+)? "([^"]*)" is invalid: ?([^]*)$/.exec(body);
  const undecodable = /^(\w+) in version "[^"]*" cannot be handled as a \w+: ([^]*)$/.exec(body);
  if (invalid) {
    [, kind, name] = invalid;
    errors = fieldErrors(invalid[3]);
  } else if (undecodable) {
    kind = undecodable[1];
    const detail = undecodable[2].replace(/\s*\n\s*/g, ' ');
    const fields = [...detail.matchAll(/(unknown|duplicate) field "([^"]+)"/g)];
    const unmarshal = /cannot unmarshal (\w+) into Go struct field \w+\.([\w.]+) of type ([\w.]+)/.exec(detail);
    if (fields.length > 0) errors = fields.map((f) => ({ path: f[2], message: `${f[1]} field` }));
    else if (unmarshal) errors = [{ path: unmarshal[2], message: `${unmarshal[1]} given where the API wants ${unmarshal[3]}` }];
    else errors = [{ message: detail }];
  } else {
    const named = /Name: "([^"]*)"/.exec(raw) ?? /for name: "([^"]*)"/.exec(raw) ?? /^(\w+)(?:\.[\w.]+)? "([^"]*)"/.exec(body);
    if (named) name = named[named.length - 1];
    if (named && named.length === 3) kind = named[1];
    const kindMatch = /no matches for kind "(\w+)"/.exec(raw) ?? /GroupVersionKind: "[^"]*Kind=(\w+)"/.exec(raw);
    if (kindMatch) kind = kindMatch[1];
    errors = [{ message: text.replace(/^Error from server \([\w ]+\): /, '').replace(/^error: /, '') }];
  }
  const global = kind === undefined && name === undefined;
  return { text, kind, name, global, errors };
}

/** kubectl's stderr → its error blocks (warnings dropped). */
export function parseKubectlOutput(stderr: string): KubectlBlock[] {
  const blocks: string[] = [];
  for (const line of stderr.split('\n')) {
    if (line.trim() === '') continue;
    if (blocks.length === 0 || BLOCK_START.test(line)) blocks.push(line);
    else blocks[blocks.length - 1] += `\n${line}`;
  }
  return blocks.filter((b) => !b.startsWith('Warning:')).map(readBlock);
}

/**
 * kubectl's error text → field problems, one per field: the API server's
 * `Kind "name" is invalid: [path: message, path: message]`, kubectl's own
 * bulleted form (`* path: message` per line), and decoding errors (`strict
 * decoding error: unknown field "spec.x"`, `cannot unmarshal number into Go
 * struct field EnvVar.spec.containers.env.value`).
 */
export function parseKubectlErrors(stderr: string): KubectlError[] {
  return parseKubectlOutput(stderr).flatMap((b) => b.errors);
}

/** `deployment.apps/registry`: how `kubectl -o name` names an object. */
function outputName(doc: ManifestDoc): string {
  const group = doc.ref.apiVersion?.includes('/') ? doc.ref.apiVersion.split('/')[0] : '';
  return `${(doc.ref.kind ?? '').toLowerCase()}${group ? `.${group}` : ''}/${doc.ref.name ?? ''}`;
}

/**
 * Maps one kubectl run over several objects back to them. Objects kubectl
 * names on stdout (`-o name`) passed; each error block goes to the first
 * failed object it fits (kubectl reports in document order). Fails closed:
 * an object neither confirmed nor explained is a problem carrying kubectl's
 * text, and so is an error no object explains.
 */
export function mapKubectlRun(docs: ManifestDoc[], run: ToolRun): { passed: ManifestDoc[]; problems: Problem[] } {
  const confirmed = new Map<string, number>();
  if (!run.error && run.signal === null) {
    for (const line of run.stdout.split('\n').map((l) => l.trim()).filter((l) => l)) confirmed.set(line, (confirmed.get(line) ?? 0) + 1);
  }
  const passed: ManifestDoc[] = [];
  const failed: ManifestDoc[] = [];
  for (const doc of docs) {
    const key = outputName(doc);
    const left = confirmed.get(key) ?? 0;
    if (left > 0) {
      confirmed.set(key, left - 1);
      passed.push(doc);
    } else {
      failed.push(doc);
    }
  }
  const problems: Problem[] = [];
  if (failed.length === 0 && (run.status === 0 || run.error || run.signal)) {
    return { passed, problems };
  }
  const blocks = run.error || run.signal ? [] : parseKubectlOutput(run.stderr);
  const explained = new Map<ManifestDoc, KubectlBlock[]>();
  const unplaced: KubectlBlock[] = [];
  const globals = blocks.filter((b) => b.global);
  let next = 0;
  for (const block of blocks.filter((b) => !b.global)) {
    // `Name: ""` is kubectl's word for an object without a name.
    const fits = (d: ManifestDoc) => (block.name === undefined || (d.ref.name ?? '') === block.name)
      && (block.kind === undefined || d.ref.kind?.toLowerCase() === block.kind.toLowerCase());
    let at = failed.findIndex((d, i) => i >= next && fits(d));
    if (at < 0) at = failed.findIndex((d) => fits(d) && !explained.has(d));
    if (at < 0) {
      unplaced.push(block);
      continue;
    }
    explained.set(failed[at], [...(explained.get(failed[at]) ?? []), block]);
    next = at + 1;
  }
  for (const doc of failed) {
    const mine = explained.get(doc);
    if (mine) {
      for (const block of mine) {
        for (const e of block.errors) problems.push(objectProblem('apiserver', doc.ref, e.message, e.path));
      }
    } else {
      const why = globals.length > 0 ? globals.map((b) => b.text).join(' | ') : toolText(run);
      problems.push(objectProblem('apiserver', doc.ref, `not checked: kubectl did not confirm this object (${exitText(run)}): ${why}`));
    }
  }
  if (unplaced.length > 0) {
    const file = docs[0]?.ref.file ?? '(unknown file)';
    for (const block of unplaced) problems.push({ layer: 'apiserver', file, message: `kubectl reported an error no object explains: ${block.text}` });
  }
  if (run.status !== 0 && problems.length === 0) {
    problems.push({ layer: 'apiserver', file: docs[0]?.ref.file ?? '(unknown file)', message: `kubectl failed (${exitText(run)}) although every object was confirmed: ${toolText(run)}` });
  }
  return { passed, problems };
}

export interface ApiServerOptions {
  /** Kubeconfig of the API server (default: the local one in .tools/run). */
  readonly kubeconfig?: string;
  /**
   * The kubectl to run. Tests put stand-ins here for what the real one cannot
   * be made to print.
   * @default the kubectl built with the API server (.tools/bin/kubectl)
   */
  readonly kubectl?: string;
  /** Per kubectl run; a run that takes longer is stopped and its objects are problems. */
  readonly timeoutMs?: number;
  /** Objects per kubectl run (a large file is sent in parts, for progress). */
  readonly chunkSize?: number;
  /** Called after each kubectl run: objects checked so far, of how many. */
  readonly onProgress?: (done: number, total: number, file: string) => void | Promise<void>;
}

/**
 * The documents as one stream for kubectl. kubectl reads a stream that starts
 * with `{` as JSON objects only: JSON documents (a JSON file's, a list's items)
 * go as such a stream; among YAML documents, one that starts with `{` comes
 * after a comment line, so that the stream stays YAML.
 */
function joinDocs(docs: ManifestDoc[]): string {
  const texts = docs.map((d) => d.text.replace(/^---[^\n]*\n/, ''));
  const isJson = (t: string) => {
    if (!JSON_STREAM.test(t)) return false;
    try {
      JSON.parse(t);
      return true;
    } catch {
      return false;
    }
  };
  if (texts.every(isJson)) return texts.join('\n');
  return texts.map((t) => (JSON_STREAM.test(t) ? `# a flow mapping\n${t}` : t)).join('\n---\n');
}

/**
 * What is sent of a file, one entry per object kubectl applies: each document
 * read as an object, and instead of a list (ManifestDoc.items) its items, each
 * as JSON with its own identity, so that kubectl's answer for an item maps to
 * the item's line. Documents the yaml layer could not read are left to it.
 */
function appliedDocs(file: ManifestFile): ManifestDoc[] {
  return file.docs.flatMap((d) => (d.items
    ? d.items.map((item): ManifestDoc => ({ ref: refOf(item)!, text: `${JSON.stringify(item)}\n`, manifest: item }))
    : d.manifest ? [d] : []));
}

/** Creates every namespace the objects name (for real: the server is private), so their objects can be checked. */
async function ensureNamespaces(docs: ManifestDoc[], kubectlBin: string, kubeconfig: string): Promise<void> {
  const names = new Set<string>();
  for (const d of docs) if (d.ref.namespace && DNS_LABEL_PATTERN.test(d.ref.namespace)) names.add(d.ref.namespace);
  names.delete('default');
  if (names.size === 0) return;
  const text = [...names].sort().map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n`).join('---\n');
  // Errors show up again, per object, in the dry run below.
  await runTool(kubectlBin, ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: text, timeoutMs: 60_000 });
}

/**
 * The API-server layer: `kubectl apply --dry-run=server --validate=strict`,
 * one kubectl per file (a large file in parts), with every result mapped back
 * to its object. Services are then created for real and deleted, because
 * server dry-run skips the NodePort allocator in 1.27 (a nodePort outside
 * 30000-32767 would pass). Namespaces the objects name are created first.
 */
export async function apiserverProblems(files: ManifestFile[], options: ApiServerOptions = {}): Promise<Problem[]> {
  const kubeconfig = options.kubeconfig ?? KUBECONFIG;
  const kubectlBin = options.kubectl ?? KUBECTL;
  const chunkSize = options.chunkSize ?? 250;
  const base = ['--kubeconfig', kubeconfig, '--request-timeout=30s'];
  const problems: Problem[] = [];
  const applied = files.map(appliedDocs);
  await ensureNamespaces(applied.flat(), kubectlBin, kubeconfig);
  const total = applied.reduce((n, docs) => n + docs.length, 0);
  let done = 0;
  for (const [f, file] of files.entries()) {
    const docs = applied[f];
    for (let start = 0; start < docs.length; start += chunkSize) {
      const part = docs.slice(start, start + chunkSize);
      const timeoutMs = options.timeoutMs ?? 60_000 + 100 * part.length;
      const dryRun = await runTool(kubectlBin, [...base, 'apply', '--dry-run=server', '--validate=strict', '-o', 'name', '-f', '-'], { input: joinDocs(part), timeoutMs });
      const checked = mapKubectlRun(part, dryRun);
      problems.push(...checked.problems);
      // One of each (namespace, name): a second create of the same Service would only say "already exists".
      const seen = new Set<string>();
      const services = checked.passed.filter((d) => d.ref.kind === 'Service' && d.ref.apiVersion === 'v1')
        .filter((d) => !seen.has(`${d.ref.namespace}/${d.ref.name}`) && seen.add(`${d.ref.namespace}/${d.ref.name}`));
      if (services.length > 0) {
        const created = await runTool(kubectlBin, [...base, 'create', '-o', 'name', '-f', '-'], { input: joinDocs(services), timeoutMs });
        problems.push(...mapKubectlRun(services, created).problems);
        await runTool(kubectlBin, [...base, 'delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: joinDocs(services), timeoutMs });
      }
      done += part.length;
      await options.onProgress?.(done, total, file.file);
    }
  }
  return problems;
}
