import { readFileSync } from 'fs';
import { ErrorObject } from 'ajv';
import { checkDockerfilePath, checkRef, checkRelativePath, checkRepoUrl, checkRepoUrlForEngine, normalizeRelativePath, quoted, showInvisible } from './source-rules';
import { BuilderEngine, BuildSource, PlanError, planBuilds } from '../plan/build-plan';
import { amountsOf, cpuMillis, memoryMebibytes } from './quantity';
import { DEFAULT_BUILDER_RESOURCES } from '../constructs/builder-container';
import { DEFAULT_BUILDKIT_RESOURCES } from '../constructs/buildkit-container';
import { compileBuildsSchema } from './schema-validator';
import { deriveImageName } from '../plan/naming';
import { imageReferenceProblem } from './image-reference';
import { PathPart, YamlReadError, YamlSource } from './yaml-source';

/**
 * builds.yaml: what users edit. The shape is a JSON Schema (validated by ajv,
 * unknown keys refused) plus the source rules in ./source-rules; every problem
 * is reported with its file, line, key path and a fix, all at once.
 */

export interface RegistryConfig {
  /** NodePort the registry listens on, on every node. */
  readonly nodePort?: number;
  /** Keep pushed images on a PersistentVolumeClaim instead of an emptyDir. */
  readonly storage?: { readonly persistentVolumeClaim: { readonly size: string; readonly storageClassName?: string } };
  /** Names of the Secrets (created out of band) with the push accounts. */
  readonly auth?: { readonly htpasswdSecret?: string; readonly pushSecret?: string };
  /** Which commit tags the retention CronJob deletes, and when. */
  readonly retention?: { readonly keepCommitTags?: number; readonly schedule?: string; readonly images?: Record<string, number>; readonly namespace?: string };
  /** When the registry collects the blobs of deleted manifests (daily, UTC). */
  readonly garbageCollection?: { readonly at?: string; readonly drainSeconds?: number };
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: 'Equal' | 'Exists';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  readonly tolerationSeconds?: number;
}

export interface ResourceAmounts {
  readonly cpu?: string;
  readonly memory?: string;
}

export interface BuildersConfig {
  /**
   * `docker` (default): the node's Docker engine through its socket. `buildkit`:
   * rootless BuildKit in the builder, no socket. A build may set its own.
   */
  readonly engine?: 'docker' | 'buildkit';
  /** `Job` (default): one Job per build. `Pod`: the seed's single Pod, for one build. */
  readonly workload?: 'Job' | 'Pod';
  readonly nodeSelector?: Record<string, string>;
  readonly tolerations?: Toleration[];
  readonly resources?: { readonly requests?: ResourceAmounts; readonly limits?: ResourceAmounts };
  readonly backoffLimit?: number;
  readonly activeDeadlineSeconds?: number;
  readonly ttlSecondsAfterFinished?: number;
}

/**
 * builds.yaml as written, checked, with the defaults of `builds` applied.
 * lib/config/to-props.ts turns it into the ImageBuilder's typed props.
 */
/** `buildTrigger`: deploy the build trigger (trigger/) with dist/. */
export interface BuildTriggerConfig {
  /** The trigger's image, built from this repository (trigger/Dockerfile), e.g. `localhost:30500/cdk8s-image-builder:main`. */
  readonly image: string;
  readonly maxConcurrentBuilds?: number;
  /** The Secret with `webhook-secret` and `api-token`, created out of band; default build-trigger. */
  readonly secretName?: string;
}

export interface BuildsFile {
  readonly registry: RegistryConfig;
  readonly builders: BuildersConfig;
  readonly buildTrigger?: BuildTriggerConfig;
  readonly builds: BuildEntry[];
}

/** Which pushed refs start a build (the build trigger): branch names and tag patterns, `*` globs. */
export interface TriggerRefs {
  readonly branches: string[];
  readonly tags: string[];
}

/** One entry of `builds`, defaults applied. */
export interface BuildEntry extends BuildSource {
  /** Refs whose pushes build it; default: its own ref, as branch or tag (none when the ref is a SHA). */
  readonly trigger: TriggerRefs;
}

const CPU = '^([1-9][0-9]*m|[0-9]+(\\.[0-9]{1,3})?)$';
const MEMORY = '^[1-9][0-9]*(Mi|Gi|Ti)$';
/** A DNS-1123 subdomain (the API's rule for label key prefixes and storage class names); length checked apart. */
const DNS_SUBDOMAIN = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const LABEL_KEY = `^(${DNS_SUBDOMAIN}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`;
const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';
/** A namespace name: a DNS label. */
const NAMESPACE = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const SECRET_NAME = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';
const CRON_FIELD = '[0-9*/,-]+';
const CRON = `^${CRON_FIELD}( ${CRON_FIELD}){4}$`;
const TIME_OF_DAY = '^([01][0-9]|2[0-3]):[0-5][0-9]$';

const INT32_MAX = 2147483647;

const resourceAmounts = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // At most 9 digits: larger numbers would be written in exponent form (1e+21), which the API refuses.
    cpu: { type: 'string', pattern: CPU, maxLength: 10 },
    memory: { type: 'string', pattern: MEMORY, maxLength: 11 },
  },
};

/** The JSON Schema of builds.yaml. Exported so editors and docs can use it. */
export const BUILDS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['builds'],
  properties: {
    registry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        nodePort: { type: 'integer', minimum: 30000, maximum: 32767 },
        storage: {
          type: 'object',
          additionalProperties: false,
          required: ['persistentVolumeClaim'],
          properties: {
            persistentVolumeClaim: {
              type: 'object',
              additionalProperties: false,
              required: ['size'],
              properties: {
                size: { type: 'string', pattern: MEMORY, maxLength: 11 },
                storageClassName: { type: 'string', pattern: `^${DNS_SUBDOMAIN}$`, maxLength: 253 },
              },
            },
          },
        },
        auth: {
          type: 'object',
          additionalProperties: false,
          properties: {
            htpasswdSecret: { type: 'string', pattern: SECRET_NAME },
            pushSecret: { type: 'string', pattern: SECRET_NAME },
          },
        },
        retention: {
          type: 'object',
          additionalProperties: false,
          properties: {
            keepCommitTags: { type: 'integer', minimum: 1, maximum: 1000 },
            schedule: { type: 'string', pattern: CRON },
            images: { type: 'object', additionalProperties: { type: 'integer', minimum: 1, maximum: 1000 } },
            namespace: { type: 'string', pattern: NAMESPACE, maxLength: 63 },
          },
        },
        garbageCollection: {
          type: 'object',
          additionalProperties: false,
          properties: {
            at: { type: 'string', pattern: TIME_OF_DAY },
            drainSeconds: { type: 'integer', minimum: 0, maximum: 600 },
          },
        },
      },
    },
    builders: {
      type: 'object',
      additionalProperties: false,
      properties: {
        engine: { enum: ['docker', 'buildkit'] },
        workload: { enum: ['Job', 'Pod'] },
        nodeSelector: {
          type: 'object',
          propertyNames: { pattern: LABEL_KEY },
          additionalProperties: { type: 'string', pattern: LABEL_VALUE },
        },
        tolerations: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            properties: {
              key: { type: 'string', pattern: LABEL_KEY },
              operator: { enum: ['Equal', 'Exists'] },
              value: { type: 'string', pattern: LABEL_VALUE },
              effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] },
              // int64 in the API; beyond 2^53 a JavaScript number is no longer exact.
              tolerationSeconds: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            },
          },
        },
        resources: {
          type: 'object',
          additionalProperties: false,
          properties: { requests: resourceAmounts, limits: resourceAmounts },
        },
        backoffLimit: { type: 'integer', minimum: 0, maximum: 100 },
        activeDeadlineSeconds: { type: 'integer', minimum: 60, maximum: Number.MAX_SAFE_INTEGER },
        ttlSecondsAfterFinished: { type: 'integer', minimum: 0, maximum: INT32_MAX },
      },
    },
    buildTrigger: {
      type: 'object',
      additionalProperties: false,
      required: ['image'],
      properties: {
        // The reference grammar and its length limit: imageReferenceProblem (a message that names the rule).
        image: { type: 'string' },
        maxConcurrentBuilds: { type: 'integer', minimum: 1, maximum: 100 },
        secretName: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' },
      },
    },
    builds: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['repo'],
        properties: {
          engine: { enum: ['docker', 'buildkit'] },
          repo: { type: 'string' },
          ref: { type: 'string' },
          defaultBranch: { type: 'string' },
          trigger: {
            type: 'object',
            additionalProperties: false,
            properties: {
              branches: { type: 'array', items: { type: 'string', minLength: 1 } },
              tags: { type: 'array', items: { type: 'string', minLength: 1 } },
            },
          },
          images: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                context: { type: 'string' },
                dockerfile: { type: 'string' },
              },
            },
          },
        },
      },
    },
  },
} as const;

/** Fixes for keys people are likely to try, shown with the "unknown key" error. */
const UNKNOWN_KEY_HINTS: Record<string, string> = {
  name: 'image names are derived from the context directory (or the repository name) and cannot be set; remove it',
  image: 'image names are derived from the context directory (or the repository name) and cannot be set; remove it',
  tag: 'tags are derived from "ref"; set the ref to the branch or tag to build instead',
  replicas: 'the registry runs exactly one replica because its storage is not shared; remove it',
};

/** One problem in builds.yaml. */
export interface ConfigProblem {
  /** Key path in the file, e.g. `builds[0].images[1].context`. */
  readonly path: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** builds.yaml is unusable; `message` lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: ConfigProblem[]) {
    super(problems.map((p) => `${file}${p.line ? `:${p.line}:${p.column}` : ''}: ${p.path || '(top level)'}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** `builds[1].images[0].context` → ['builds', 1, 'images', 0, 'context'] */
function parsePath(path: string): PathPart[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
}

function formatPath(parts: PathPart[]): string {
  return parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${showInvisible(p)}`)).join('');
}

/** Where a key path sits in the file: the value (or, given `key`, that key of the mapping), or its nearest parent. */
function locate(source: YamlSource, parts: PathPart[], key?: string): { line?: number; column?: number } {
  return source.locate(parts, key) ?? {};
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

function schemaMessage(error: ErrorObject, data: unknown): { parts: PathPart[]; key?: string; message: string } {
  const parts: PathPart[] = error.instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, '/').replace(/~0/g, '~')));
  const value = parts.reduce<any>((v, p) => (v == null ? v : v[p]), data);
  const params = error.params as Record<string, any>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = params.additionalProperty as string;
      const allowed = Object.keys((error.parentSchema as any)?.properties ?? {});
      const hint = UNKNOWN_KEY_HINTS[key] ?? `allowed keys here: ${allowed.join(', ')}`;
      return { parts, key, message: `unknown key ${quoted(key)}: ${hint}` };
    }
    case 'required':
      return { parts, message: `missing required key ${quoted(params.missingProperty)}: add it` };
    case 'type':
      return { parts, message: `must be ${params.type === 'integer' ? 'a whole number' : `a ${params.type}`}, got ${describe(value)}${params.type === 'string' ? ' (quote it)' : ''}` };
    case 'minimum':
    case 'maximum': {
      const bounds = (error.parentSchema as any) ?? {};
      const range = bounds.maximum !== undefined ? `${bounds.minimum}-${bounds.maximum}` : `at least ${bounds.minimum}`;
      const what = parts[parts.length - 1] === 'nodePort' ? 'the NodePort range ' : '';
      return { parts, message: `${JSON.stringify(value)} is outside ${what}${range}; pick a value in ${range}` };
    }
    case 'enum':
      return { parts, message: `${JSON.stringify(value)} is not one of ${params.allowedValues.map((v: unknown) => JSON.stringify(v)).join(', ')}` };
    case 'minItems':
      return { parts, message: `must list at least ${params.limit} item${params.limit === 1 ? '' : 's'}` };
    case 'pattern':
      return { parts, message: `${JSON.stringify(value)} is not valid here (expected ${describePattern(params.pattern)})` };
    case 'maxLength': {
      const last = parts[parts.length - 1];
      const what = last === 'cpu' ? 'use at most 9 digits (larger numbers are written as 1e+21, which the API server refuses)'
        : last === 'memory' || last === 'size' ? 'use a larger unit (Gi, Ti) or at most 9 digits' : 'shorten it';
      return { parts, message: `${JSON.stringify(value)} is ${String(value).length} characters long, more than ${params.limit}; ${what}` };
    }
    case 'propertyNames':
      return { parts, message: `key ${JSON.stringify(params.propertyName)} is not a valid label key` };
    default:
      return { parts, message: error.message ?? 'is invalid' };
  }
}

function describePattern(pattern: string): string {
  if (pattern === CPU) return 'a CPU quantity such as "500m" or "2"';
  if (pattern === MEMORY) return 'a whole number of Mi, Gi or Ti such as "512Mi" or "10Gi"';
  if (pattern === LABEL_KEY) return 'a label key such as "dedicated" or "example.com/role"';
  if (pattern === LABEL_VALUE) return 'a label value: up to 63 letters, digits, "-", "_" or "."';
  if (pattern === SECRET_NAME) return 'the name of a Secret: lower-case letters, digits, "-" and "."';
  if (pattern === CRON) return 'a cron schedule of 5 fields (minute hour day month weekday, UTC) such as "0 3 * * *"';
  if (pattern === TIME_OF_DAY) return 'a UTC time of day HH:MM such as "04:00"';
  if (pattern === NAMESPACE) return 'the namespace dist/ is applied in: lower-case letters, digits and "-", such as "default"';
  return `a string matching ${pattern}`;
}

const validateSchema = compileBuildsSchema(BUILDS_SCHEMA);

/** The semantic rules the schema cannot say: URLs, refs and paths. */
function sourceProblems(raw: any): { parts: PathPart[]; message: string }[] {
  const found: { parts: PathPart[]; message: string }[] = [];
  (raw.builds as any[]).forEach((build, b) => {
    const repoProblem = checkRepoUrl(build.repo);
    if (repoProblem) found.push({ parts: ['builds', b, 'repo'], message: repoProblem });
    const engineProblem = repoProblem ? undefined : checkRepoUrlForEngine(build.repo, build.engine ?? raw.builders?.engine ?? 'docker');
    if (engineProblem) found.push({ parts: ['builds', b, 'repo'], message: engineProblem });
    for (const kind of ['branches', 'tags'] as const) {
      (build.trigger?.[kind] ?? []).forEach((pattern: string, i: number) => {
        // A pattern is a ref name with * globs: the ref rules apply with each * read as a letter.
        const refProblem = checkRef(pattern.replace(/\*/g, 'x'));
        if (refProblem) found.push({ parts: ['builds', b, 'trigger', kind, i], message: `${refProblem} (patterns may use * and **)` });
      });
    }
    for (const field of ['ref', 'defaultBranch'] as const) {
      if (build[field] !== undefined) {
        const refProblem = checkRef(build[field]);
        if (refProblem) found.push({ parts: ['builds', b, field], message: refProblem });
      }
    }
    (build.images ?? []).forEach((image: any, i: number) => {
      if (image.context !== undefined) {
        const p = checkRelativePath(image.context, 'dockercoins/worker');
        if (p) found.push({ parts: ['builds', b, 'images', i, 'context'], message: p });
      }
      if (image.dockerfile !== undefined) {
        const p = checkDockerfilePath(image.dockerfile, image.context ?? '.', build.engine ?? raw.builders?.engine ?? 'docker');
        if (p) found.push({ parts: ['builds', b, 'images', i, 'dockerfile'], message: p });
      }
    });
  });
  // Per-image retention: only images some build pushes (a typo would silently keep the default).
  const images = new Set<string>();
  for (const build of raw.builds as any[]) {
    for (const image of build.images ?? [{}]) {
      try {
        images.add(deriveImageName(build.repo, normalizeRelativePath(image.context ?? '.')));
      } catch {
        // an underivable name is reported by the plan, naming its entry
      }
    }
  }
  for (const name of Object.keys(raw.registry?.retention?.images ?? {})) {
    if (!images.has(name)) {
      found.push({
        parts: ['registry', 'retention', 'images', name],
        message: `no build pushes an image named ${quoted(name)}; use one of: ${[...images].sort().join(', ')}`,
      });
    }
  }
  return found;
}

/** The trigger's image: a reference the kubelet accepts (the API server stores any string). */
function triggerProblems(raw: any): { parts: PathPart[]; message: string }[] {
  const problem = raw.buildTrigger === undefined ? undefined : imageReferenceProblem(raw.buildTrigger.image);
  return problem ? [{ parts: ['buildTrigger', 'image'], message: problem }] : [];
}

/**
 * The rules across keys of `builders` that the schema cannot say, each one the
 * API server (or the builder workload) would otherwise refuse later.
 */
function builderProblems(raw: any): { parts: PathPart[]; message: string }[] {
  const found: { parts: PathPart[]; message: string }[] = [];
  const builders = raw.builders ?? {};
  if (builders.workload === 'Pod' && raw.builds.length !== 1) {
    found.push({
      parts: ['builders', 'workload'],
      message: `"Pod" runs exactly one build (the single build-image Pod), but builds lists ${raw.builds.length}; `
        + 'use workload "Job" (one Job per build) or keep one build',
    });
  }
  for (const key of Object.keys(builders.nodeSelector ?? {})) {
    const problem = labelKeyPrefixProblem(key);
    if (problem) found.push({ parts: ['builders', 'nodeSelector', key], message: problem });
  }
  found.push(...resourceProblems(builders.resources ?? {}, enginesInUse(raw)));
  (builders.tolerations ?? []).forEach((t: Toleration, i: number) => {
    const at = (key: string): PathPart[] => ['builders', 'tolerations', i, key];
    const keyProblem = t.key === undefined ? undefined : labelKeyPrefixProblem(t.key);
    if (keyProblem) found.push({ parts: at('key'), message: keyProblem });
    const exists = t.operator === 'Exists';
    if (t.key === undefined && !exists) {
      found.push({ parts: ['builders', 'tolerations', i], message: 'a toleration without "key" must have operator "Exists" (it then tolerates every taint); add a key' });
    }
    if (t.key === undefined && exists && t.effect !== undefined) {
      found.push({ parts: at('effect'), message: 'a toleration of every taint cannot be limited to one effect; add a key, or remove effect' });
    }
    if (exists && t.value !== undefined) {
      found.push({ parts: at('value'), message: 'operator "Exists" matches any value, so value must not be set; remove it or use operator "Equal"' });
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      found.push({ parts: at('tolerationSeconds'), message: 'only applies to effect "NoExecute" (how long a Pod stays after the taint appears); set effect: NoExecute or remove it' });
    }
  });
  return found;
}

/** The prefix of a label key (before "/") is a DNS subdomain of at most 253 characters (the pattern checks the rest). */
function labelKeyPrefixProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  if (slash > 253) {
    return `the prefix of label key ${quoted(`${key.slice(0, 40)}...`)} is ${slash} characters long, more than 253; shorten it`;
  }
  return undefined;
}

type EngineName = 'docker' | 'buildkit';

/** Each engine's default requests and limits, read from the constructs that apply them. */
const ENGINE_DEFAULTS: Record<EngineName, ReturnType<typeof amountsOf>> = {
  docker: amountsOf(DEFAULT_BUILDER_RESOURCES),
  buildkit: amountsOf(DEFAULT_BUILDKIT_RESOURCES),
};

/** The engines the builds use (a build's own, else builders.engine, else docker), each with the indexes of its builds. */
function enginesInUse(raw: any): Map<EngineName, number[]> {
  const engines = new Map<EngineName, number[]>();
  (raw.builds as any[]).forEach((build, b) => {
    const engine: EngineName = build.engine ?? raw.builders?.engine ?? 'docker';
    if (!engines.has(engine)) engines.set(engine, []);
    engines.get(engine)!.push(b);
  });
  return new Map([...engines].sort(([a], [b]) => a.localeCompare(b)));
}

/** `builds[0], builds[3] and 5 more`: which builds a message is about, short on long lists. */
function buildList(indexes: number[]): string {
  const shown = indexes.slice(0, 3).map((b) => `builds[${b}]`).join(', ');
  return indexes.length > 3 ? `${shown} and ${indexes.length - 3} more` : shown;
}

/**
 * A request above its limit is refused by the API server, also when one side
 * is the default of the engine a build uses (ENGINE_DEFAULTS): a lone
 * `limits.cpu: 200m` is below the buildkit engine's default request, and a
 * lone `requests.memory: 3Gi` is above the docker engine's default limit but
 * not the buildkit engine's. `builders.resources` applies to every build, so
 * it is checked against each engine in use.
 */
function resourceProblems(
  resources: { requests?: ResourceAmounts; limits?: ResourceAmounts },
  engines: Map<EngineName, number[]>,
): { parts: PathPart[]; message: string }[] {
  const found: { parts: PathPart[]; message: string }[] = [];
  const amounts: Array<{ key: 'cpu' | 'memory'; value: (q: string) => number }> = [
    { key: 'cpu', value: cpuMillis },
    { key: 'memory', value: memoryMebibytes },
  ];
  const refused = 'the API server refuses a request above its limit';
  for (const { key, value } of amounts) {
    const request = resources.requests?.[key];
    const limit = resources.limits?.[key];
    if (request === undefined && limit === undefined) continue;
    if (request !== undefined && limit !== undefined) {
      if (value(request) > value(limit)) {
        found.push({
          parts: ['builders', 'resources', 'limits', key],
          message: `requests.${key} ${request} is above limits.${key} ${limit}; ${refused}. Raise the limit or lower the request`,
        });
      }
      continue;
    }
    for (const [engine, builds] of engines) {
      const defaults = ENGINE_DEFAULTS[engine];
      const whose = `of the ${engine} engine (${buildList(builds)})`;
      if (request === undefined && value(defaults.requests[key]) > value(limit!)) {
        found.push({
          parts: ['builders', 'resources', 'limits', key],
          message: `the default request ${defaults.requests[key]} ${whose} is above limits.${key} ${limit}; ${refused}. `
            + `Raise limits.${key} to at least ${defaults.requests[key]}, or set requests.${key} to at most ${limit}`,
        });
      }
      if (limit === undefined && value(request!) > value(defaults.limits[key])) {
        found.push({
          parts: ['builders', 'resources', 'requests', key],
          message: `requests.${key} ${request} is above the default limit ${defaults.limits[key]} ${whose}; ${refused}. `
            + `Set limits.${key} to at least ${request}, or lower the request to at most ${defaults.limits[key]}`,
        });
      }
    }
  }
  return found;
}

/**
 * Parses and validates builds.yaml text. Throws ConfigError listing every
 * problem; returns the file with defaults applied.
 */
export function parseBuildsFile(text: string, file = 'builds.yaml'): BuildsFile {
  let source: YamlSource;
  try {
    // js-yaml, YAML 1.2 core schema (an unquoted `on` stays a string). Each alias adds the values of
    // what it refers to (aliases inside it included), and all of them may add 100,000 values or 10
    // per value written in the file, whichever is larger: one small anchor may be used any number of
    // times, while an alias bomb (aliases of aliases, exponential) or a large anchor used thousands of
    // times (which config loading would walk for each use) is refused at once at its alias.
    source = YamlSource.read(text, { maxAliasValues: 100_000, aliasValuesPerWrittenValue: 10 });
  } catch (e) {
    if (!(e instanceof YamlReadError)) throw e;
    throw new ConfigError(file, [{ path: '', ...e.position, message: `YAML error: ${e.message}` }]);
  }
  const raw: any = source.value;
  if (!validateSchema(raw)) {
    // A bad property name is reported once (propertyNames), not again by the pattern inside it.
    throw new ConfigError(file, (validateSchema.errors ?? []).filter((error) => error.propertyName === undefined).map((error) => {
      const { parts, key, message } = schemaMessage(error, raw);
      return { path: formatPath(key ? [...parts, key] : parts), ...locate(source, parts, key), message };
    }));
  }
  const problems = [...sourceProblems(raw), ...builderProblems(raw), ...triggerProblems(raw)];
  const located = (found: { parts: PathPart[]; message: string }[]) => new ConfigError(file, found.map(({ parts, message }) => ({ path: formatPath(parts), ...locate(source, parts), message })));
  if (problems.length > 0) {
    throw located(problems);
  }
  const config = withDefaults(raw);
  // Plan-level problems (image names, conflicts) belong to a key of this file too: same file:line form.
  try {
    planBuilds(config.builds, config.builders.workload === 'Pod' ? () => 'build-image' : undefined);
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    throw located(e.problems.map((p) => ({ parts: parsePath(p.path), message: p.message })));
  }
  return config;
}

/** Defaults of `builds`: ref = defaultBranch = main, one image from the root, paths normalised once. */
function withDefaults(raw: any): BuildsFile {
  return {
    registry: raw.registry ?? {},
    builders: raw.builders ?? {},
    buildTrigger: raw.buildTrigger,
    builds: (raw.builds as any[]).map((b) => {
      const defaultBranch = b.defaultBranch ?? 'main';
      const ref = b.ref ?? defaultBranch;
      const ownRef = /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(ref) ? [] : [ref];
      return {
        engine: (b.engine ?? raw.builders?.engine ?? 'docker') === 'buildkit' ? BuilderEngine.BUILDKIT : BuilderEngine.DOCKER,
        repo: b.repo,
        ref,
        defaultBranch,
        trigger: { branches: b.trigger?.branches ?? ownRef, tags: b.trigger?.tags ?? ownRef },
        images: (b.images ?? [{}]).map((i: any) => ({
          context: normalizeRelativePath(i.context ?? '.'),
          dockerfile: normalizeRelativePath(i.dockerfile ?? 'Dockerfile'),
        })),
      };
    }),
  };
}

/** Reads builds.yaml from disk (see parseBuildsFile). */
export function loadBuildsFile(file: string): BuildsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf-8');
  } catch (e: any) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file (${e.code ?? e.message}); create it or set BUILDS_CONFIG to its path` }]);
  }
  return parseBuildsFile(text, file);
}
