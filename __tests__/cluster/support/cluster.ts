import { execFileSync, spawnSync, SpawnSyncReturns } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';

/**
 * The single-node cluster of scripts/cluster/cluster.sh, as a test sees it.
 * `npm run test:cluster` (scripts/cluster/test.sh) brings it up, passes its
 * state dir in CLUSTER_STATE_DIR, and takes it down after. Other suites add
 * their cases as more `*.cluster.test.ts` files using these helpers: write a
 * repository with `gitRepo`, synthesize a builds.yaml with `synthTo`, apply
 * the output with `kubectl(['apply', '-f', dir])` as a user would.
 */

export const ROOT = join(__dirname, '..', '..', '..');

/** <statedir>/env.json as written by `cluster.sh up`. */
export interface ClusterEnv {
  readonly stateDir: string;
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly k8sVersion: string;
  readonly nodeName: string;
  readonly nodeIP: string;
  /** The kubelet's clusterDomain, served by the node's CoreDNS (Pods resolve `<svc>.<ns>.svc.<domain>`). */
  readonly clusterDomain: string;
  readonly gitRoot: string;
  readonly gitBase: string;
  readonly dockerHost: string;
  readonly pvDir: string;
  /** Loaded into the node's dockerd: what fixture Dockerfiles build FROM. */
  readonly baseImage: string;
}

export function clusterEnv(): ClusterEnv {
  const dir = process.env.CLUSTER_STATE_DIR;
  if (!dir) {
    throw new Error('CLUSTER_STATE_DIR is not set: run the cluster suite with `npm run test:cluster` (scripts/cluster/test.sh), which brings the cluster up');
  }
  return JSON.parse(readFileSync(join(dir, 'env.json'), 'utf-8')) as ClusterEnv;
}

export interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

function result(r: SpawnSyncReturns<string>): Run {
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** kubectl against the test cluster; never throws (check `status`). */
export function kubectl(env: ClusterEnv, args: string[], input?: string): Run {
  return result(spawnSync(env.kubectl, ['--kubeconfig', env.kubeconfig, ...args], { encoding: 'utf-8', input, timeout: 300_000 }));
}

/** kubectl that must succeed; returns stdout. */
export function kubectlOk(env: ClusterEnv, args: string[], input?: string): string {
  const r = kubectl(env, args, input);
  if (r.status !== 0) {
    throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'cluster-test', GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'cluster-test', GIT_COMMITTER_EMAIL: 'test@example.invalid', GIT_CONFIG_NOSYSTEM: '1',
};
const git = (args: string[], cwd: string) => execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf-8' }).trim();

/** Commits all of `work` on `main` (and `tags`) and pushes it to a new bare `<name>.git` of the git daemon. */
function serveDir(env: ClusterEnv, name: string, work: string, tags: string[]): { url: string; commit: string } {
  git(['init', '-q', '-b', 'main'], work);
  git(['add', '-A'], work);
  git(['commit', '-qm', `${name} fixture`], work);
  for (const tag of tags) git(['tag', tag], work);
  const bare = join(env.gitRoot, `${name}.git`);
  git(['init', '-q', '--bare', bare], tmpdir());
  git(['push', '-q', '--force', bare, 'main', ...tags], work);
  return { url: `${env.gitBase}${name}.git`, commit: git(['rev-parse', 'HEAD'], work) };
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/**
 * A bare repository `<name>.git` served by the node's git daemon, with one
 * commit of `files` on `main` (and `tags`). Returns its URL and commit SHA.
 */
export function gitRepo(env: ClusterEnv, name: string, files: Record<string, string>, tags: string[] = []): { url: string; commit: string } {
  const work = mkdtempSync(join(tmpdir(), `repo-${name}-`));
  writeFiles(work, files);
  return serveDir(env, name, work, tags);
}

/** A new commit of `files` on `main` of a repository made by `gitRepo`, pushed as a developer would; returns its SHA. */
export function gitCommit(env: ClusterEnv, name: string, files: Record<string, string>): string {
  const work = mkdtempSync(join(tmpdir(), `push-${name}-`));
  git(['clone', '-q', '-b', 'main', join(env.gitRoot, `${name}.git`), work], tmpdir());
  writeFiles(work, files);
  git(['add', '-A'], work);
  git(['commit', '-qm', `${name}: ${Object.keys(files).join(', ')}`], work);
  git(['push', '-q', 'origin', 'HEAD:main'], work);
  return git(['rev-parse', 'HEAD'], work);
}

/**
 * This repository as its working tree is now (every file git tracks or would add, uncommitted
 * changes too), one commit on `main` of a bare `<name>.git` served by the node's git daemon:
 * what a test builds from it is what is being tested.
 */
export function gitRepoOfWorktree(env: ClusterEnv, name: string): { url: string; commit: string } {
  const work = mkdtempSync(join(tmpdir(), `repo-${name}-`));
  const files = git(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT).split('\0').filter((f) => f && existsSync(join(ROOT, f)));
  for (const f of files) {
    mkdirSync(join(work, f, '..'), { recursive: true });
    copyFileSync(join(ROOT, f), join(work, f));
  }
  return serveDir(env, name, work, []);
}

/**
 * Writes a builds.yaml text into a fresh directory and runs `npm run <script>` on it
 * (BUILDS_CONFIG), as a user would, with its output in `<that dir>/<out>`.
 */
function synthWith(buildsYaml: string, out: string, script: (target: string) => { args: string[]; env: Record<string, string> }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cluster-dist-'));
  const config = join(dir, 'builds.yaml');
  writeFileSync(config, buildsYaml);
  const target = join(dir, out);
  const { args, env } = script(target);
  const r = spawnSync('npm', ['run', '-s', ...args], {
    cwd: ROOT, encoding: 'utf-8', env: { ...process.env, BUILDS_CONFIG: config, ...env },
  });
  if (r.status !== 0) {
    throw new Error(`npm run ${args.join(' ')} of\n${buildsYaml}\nfailed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  }
  return target;
}

/** Synthesizes a builds.yaml text into a fresh directory with `npm run synth` (as a user would). */
export function synthTo(buildsYaml: string): string {
  return synthWith(buildsYaml, 'dist', (target) => ({ args: ['synth'], env: { CDK8S_OUTDIR: target } }));
}

/** Writes the Helm chart of a builds.yaml text into a fresh directory with `npm run synth:helm -- --out DIR`. */
export function synthChartTo(buildsYaml: string): string {
  return synthWith(buildsYaml, 'chart', (target) => ({ args: ['synth:helm', '--', '--out', target], env: {} }));
}

/**
 * The project's pinned helm (scripts/validate-tools/helm.sh: VALIDATE_TOOLS_DIR's build, its
 * own config and cache) against the test cluster; never throws (check `status`).
 */
export function helm(env: ClusterEnv, args: string[]): Run {
  return result(spawnSync('bash', [join(ROOT, 'scripts', 'validate-tools', 'helm.sh'), ...args, '--kubeconfig', env.kubeconfig],
    { cwd: ROOT, encoding: 'utf-8', timeout: 300_000 }));
}

/** helm that must succeed; returns stdout. */
export function helmOk(env: ClusterEnv, args: string[]): string {
  const r = helm(env, args);
  if (r.status !== 0) {
    throw new Error(`helm ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/** Every object of a synthesized dir. */
export function objectsOf(dir: string): any[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf-8')).map((d) => d.toJS()))
    .filter((o) => o);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => T | undefined, describe?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `:\n${describe()}` : ''}`);
    }
    await sleep(500);
  }
}

/** The JSON of one object, or undefined when it does not exist. */
export function getJson(env: ClusterEnv, args: string[]): any {
  const r = kubectl(env, ['get', ...args, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) : undefined;
}

export function jobCondition(job: any, type: string): boolean {
  return (job?.status?.conditions ?? []).some((c: any) => c.type === type && c.status === 'True');
}

/** `-n NAMESPACE` for kubectl, or nothing (kubectl's default namespace). */
const inNamespace = (namespace?: string): string[] => (namespace ? ['-n', namespace] : []);

/** The log of a Job's attempt that succeeded (`kubectl logs job/...` shows the first attempt's). */
export function logsOfSuccess(env: ClusterEnv, job: string, args: string[] = [], namespace?: string): string {
  const pods = getJson(env, ['pods', ...inNamespace(namespace), '-l', `job-name=${job}`, '--field-selector=status.phase=Succeeded']).items;
  if (pods.length !== 1) throw new Error(`Job ${job}: ${pods.length} succeeded Pods\n${describeState(env)}`);
  return kubectlOk(env, ['logs', ...inNamespace(namespace), pods[0].metadata.name, ...args]);
}

/** The Jobs of a synthesized dir, by name. */
export function jobNames(dir: string): string[] {
  return objectsOf(dir).filter((o) => o.kind === 'Job').map((o) => o.metadata.name);
}

/** Until each Job is Complete or Failed (check which with jobCondition). */
export async function waitJobsFinished(env: ClusterEnv, names: string[], timeoutMs = 240_000, namespace?: string): Promise<void> {
  for (const name of names) {
    await waitFor(`Job ${name} to finish`, timeoutMs, () => {
      const job = getJson(env, ['job', name, ...inNamespace(namespace)]);
      return jobCondition(job, 'Complete') || jobCondition(job, 'Failed') ? true : undefined;
    }, () => describeState(env));
  }
}

/** What a failing wait prints: the objects and recent events. */
export function describeState(env: ClusterEnv): string {
  return [
    kubectl(env, ['get', 'all,pvc,pv', '-A', '-o', 'wide']).stdout,
    kubectl(env, ['get', 'events', '-A', '--sort-by=.lastTimestamp']).stdout.split('\n').slice(-25).join('\n'),
  ].join('\n');
}

/** HTTP GET against the registry's NodePort from the node (kube-proxy answers on 127.0.0.0/8). */
export async function registryGet(nodePort: number, path: string, accept?: string): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`http://127.0.0.1:${nodePort}${path}`, { headers: accept ? { Accept: accept } : {} });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

export const MANIFEST_TYPES = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, '
  + 'application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json';

/** Records what the run built, for the summary line of scripts/cluster/test.sh. */
export function recordImages(env: ClusterEnv, names: string[]): void {
  const file = join(env.stateDir, 'images-pulled.txt');
  writeFileSync(file, names.map((n) => `${n}\n`).join(''), { flag: 'a' });
}

/**
 * What the registry needs before dist/ or the chart is applied, made as an operator would:
 * a StorageClass and a local PersistentVolume on the node for its claim, and the two Secrets
 * of the README's set-up (the push account, bcrypt by `htpasswd -B`; dist/ only names them)
 * in `namespace` (default: kubectl's, `default`). Returns the push account.
 */
export function createRegistryPrerequisites(env: ClusterEnv, storage: { storageClass: string; pv: string; path: string }, namespace?: string): { username: string; password: string } {
  mkdirSync(storage.path, { recursive: true });
  kubectlOk(env, ['apply', '-f', '-'], `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ${storage.storageClass}}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: ${storage.pv}}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ${storage.storageClass}
  local: {path: ${storage.path}}
  nodeAffinity:
    required:
      nodeSelectorTerms:
        - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [${env.nodeName}]}]
`);
  // The README's set-up block, as written: the two Secrets an operator creates.
  const setUp = readmeShell(env, namespace ?? 'default', readmeShellBlock('**Set-up**'));
  if (setUp.status !== 0) throw new Error(`the README's Set-up block failed (exit ${setUp.status}):\n${setUp.stderr}${setUp.stdout}`);
  const ns = inNamespace(namespace);
  const field = (key: string) => Buffer.from(kubectlOk(env, ['get', 'secret', 'registry-push', ...ns, '-o', `jsonpath={.data.${key}}`]), 'base64').toString('utf-8');
  return { username: field('username'), password: field('password') };
}

/** The first ```sh block of README.md after the line that starts with `marker`. */
export function readmeShellBlock(marker: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf-8');
  const at = readme.split('\n').findIndex((line) => line.startsWith(marker));
  const block = at < 0 ? undefined : /```sh\n([\s\S]*?)```/.exec(readme.split('\n').slice(at).join('\n'))?.[1];
  if (block === undefined) throw new Error(`README.md has no \`\`\`sh block after a line starting ${JSON.stringify(marker)}`);
  return block;
}

/**
 * Runs README shell text as an operator would (bash -euo pipefail), with
 * `kubectl` this cluster's, in `namespace`; `vars` go into its env. `cwd`: where
 * it works (files one block leaves for the next); default a fresh directory.
 */
export function readmeShell(env: ClusterEnv, namespace: string, script: string, vars: Record<string, string> = {}, cwd?: string): Run {
  const dir = mkdtempSync(join(tmpdir(), 'readme-'));
  try {
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'kubectl'), `#!/bin/sh\nexec '${env.kubectl}' --kubeconfig '${env.kubeconfig}' -n '${namespace}' "$@"\n`, { mode: 0o755 });
    return result(spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: cwd ?? dir, encoding: 'utf-8', env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, ...vars },
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Until the registry answers an anonymous read on its NodePort: a Deployment is Available
 * before kube-proxy has written the NodePort's rules for the new Pod's endpoint.
 */
export async function waitForRegistryNodePort(nodePort: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await registryGet(nodePort, '/v2/_catalog').catch(() => ({ status: 0 }))).status !== 200) {
    if (Date.now() > deadline) throw new Error(`the registry NodePort ${nodePort} did not answer within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}
