import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';

/**
 * Writes objects the way the API server stores them, so that applying dist/
 * again is a no-op: `kubectl apply` reports `unchanged`, `kubectl diff` is
 * empty, and a GitOps controller sees no drift that never goes away.
 *
 * Measured on a real 1.27 API server (npm run test:cluster): it rewrites
 * quantities to their canonical form (`1000m` → `1`, `1024Mi` → `1Gi`) and
 * drops fields that hold their type's zero value where the API type omits it
 * (`hostNetwork: false`, `minReadySeconds: 0`, `externalIPs: []`, a claim's
 * `readOnly: false`, a ClusterRole rule's `resourceNames: []`, a ServiceAccount
 * subject's `apiGroup: ""`). cdk8s-plus
 * writes both forms; each rule below is one of those rewrites.
 */
export interface ServerRewrite {
  /** The key as it appears in the object (at any depth). */
  readonly key: string;
  /** The value the server drops. */
  readonly dropped: unknown;
}

/** Zero values the API server omits (Go `omitempty` on a non-pointer field). */
export const SERVER_DROPS: ServerRewrite[] = [
  { key: 'hostNetwork', dropped: false },
  { key: 'hostPID', dropped: false },
  { key: 'hostIPC', dropped: false },
  { key: 'minReadySeconds', dropped: 0 },
  { key: 'externalIPs', dropped: [] },
  { key: 'readOnly', dropped: false }, // volume sources and volumeMounts
  { key: 'resourceNames', dropped: [] }, // a ClusterRole rule for every object of its resources
  { key: 'apiGroup', dropped: '' }, // a ClusterRoleBinding's ServiceAccount subject (core group)
];

/** Map keys whose values are resource quantities: `resources.requests`/`limits`, a claim's storage. */
const QUANTITY_MAPS = new Set(['requests', 'limits', 'capacity']);

const BINARY = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const DECIMAL = ['m', '', 'k', 'M', 'G', 'T', 'P', 'E'];

/**
 * A quantity in the API server's canonical form: the largest suffix of the
 * same family (binary Ki..Ei, or decimal m..E) that keeps a whole number.
 * `1000m` → `1`, `1024Mi` → `1Gi`, `1500m` stays. Anything else is returned
 * as it is (the schema and API-server layers judge it).
 */
export function canonicalQuantity(quantity: string): string {
  const decimal = /^(\d+)\.(\d{1,3})$/.exec(quantity); // "1.5" = 1500m
  if (decimal) return canonicalQuantity(`${decimal[1]}${decimal[2].padEnd(3, '0')}m`);
  const m = /^(\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|)$/.exec(quantity);
  if (!m) return quantity;
  let value = BigInt(m[1]);
  if (value === 0n) return '0';
  const family = BINARY.includes(m[2]) && m[2] !== '' ? BINARY : DECIMAL;
  const base = family === BINARY ? 1024n : 1000n;
  let unit = family.indexOf(m[2]);
  while (unit < family.length - 1 && value % base === 0n) {
    value /= base;
    unit++;
  }
  return `${value}${family[unit]}`;
}

function canonicalize(value: any, parentKey?: string): any {
  if (Array.isArray(value)) return value.map((v) => canonicalize(v));
  if (value === null || typeof value !== 'object') {
    return typeof value === 'string' && parentKey !== undefined && QUANTITY_MAPS.has(parentKey) ? canonicalQuantity(value) : value;
  }
  const out: Record<string, any> = {};
  for (const [key, v] of Object.entries(value)) {
    if (SERVER_DROPS.some((d) => d.key === key && JSON.stringify(d.dropped) === JSON.stringify(v))) continue;
    out[key] = QUANTITY_MAPS.has(key) && v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).map(([k, q]) => [k, canonicalize(q, key)]))
      : canonicalize(v, key);
  }
  return out;
}

/**
 * Makes every API object under `scope` synthesize in the server's canonical
 * form (see SERVER_DROPS and canonicalQuantity). Call it once, after the
 * objects exist; it wraps each object's `toJson`, so `Testing.synth`, `cdk8s
 * synth` and `npm run synth` all see the same output.
 */
export function useServerCanonicalForm(scope: Construct): void {
  for (const node of scope.node.findAll()) {
    if (node instanceof ApiObject) {
      const toJson = node.toJson.bind(node);
      node.toJson = () => canonicalize(toJson());
    }
  }
}

/**
 * Pod fields written at the value they have when absent: either the API
 * server's own default, which it fills in when the field is missing (so the
 * stored object is the same), or a value that means the same as no value.
 * Both forms run the same Pod and re-apply as a no-op; without them a builder
 * Job is a third smaller (`npm run bench`, 1,000 builds). cdk8s-plus writes
 * them all explicitly.
 */
export const POD_DEFAULTS: Record<string, unknown> = {
  dnsPolicy: 'ClusterFirst', // server default
  terminationGracePeriodSeconds: 30, // server default
  setHostnameAsFQDN: false, // absent = false
};

/** Pod-level security context values that mean the same as absent. */
export const POD_SECURITY_DEFAULTS: Record<string, unknown> = {
  runAsNonRoot: false, // absent = no check
  fsGroupChangePolicy: 'Always', // absent = Always
};

/** Container security context values that mean the same as absent. */
export const CONTAINER_SECURITY_DEFAULTS: Record<string, unknown> = {
  privileged: false,
  readOnlyRootFilesystem: false,
};

/** Container security fields that fall back to the Pod's: equal to it, they say nothing. */
const INHERITED_SECURITY = ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'seccompProfile', 'seLinuxOptions', 'appArmorProfile'];

/**
 * The API server's imagePullPolicy for an image without one: Always for a
 * `:latest` or untagged image, IfNotPresent for anything else (a tag or a digest).
 */
export function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function withoutEntries(value: Record<string, any>, defaults: Record<string, unknown>): Record<string, any> {
  return Object.fromEntries(Object.entries(value).filter(([k, v]) => !(k in defaults) || JSON.stringify(defaults[k]) !== JSON.stringify(v)));
}

/** A Pod spec without the values of POD_DEFAULTS, POD_SECURITY_DEFAULTS, CONTAINER_SECURITY_DEFAULTS, defaultPullPolicy and inherited security fields. */
export function withoutPodDefaults(spec: Record<string, any>): Record<string, any> {
  const out = withoutEntries(spec, POD_DEFAULTS);
  const podSecurity: Record<string, any> = spec.securityContext ?? {};
  const container = (c: Record<string, any>) => {
    const copy = { ...c };
    if (copy.imagePullPolicy !== undefined && copy.imagePullPolicy === defaultPullPolicy(String(copy.image))) delete copy.imagePullPolicy;
    if (copy.securityContext) {
      const sc = Object.fromEntries(Object.entries(withoutEntries(copy.securityContext, CONTAINER_SECURITY_DEFAULTS))
        .filter(([k, v]) => !(INHERITED_SECURITY.includes(k) && JSON.stringify(podSecurity[k]) === JSON.stringify(v))
          // runAsNonRoot false at container level only matters against a Pod-level true
          && !(k === 'runAsNonRoot' && v === false && podSecurity.runAsNonRoot !== true)));
      if (Object.keys(sc).length > 0) copy.securityContext = sc;
      else delete copy.securityContext;
    }
    return copy;
  };
  for (const field of ['initContainers', 'containers']) {
    if (Array.isArray(out[field])) out[field] = out[field].map(container);
  }
  if (out.securityContext) out.securityContext = withoutEntries(out.securityContext, POD_SECURITY_DEFAULTS);
  return out;
}

/**
 * Makes a Job's Pod template synthesize without the values withoutPodDefaults
 * removes. For builder Jobs only: a Job is immutable and a changed one is a new
 * Job anyway, while the same change to the registry's Deployment would restart
 * the registry (and lose its images on the default emptyDir).
 */
export function omitPodDefaults(job: ApiObject): void {
  const toJson = job.toJson.bind(job);
  job.toJson = () => {
    const json = toJson();
    const template = json.spec?.template;
    if (!template?.spec) return json;
    return { ...json, spec: { ...json.spec, template: { ...template, spec: withoutPodDefaults(template.spec) } } };
  };
}
