import { ChildProcess, spawn } from 'child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { E2EEnv } from './env';

/**
 * The registry Pod's garbage-collector container, run here: its synthesized
 * script and env, with the e2e registry's paths (config, data, the read-only
 * flag's directory) and a `registry` shim on PATH.
 */

export interface RunningGc {
  readonly child: ChildProcess;
  /** What it printed so far (stdout and stderr). */
  readonly out: () => string;
  readonly done: Promise<{ code: number | null; out: string }>;
  /** SIGTERM to its process group: the script and the `sleep` of its daily loop, which holds its output open. */
  readonly stop: () => Promise<void>;
}

/** The garbage-collector container of the synthesized registry Deployment. */
export function gcContainer(manifests: any[]): any {
  const deployment = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'registry');
  const c = deployment?.spec.template.spec.containers.find((x: any) => x.name === 'garbage-collector');
  if (!c) throw new Error('no garbage-collector container in Deployment/registry');
  if (c.command[0] !== 'sh' || c.command[1] !== '-c') throw new Error(`garbage-collector command is ${JSON.stringify(c.command)}, expected sh -c <script>`);
  return c;
}

/**
 * Stand-in: the registry image's binary is `registry`; Debian names it docker-registry.
 * Writes the shim into `dir` (created) and returns `dir`, for PATH.
 */
export function registryShim(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'registry'), '#!/bin/sh\nexec docker-registry "$@"\n');
  chmodSync(join(dir, 'registry'), 0o755);
  return dir;
}

/** Starts the container's script with its plain env, the e2e paths and `extra` (e.g. GC_NOW=true). */
export function startGcScript(container: any, env: E2EEnv, shimDir: string, extra: Record<string, string>): RunningGc {
  const plain = Object.fromEntries((container.env as any[]).filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]));
  const child = spawn('sh', ['-c', container.command[2]], {
    env: {
      PATH: `${shimDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      ...plain,
      ...extra,
      REGISTRY_CONFIG: env.registryConfig,
      REGISTRY_DATA: env.registryData,
      MAINTENANCE_DIR: env.maintenanceDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() ends the whole script
  });
  let out = '';
  child.stdout!.setEncoding('utf-8').on('data', (s: string) => { out += s; });
  child.stderr!.setEncoding('utf-8').on('data', (s: string) => { out += s; });
  const done = new Promise<{ code: number | null; out: string }>((resolve) => child.on('close', (code) => resolve({ code, out })));
  const stop = async () => {
    try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* already gone */ }
    await done;
  };
  return { child, out: () => out, done, stop };
}

/** One collection now (GC_NOW=true), as `kubectl exec ... GC_NOW=true` runs it; resolves when it exits. */
export function collectNow(container: any, env: E2EEnv, shimDir: string, drainSeconds = 0): Promise<{ code: number | null; out: string }> {
  return startGcScript(container, env, shimDir, { GC_NOW: 'true', GC_DRAIN_SECONDS: String(drainSeconds) }).done;
}
