import { describeObject, ObjectRef } from './manifests';

/** The layers of `npm run validate`, in the order they run. */
export type Layer = 'files' | 'yaml' | 'policy' | 'kubeconform' | 'apiserver' | 'helm';

/** One problem found by one layer of `npm run validate`. */
export interface Problem {
  readonly layer: Layer;
  readonly file: string;
  /** 1-based line of the object (or of the YAML error) in `file`. */
  readonly line?: number;
  /** The object the problem belongs to (the identity every layer shares). */
  readonly object?: ObjectRef;
  /** Field path, e.g. `spec.containers[0].env[0].value`. */
  readonly path?: string;
  readonly message: string;
}

/** A problem about one object: file and line come from the object itself. */
export function objectProblem(layer: Layer, object: ObjectRef, message: string, path?: string): Problem {
  return { layer, file: object.file, line: object.line, object, path: path || undefined, message };
}

/** `dist/a.yaml:12: Pod/web spec.containers[0].image: message [layer]` */
export function formatProblem(p: Problem): string {
  const where = `${p.file}${p.line ? `:${p.line}` : ''}`;
  const what = [p.object ? describeObject(p.object) : undefined, p.path].filter((s) => s).join(' ');
  return `${where}: ${what ? `${what}: ` : ''}${p.message} [${p.layer}]`;
}

/** `/spec/containers/0/env` → `spec.containers[0].env` */
export function pointerToPath(pointer: string): string {
  return pointer.split('/').slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : `${i === 0 ? '' : '.'}${p}`))
    .join('');
}
