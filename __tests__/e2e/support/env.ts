import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { delimiter, join } from 'path';

/**
 * The end-to-end environment of scripts/e2e/env.sh: podman serving the Docker
 * API on a unix socket, a Distribution registry and a git daemon, all on
 * 127.0.0.1, all state in one directory.
 */

export const ROOT = join(__dirname, '..', '..', '..');
export const ENV_SH = join(ROOT, 'scripts', 'e2e', 'env.sh');

/** Group "e2e" of scripts/debian-packages.txt, the one list of Debian packages. */
export const APT_PACKAGES = readFileSync(join(ROOT, 'scripts', 'debian-packages.txt'), 'utf-8')
  .split('\n')
  .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
  .filter(([name, ...groups]) => name !== '' && groups.includes('e2e'))
  .map(([name]) => name)
  .join(' ');
const INSTALL_HINT = `install them with:\n  apt-get update && apt-get install -y --no-install-recommends ${APT_PACKAGES}\n`
  + 'plus the docker CLI (client only, e.g. the static docker binary from download.docker.com) on PATH.\n'
  + 'See scripts/e2e/README.md.';

/** <statedir>/env.json as written by `env.sh up`. */
export interface E2EEnv {
  readonly stateDir: string;
  readonly dockerHost: string;
  readonly dockerSocket: string;
  readonly dockerConfig: string;
  readonly gitBase: string;
  readonly gitPort: number;
  readonly gitRoot: string;
  readonly registry: string;
  readonly registryPort: number;
  readonly registryUrl: string;
  readonly baseImage: string;
  /** The push account (htpasswd) of the registry's auth proxy. */
  readonly registryUsername: string;
  readonly registryPassword: string;
  /** The registry itself, behind the proxy (for the garbage collector and size checks). */
  readonly registryBackendUrl: string;
  readonly registryConfig: string;
  readonly registryData: string;
  readonly maintenanceDir: string;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/**
 * Fails with one message listing everything missing, and the apt line that
 * installs it. env.sh checks the same (exit 3), but not the docker CLI, and a
 * message before anything starts is clearer than a failed `up`.
 */
export function checkPrerequisites(): void {
  const missing: string[] = [];
  const need = (what: string, found: boolean) => { if (!found) missing.push(what); };
  for (const cmd of ['podman', 'conmon', 'runc', 'docker-registry', 'nginx', 'htpasswd', 'git', 'curl', 'setsid', 'unshare', 'sh', 'bash']) {
    need(`${cmd} (command)`, onPath(cmd));
  }
  need('/usr/lib/git-core/git-daemon (package git)', existsSync('/usr/lib/git-core/git-daemon'));
  need('/bin/busybox (package busybox-static)', existsSync('/bin/busybox'));
  need('/etc/containers/policy.json (package golang-github-containers-common, pulled in by podman)', existsSync('/etc/containers/policy.json'));
  need('docker (the docker CLI, client only)', onPath('docker'));
  if (missing.length > 0) {
    throw new Error(`e2e prerequisites missing:\n  ${missing.join('\n  ')}\n${INSTALL_HINT}`);
  }
}

/** True when nothing listens on 127.0.0.1:port (nor on the wildcard address, which would make this bind fail). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A currently free port in [low, high], picked at random, not in `exclude`. */
export async function freePortIn(low: number, high: number, exclude: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (!exclude.includes(port) && await portIsFree(port)) {
      return port;
    }
  }
  throw new Error(`no free port in ${low}-${high} after 200 tries`);
}

/** A port nothing listens on right now (kernel-chosen, then released). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `env.sh up <dir> <registryPort>`. On failure env.sh has already stopped what
 * it started; its stderr (and the tail of the logs it prints) is in the error.
 */
export function envUp(stateDir: string, registryPort: number): E2EEnv {
  const result = spawnSync('bash', [ENV_SH, 'up', stateDir, String(registryPort)], { encoding: 'utf-8', timeout: 240_000 });
  if (result.status !== 0) {
    const hint = result.status === 3 ? `\n${INSTALL_HINT}` : '';
    throw new Error(`env.sh up ${stateDir} ${registryPort} failed (exit ${result.status ?? result.signal}):\n${result.stderr}${hint}`);
  }
  return JSON.parse(readFileSync(join(stateDir, 'env.json'), 'utf-8')) as E2EEnv;
}

/** `env.sh down <dir>`: idempotent, safe when `up` failed or never ran. */
export function envDown(stateDir: string): void {
  execFileSync('bash', [ENV_SH, 'down', stateDir], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000 });
}

/**
 * A watchdog for the whole run: a detached `sh` (own session, so a Ctrl-C to
 * jest's process group does not reach it) blocked reading a pipe from this
 * process. When the pipe closes (stopReaper, or jest dying by any signal,
 * SIGKILL included, where afterAll never runs) it runs `env.sh down <stateDir>`
 * and removes `tmpRoot`. Node creates its pipes close-on-exec, so nothing else
 * started later holds the pipe open.
 */
export function startReaper(stateDir: string, tmpRoot: string): ChildProcess {
  const script = 'cat >/dev/null; bash "$1" down "$2" >/dev/null 2>&1; rm -rf "$3"';
  return spawn('sh', ['-c', script, 'e2e-reaper', ENV_SH, stateDir, tmpRoot], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
}

/** Ends the watchdog (after the normal cleanup, its `down` finds nothing to do) and waits for it. */
export function stopReaper(reaper: ChildProcess, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (reaper.exitCode !== null || reaper.signalCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => reject(new Error(`e2e reaper (pid ${reaper.pid}) did not exit within ${timeoutMs} ms`)), timeoutMs);
    reaper.once('exit', () => { clearTimeout(timer); resolve(); });
    reaper.stdin?.end();
  });
}

/** builds.yaml's registry.nodePort must be a NodePort: the e2e registry listens on one. */
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

/** An environment of env.sh as a suite runs it: its temp dir (state dir below), the env, the watchdog. */
export interface RunningEnv {
  readonly tmp: string;
  readonly stateDir: string;
  readonly env: E2EEnv;
  readonly reaper: ChildProcess;
}

/**
 * What every e2e suite's beforeAll starts with: the prerequisites, a temp dir
 * (short: env.sh puts a unix socket below it, < 108 bytes), the reaper (afterAll
 * does not run when jest is interrupted or killed), and `env.sh up` with the
 * registry on a free NodePort-range port, so builds.yaml's registry.nodePort is
 * where it listens. On failure it stops what it started, then throws.
 */
export async function startEnv(tmpPrefix: string): Promise<RunningEnv> {
  checkPrerequisites();
  const base = tmpdir().length <= 40 ? tmpdir() : '/tmp';
  const tmp = mkdtempSync(join(base, tmpPrefix));
  const stateDir = join(tmp, 's');
  const reaper = startReaper(stateDir, tmp);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return { tmp, stateDir, reaper, env: envUp(stateDir, await freePortIn(NODE_PORT_MIN, NODE_PORT_MAX)) };
      } catch (e: any) {
        // Someone took the port between our check and the registry's bind: try another.
        if (attempt >= 3 || !/already in use/.test(String(e.message))) throw e;
      }
    }
  } catch (e) {
    await stopEnv({ tmp, stateDir, reaper });
    throw e;
  }
}

/** `env.sh down`, the temp dir removed, the watchdog ended: safe after a failed or partial start. */
export async function stopEnv(running: Omit<RunningEnv, 'env'> | undefined): Promise<void> {
  if (!running) return;
  try {
    envDown(running.stateDir);
  } finally {
    rmSync(running.tmp, { recursive: true, force: true });
    await stopReaper(running.reaper);
  }
}

/** What a docker CLI run printed (stdout and stderr together) and its exit code. */
export interface DockerResult {
  readonly code: number | null;
  readonly out: string;
}

/**
 * The docker CLI against env.sh's Docker API (podman), with `config` as its client
 * configuration (logins go there) and nothing else of this process's environment but PATH.
 */
export function docker(env: E2EEnv, config: string, args: string[], input?: string): DockerResult {
  const r = spawnSync('docker', args, {
    input, encoding: 'utf-8', timeout: 180_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DOCKER_HOST: env.dockerHost, DOCKER_CONFIG: config, DOCKER_BUILDKIT: '0' },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** docker() that must succeed: throws with what it printed otherwise; returns that. */
export function dockerOk(env: E2EEnv, config: string, args: string[], input?: string): string {
  const r = docker(env, config, args, input);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code ?? 'on a signal'}:\n${r.out}`);
  return r.out;
}
