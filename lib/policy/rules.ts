import { load as loadYaml, YAMLException } from 'js-yaml';
import { BUILD_SCRIPT, BUILDER_COMMAND, SCRIPT_DIR, SCRIPT_FILE, WORKSPACE_PATH } from '../constructs/builder-script';
import { BUILDKIT_COMMAND, BUILDKIT_SCRIPT, BUILDKIT_SCRIPT_FILE, BUILDKITD_FLAGS } from '../constructs/buildkit-script';
import {
  APPARMOR_ANNOTATION_PREFIX, BUILDER_CONTAINER_NAME, BUILDKIT_CONTAINER_NAME, BUILDKIT_STATE_PATH, BUILDKIT_USER, DOCKER_SOCKET_PATH,
  NODE_RUN_PATH, PUSH_SECRET_ENV_PREFIX, PUSH_SECRET_PASSWORD_KEY, PUSH_SECRET_USERNAME_KEY, REGISTRY_DATA_PATH,
} from '../constructs/contract';
import { deriveImageName } from '../plan/naming';
import { isObject, KUBECTL_SCHEMA, objectsOf, parseManifestText } from '../validation/manifests';

/**
 * The rules our manifests must keep, as data: an id, what it protects, and
 * how to fix a violation. The same rules run in the jest policy tests, in
 * `npm run validate`, and in `cdk8s synth` (cdk8s.yaml `validations:`).
 */

/** A Kubernetes object as parsed from YAML or produced by Testing.synth. */
export type Manifest = Record<string, any>;

export interface Violation {
  readonly rule: string;
  /** `Kind/name` of the object. */
  readonly object: string;
  /** The object itself, so callers can map the violation back to its file and line. */
  readonly manifest?: Manifest;
  /** Field path inside the object, e.g. `spec.template.spec.containers[0].env[0].value`. */
  readonly path: string;
  readonly message: string;
  readonly fix: string;
}

/** A violation as a rule finds it: the rule's id and fix are added by checkPolicy. */
export type Found = Omit<Violation, 'rule' | 'fix'>;

export interface PolicyRule {
  readonly id: string;
  readonly description: string;
  readonly fix: string;
  check(manifests: Manifest[]): Found[];
}

/**
 * Rules run on anyone's YAML (`npm run validate` takes any file), so every
 * read below tolerates any shape: a field of the wrong type counts as absent
 * here, and the schema and API-server layers report the type itself.
 */
/** Read-only, shared: the rules only read what objectOr gives them, and 1,000 builders need no 1,000 empty objects each. */
const EMPTY: Record<string, any> = Object.freeze({});
const objectOr = (v: unknown): Record<string, any> => (isObject(v) ? v : EMPTY);
/** The mapping items of a list with their original indexes (non-mappings skipped). */
function entries(v: unknown): Array<[any, number]> {
  const found: Array<[any, number]> = [];
  if (!Array.isArray(v)) return found;
  for (let i = 0; i < v.length; i++) if (isObject(v[i])) found.push([v[i], i]);
  return found;
}

/** The first mapping item of a list whose `key` is `value`, or undefined: `entries(v).find(...)` without the arrays. */
function firstEntry(v: unknown, key: string, value: unknown): any {
  if (!Array.isArray(v)) return undefined;
  for (let i = 0; i < v.length; i++) if (isObject(v[i]) && v[i][key] === value) return v[i];
  return undefined;
}

/** The volume of a Pod spec that a container mounts at `mountPath`: the first mount there, the first volume of its name. */
function volumeMountedAt(spec: any, container: any, mountPath: string): any {
  const mount = firstEntry(container.volumeMounts, 'mountPath', mountPath);
  return mount && firstEntry(spec.volumes, 'name', mount.name);
}

/**
 * Whether `actual` is a list of exactly these strings, so that its JSON is theirs without writing
 * it; false when unsure (`strings` not a list: a container named like an Object.prototype key).
 */
function sameStrings(actual: unknown, strings: string[] | undefined): boolean {
  if (!Array.isArray(actual) || !Array.isArray(strings) || actual.length !== strings.length) return false;
  for (let i = 0; i < strings.length; i++) if (actual[i] !== strings[i]) return false;
  return true;
}

/** A value for a message, in plain English: `"x"`, `30500`, `not set`, `a list`, `a mapping`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'not set';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/** Like describeValue, with the type of a number or boolean: `number 30500`, `boolean true`. */
function describeTyped(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' ? `${typeof value} ${value}` : describeValue(value);
}

/** A Pod spec with where it sits in its object. */
interface PodSpecAt {
  readonly manifest: Manifest;
  readonly object: string;
  readonly path: string;
  readonly spec: any;
  readonly labels: Record<string, string>;
  /** The Pod's annotations, and where they sit (`metadata.annotations`, `spec.template.metadata.annotations`). */
  readonly annotations: Record<string, unknown>;
  readonly annotationsPath: string;
}

function objectId(m: Manifest): string {
  const kind = typeof m.kind === 'string' && m.kind ? m.kind : '(no kind)';
  const name = objectOr(m.metadata).name;
  return typeof name === 'string' && name ? `${kind}/${name}` : `${kind} (no name)`;
}

/**
 * Each object's Pod spec, read once per object however many rules ask (1,000
 * builders, 18 rules): kept only while checkPolicy runs, so an object changed
 * between two checks is read again.
 */
let podSpecCache: WeakMap<Manifest, PodSpecAt[]> | undefined;
/** The same, for the Pod specs of all objects (every rule is given the same list) and each Pod spec's containers. */
let podSpecsCache: WeakMap<Manifest[], PodSpecAt[]> | undefined;
let containersCache: WeakMap<PodSpecAt, Array<{ container: any; path: string }>> | undefined;
let envCache: WeakMap<object, Record<string, unknown>> | undefined;

function podSpecsOf(m: Manifest): PodSpecAt[] {
  const cached = podSpecCache?.get(m);
  if (cached) return cached;
  const found: PodSpecAt[] = [];
  const spec = objectOr(m.spec);
  const template = objectOr(m.kind === 'CronJob' ? objectOr(objectOr(spec.jobTemplate).spec).template : spec.template);
  if (m.kind === 'Pod' && isObject(m.spec)) {
    found.push({
      manifest: m, object: objectId(m), path: 'spec', spec, labels: objectOr(objectOr(m.metadata).labels),
      annotations: objectOr(objectOr(m.metadata).annotations), annotationsPath: 'metadata.annotations',
    });
  } else if (isObject(template.spec)) {
    const cronJob = m.kind === 'CronJob';
    found.push({
      manifest: m, object: objectId(m), path: cronJob ? 'spec.jobTemplate.spec.template.spec' : 'spec.template.spec', spec: template.spec,
      labels: objectOr(objectOr(template.metadata).labels), annotations: objectOr(objectOr(template.metadata).annotations),
      annotationsPath: cronJob ? 'spec.jobTemplate.spec.template.metadata.annotations' : 'spec.template.metadata.annotations',
    });
  }
  podSpecCache?.set(m, found);
  return found;
}

/** Pod specs of Pods and of workload templates (Deployment, Job, ...). */
export function podSpecs(manifests: Manifest[]): PodSpecAt[] {
  const cached = podSpecsCache?.get(manifests);
  if (cached) return cached;
  const found: PodSpecAt[] = [];
  for (const m of manifests) if (isObject(m)) found.push(...podSpecsOf(m));
  podSpecsCache?.set(manifests, found);
  return found;
}

function containersOf(at: PodSpecAt): Array<{ container: any; path: string }> {
  const cached = containersCache?.get(at);
  if (cached) return cached;
  const list: Array<{ container: any; path: string }> = [];
  for (const field of ['initContainers', 'containers']) {
    const items = at.spec[field];
    if (!Array.isArray(items)) continue;
    for (let i = 0; i < items.length; i++) if (isObject(items[i])) list.push({ container: items[i], path: `${at.path}.${field}[${i}]` });
  }
  containersCache?.set(at, list);
  return list;
}

const isBuilder = (at: PodSpecAt) => at.labels['app.kubernetes.io/component'] === 'builder';
/** A buildkit engine builder: a builder whose Pod runs the buildkit container. */
const isBuildkitBuilder = (at: PodSpecAt) => isBuilder(at) && firstEntry(at.spec.containers, 'name', BUILDKIT_CONTAINER_NAME) !== undefined;
/** How IB010-IB013 and IB018 recognise a buildkit builder, quoted in messages. */
const BUILDKIT_RECOGNISED_BY = `buildkit builders are builders with a container named "${BUILDKIT_CONTAINER_NAME}"`;
const isRegistry = (m: Manifest) => objectOr(objectOr(m?.metadata).labels)['app.kubernetes.io/component'] === 'registry';
/** How IB002/IB004-IB006/IB008 recognise a builder, quoted in messages. */
const BUILDER_RECOGNISED_BY = 'builders are recognised by the Pod template label app.kubernetes.io/component: builder';

/** Verbs that only read (IB019). */
const READ_VERBS: unknown[] = ['get', 'list', 'watch'];
/** The one subresource a ClusterRole may name (IB019): `deployments/status` reads what `deployments` does. */
const STATUS_SUBRESOURCE = /^[^*/]+\/status$/;
/** A Role or ClusterRole as IB020 matches a binding's roleRef to it (a Role with its namespace; none set is the namespace dist/ is applied in). */
const roleKey = (kind: unknown, name: unknown, namespace: unknown) => JSON.stringify([kind, name, kind === 'Role' ? (namespace ?? '') : '']);

const isRetention = (at: PodSpecAt) => at.labels['app.kubernetes.io/component'] === 'retention';

/** Env names that hold a credential, never a literal value. */
const CREDENTIAL_ENV = /(PASSWORD|PASSWD|TOKEN|CREDENTIALS?|API_?KEY|HTPASSWD)$/;
/** Password hashes (bcrypt, apr1, SHA, crypt) and docker config auths: secret material in any string. */
const SECRET_MATERIAL = [
  { re: /\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}/, what: 'a bcrypt password hash' },
  { re: /\$apr1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}/, what: 'an apr1 password hash' },
  { re: /\$[56]\$[^$\s]{1,16}\$[./A-Za-z0-9]{43,86}/, what: 'a crypt(3) SHA password hash' },
  { re: /\{SSHA?\}[A-Za-z0-9+/=]{20,}/, what: 'an LDAP SHA password hash' },
  { re: /"auths"\s*:\s*\{[^}]*"auth"\s*:\s*"[A-Za-z0-9+/=]+"/, what: 'a docker config.json with credentials' },
];

/**
 * The strings in an object that `test` picks, with their paths. The path is
 * only spelled out for a string picked (this walks every string of dist/).
 */
function stringsOf(value: any, test: (text: string) => boolean): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  const at: Array<string | number> = [];
  const walk = (v: any) => {
    if (typeof v === 'string') {
      if (test(v)) out.push({ path: at.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join(''), text: v });
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        at.push(i);
        walk(v[i]);
        at.pop();
      }
    } else if (v && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        at.push(k);
        walk(v[k]);
        at.pop();
      }
    }
  };
  walk(value);
  return out;
}

/** The secret material in a string. Every pattern has a `$` or a `{`: most strings need no regular expression at all. */
const secretMaterial = (text: string) => (text.includes('$') || text.includes('{') ? SECRET_MATERIAL.find((s) => s.re.test(text)) : undefined);

/**
 * Whether a value holds a string with a `$` or a `{` (every SECRET_MATERIAL pattern needs one): walks
 * what stringsOf walks, and may look at more (inherited keys), never less; spells no paths, allocates
 * nothing, and stops at the first such string. Cheaper than JSON.stringify of every object.
 */
function hasDollarOrBrace(v: any): boolean {
  if (typeof v === 'string') return v.includes('$') || v.includes('{');
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasDollarOrBrace(v[i])) return true;
  } else if (v && typeof v === 'object') {
    for (const k in v) if (hasDollarOrBrace(v[k])) return true;
  }
  return false;
}

/** The push-credential env of a container: REGISTRY_USERNAME/REGISTRY_PASSWORD as secretKeyRefs. */
function pushCredentialProblems(at: PodSpecAt, container: any, path: string): Found[] {
  const env = entries(container.env).map(([e]) => e);
  const ref = (name: string) => objectOr(objectOr(env.find((e) => e.name === name)?.valueFrom).secretKeyRef);
  const user = ref('REGISTRY_USERNAME');
  const password = ref('REGISTRY_PASSWORD');
  const problems = [];
  if (user.key !== PUSH_SECRET_USERNAME_KEY || !user.name) {
    problems.push({ object: at.object, manifest: at.manifest, path: `${path}.env`, message: `REGISTRY_USERNAME is not read from key "${PUSH_SECRET_USERNAME_KEY}" of the push Secret` });
  }
  if (password.key !== PUSH_SECRET_PASSWORD_KEY || !password.name) {
    problems.push({ object: at.object, manifest: at.manifest, path: `${path}.env`, message: `REGISTRY_PASSWORD is not read from key "${PUSH_SECRET_PASSWORD_KEY}" of the push Secret` });
  }
  if (user.name && password.name && user.name !== password.name) {
    problems.push({ object: at.object, manifest: at.manifest, path: `${path}.env`, message: `username and password come from different Secrets (${user.name}, ${password.name})` });
  }
  if (user.optional === true || password.optional === true) {
    problems.push({ object: at.object, manifest: at.manifest, path: `${path}.env`, message: 'the push Secret is optional: a builder without it would push anonymously and fail late' });
  }
  return problems;
}

const isPushSecretRef = (e: unknown) => isObject(e) && e.prefix === PUSH_SECRET_ENV_PREFIX && e.secretRef !== undefined;

/**
 * A builder's push Secret: read whole, one envFrom secretRef with prefix PUSH_SECRET_ENV_PREFIX
 * (the scripts read PUSH_SECRET_username and PUSH_SECRET_password), not optional, and the
 * Secret that REGISTRY_PUSH_SECRET (the scripts' messages) names.
 */
function pushSecretEnvFromProblems(at: PodSpecAt, container: any, path: string): Found[] {
  const problem = (where: string, message: string) => ({ object: at.object, manifest: at.manifest, path: `${path}.${where}`, message });
  const envFrom: unknown[] = Array.isArray(container.envFrom) ? container.envFrom : [];
  let i = 0;
  while (i < envFrom.length && !isPushSecretRef(envFrom[i])) i++;
  if (i === envFrom.length) {
    return [problem('envFrom', `the push Secret is not read whole (envFrom secretRef with prefix ${PUSH_SECRET_ENV_PREFIX}): the script reads ${PUSH_SECRET_ENV_PREFIX}${PUSH_SECRET_USERNAME_KEY} and ${PUSH_SECRET_ENV_PREFIX}${PUSH_SECRET_PASSWORD_KEY}`)];
  }
  const ref = objectOr((envFrom[i] as Record<string, any>).secretRef);
  const problems = [];
  if (typeof ref.name !== 'string' || ref.name === '') problems.push(problem(`envFrom[${i}].secretRef.name`, 'the push Secret has no name'));
  if (ref.optional === true) problems.push(problem(`envFrom[${i}].secretRef.optional`, 'the push Secret is optional: a builder without it would push anonymously and fail late'));
  const named = envOf(container).REGISTRY_PUSH_SECRET;
  if (named !== ref.name) problems.push(problem('env', `REGISTRY_PUSH_SECRET is ${describeValue(named)}, but the builder reads Secret ${describeValue(ref.name)}: its messages would name another Secret`));
  return problems;
}

/** `IMAGE_<n>_NAME` and `IMAGE_<n>_CONTEXT`, spelled once per n for all builders. */
const IMAGE_KEYS: Array<{ name: string; context: string }> = [];
const imageKeys = (n: number) => (IMAGE_KEYS[n] ??= { name: `IMAGE_${n}_NAME`, context: `IMAGE_${n}_CONTEXT` });

/** IB004 on one builder container: IMAGE_<n>_NAME as the scripts count them, each the name its source gives. */
function imageNameProblems(at: PodSpecAt, container: any, path: string): Found[] {
  const env = envOf(container);
  // As the scripts count them (IMAGE_COUNT_SH): IMAGE_1_NAME, IMAGE_2_NAME, ... up to the first one unset or empty.
  let count = 0;
  while (typeof env[imageKeys(count + 1).name] === 'string' && env[imageKeys(count + 1).name] !== '') count++;
  if (count === 0) {
    return [{ manifest: at.manifest, object: at.object, path: `${path}.env`, message: `IMAGE_1_NAME is ${describeValue(env.IMAGE_1_NAME)}: a builder names at least one image` }];
  }
  const unread = Object.keys(env).filter((k) => k.startsWith('IMAGE_') && Number(/^IMAGE_(\d+)_/.exec(k)?.[1] ?? 0) > count);
  if (unread.length > 0) {
    return [{ manifest: at.manifest, object: at.object, path: `${path}.env`, message: `${unread.join(', ')} would not be built: the script counts images up to the first IMAGE_<n>_NAME missing, IMAGE_${count + 1}_NAME` }];
  }
  if (typeof env.REPO_URL !== 'string') {
    return [{ manifest: at.manifest, object: at.object, path: `${path}.env`, message: `REPO_URL is ${describeValue(env.REPO_URL)}, so the image names cannot be derived` }];
  }
  const problems = [];
  for (let n = 1; n <= count; n++) {
    let expected: string;
    try {
      expected = deriveImageName(String(env.REPO_URL ?? ''), String(env[imageKeys(n).context] ?? '.'));
    } catch (e) {
      problems.push({ manifest: at.manifest, object: at.object, path: `${path}.env`, message: `IMAGE_${n}_CONTEXT ${describeValue(env[`IMAGE_${n}_CONTEXT`])} gives no image name: ${(e as Error).message}` });
      continue;
    }
    if (env[imageKeys(n).name] !== expected) {
      problems.push({ manifest: at.manifest, object: at.object, path: `${path}.env`, message: `IMAGE_${n}_NAME is ${describeValue(env[`IMAGE_${n}_NAME`])}, but the source gives "${expected}"` });
    }
  }
  return problems;
}

/** A container's env as name -> value (read by five rules: once per checkPolicy; callers only read it). */
function envOf(container: any): Record<string, unknown> {
  const cached = envCache?.get(container);
  if (cached) return cached;
  // Object.fromEntries' keys, values and order, without its arrays. No prototype, so that a name
  // `__proto__` is a key as in fromEntries (an assignment to a plain object would set its prototype).
  const env: Record<string, unknown> = Object.create(null);
  const list = container.env;
  if (Array.isArray(list)) for (let i = 0; i < list.length; i++) if (isObject(list[i])) env[list[i].name] = list[i].value;
  if (isObject(container)) envCache?.set(container, env);
  return env;
}

/** Each engine's builder container: the command it must run, and its script's key and text in the ConfigMap. */
const ENGINE_SCRIPTS: Record<string, { command: string[]; file: string; script: string }> = {
  [BUILDER_CONTAINER_NAME]: { command: BUILDER_COMMAND, file: SCRIPT_FILE, script: BUILD_SCRIPT },
  [BUILDKIT_CONTAINER_NAME]: { command: BUILDKIT_COMMAND, file: BUILDKIT_SCRIPT_FILE, script: BUILDKIT_SCRIPT },
};

export const RULES: PolicyRule[] = [
  {
    id: 'IB001',
    description: 'every env value is a string',
    fix: 'quote the value in YAML ("30500"); the API server refuses numbers and booleans in EnvVar.value',
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        for (const { container, path } of containersOf(at)) {
          const env = container.env;
          if (!Array.isArray(env)) continue;
          for (let i = 0; i < env.length; i++) {
            const e = env[i];
            // null is "not set" to the API server (and to kubeconform's schema), so only other types are refused.
            if (isObject(e) && e.value !== undefined && e.value !== null && typeof e.value !== 'string') {
              problems.push({ manifest: at.manifest, object: at.object, path: `${path}.env[${i}].value`, message: `env ${typeof e.name === 'string' ? e.name : describeValue(e.name)} is ${describeTyped(e.value)}, not a string` });
            }
          }
        }
      });
      return problems;
    },
  },
  {
    id: 'IB002',
    description: "REGISTRY_PORT of every builder is the registry Service's nodePort",
    fix: 'take the port from the Registry construct (registry.nodePort), never copy it by hand',
    check: (manifests) => {
      const service = manifests.find((m) => m?.kind === 'Service' && isRegistry(m));
      const nodePorts = entries(objectOr(service?.spec).ports).map(([p]) => p.nodePort)
        .filter((n) => typeof n === 'number' || typeof n === 'string').map(String);
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        if (!isBuilder(at)) return;
        for (const { container, path } of containersOf(at)) {
          const port = envOf(container).REGISTRY_PORT;
          if (!service) {
            problems.push({ manifest: at.manifest, object: at.object, path, message: `there is a builder but no registry Service (label app.kubernetes.io/component: registry) to push to; ${BUILDER_RECOGNISED_BY}` });
          } else if (!(nodePorts.includes(String(port)) && port !== undefined)) {
            problems.push({
              manifest: at.manifest, object: at.object, path: `${path}.env`,
              message: `REGISTRY_PORT is ${describeValue(port)}, but the registry's nodePort is ${nodePorts.length > 0 ? nodePorts.join(', ') : 'not set'}`,
            });
          }
        }
      });
      return problems;
    },
  },
  {
    id: 'IB003',
    description: 'every image is pinned: a tag other than latest, or a digest',
    fix: 'write the image as name:tag (e.g. registry:2.8.3), optionally with @sha256:<digest>',
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        for (const { container, path } of containersOf(at)) {
          if (typeof container.image !== 'string') {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.image`, message: `image is ${describeValue(container.image)}, not a name:tag` });
            continue;
          }
          const image = container.image;
          // A digest pins the image, whatever its tag.
          if (/@sha256:[0-9a-f]{64}$/.test(image)) continue;
          // The tag is after the last ':' of the last path component (a registry host may carry a port).
          const lastComponent = image.slice(image.lastIndexOf('/') + 1);
          const tag = lastComponent.includes(':') ? lastComponent.slice(lastComponent.indexOf(':') + 1) : undefined;
          if (tag === undefined || tag === 'latest') {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.image`, message: `image "${image}" is not pinned (${tag === 'latest' ? 'tag latest' : 'no tag'})` });
          }
        }
      });
      return problems;
    },
  },
  {
    id: 'IB004',
    description: 'builder image names are derived from the source, never configured',
    fix: 'let the BuilderPod/BuildJob derive IMAGE_<n>_NAME from the repository and context; do not set it',
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        if (!isBuilder(at)) return;
        for (const { container, path } of containersOf(at)) problems.push(...imageNameProblems(at, container, path));
      });
      return problems;
    },
  },
  {
    id: 'IB005',
    description: 'builder Jobs never restart a Pod in place (restartPolicy Never); the single builder Pod restarts on failure (OnFailure)',
    fix: 'set restartPolicy: Never on a builder Job\'s Pod template (each attempt keeps its Pod and logs; with OnFailure the Job controller deletes the Pod when it gives up) and OnFailure on the builder Pod',
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        if (!isBuilder(at)) return;
        const want = at.manifest.kind === 'Pod' ? 'OnFailure' : 'Never';
        if (at.spec.restartPolicy !== want) {
          problems.push({ manifest: at.manifest, object: at.object, path: `${at.path}.restartPolicy`, message: `restartPolicy is ${describeValue(at.spec.restartPolicy)}, not "${want}"` });
        }
      });
      return problems;
    },
  },
  {
    id: 'IB006',
    description: `the only hostPath is ${NODE_RUN_PATH} (the Docker socket's directory), of type Directory, mounted read-only, in builder workloads`,
    fix: `builders mount only the node's ${NODE_RUN_PATH} (hostPath type: Directory, volumeMount readOnly: true) and reach ${DOCKER_SOCKET_PATH} below it; everything else uses emptyDir or a PersistentVolumeClaim`,
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        const volumes = at.spec.volumes;
        if (!Array.isArray(volumes)) return;
        for (let i = 0; i < volumes.length; i++) {
          const v = volumes[i];
          if (!isObject(v) || v.hostPath === undefined || v.hostPath === null) continue;
          const hostPath = objectOr(v.hostPath);
          if (isBuilder(at) && hostPath.path === NODE_RUN_PATH && hostPath.type === 'Directory') {
            for (const { container, path: cpath } of containersOf(at)) {
              const mounts = container.volumeMounts;
              if (!Array.isArray(mounts)) continue;
              for (let j = 0; j < mounts.length; j++) {
                const mount = mounts[j];
                if (isObject(mount) && mount.name === v.name && mount.readOnly !== true) {
                  problems.push({ manifest: at.manifest, object: at.object, path: `${cpath}.volumeMounts[${j}].readOnly`, message: `hostPath ${NODE_RUN_PATH} is mounted writable` });
                }
              }
            }
            continue;
          }
          // The path and the message are only spelled out for a violation.
          const path = `${at.path}.volumes[${i}].hostPath`;
          const where = typeof hostPath.path === 'string' ? hostPath.path : `with path ${describeValue(hostPath.path)}`;
          if (!isBuilder(at)) {
            problems.push({ manifest: at.manifest, object: at.object, path, message: `hostPath ${where} in a workload that is not a builder (${BUILDER_RECOGNISED_BY})` });
          } else if (hostPath.path !== NODE_RUN_PATH) {
            problems.push({ manifest: at.manifest, object: at.object, path, message: `hostPath ${where} is not ${NODE_RUN_PATH}` });
          } else {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.type`, message: `hostPath type is ${describeValue(hostPath.type)}, not "Directory"` });
          }
        }
      });
      return problems;
    },
  },
  {
    id: 'IB007',
    description: 'the registry runs exactly one replica, replaced with Recreate, with a volume at /var/lib/registry',
    fix: 'keep replicas: 1 and strategy Recreate: without shared storage, two registries each hold half the pushes',
    check: (manifests) => manifests.filter((m) => m?.kind === 'Deployment' && isRegistry(m)).flatMap((m) => {
      const problems: Found[] = [];
      const object = objectId(m);
      const deployment = objectOr(m.spec);
      if (deployment.replicas !== 1) problems.push({ manifest: m, object, path: 'spec.replicas', message: `replicas is ${describeValue(deployment.replicas)}` });
      const strategy = objectOr(deployment.strategy).type;
      if (strategy !== 'Recreate') problems.push({ manifest: m, object, path: 'spec.strategy.type', message: `strategy is ${describeValue(strategy)}` });
      const spec = objectOr(objectOr(deployment.template).spec);
      const mount = entries(spec.containers).flatMap(([c]) => entries(c.volumeMounts).map(([vm]) => vm)).find((vm) => vm.mountPath === REGISTRY_DATA_PATH);
      const volume = mount && entries(spec.volumes).map(([v]) => v).find((v) => v.name === mount.name);
      if (!volume || !(volume.emptyDir || volume.persistentVolumeClaim)) {
        problems.push({ manifest: m, object, path: 'spec.template.spec.volumes', message: `no emptyDir or PersistentVolumeClaim mounted at ${REGISTRY_DATA_PATH}` });
      }
      return problems;
    }),
  },
  {
    id: 'IB008',
    description: 'builders run as root with a writable root filesystem and an emptyDir at /workspace',
    fix: 'apk needs root and a writable filesystem: runAsUser 0, runAsNonRoot not true, readOnlyRootFilesystem not true, workspace emptyDir',
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        if (!isBuilder(at)) return;
        for (const { container, path } of containersOf(at)) {
          if (container.name !== BUILDER_CONTAINER_NAME) continue;
          const sc = { ...objectOr(at.spec.securityContext), ...objectOr(container.securityContext) };
          if (sc.runAsUser !== 0 || sc.runAsNonRoot === true) problems.push({ manifest: at.manifest, object: at.object, path: `${path}.securityContext`, message: `runs as user ${describeValue(sc.runAsUser)} (runAsNonRoot ${describeValue(sc.runAsNonRoot)}), not root` });
          if (sc.readOnlyRootFilesystem === true) problems.push({ manifest: at.manifest, object: at.object, path: `${path}.securityContext.readOnlyRootFilesystem`, message: 'the root filesystem is read-only' });
          if (!volumeMountedAt(at.spec, container, WORKSPACE_PATH)?.emptyDir) problems.push({ manifest: at.manifest, object: at.object, path: `${path}.volumeMounts`, message: `no emptyDir mounted at ${WORKSPACE_PATH}` });
        }
      });
      return problems;
    },
  },
  {
    id: 'IB009',
    description: `builders run their engine's constant build script from a ConfigMap in the same output, mounted at ${SCRIPT_DIR}`,
    fix: `keep command ${JSON.stringify(BUILDER_COMMAND)} (docker; buildkit: ${JSON.stringify(BUILDKIT_COMMAND)}) and the script in its ConfigMap `
      + `(key ${SCRIPT_FILE} or ${BUILDKIT_SCRIPT_FILE}, lib/constructs/builder-script.ts, buildkit-script.ts); `
      + 'never edit the script in dist/, and apply the ConfigMap with the builders',
    check: (manifests) => {
      const configMaps = new Map(manifests.filter((m) => isObject(m) && m.kind === 'ConfigMap').map((m) => [objectOr(m.metadata).name, m]));
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        if (!isBuilder(at)) return;
        for (const { container, path } of containersOf(at)) {
          if (!(container.name in ENGINE_SCRIPTS)) continue;
          const { command, file, script } = ENGINE_SCRIPTS[container.name as string];
          if (!sameStrings(container.command, command) && JSON.stringify(container.command) !== JSON.stringify(command)) {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.command`, message: `command is ${describeValue(container.command === undefined ? undefined : JSON.stringify(container.command))}, not ${JSON.stringify(command)}` });
            continue;
          }
          const volume = volumeMountedAt(at.spec, container, SCRIPT_DIR);
          if (!isObject(volume?.configMap)) {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.volumeMounts`, message: `no ConfigMap volume mounted at ${SCRIPT_DIR}` });
            continue;
          }
          const configMap = configMaps.get(volume.configMap.name);
          if (!configMap) {
            problems.push({ manifest: at.manifest, object: at.object, path: `${at.path}.volumes`, message: `ConfigMap ${describeValue(volume.configMap.name)} is not in the same output: the Pod would wait in ContainerCreating` });
          } else if (objectOr(configMap.data)[file] !== script) {
            problems.push({ manifest: configMap, object: objectId(configMap), path: `data.${file}`, message: `${file} is not the project's build script` });
          }
        }
      });
      return problems;
    },
  },
  {
    id: 'IB010',
    description: 'buildkit builders mount no hostPath of any kind',
    fix: 'the buildkit engine needs nothing from the node: keep its volumes emptyDir (state dir) only; a node socket belongs to the docker engine',
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        if (!isBuildkitBuilder(at)) return;
        for (const [v, i] of entries(at.spec.volumes)) {
          if (v.hostPath === undefined || v.hostPath === null) continue;
          problems.push({
            manifest: at.manifest, object: at.object, path: `${at.path}.volumes[${i}].hostPath`,
            message: `hostPath ${describeValue(objectOr(v.hostPath).path)} in a buildkit builder (${BUILDKIT_RECOGNISED_BY})`,
          });
        }
      });
      return problems;
    },
  },
  {
    id: 'IB011',
    description: 'seccomp Unconfined and AppArmor unconfined only on the buildkit container of a buildkit builder, never for a whole Pod',
    fix: `only rootless BuildKit needs the runtime profiles off (it creates user namespaces): keep seccompProfile Unconfined in the securityContext of the container named "${BUILDKIT_CONTAINER_NAME}" and the AppArmor annotation for that container only; remove them everywhere else, and from the Pod's own securityContext`,
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        const buildkit = isBuildkitBuilder(at);
        if (objectOr(objectOr(at.spec.securityContext).seccompProfile).type === 'Unconfined') {
          problems.push({
            manifest: at.manifest, object: at.object, path: `${at.path}.securityContext.seccompProfile`,
            message: buildkit
              ? `seccomp Unconfined for the whole buildkit builder Pod: it reaches every container, not only "${BUILDKIT_CONTAINER_NAME}"`
              : `seccomp Unconfined on a Pod that is not a buildkit builder (${BUILDKIT_RECOGNISED_BY})`,
          });
        }
        for (const { container, path } of containersOf(at)) {
          const exempt = buildkit && container.name === BUILDKIT_CONTAINER_NAME && path.startsWith(`${at.path}.containers[`);
          if (!exempt && objectOr(objectOr(container.securityContext).seccompProfile).type === 'Unconfined') {
            problems.push({
              manifest: at.manifest, object: at.object, path: `${path}.securityContext.seccompProfile`,
              message: buildkit
                ? `seccomp Unconfined on container ${describeValue(container.name)} of a buildkit builder: only its "${BUILDKIT_CONTAINER_NAME}" container needs it`
                : `seccomp Unconfined on container ${describeValue(container.name)}, not in a buildkit builder (${BUILDKIT_RECOGNISED_BY})`,
            });
          }
        }
        for (const [key, value] of Object.entries(at.annotations)) {
          if (!key.startsWith(APPARMOR_ANNOTATION_PREFIX) || value !== 'unconfined') continue;
          if (buildkit && key === `${APPARMOR_ANNOTATION_PREFIX}${BUILDKIT_CONTAINER_NAME}`) continue;
          problems.push({
            manifest: at.manifest, object: at.object, path: `${at.annotationsPath}.${key}`,
            message: buildkit
              ? `AppArmor unconfined for container ${describeValue(key.slice(APPARMOR_ANNOTATION_PREFIX.length))} of a buildkit builder: only its "${BUILDKIT_CONTAINER_NAME}" container needs it`
              : `AppArmor unconfined on a Pod that is not a buildkit builder (${BUILDKIT_RECOGNISED_BY})`,
          });
        }
      });
      return problems;
    },
  },
  {
    id: 'IB012',
    description: `buildkit builders never run as root: uid ${BUILDKIT_USER} (the rootless image's user), not privileged, no added capabilities, none of the node's namespaces (hostPID, hostNetwork, hostIPC), with an emptyDir state dir`,
    fix: `runAsUser ${BUILDKIT_USER}, runAsNonRoot true, privileged false, no capabilities.add, hostPID/hostNetwork/hostIPC unset, an emptyDir at ${BUILDKIT_STATE_PATH}; rootless BuildKit needs none of the node's privileges`,
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        if (!isBuildkitBuilder(at)) return;
        for (const field of ['hostPID', 'hostNetwork', 'hostIPC']) {
          if (at.spec[field] === true) problems.push({ manifest: at.manifest, object: at.object, path: `${at.path}.${field}`, message: `${field} true: the builder would share the node's namespace` });
        }
        for (const { container, path } of containersOf(at)) {
          const sc = { ...objectOr(at.spec.securityContext), ...objectOr(container.securityContext) };
          if (sc.runAsUser !== BUILDKIT_USER || sc.runAsNonRoot !== true) {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.securityContext`, message: `runs as user ${describeValue(sc.runAsUser)} (runAsNonRoot ${describeValue(sc.runAsNonRoot)}), not the non-root ${BUILDKIT_USER}` });
          }
          if (sc.privileged === true) problems.push({ manifest: at.manifest, object: at.object, path: `${path}.securityContext.privileged`, message: 'a privileged container: rootless BuildKit needs no privilege' });
          const added = objectOr(objectOr(container.securityContext).capabilities).add;
          if (added !== undefined && added !== null && !(Array.isArray(added) && added.length === 0)) {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.securityContext.capabilities.add`, message: `adds capabilities (${Array.isArray(added) ? added.map(describeValue).join(', ') : describeValue(added)}): rootless BuildKit needs none` });
          }
          if (container.name === BUILDKIT_CONTAINER_NAME && !volumeMountedAt(at.spec, container, BUILDKIT_STATE_PATH)?.emptyDir) {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.volumeMounts`, message: `no emptyDir mounted at ${BUILDKIT_STATE_PATH}` });
          }
        }
      });
      return problems;
    },
  },
  {
    id: 'IB013',
    description: "REGISTRY_HOST of every buildkit builder is the registry Service's <name>:<port>",
    fix: 'take it from the Registry construct (registry.clusterEndpoint): a buildkit Pod reaches the registry at its Service, never at localhost',
    check: (manifests) => {
      const service = manifests.find((m) => m?.kind === 'Service' && isRegistry(m));
      const name = objectOr(service?.metadata).name;
      const hosts = entries(objectOr(service?.spec).ports).map(([p]) => `${name}:${p.port}`);
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        if (!isBuildkitBuilder(at)) return;
        for (const { container, path } of containersOf(at)) {
          if (container.name !== BUILDKIT_CONTAINER_NAME) continue;
          const host = envOf(container).REGISTRY_HOST;
          if (!(typeof host === 'string' && hosts.includes(host))) {
            problems.push({
              manifest: at.manifest, object: at.object, path: `${path}.env`,
              message: `REGISTRY_HOST is ${describeValue(host)}, but the registry Service answers at ${hosts.length > 0 ? hosts.join(', ') : '(no registry Service)'}`,
            });
          }
        }
      });
      return problems;
    },
  },
  {
    id: 'IB014',
    description: 'no secret material in the manifests: no Secret objects, no literal credentials in env, no password hashes or docker auths anywhere',
    fix: 'create Secrets out of band (README: "Registry credentials") and reference them by name (secretKeyRef, secret volumes); never commit a password, a hash or a config.json',
    check: (manifests) => {
      const problems: Found[] = [];
      manifests.filter(isObject).forEach((m) => {
        if (m.kind === 'Secret') {
          problems.push({ object: objectId(m), manifest: m, path: '', message: 'a Secret in the manifests: its data would be committed with dist/' });
          return;
        }
        // An object without a `$` or `{` in any string (nearly all) is walked once, without paths.
        const candidates = hasDollarOrBrace(m) ? stringsOf(m, (text) => secretMaterial(text) !== undefined) : [];
        for (const { path, text } of candidates) {
          problems.push({ object: objectId(m), manifest: m, path, message: `${secretMaterial(text)!.what} in the manifest` });
        }
        for (const at of podSpecsOf(m)) {
          for (const { container, path } of containersOf(at)) {
            const env = container.env;
            if (!Array.isArray(env)) continue;
            for (let i = 0; i < env.length; i++) {
              const e = env[i];
              if (isObject(e) && CREDENTIAL_ENV.test(String(e.name)) && 'value' in e) {
                problems.push({ object: objectId(m), manifest: m, path: `${path}.env[${i}].value`, message: `env ${e.name} has a literal value; read it from a Secret (valueFrom.secretKeyRef)` });
              }
            }
          }
        }
      });
      return problems;
    },
  },
  {
    id: 'IB015',
    description: `builders and the retention CronJob read the push credentials from the push Secret, not optional: builders the whole Secret (envFrom, prefix ${PUSH_SECRET_ENV_PREFIX}, the Secret REGISTRY_PUSH_SECRET names), the retention CronJob REGISTRY_USERNAME/REGISTRY_PASSWORD as secretKeyRef (keys username/password)`,
    fix: 'add the builder container and the retention container through the constructs, which wire pushSecretEnvFrom() and pushCredentialEnv(); do not set these env values by hand',
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        if (!isBuilder(at) && !isRetention(at)) return;
        for (const { container, path } of containersOf(at)) {
          problems.push(...(isBuilder(at) ? pushSecretEnvFromProblems(at, container, path) : pushCredentialProblems(at, container, path)));
        }
      });
      return problems;
    },
  },
  {
    id: 'IB016',
    description: "the registry Service's port is served by the auth proxy (it mounts the htpasswd Secret); the registry itself exposes no port",
    fix: 'keep the Registry construct\'s auth-proxy container in front: only it has the Service\'s port, and it mounts the htpasswd Secret',
    check: (manifests) => manifests.filter((m) => isObject(m) && m.kind === 'Deployment' && isRegistry(m)).flatMap((m) => {
      const object = objectId(m);
      const service = manifests.find((x) => isObject(x) && x.kind === 'Service' && isRegistry(x));
      const targets = entries(objectOr(objectOr(service).spec).ports).map(([p]) => p.targetPort ?? p.port);
      const spec = objectOr(objectOr(objectOr(m.spec).template).spec);
      const secretVolumes = new Set(entries(spec.volumes).filter(([v]) => objectOr(v.secret).secretName).map(([v]) => v.name));
      const problems: Found[] = [];
      entries(spec.containers).forEach(([c, i]) => {
        const ports = entries(c.ports).map(([p]) => p.containerPort);
        if (!ports.some((p) => targets.includes(p))) return;
        if (!entries(c.volumeMounts).some(([vm]) => secretVolumes.has(vm.name))) {
          problems.push({ object, manifest: m, path: `spec.template.spec.containers[${i}]`, message: `container ${c.name} serves the registry Service's port without an htpasswd Secret: anyone could push` });
        }
      });
      return problems;
    }),
  },
  {
    id: 'IB017',
    description: "the registry's config allows deletes (retention) and keeps no blob-descriptor cache (garbage collection would leave it stale)",
    fix: 'use registryConfigYaml() from lib/constructs/registry-config.ts: storage.delete.enabled true, no storage.cache',
    check: (manifests) => manifests.filter((m) => isObject(m) && m.kind === 'ConfigMap' && isRegistry(m) && typeof objectOr(m.data)['config.yml'] === 'string').flatMap((m) => {
      let config: any;
      try {
        // As the registry reads it: Go's yaml v2 (distribution's configuration/parser.go), the same reader as kubectl's
        // (YAML 1.1 booleans, so `enabled: yes` is true; Go's numbers; dates stay strings).
        config = loadYaml(m.data['config.yml'], { schema: KUBECTL_SCHEMA });
      } catch (e: any) {
        return [{ object: objectId(m), manifest: m, path: 'data["config.yml"]', message: `not YAML: ${e instanceof YAMLException ? `${e.reason} (line ${(e.mark?.line ?? 0) + 1})` : e.message}` }];
      }
      const problems: Found[] = [];
      if (objectOr(objectOr(objectOr(config).storage).delete).enabled !== true) problems.push({ object: objectId(m), manifest: m, path: 'data["config.yml"]', message: 'storage.delete.enabled is not true: retention cannot delete' });
      if (objectOr(objectOr(config).storage).cache !== undefined) problems.push({ object: objectId(m), manifest: m, path: 'data["config.yml"]', message: 'storage.cache is set: after garbage collection the cache still claims deleted blobs exist' });
      return problems;
    }),
  },
  {
    id: 'IB018',
    description: 'buildkit builders have what rootless BuildKit needs to start: seccomp Unconfined and the AppArmor annotation on the buildkit container, allowPrivilegeEscalation, and the no-process-sandbox flag',
    fix: `add the builder through the constructs (addBuildkitContainer): container "${BUILDKIT_CONTAINER_NAME}" with securityContext.seccompProfile.type Unconfined and allowPrivilegeEscalation true (setuid newuidmap), the Pod annotation ${APPARMOR_ANNOTATION_PREFIX}${BUILDKIT_CONTAINER_NAME}: unconfined, and env BUILDKITD_FLAGS containing ${BUILDKITD_FLAGS}; without them buildkitd fails at run time, not here`,
    check: (manifests) => {
      const problems: Found[] = [];
      podSpecs(manifests).forEach((at) => {
        if (!isBuildkitBuilder(at)) return;
        for (const { container, path } of containersOf(at)) {
          if (!(container.name === BUILDKIT_CONTAINER_NAME && path.startsWith(`${at.path}.containers[`))) continue;
          const sc = objectOr(container.securityContext);
          if (objectOr(sc.seccompProfile).type !== 'Unconfined') {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.securityContext.seccompProfile`, message: `seccomp profile ${describeValue(objectOr(sc.seccompProfile).type)}, not Unconfined: rootlesskit cannot create its user namespace` });
          }
          const apparmor = `${APPARMOR_ANNOTATION_PREFIX}${BUILDKIT_CONTAINER_NAME}`;
          if (at.annotations[apparmor] !== 'unconfined') {
            problems.push({ manifest: at.manifest, object: at.object, path: `${at.annotationsPath}.${apparmor}`, message: `AppArmor annotation is ${describeValue(at.annotations[apparmor])}, not "unconfined": the runtime's profile forbids rootlesskit's mounts` });
          }
          if (sc.allowPrivilegeEscalation === false) {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.securityContext.allowPrivilegeEscalation`, message: 'allowPrivilegeEscalation false: no_new_privs disables the setuid newuidmap/newgidmap rootlesskit runs' });
          }
          const flags = envOf(container).BUILDKITD_FLAGS;
          if (typeof flags !== 'string' || !flags.split(/\s+/).includes(BUILDKITD_FLAGS)) {
            problems.push({ manifest: at.manifest, object: at.object, path: `${path}.env`, message: `BUILDKITD_FLAGS is ${describeValue(flags)}, without ${BUILDKITD_FLAGS}: a RUN step would need a PID namespace the Pod cannot create` });
          }
        }
      });
      return problems;
    },
  },
  {
    id: 'IB019',
    description: 'a ClusterRole (the retention CronJob\'s: it reads what the cluster runs) only reads: get, list or watch, never Secrets, no wildcard, no subresource but <resource>/status (pods/exec, pods/attach, nodes/proxy, serviceaccounts/token act through a get or create), no non-resource URL',
    fix: 'use the RetentionCronJob construct\'s ClusterRole (list on Pods and the workloads that make Pods, lib/retention WORKLOADS); a cluster-wide write or Secret read lets whoever controls that Pod\'s image act on every namespace',
    check: (manifests) => manifests.filter((m) => isObject(m) && m.kind === 'ClusterRole').flatMap((m) => {
      const object = objectId(m);
      const problems: Found[] = [];
      entries(m.rules).forEach(([rule, i]) => {
        const path = `rules[${i}]`;
        const list = (v: unknown) => (Array.isArray(v) ? v : []);
        const writes = list(rule.verbs).filter((v) => !READ_VERBS.includes(v));
        if (writes.length > 0) problems.push({ object, manifest: m, path: `${path}.verbs`, message: `verbs ${writes.map(describeValue).join(', ')}: not a read` });
        if (list(rule.resources).some((r) => r === '*' || r === 'secrets' || (typeof r === 'string' && r.startsWith('secrets/')))) {
          problems.push({ object, manifest: m, path: `${path}.resources`, message: `resources ${list(rule.resources).map(describeValue).join(', ')}: Secrets or every resource` });
        }
        // A subresource is an action of its own, whatever the verb: `get` on pods/exec or nodes/proxy runs commands.
        const subresources = list(rule.resources).filter((r) => typeof r === 'string' && r.includes('/') && !r.startsWith('secrets/') && !STATUS_SUBRESOURCE.test(r));
        if (subresources.length > 0) {
          problems.push({ object, manifest: m, path: `${path}.resources`, message: `subresources ${subresources.map(describeValue).join(', ')}: only <resource>/status is a plain read` });
        }
        if (list(rule.apiGroups).includes('*')) problems.push({ object, manifest: m, path: `${path}.apiGroups`, message: 'apiGroups "*": every API group' });
        if (list(rule.nonResourceURLs).length > 0) problems.push({ object, manifest: m, path: `${path}.nonResourceURLs`, message: 'non-resource URLs' });
      });
      if (isObject(m.aggregationRule)) problems.push({ object, manifest: m, path: 'aggregationRule', message: 'an aggregated ClusterRole: its rules come from other ClusterRoles' });
      return problems;
    }),
  },
  {
    id: 'IB020',
    description: 'every RoleBinding and ClusterRoleBinding grants a Role or ClusterRole defined in the same manifests (which IB019 checks), never one the cluster already has, such as cluster-admin or edit',
    fix: 'bind the construct\'s own role (RetentionCronJob\'s ClusterRole, BuildTrigger\'s Role): roleRef.kind and roleRef.name of a Role or ClusterRole in the same output, in the binding\'s namespace for a Role',
    check: (manifests) => {
      const defined = new Set(manifests.filter((m) => isObject(m) && (m.kind === 'Role' || m.kind === 'ClusterRole'))
        .map((m) => roleKey(m.kind, objectOr(m.metadata).name, m.kind === 'Role' ? objectOr(m.metadata).namespace : undefined)));
      return manifests.filter((m) => isObject(m) && (m.kind === 'RoleBinding' || m.kind === 'ClusterRoleBinding')).flatMap((m) => {
        const ref = objectOr(m.roleRef);
        // A ClusterRoleBinding can only name a ClusterRole; a RoleBinding names a Role of its own namespace or a ClusterRole.
        const kinds = m.kind === 'ClusterRoleBinding' ? ['ClusterRole'] : ['Role', 'ClusterRole'];
        const namespace = ref.kind === 'Role' ? objectOr(m.metadata).namespace : undefined;
        if (kinds.includes(ref.kind) && ref.apiGroup === 'rbac.authorization.k8s.io' && defined.has(roleKey(ref.kind, ref.name, namespace))) return [];
        const what = isObject(m.roleRef)
          ? `roleRef ${describeValue(ref.kind)} ${describeValue(ref.name)} is not a ${kinds.join(' or ')} defined in these manifests: it would grant whatever the cluster's role of that name allows`
          : `roleRef is ${describeValue(m.roleRef)}, not a mapping naming a ${kinds.join(' or ')} defined in these manifests (kind, name, apiGroup)`;
        return [{ object: objectId(m), manifest: m, path: 'roleRef', message: what }];
      });
    },
  },
];

/** Runs every rule; an empty list means the manifests keep them all. */
export function checkPolicy(manifests: Manifest[], rules: PolicyRule[] = RULES): Violation[] {
  const objects = manifests.filter(isObject);
  podSpecCache = new WeakMap();
  podSpecsCache = new WeakMap();
  containersCache = new WeakMap();
  envCache = new WeakMap();
  try {
    return rules.flatMap((rule) => {
      try {
        return rule.check(objects).map((v) => ({ rule: rule.id, fix: rule.fix, ...v }));
      } catch (e) {
        // Fail closed: a rule that cannot read the objects reports that, it never passes them.
        return [{ rule: rule.id, fix: rule.fix, object: '(all objects)', path: '', message: `the rule could not be checked: ${(e as Error).message}` }];
      }
    });
  } finally {
    podSpecCache = undefined;
    podSpecsCache = undefined;
    containersCache = undefined;
    envCache = undefined;
  }
}

/**
 * Parses manifest YAML as kubectl does (YAML 1.1: an unquoted `on` is a
 * boolean, `0755` an octal number), so a value that only looks like a string
 * is caught as what the API server will see. The same reader as
 * `npm run validate` (lib/validation/manifests); throws on the first problem.
 */
export function parseManifests(text: string): Manifest[] {
  const parsed = parseManifestText(text, '(text)');
  if (parsed.problems.length > 0) {
    throw new Error(`line ${parsed.problems[0].line}: ${parsed.problems[0].message}`);
  }
  return parsed.docs.flatMap(objectsOf);
}

export function formatViolation(v: Violation): string {
  return `${v.rule} ${v.object} ${v.path}: ${v.message} (fix: ${v.fix})`;
}
