import { execFileSync, spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { Problem } from './problems';

const TOOLS = join(__dirname, '..', '..', 'scripts', 'validate-tools');
const ROOT = join(__dirname, '..', '..');
export const KUBECONFIG = join(process.env.VALIDATE_TOOLS_DIR ?? join(ROOT, '.tools'), 'run', 'kubeconfig');
const KUBECTL = join(process.env.VALIDATE_TOOLS_DIR ?? join(ROOT, '.tools'), 'bin', 'kubectl');

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
export function kubectl(args: string[], input?: string) {
  return spawnSync(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], { encoding: 'utf-8', input });
}

/** The documents of a file as their original text, with the object each names. */
function documents(file: string): Array<{ text: string; object: string; line: number }> {
  const source = readFileSync(file, 'utf-8');
  const lines = new LineCounter();
  return parseAllDocuments(source, { version: '1.1', lineCounter: lines, uniqueKeys: false })
    .filter((doc) => doc.contents !== null)
    .map((doc) => {
      const [start, , end] = doc.range;
      const js: any = doc.errors.length === 0 ? doc.toJS() : {};
      return { text: source.slice(start, end), object: `${js?.kind ?? '?'}/${js?.metadata?.name ?? '?'}`, line: lines.linePos(start).line };
    });
}

/**
 * kubectl's error text → field problems. Handles the API server's two forms:
 * `Kind "name" is invalid: [path: message, path: message]` (validation), and
 * decoding errors (`strict decoding error: unknown field "spec.x"`,
 * `cannot unmarshal number into Go struct field EnvVar.spec.containers.env.value`).
 */
export function parseKubectlErrors(stderr: string): Array<{ path?: string; message: string }> {
  const found: Array<{ path?: string; message: string }> = [];
  for (const line of stderr.split('\n').map((l) => l.trim()).filter((l) => l.length > 0)) {
    const invalid = /is invalid: (.*)$/.exec(line);
    if (invalid) {
      const body = invalid[1].replace(/^\[(.*)\]$/, '$1');
      for (const part of body.split(/, (?=[a-zA-Z][\w.[\]-]*: )/)) {
        const m = /^([a-zA-Z][\w.[\]-]*): (.*)$/.exec(part);
        found.push(m ? { path: m[1], message: m[2] } : { message: part });
      }
      continue;
    }
    const unknown = [...line.matchAll(/unknown field "([^"]+)"/g)];
    if (unknown.length > 0) {
      unknown.forEach((u) => found.push({ path: u[1], message: 'unknown field' }));
      continue;
    }
    const unmarshal = /cannot unmarshal (\w+) into Go struct field \w+\.([\w.]+) of type (\w+)/.exec(line);
    if (unmarshal) {
      found.push({ path: unmarshal[2], message: `${unmarshal[1]} given where the API wants ${unmarshal[3]}` });
      continue;
    }
    if (/^(Error|error)/.test(line)) {
      found.push({ message: line.replace(/^Error from server \(\w+\): /, '') });
    }
  }
  return found;
}

/**
 * `kubectl apply --dry-run=server` of every document, one at a time, so each
 * problem is tied to its object: the same check a user gets against a cluster
 * (plus a real create of Services, see below).
 */
export function apiserverProblems(files: string[]): Problem[] {
  const problems: Problem[] = [];
  for (const file of files) {
    for (const doc of documents(file)) {
      let run = kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], doc.text);
      if (run.status === 0 && doc.object.startsWith('Service/')) {
        // Server dry-run skips the NodePort allocator in 1.27, so a nodePort outside
        // 30000-32767 passes it. This API server is private and runs no controllers:
        // create the Service for real (the allocator checks the port), then delete it.
        run = kubectl(['create', '-f', '-'], doc.text);
        if (run.status === 0) kubectl(['delete', '-f', '-', '--wait=false'], doc.text);
      }
      if (run.status === 0) continue;
      for (const e of parseKubectlErrors(run.stderr)) {
        problems.push({ layer: 'apiserver', file, object: doc.object, path: e.path, message: e.message });
      }
    }
  }
  return problems;
}
