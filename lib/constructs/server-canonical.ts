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
 * `readOnly: false`). cdk8s-plus
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
