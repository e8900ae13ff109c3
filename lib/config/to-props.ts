import { readFileSync } from 'fs';
import { Cron, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { BuildersConfig, BuildsFile, loadBuildsFile, parseBuildsFile, RegistryConfig, ResourceAmounts, Toleration } from './builds-file';
import { cpuFromQuantity, sizeFromQuantity } from './quantity';
import { BuilderOptions } from '../constructs/builder-container';
import { BuildJobOptions } from '../constructs/build-job';
import { BuilderWorkload, ImageBuilderProps } from '../constructs/image-builder';
import { RegistryProps } from '../constructs/registry';
import { DEFAULT_KEEP_COMMIT_TAGS, RetentionOptions } from '../constructs/retention-cron-job';

/**
 * builds.yaml → ImageBuilder props: the one place where the file's shape
 * (seconds, quantity strings, Kubernetes-style tolerations) becomes the
 * constructs' typed props (Duration, Size, Cpu, cdk8s-plus scheduling
 * queries). Every rule with a file:line answer has already run in
 * parseBuildsFile, so nothing here can fail on a file that parsed.
 */
export function toImageBuilderProps(file: BuildsFile, text?: string): ImageBuilderProps {
  const t = file.buildTrigger;
  return {
    trigger: t && text !== undefined ? { image: t.image, maxConcurrentBuilds: t.maxConcurrentBuilds, secretName: t.secretName, buildsYaml: text } : undefined,
    builds: file.builds.map(({ trigger: _trigger, ...source }) => source),
    registry: registryProps(file.registry),
    workload: file.builders.workload === 'Pod' ? BuilderWorkload.POD : BuilderWorkload.JOB,
    builders: builderOptions(file.builders, file.registry),
    jobs: jobOptions(file.builders),
    retention: retentionOptions(file.registry),
  };
}

/** Parses builds.yaml text into ImageBuilder props (ConfigError listing every problem). */
export function parseImageBuilderProps(text: string, file = 'builds.yaml'): ImageBuilderProps {
  return toImageBuilderProps(parseBuildsFile(text, file), text);
}

/** Reads builds.yaml from disk into ImageBuilder props (ConfigError listing every problem). */
export function loadImageBuilderProps(file: string): ImageBuilderProps {
  const parsed = loadBuildsFile(file);
  return toImageBuilderProps(parsed, readFileSync(file, 'utf-8'));
}

function registryProps(registry: RegistryConfig): RegistryProps {
  const claim = registry.storage?.persistentVolumeClaim;
  return {
    nodePort: registry.nodePort,
    storageSize: claim ? sizeFromQuantity(claim.size) : undefined,
    storageClassName: claim?.storageClassName,
    htpasswdSecretName: registry.auth?.htpasswdSecret,
    garbageCollectionAt: registry.garbageCollection?.at,
    garbageCollectionDrain: registry.garbageCollection?.drainSeconds === undefined ? undefined : Duration.seconds(registry.garbageCollection.drainSeconds),
  };
}

function retentionOptions(registry: RegistryConfig): RetentionOptions {
  const r = registry.retention ?? {};
  const [minute, hour, day, month, weekDay] = r.schedule?.split(' ') ?? [];
  return {
    policy: { keepCommitTags: r.keepCommitTags ?? DEFAULT_KEEP_COMMIT_TAGS, images: r.images ?? {} },
    schedule: r.schedule === undefined ? undefined : Cron.schedule({ minute, hour, day, month, weekDay }),
    namespace: r.namespace,
  };
}

function builderOptions(builders: BuildersConfig, registry: RegistryConfig): BuilderOptions {
  const labels = Object.entries(builders.nodeSelector ?? {});
  return {
    nodeLabels: labels.length > 0 ? labels.map(([key, value]) => kplus.NodeLabelQuery.is(key, value)) : undefined,
    tolerations: builders.tolerations?.map(toleration),
    resources: builders.resources ? resources(builders.resources.requests ?? {}, builders.resources.limits ?? {}) : undefined,
    pushSecretName: registry.auth?.pushSecret,
  };
}

function resources(requests: ResourceAmounts, limits: ResourceAmounts): kplus.ContainerResources {
  const cpu = (q?: string) => (q === undefined ? undefined : cpuFromQuantity(q));
  const memory = (q?: string) => (q === undefined ? undefined : sizeFromQuantity(q));
  return {
    cpu: { request: cpu(requests.cpu), limit: cpu(limits.cpu) },
    memory: { request: memory(requests.memory), limit: memory(limits.memory) },
  };
}

const TAINT_EFFECTS: Record<NonNullable<Toleration['effect']>, kplus.TaintEffect> = {
  NoSchedule: kplus.TaintEffect.NO_SCHEDULE,
  PreferNoSchedule: kplus.TaintEffect.PREFER_NO_SCHEDULE,
  NoExecute: kplus.TaintEffect.NO_EXECUTE,
};

/** A builds.yaml toleration (checked by builderProblems) as a cdk8s-plus taint query. */
function toleration(t: Toleration): kplus.NodeTaintQuery {
  const options: kplus.NodeTaintQueryOptions = {
    effect: t.effect === undefined ? undefined : TAINT_EFFECTS[t.effect],
    evictAfter: t.tolerationSeconds === undefined ? undefined : Duration.seconds(t.tolerationSeconds),
  };
  if (t.key === undefined) {
    return kplus.NodeTaintQuery.any();
  }
  return t.operator === 'Exists' ? kplus.NodeTaintQuery.exists(t.key, options) : kplus.NodeTaintQuery.is(t.key, t.value ?? '', options);
}

function jobOptions(builders: BuildersConfig): BuildJobOptions {
  const seconds = (s?: number) => (s === undefined ? undefined : Duration.seconds(s));
  return {
    backoffLimit: builders.backoffLimit,
    activeDeadline: seconds(builders.activeDeadlineSeconds),
    ttlAfterFinished: seconds(builders.ttlSecondsAfterFinished),
  };
}
