import { readFileSync } from 'fs';
import { isIP } from 'net';
import { loadBuildsFile } from '../lib/config/builds-file';
import { toImageBuilderProps } from '../lib/config/to-props';
import { Registry } from '../lib/constructs/registry';
import { DNS_LABEL_PATTERN } from '../lib/plan/naming';
import { App, Chart } from 'cdk8s';
import { ControllerOptions } from './controller';
import { triggerableBuilds } from './match';
import { DEFAULT_MAX_BODY_BYTES } from './server';

/** The trigger's configuration: environment variables, the same locally and in the Deployment. */
export interface TriggerSettings {
  readonly port: number;
  /** The address to listen on (LISTEN_HOST). */
  readonly listenHost: string;
  /** Seconds between re-reads of the cluster that start queued builds as others finish (RECONCILE_SECONDS). */
  readonly reconcileSeconds: number;
  readonly namespace: string;
  readonly webhookSecret: string;
  readonly apiToken: string;
  /** Largest webhook body accepted (413 above). */
  readonly maxBodyBytes: number;
  readonly controller: ControllerOptions;
}

/** A setting is unusable: the message names the variable and the fix. */
export class SettingsError extends Error {}

function secretFile(env: NodeJS.ProcessEnv, variable: string, what: string): string {
  const file = env[variable];
  const create = 'kubectl create secret generic build-trigger --from-literal=webhook-secret=... --from-literal=api-token=... (README "Build on push")';
  if (!file) throw new SettingsError(`${variable} is not set: point it at a file holding the ${what}; in the cluster it is the Secret's mount: ${create}`);
  let value: string;
  try {
    value = readFileSync(file, 'utf-8').trim();
  } catch (e: any) {
    throw new SettingsError(`${variable}=${file} cannot be read (${e.code ?? e.message}): create the file, or the Secret: ${create}`);
  }
  if (value.length < 16) throw new SettingsError(`${variable}=${file} holds ${value.length ? 'fewer than 16 characters' : 'nothing'}: the ${what} must be at least 16 characters (openssl rand -hex 32)`);
  return value;
}

function integer(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new SettingsError(`${variable}=${raw} must be a whole number in ${min}-${max}`);
  return n;
}

/** An IP address or a host name (RFC 1123), as `server.listen` takes it. */
function host(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  if (isIP(raw) === 0 && !/^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i.test(raw)) {
    throw new SettingsError(`${variable}=${raw} is not an address to listen on: use an IP address (0.0.0.0: every IPv4 address, :: every address, 127.0.0.1: this machine only) or a host name`);
  }
  return raw;
}

/**
 * Reads BUILDS_CONFIG (builds.yaml, default ./builds.yaml), PORT (8080), LISTEN_HOST (0.0.0.0),
 * RECONCILE_SECONDS (5),
 * NAMESPACE (default), WEBHOOK_SECRET_FILE and API_TOKEN_FILE (required),
 * MAX_CONCURRENT_BUILDS (2), MAX_BODY_BYTES (1 MiB; GitHub sends up to 25 MB). Refuses to start without both secrets.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): TriggerSettings {
  const webhookSecret = secretFile(env, 'WEBHOOK_SECRET_FILE', 'webhook secret');
  const apiToken = secretFile(env, 'API_TOKEN_FILE', 'API token');
  const file = loadBuildsFile(env.BUILDS_CONFIG ?? 'builds.yaml');
  const props = toImageBuilderProps(file);
  // The registry's port as synth resolves it (the construct applies the default).
  const registry = new Registry(new Chart(new App(), 'settings'), 'Registry', props.registry);
  const registryPort = registry.nodePort;
  const registryHost = registry.clusterEndpoint;
  const namespace = env.NAMESPACE || 'default';
  if (!DNS_LABEL_PATTERN.test(namespace)) throw new SettingsError(`NAMESPACE=${namespace} is not a namespace name`);
  return {
    port: integer(env, 'PORT', 8080, 1, 65535),
    listenHost: host(env, 'LISTEN_HOST', '0.0.0.0'),
    reconcileSeconds: integer(env, 'RECONCILE_SECONDS', 5, 1, 3600),
    namespace,
    webhookSecret,
    apiToken,
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1024, 25 * 1024 * 1024),
    controller: {
      builds: triggerableBuilds(file.builds),
      job: { registryPort, registryHost, builders: props.builders, jobs: props.jobs },
      maxConcurrentBuilds: integer(env, 'MAX_CONCURRENT_BUILDS', 2, 1, 100),
    },
  };
}
