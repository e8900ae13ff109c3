import { parseAllDocuments } from 'yaml';
import { BUILDER_CONTAINER_NAME, DOCKER_SOCKET_PATH } from '../constructs/builder-container';
import { WORKSPACE_PATH } from '../constructs/builder-script';
import { deriveImageName } from '../plan/naming';
import { REGISTRY_DATA_PATH } from '../constructs/registry';

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
  /** Field path inside the object, e.g. `spec.template.spec.containers[0].env[0].value`. */
  readonly path: string;
  readonly message: string;
  readonly fix: string;
}

export interface PolicyRule {
  readonly id: string;
  readonly description: string;
  readonly fix: string;
  check(manifests: Manifest[]): Array<Omit<Violation, 'rule' | 'fix'>>;
}

/** A Pod spec with where it sits in its object. */
interface PodSpecAt {
  readonly manifest: Manifest;
  readonly object: string;
  readonly path: string;
  readonly spec: any;
  readonly labels: Record<string, string>;
}

function objectId(m: Manifest): string {
  return `${m.kind}/${m.metadata?.name ?? '(no name)'}`;
}

/** Pod specs of Pods and of workload templates (Deployment, Job, ...). */
export function podSpecs(manifests: Manifest[]): PodSpecAt[] {
  const found: PodSpecAt[] = [];
  for (const m of manifests) {
    if (m?.kind === 'Pod' && m.spec) {
      found.push({ manifest: m, object: objectId(m), path: 'spec', spec: m.spec, labels: m.metadata?.labels ?? {} });
    } else if (m?.kind === 'CronJob' && m.spec?.jobTemplate?.spec?.template?.spec) {
      const t = m.spec.jobTemplate.spec.template;
      found.push({ manifest: m, object: objectId(m), path: 'spec.jobTemplate.spec.template.spec', spec: t.spec, labels: t.metadata?.labels ?? {} });
    } else if (m?.spec?.template?.spec) {
      const t = m.spec.template;
      found.push({ manifest: m, object: objectId(m), path: 'spec.template.spec', spec: t.spec, labels: t.metadata?.labels ?? {} });
    }
  }
  return found;
}

function containersOf(at: PodSpecAt): Array<{ container: any; path: string }> {
  const list: Array<{ container: any; path: string }> = [];
  for (const field of ['initContainers', 'containers']) {
    (at.spec[field] ?? []).forEach((container: any, i: number) => list.push({ container, path: `${at.path}.${field}[${i}]` }));
  }
  return list;
}

const isBuilder = (at: PodSpecAt) => at.labels['app.kubernetes.io/component'] === 'builder';
const isRegistry = (m: Manifest) => m?.metadata?.labels?.['app.kubernetes.io/component'] === 'registry';

function envOf(container: any): Record<string, unknown> {
  return Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value]));
}

export const RULES: PolicyRule[] = [
  {
    id: 'IB001',
    description: 'every env value is a string',
    fix: 'quote the value in YAML ("30500"); the API server refuses numbers and booleans in EnvVar.value',
    check: (manifests) => podSpecs(manifests).flatMap((at) => containersOf(at).flatMap(({ container, path }) =>
      (container.env ?? []).flatMap((e: any, i: number) => ('value' in e && typeof e.value !== 'string'
        ? [{ object: at.object, path: `${path}.env[${i}].value`, message: `env ${e.name} is ${e.value === null ? 'null' : typeof e.value} ${JSON.stringify(e.value)}, not a string` }]
        : [])))),
  },
  {
    id: 'IB002',
    description: "REGISTRY_PORT of every builder is the registry Service's nodePort",
    fix: 'take the port from the Registry construct (registry.nodePort), never copy it by hand',
    check: (manifests) => {
      const service = manifests.find((m) => m?.kind === 'Service' && isRegistry(m));
      const nodePorts = (service?.spec?.ports ?? []).map((p: any) => String(p.nodePort));
      return podSpecs(manifests).filter(isBuilder).flatMap((at) => containersOf(at).flatMap(({ container, path }) => {
        const port = envOf(container).REGISTRY_PORT;
        if (!service) {
          return [{ object: at.object, path, message: 'there is a builder but no registry Service to push to' }];
        }
        return nodePorts.includes(String(port)) && port !== undefined ? [] : [{
          object: at.object, path: `${path}.env`, message: `REGISTRY_PORT is ${JSON.stringify(port)}, but the registry's nodePort is ${nodePorts.join(', ')}`,
        }];
      }));
    },
  },
  {
    id: 'IB003',
    description: 'every image is pinned: a tag other than latest, or a digest',
    fix: 'write the image as name:tag (e.g. registry:2.8.3), optionally with @sha256:<digest>',
    check: (manifests) => podSpecs(manifests).flatMap((at) => containersOf(at).flatMap(({ container, path }) => {
      const image = String(container.image ?? '');
      const digest = /@sha256:[0-9a-f]{64}$/.test(image);
      // The tag is after the last ':' of the last path component (a registry host may carry a port).
      const lastComponent = image.replace(/@sha256:[0-9a-f]{64}$/, '').split('/').pop() ?? '';
      const tag = lastComponent.includes(':') ? lastComponent.slice(lastComponent.indexOf(':') + 1) : undefined;
      const pinned = digest || (tag !== undefined && tag !== 'latest');
      return pinned ? [] : [{ object: at.object, path: `${path}.image`, message: `image "${image}" is not pinned (${tag === 'latest' ? 'tag latest' : 'no tag'})` }];
    })),
  },
  {
    id: 'IB004',
    description: 'builder image names are derived from the source, never configured',
    fix: 'let the BuilderPod/BuildJob derive IMAGE_<n>_NAME from the repository and context; do not set it',
    check: (manifests) => podSpecs(manifests).filter(isBuilder).flatMap((at) => containersOf(at).flatMap(({ container, path }) => {
      const env = envOf(container);
      const count = Number(env.IMAGE_COUNT);
      if (!Number.isInteger(count) || count < 1) {
        return [{ object: at.object, path: `${path}.env`, message: `IMAGE_COUNT is ${JSON.stringify(env.IMAGE_COUNT)}` }];
      }
      const problems = [];
      for (let n = 1; n <= count; n++) {
        const expected = deriveImageName(String(env.REPO_URL), String(env[`IMAGE_${n}_CONTEXT`] ?? '.'));
        if (env[`IMAGE_${n}_NAME`] !== expected) {
          problems.push({ object: at.object, path: `${path}.env`, message: `IMAGE_${n}_NAME is ${JSON.stringify(env[`IMAGE_${n}_NAME`])}, but the source gives "${expected}"` });
        }
      }
      return problems;
    })),
  },
  {
    id: 'IB005',
    description: 'builders restart on failure (restartPolicy OnFailure)',
    fix: 'set restartPolicy: OnFailure on the builder Pod template',
    check: (manifests) => podSpecs(manifests).filter(isBuilder).flatMap((at) => (at.spec.restartPolicy === 'OnFailure' ? [] : [{
      object: at.object, path: `${at.path}.restartPolicy`, message: `restartPolicy is ${JSON.stringify(at.spec.restartPolicy)}`,
    }])),
  },
  {
    id: 'IB006',
    description: `the only hostPath is ${DOCKER_SOCKET_PATH}, of type Socket, in builder workloads`,
    fix: `builders mount only the Docker socket (hostPath ${DOCKER_SOCKET_PATH}, type: Socket); everything else uses emptyDir or a PersistentVolumeClaim`,
    check: (manifests) => podSpecs(manifests).flatMap((at) => (at.spec.volumes ?? []).flatMap((v: any, i: number) => {
      if (!v.hostPath) return [];
      const path = `${at.path}.volumes[${i}].hostPath`;
      if (!isBuilder(at)) return [{ object: at.object, path, message: `hostPath ${v.hostPath.path} in a workload that is not a builder` }];
      if (v.hostPath.path !== DOCKER_SOCKET_PATH) return [{ object: at.object, path, message: `hostPath ${v.hostPath.path} is not the Docker socket` }];
      if (v.hostPath.type !== 'Socket') return [{ object: at.object, path: `${path}.type`, message: `hostPath type is ${JSON.stringify(v.hostPath.type)}, not "Socket"` }];
      return [];
    })),
  },
  {
    id: 'IB007',
    description: 'the registry runs exactly one replica, replaced with Recreate, with a volume at /var/lib/registry',
    fix: 'keep replicas: 1 and strategy Recreate: without shared storage, two registries each hold half the pushes',
    check: (manifests) => manifests.filter((m) => m?.kind === 'Deployment' && isRegistry(m)).flatMap((m) => {
      const problems = [];
      if (m.spec?.replicas !== 1) problems.push({ object: objectId(m), path: 'spec.replicas', message: `replicas is ${JSON.stringify(m.spec?.replicas)}` });
      if (m.spec?.strategy?.type !== 'Recreate') problems.push({ object: objectId(m), path: 'spec.strategy.type', message: `strategy is ${JSON.stringify(m.spec?.strategy?.type)}` });
      const spec = m.spec?.template?.spec ?? {};
      const mount = (spec.containers ?? []).flatMap((c: any) => c.volumeMounts ?? []).find((vm: any) => vm.mountPath === REGISTRY_DATA_PATH);
      const volume = mount && (spec.volumes ?? []).find((v: any) => v.name === mount.name);
      if (!volume || !(volume.emptyDir || volume.persistentVolumeClaim)) {
        problems.push({ object: objectId(m), path: 'spec.template.spec.volumes', message: `no emptyDir or PersistentVolumeClaim mounted at ${REGISTRY_DATA_PATH}` });
      }
      return problems;
    }),
  },
  {
    id: 'IB008',
    description: 'builders run as root with a writable root filesystem and an emptyDir at /workspace',
    fix: 'apk needs root and a writable filesystem: runAsUser 0, runAsNonRoot false, readOnlyRootFilesystem false, workspace emptyDir',
    check: (manifests) => podSpecs(manifests).filter(isBuilder).flatMap((at) => containersOf(at)
      .filter(({ container }) => container.name === BUILDER_CONTAINER_NAME)
      .flatMap(({ container, path }) => {
        const sc = { ...(at.spec.securityContext ?? {}), ...(container.securityContext ?? {}) };
        const problems = [];
        if (sc.runAsUser !== 0 || sc.runAsNonRoot === true) problems.push({ object: at.object, path: `${path}.securityContext`, message: `runs as user ${JSON.stringify(sc.runAsUser)} (runAsNonRoot ${JSON.stringify(sc.runAsNonRoot)}), not root` });
        if (sc.readOnlyRootFilesystem !== false) problems.push({ object: at.object, path: `${path}.securityContext.readOnlyRootFilesystem`, message: 'the root filesystem is not explicitly writable' });
        const mount = (container.volumeMounts ?? []).find((vm: any) => vm.mountPath === WORKSPACE_PATH);
        const volume = mount && (at.spec.volumes ?? []).find((v: any) => v.name === mount.name);
        if (!volume?.emptyDir) problems.push({ object: at.object, path: `${path}.volumeMounts`, message: `no emptyDir mounted at ${WORKSPACE_PATH}` });
        return problems;
      })),
  },
];

/** Runs every rule; an empty list means the manifests keep them all. */
export function checkPolicy(manifests: Manifest[], rules: PolicyRule[] = RULES): Violation[] {
  return rules.flatMap((rule) => rule.check(manifests).map((v) => ({ rule: rule.id, fix: rule.fix, ...v })));
}

/**
 * Parses manifest YAML as kubectl does (YAML 1.1: an unquoted `on` is a
 * boolean, `0755` an octal number), so a value that only looks like a string
 * is caught as what the API server will see.
 */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text, { version: '1.1' })
    .map((doc) => {
      if (doc.errors.length > 0) {
        throw new Error(doc.errors[0].message);
      }
      return doc.toJS();
    })
    .filter((m) => m !== null && m !== undefined);
}

export function formatViolation(v: Violation): string {
  return `${v.rule} ${v.object} ${v.path}: ${v.message} (fix: ${v.fix})`;
}
