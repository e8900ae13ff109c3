import { execFileSync, spawnSync } from 'child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { AtLine, BuilderContainer, BuilderRun, materializeMounts, runTracked, Secrets, secretEnvValues, synthBuilder } from './builder';
import { dockerOk, E2EEnv, ROOT } from './env';
import { IMAGE_MANIFESTS } from './registry';
import type { Engine } from './suite';

/**
 * Rootless BuildKit on this machine, as the buildkit engine's Job runs it:
 * buildkitd/buildctl (and rootlesskit) built from the Go module proxy into
 * .tools/bin (scripts/e2e/install-buildkit.sh), run by an unprivileged user
 * with subordinate uid/gid ranges (scripts/e2e/buildkit-user.sh), as uid 1000
 * in moby/buildkit:<version>-rootless.
 */

/** Where install-buildkit.sh puts them: VALIDATE_TOOLS_DIR's bin, as every script under scripts/ reads it. */
export const TOOLS_BIN = join(process.env.VALIDATE_TOOLS_DIR ?? join(ROOT, '.tools'), 'bin');
export const INSTALL_BUILDKIT = join(ROOT, 'scripts', 'e2e', 'install-buildkit.sh');
export const BUILDKIT_USER_SH = join(ROOT, 'scripts', 'e2e', 'buildkit-user.sh');
export const BUILDKIT_ENV_FILE = join(ROOT, 'scripts', 'e2e', 'buildkit.env');
export const BUILDKIT_USER = process.env.BUILDKIT_E2E_USER ?? 'buildkit-e2e';

/** KEY=value pairs of scripts/e2e/buildkit.env. */
export function pinnedBuildkitVersions(): Record<string, string> {
  return Object.fromEntries(readFileSync(BUILDKIT_ENV_FILE, 'utf-8').split('\n')
    .map((l) => /^([A-Z_]+)=(\S+)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]));
}

export interface BuildkitUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/**
 * Fails with one message naming everything missing and its fix. The tools are
 * built here when absent (a cache in .tools/, minutes the first time); the user
 * and uidmap are machine setup, done by .ci/run (`buildkit-user.sh ensure`).
 */
export function checkBuildkitPrerequisites(): BuildkitUser {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) {
    problems.push('the buildkit e2e runs as root: it maps the registry Service name in a private mount namespace and drops to the builder user');
  }
  for (const cmd of ['unshare', 'setpriv', 'mount']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) problems.push(`${cmd} (util-linux) missing`);
  }
  const check = spawnSync('bash', [BUILDKIT_USER_SH, 'check'], { encoding: 'utf-8' });
  if (check.status !== 0) problems.push(check.stderr.trim());
  if (problems.length > 0) {
    throw new Error(`buildkit e2e prerequisites missing:\n  ${problems.join('\n  ')}\n`
      + `Set up once with: apt-get install -y --no-install-recommends uidmap && ${BUILDKIT_USER_SH} ensure`);
  }
  const install = spawnSync('bash', [INSTALL_BUILDKIT], { encoding: 'utf-8', stdio: ['ignore', 'inherit', 'inherit'], timeout: 30 * 60_000 });
  if (install.status !== 0) throw new Error(`${INSTALL_BUILDKIT} failed (exit ${install.status ?? install.signal})`);
  const id = (flag: string) => Number(execFileSync('id', [flag, BUILDKIT_USER], { encoding: 'utf-8' }).trim());
  return { name: BUILDKIT_USER, uid: id('-u'), gid: id('-g') };
}

/** Commands of the image's busybox that the script runs and Debian does not install: the login step's `nc`. */
export const BUSYBOX_APPLETS = ['nc'];

/** The buildkit builder Job's container, as synthesized (command, env, the script's ConfigMap mount). */
export type BuildkitContainer = BuilderContainer;

/** What differs from a Pod on a node, and nothing else. */
export interface BuildkitStandIns {
  readonly user: BuildkitUser;
  /**
   * A fresh directory per run, owned by the user: the image's HOME
   * (/home/user, whose .local/share/buildkit is the Pod's emptyDir state dir),
   * XDG_RUNTIME_DIR and TMPDIR live below it.
   */
  readonly runDir: string;
  /**
   * The registry Service's port here: the manifest's REGISTRY_HOST keeps its
   * host name (mapped to 127.0.0.1 for this run only) and gets this port, the
   * one the test registry listens on.
   */
  readonly registryPort: number;
  /** The Secrets of the namespace; the kubelet resolves secretKeyRef env from them. */
  readonly secrets?: Secrets;
  /** Something to do at a point of the run. */
  readonly atLine?: AtLine;
}

/**
 * Runs the container's command as the Pod would, with the manifest's env plus
 * the image's own ENV (HOME, XDG_RUNTIME_DIR, TMPDIR, USER, PATH: here the
 * tools folder first, for rootlesskit, buildkitd and buildctl; then the busybox
 * applets the image has and this machine lacks (BUSYBOX_APPLETS: links to the
 * static /bin/busybox); git and runc from Debian), as the unprivileged user, in a private mount namespace whose
 * /etc/hosts maps REGISTRY_HOST's name to 127.0.0.1 (the cluster DNS's job).
 */
export function runBuildkitBuilder(container: BuildkitContainer, node: BuildkitStandIns, timeoutMs = 600_000): Promise<BuilderRun> {
  const imageEnv = ['HOME', 'XDG_RUNTIME_DIR', 'TMPDIR', 'USER', 'PATH'];
  const clash = imageEnv.filter((k) => k in container.env);
  if (clash.length > 0) throw new Error(`the manifest sets ${clash.join(', ')}, which the image provides; update the e2e harness`);
  const m = /^([a-z0-9.-]+):(\d+)$/.exec(container.env.REGISTRY_HOST ?? '');
  if (!m) throw new Error(`REGISTRY_HOST is ${JSON.stringify(container.env.REGISTRY_HOST)}, expected <service>:<port>`);
  const serviceName = m[1];
  const fromSecrets = secretEnvValues(container, node.secrets);

  const home = join(node.runDir, 'home');
  const xdg = join(node.runDir, 'xdg');
  const tmp = join(home, '.local', 'tmp');
  for (const dir of [node.runDir, home, xdg, join(home, '.local'), tmp]) {
    mkdirSync(dir, { recursive: true });
    chownSync(dir, node.user.uid, node.user.gid);
    chmodSync(dir, 0o700);
  }
  chmodSync(node.runDir, 0o755);
  // The image's userland is busybox (Alpine's); Debian has no `nc` command, its static busybox does.
  const applets = join(node.runDir, 'applets');
  mkdirSync(applets);
  chmodSync(applets, 0o755);
  for (const applet of BUSYBOX_APPLETS) symlinkSync('/bin/busybox', join(applets, applet));
  const hosts = join(node.runDir, 'hosts');
  writeFileSync(hosts, `127.0.0.1\tlocalhost ${serviceName}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
  chmodSync(hosts, 0o644);

  const env: Record<string, string> = {
    ...container.env,
    ...fromSecrets,
    REGISTRY_HOST: `${serviceName}:${node.registryPort}`,
    HOME: home,
    USER: node.user.name,
    XDG_RUNTIME_DIR: xdg,
    TMPDIR: tmp,
    PATH: `${TOOLS_BIN}:${applets}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  };
  // The kubelet's part: the script ConfigMap's files, readable by the builder user.
  const mounts = join(node.runDir, 'mounts');
  const command = materializeMounts(container, mounts);
  for (const dir of [mounts, ...container.configMapMounts.map((_, i) => join(mounts, `configmap-${i}`))]) chmodSync(dir, 0o755);
  const [cmd, ...args] = command;
  // unshare: a private mount namespace; there, /etc/hosts is the file above; then exec the
  // container's command as the builder user (env kept).
  const shellArgs = ['--mount', '--propagation', 'private', 'sh', '-c',
    'hosts=$1 uid=$2 gid=$3; shift 3; mount --bind "$hosts" /etc/hosts && exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"',
    'e2e-buildkit-pod', hosts, String(node.user.uid), String(node.user.gid), cmd, ...args];
  return runTracked('unshare', shellArgs, { env, cwd: node.runDir }, `builder ${container.jobName}`, timeoutMs, node.atLine);
}

/** True when the state dir of a run holds BuildKit state (it ran there, as in the Pod's emptyDir). */
export function stateDirUsed(runDir: string): boolean {
  return existsSync(join(runDir, 'home', '.local', 'share', 'buildkit'));
}

/** The single builder Job's container of a buildkit builds.yaml (support/builder.ts's synth, checked for the buildkit engine). */
export function synthBuildkitBuilder(buildsYaml: string): BuildkitContainer {
  const container = synthBuilder(buildsYaml);
  if (container.env.BUILDKITD_FLAGS === undefined) throw new Error(`Job/${container.jobName} is not a buildkit builder (no BUILDKITD_FLAGS)`);
  return container;
}

/**
 * The base image for BuildKit: env.sh assembled it from Debian's static busybox in podman's
 * storage; it goes to the test registry, where BuildKit pulls it as a node would
 * (localhost:<nodePort>/...), pushed with a login kept in `dockerConfig`. Returns that reference.
 */
export function pushBaseImage(env: E2EEnv, dockerConfig: string): string {
  // As localhost: podman's login endpoint treats only localhost as plain HTTP (127.0.0.1: "HTTP response to HTTPS client").
  const pushed = `localhost:${env.registryPort}/e2e-busybox:1`;
  dockerOk(env, dockerConfig, ['tag', env.baseImage, pushed]);
  // Pushes need the registry's account (the auth proxy); pulls, BuildKit's of this base included, do not.
  dockerOk(env, dockerConfig, ['login', '--username', env.registryUsername, '--password-stdin', `localhost:${env.registryPort}`], env.registryPassword);
  dockerOk(env, dockerConfig, ['push', pushed]);
  return pushed;
}

/**
 * The buildkit engine in the e2e suite: its Job's command run by runBuildkitBuilder
 * against a real rootless buildkitd as the builder user; the registry Service's
 * port is RunSite.registryAt; the fixture builds FROM the base image pushed to the
 * test registry.
 */
export function buildkitEngine(): Engine {
  let user: BuildkitUser | undefined;
  return {
    name: 'buildkit',
    manifestTypes: IMAGE_MANIFESTS,
    pushesToNodePort: false,
    async prepare(suite) {
      user = checkBuildkitPrerequisites();
      console.log(`buildkit e2e: builder user ${user.name} (uid ${user.uid})`);
      // The builder user must reach its run directories below it.
      chmodSync(suite.tmp, 0o711);
      return pushBaseImage(suite.env, mkdtempSync(join(suite.tmp, 'docker-config-')));
    },
    synth: synthBuildkitBuilder,
    run: (_suite, job, site) => {
      if (!user) throw new Error('buildkitEngine().prepare() has not run');
      return runBuildkitBuilder(job, { user, runDir: site.dir, registryPort: site.registryAt, secrets: site.secrets, atLine: site.atLine });
    },
  };
}
