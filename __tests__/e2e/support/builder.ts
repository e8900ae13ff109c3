import { ChildProcess, spawn } from 'child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { synthBuilds } from '../../support/synth';
import { BASE_IMAGE } from './fixture';
import { DOCKER_MANIFEST_V2 } from './registry';
import type { Engine } from './suite';

/** A ConfigMap volume of the builder container: where it is mounted, and its files (the ConfigMap's data). */
export interface ConfigMapMount {
  readonly mountPath: string;
  readonly configMap: string;
  readonly files: Record<string, string>;
}

/** The builder container of the one builder Job a builds.yaml synthesizes to. */
export interface BuilderContainer {
  readonly jobName: string;
  readonly command: string[];
  /** The container's plain env values, exactly as in the manifest. */
  readonly env: Record<string, string>;
  /** Its ConfigMap mounts (the build script), resolved from the ConfigMaps of the same output. */
  readonly configMapMounts: ConfigMapMount[];
  /** The container's secretKeyRef env: variable → Secret name, key, and whether the container starts without it. */
  readonly secretEnv: Record<string, { readonly secret: string; readonly key: string; readonly optional: boolean }>;
  /** The container's envFrom Secrets: every key of the Secret as `<prefix><key>`, and whether the container starts without it. */
  readonly secretEnvFrom: Array<{ readonly secret: string; readonly prefix: string; readonly optional: boolean }>;
}

/** Secrets as the cluster would hold them (created out of band): name → key → value. */
export type Secrets = Record<string, Record<string, string>>;

/** The single builder Job's container of a builds.yaml. */
export function synthBuilder(buildsYaml: string): BuilderContainer {
  const manifests = synthBuilds(buildsYaml, 'e2e builds.yaml');
  const jobs = manifests.filter((m) => m.kind === 'Job' && m.metadata?.labels?.['app.kubernetes.io/component'] === 'builder');
  if (jobs.length !== 1) {
    throw new Error(`expected exactly one builder Job, got ${jobs.length}: ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  }
  return builderContainerOf(jobs[0], manifests);
}

/**
 * The one container of a builder Job manifest: its plain env values, its secretKeyRef env
 * and its ConfigMap mounts, resolved from the ConfigMaps in `manifests` (the same output, or
 * the dist/ a triggered Job runs beside). Anything else in its env is an error.
 */
export function builderContainerOf(job: any, manifests: any[]): BuilderContainer {
  const jobName = job.metadata.name as string;
  const containers = job.spec.template.spec.containers as any[];
  if (containers.length !== 1) throw new Error(`expected one container in Job/${jobName}, got ${containers.length}`);
  const container = containers[0];
  const env: Record<string, string> = {};
  const secretEnv: BuilderContainer['secretEnv'] = {};
  for (const e of container.env as any[]) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref && e.value === undefined && Object.keys(e.valueFrom).length === 1) {
      secretEnv[e.name] = { secret: ref.name, key: ref.key, optional: ref.optional === true };
      continue;
    }
    if (typeof e.value !== 'string' || e.valueFrom !== undefined) {
      throw new Error(`env ${e.name} of Job/${jobName} is not a plain string value: ${JSON.stringify(e)}`);
    }
    env[e.name] = e.value;
  }
  const secretEnvFrom = ((container.envFrom ?? []) as any[]).map((from) => {
    if (!from.secretRef || from.configMapRef || Object.keys(from).some((k) => k !== 'secretRef' && k !== 'prefix')) {
      throw new Error(`envFrom of Job/${jobName} is not a Secret: ${JSON.stringify(from)}`);
    }
    return { secret: from.secretRef.name as string, prefix: (from.prefix ?? '') as string, optional: from.secretRef.optional === true };
  });
  const volumes = job.spec.template.spec.volumes as any[];
  const configMapMounts = (container.volumeMounts as any[]).flatMap((vm) => {
    const volume = volumes.find((v) => v.name === vm.name);
    if (!volume?.configMap) return [];
    const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === volume.configMap.name);
    if (!configMap) throw new Error(`Job/${jobName} mounts ConfigMap ${volume.configMap.name}, which is not in the synthesized output`);
    return [{ mountPath: vm.mountPath as string, configMap: configMap.metadata.name as string, files: configMap.data as Record<string, string> }];
  });
  return { jobName, command: container.command, env, secretEnv, secretEnvFrom, configMapMounts };
}

/**
 * The kubelet's part for Secret env: every secretKeyRef that is not optional must
 * resolve in the namespace's Secrets, and every envFrom Secret that is not optional
 * must exist, or the container does not start (CreateContainerConfigError); a
 * missing optional one leaves its variables unset. An envFrom Secret gives every
 * key it has, as `<prefix><key>` (a key it lacks is simply not set); `env` wins
 * over envFrom.
 */
export function secretEnvValues(container: BuilderContainer, secrets: Secrets | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const from of container.secretEnvFrom) {
    const secret = secrets?.[from.secret];
    if (secret === undefined && from.optional) continue;
    if (secret === undefined) {
      throw new Error(`CreateContainerConfigError: envFrom of ${container.jobName}: Secret "${from.secret}" not found`);
    }
    for (const [key, value] of Object.entries(secret)) {
      if (!(key in container.env)) values[`${from.prefix}${key}`] = value;
    }
  }
  for (const [name, ref] of Object.entries(container.secretEnv)) {
    const value = secrets?.[ref.secret]?.[ref.key];
    if (value === undefined && ref.optional) continue;
    if (value === undefined) {
      throw new Error(`CreateContainerConfigError: env ${name} of ${container.jobName}: key "${ref.key}" of Secret "${ref.secret}" not found`);
    }
    values[name] = value;
  }
  return values;
}

/**
 * The kubelet's part for ConfigMap volumes: writes each mount's files under
 * `root` and returns the command with every path below a mount pointing at
 * the written copy. A path below a mount that the ConfigMap lacks is an error,
 * as the Pod would fail to find it.
 */
export function materializeMounts(container: BuilderContainer, root: string): string[] {
  const local = container.configMapMounts.map((mount, i) => {
    const dir = join(root, `configmap-${i}`);
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(mount.files)) writeFileSync(join(dir, file), text);
    return { mount, dir };
  });
  return container.command.map((arg) => {
    const hit = local.find(({ mount }) => arg.startsWith(`${mount.mountPath}/`));
    if (!hit) return arg;
    const file = arg.slice(hit.mount.mountPath.length + 1);
    if (!(file in hit.mount.files)) throw new Error(`the command runs ${arg}, but ConfigMap ${hit.mount.configMap} has no key ${file}`);
    return join(hit.dir, file);
  });
}

/**
 * Writes the `apk` stand-in into `dir` and returns `dir`. There is no Alpine
 * here and git is already on this machine, so the shim only checks that the
 * script asks for exactly what the docker:cli image would install, and does
 * nothing else.
 */
export function writeApkShim(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, 'apk');
  writeFileSync(shim, `#!/bin/sh
# e2e stand-in for Alpine's apk (the builder image is docker:cli, Alpine based).
# There is no Alpine here and git is already on this machine: accept exactly the
# one call the build script makes, refuse anything else, install nothing.
if [ "$#" -eq 3 ] && [ "$1" = add ] && [ "$2" = --no-cache ] && [ "$3" = git ]; then
  exit 0
fi
echo "apk (e2e shim): expected exactly 'apk add --no-cache git', got: apk $*" >&2
exit 1
`);
  chmodSync(shim, 0o755);
  return dir;
}

/** The node-side stand-ins a run needs; everything else comes from the manifest. */
export interface NodeStandIns {
  /** The node's Docker engine: podman's Docker-API socket. */
  readonly dockerHost: string;
  readonly dockerConfig: string;
  /** The emptyDir mounted at /workspace in the Pod. */
  readonly workspace: string;
  /** Directory holding the `apk` shim; goes first on PATH. */
  readonly shimDir: string;
  /** Where the ConfigMap volumes (the build script) are written, as the kubelet would mount them. */
  readonly mountRoot: string;
  /** The Secrets of the namespace; the kubelet resolves secretKeyRef env from them. */
  readonly secrets?: Secrets;
  /** Something to do at a point of the run. */
  readonly atLine?: AtLine;
}

/**
 * Something to do while a builder runs: at the first line of its stdout matching `when`, its
 * processes are stopped (SIGSTOP to its process group), `then` runs, and they go on (SIGCONT).
 * The stop comes within milliseconds of the line: `then` is done before the builder's next step
 * gets far (a buildctl solve takes longer than that to reach the git server).
 */
export interface AtLine {
  readonly when: RegExp;
  then(): void;
}

export interface BuilderRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr interleaved in arrival order, as `kubectl logs` would show them. */
  readonly output: string;
  readonly ms: number;
}

const running = new Set<ChildProcess>();

/** Kills (the process groups of) builder runs still going: for cleanup after a failure or a signal. */
export function killRunningBuilders(): void {
  for (const child of running) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

/**
 * Runs the container's command as the Pod would, with the manifest's env.
 * The only overrides are the node's stand-ins:
 *   DOCKER_HOST, DOCKER_CONFIG, DOCKER_BUILDKIT=0 — the node's engine
 *     (/var/run/docker.sock in the Pod) is podman's Docker API here, which has
 *     no BuildKit, and the docker CLI must not read this user's ~/.docker;
 *   WORKSPACE — the script's default is /workspace, the Pod's emptyDir mount
 *     (the manifest does not set it); here a fresh temp dir per run;
 *   PATH — the `apk` shim first, then this machine's PATH (git, docker, sed);
 * and the ConfigMap volumes (the build script, at /opt/image-builder in the
 * Pod) are written to `mountRoot`, the command's paths pointing there.
 * Nothing else of this process's environment is passed on.
 */
export function runBuilder(container: BuilderContainer, node: NodeStandIns, timeoutMs = 240_000): Promise<BuilderRun> {
  const overridden = ['DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_BUILDKIT', 'PATH'].filter((k) => k in container.env);
  if (overridden.length > 0) {
    throw new Error(`the manifest sets ${overridden.join(', ')}, which the e2e would override; update the e2e harness`);
  }
  if ('WORKSPACE' in container.env) {
    throw new Error(`the manifest sets WORKSPACE (${container.env.WORKSPACE}); the e2e expects the script's default, the emptyDir mount /workspace`);
  }
  const fromSecrets = secretEnvValues(container, node.secrets);
  mkdirSync(node.workspace, { recursive: true });
  const env: Record<string, string> = {
    ...container.env,
    ...fromSecrets,
    WORKSPACE: node.workspace,
    PATH: `${node.shimDir}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
    DOCKER_HOST: node.dockerHost,
    DOCKER_CONFIG: node.dockerConfig,
    DOCKER_BUILDKIT: '0',
  };
  const [cmd, ...args] = materializeMounts(container, node.mountRoot);
  return runTracked(cmd, args, { env, cwd: node.workspace }, `builder ${container.jobName}`, timeoutMs, node.atLine);
}

/**
 * Runs a builder's process in its own process group (so a timeout or cleanup stops git, docker,
 * buildkitd children too), collecting stdout, stderr and both interleaved as `kubectl logs`
 * shows them; killRunningBuilders() stops whatever is still running.
 */
export function runTracked(
  cmd: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string }, what: string, timeoutMs: number, atLine?: AtLine,
): Promise<BuilderRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let output = '';
    let partial = '';
    let atLineDone = atLine === undefined;
    let atLineError: unknown;
    child.stdout!.setEncoding('utf-8').on('data', (s: string) => {
      stdout += s;
      output += s;
      if (atLineDone) return;
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      if (!lines.some((line) => atLine!.when.test(line))) return;
      atLineDone = true;
      // The builder (its shell, buildctl, daemons: one process group) halts while `then` runs.
      process.kill(-child.pid!, 'SIGSTOP');
      try {
        atLine!.then();
      } catch (e) {
        atLineError = e;
      } finally {
        process.kill(-child.pid!, 'SIGCONT');
      }
    });
    child.stderr!.setEncoding('utf-8').on('data', (s: string) => { stderr += s; output += s; });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); running.delete(child); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (timedOut) {
        reject(new Error(`${what} timed out after ${timeoutMs} ms; output so far:\n${output}`));
        return;
      }
      if (atLineError !== undefined) {
        reject(new Error(`${what}: at the line matching ${atLine!.when}: ${String(atLineError)}; output:\n${output}`));
        return;
      }
      if (atLine && !atLineDone) {
        reject(new Error(`${what}: no line matched ${atLine.when}; output:\n${output}`));
        return;
      }
      resolve({ code, signal, stdout, stderr, output, ms: Date.now() - started });
    });
  });
}

/** `pushed localhost:<port>/<name>:<tag>@sha256:…` lines of a run. */
export interface PushedLine {
  readonly line: string;
  readonly port: number;
  readonly name: string;
  readonly tag: string;
  readonly digest: string;
}

export function pushedLines(output: string): PushedLine[] {
  const found: PushedLine[] = [];
  for (const line of output.split('\n')) {
    const m = /^pushed localhost:(\d+)\/([^:@\s]+):([^@\s]+)@(\S*)$/.exec(line);
    if (m) found.push({ line, port: Number(m[1]), name: m[2], tag: m[3], digest: m[4] });
  }
  return found;
}

/** The `==> [step]` names of a run, in order. */
export function steps(output: string): string[] {
  return output.split('\n').map((l) => /^==> \[([^\]]+)\]/.exec(l)?.[1]).filter((s): s is string => s !== undefined);
}

/** The emptyDir at /workspace of a docker-engine run in `dir`. */
export const dockerWorkspace = (dir: string) => join(dir, 'workspace');

/**
 * The docker engine in the e2e suite: its Job's command run by runBuilder, the
 * node's Docker engine being podman's Docker API (env.sh), the `apk` shim first
 * on PATH; the fixture builds FROM podman's local busybox image.
 */
export function dockerEngine(): Engine {
  let shimDir = '';
  return {
    name: 'docker',
    manifestTypes: [DOCKER_MANIFEST_V2],
    pushesToNodePort: true,
    async prepare(suite) {
      shimDir = writeApkShim(join(suite.tmp, 'shim'));
      return BASE_IMAGE;
    },
    synth: synthBuilder,
    run: (suite, job, site) => runBuilder(job, {
      dockerHost: suite.env.dockerHost,
      dockerConfig: suite.env.dockerConfig,
      workspace: dockerWorkspace(site.dir),
      mountRoot: join(site.dir, 'mounts'),
      shimDir,
      secrets: site.secrets,
      atLine: site.atLine,
    }),
  };
}
