import { createHash } from 'crypto';
import { ApiObject, App, Chart, JsonPatch } from 'cdk8s';
import { BuilderOptions } from '../lib/constructs/builder-container';
import { BuildJob, BuildJobOptions } from '../lib/constructs/build-job';
import { BUILDKIT_SCRIPT_CONFIG_MAP, BuilderScriptConfigMap } from '../lib/constructs/builder-script-config-map';
import { BUILDKIT_SCRIPT, BUILDKIT_SCRIPT_FILE } from '../lib/constructs/buildkit-script';
import { commitWorkloadName, planBuilds, PlannedBuild } from '../lib/plan/build-plan';
import { repositoryKey } from '../lib/plan/repository-key';
import { MatchedBuild } from './match';
import { Push } from './providers';

/** `app.kubernetes.io/managed-by` of every Job the trigger creates: how it finds its own. */
export const MANAGED_BY = 'build-trigger';
const PREFIX = 'trigger.cdk8s-image-builder';
/** Label: hash of source + delivery id, so a redelivery is recognised after a restart too. */
export const DELIVERY_LABEL = `${PREFIX}/delivery`;
/** Label: hash of repository + ref, so a newer push finds the branch's older build. */
export const BRANCH_LABEL = `${PREFIX}/branch`;
/** Annotations: what the build is, for GET /builds. */
export const ANNOTATIONS = {
  repo: `${PREFIX}/repo`,
  ref: `${PREFIX}/ref`,
  commit: `${PREFIX}/commit`,
  images: `${PREFIX}/images`,
  provider: `${PREFIX}/provider`,
  delivery: `${PREFIX}/delivery`,
  queuedAt: `${PREFIX}/queued-at`,
  /**
   * Commits of the branch older than this build, space-separated: the push's `before`, and the
   * commits (and older commits) of the builds it cancelled. A later push of one of them is a
   * late or redelivered older push: it is ignored, so it cannot cancel this build.
   */
  before: `${PREFIX}/before`,
} as const;

/** At most this many older commits are kept per Job (the annotation stays under 1 KiB). */
export const MAX_BEFORE = 20;

/** The commits a Job's build is newer than (ANNOTATIONS.before). */
export function olderCommits(annotations: Record<string, string>): string[] {
  return (annotations[ANNOTATIONS.before] ?? '').split(' ').filter((s) => s);
}

function labelHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 40);
}

export function deliveryKey(push: Push): string {
  return labelHash(push.provider, push.delivery);
}

export function branchKey(repo: string, ref: string): string {
  return labelHash(repositoryKey(repo), ref);
}

/** What every triggered Job shares with the builders in dist/: registry port, placement, retries. */
export interface TriggeredJobSettings {
  readonly registryPort: number;
  /** The registry Service's address (Registry.clusterEndpoint), where buildkit-engine builds push. */
  readonly registryHost?: string;
  readonly builders?: BuilderOptions;
  readonly jobs?: BuildJobOptions;
}

/**
 * The build of one pushed commit: the builds.yaml entry planned as synth plans
 * it (same image names; tags from the pushed ref, `latest` on the default
 * branch), except that the builder fetches the exact commit pushed, and the
 * Job is named after the entry's planned builder, the pushed ref and the short SHA
 * (commitWorkloadName).
 */
export function planTriggeredBuild(match: MatchedBuild, commit: string): PlannedBuild {
  const [plan] = planBuilds([{ ...match.build, ref: match.refName }]);
  return {
    ...plan,
    name: commitWorkloadName(match.build, match.refName, commit),
    source: match.build.source,
    ref: commit,
  };
}

/**
 * The Job for a pushed commit, synthesized by the same BuildJob construct that
 * writes dist/, created suspended (queued): the controller resumes it when a
 * slot is free.
 */
export function triggeredJob(match: MatchedBuild, push: Push, settings: TriggeredJobSettings, queuedAt: Date, older: string[] = push.before ? [push.before] : []): { name: string; manifest: any; plan: PlannedBuild } {
  const plan = planTriggeredBuild(match, push.commit);
  const app = new App();
  const chart = new Chart(app, 'trigger', { disableResourceNameHashes: true });
  // The script ConfigMaps ImageBuilder puts in dist/ (same names): the Job mounts its engine's, the trigger never creates them.
  const script = new BuilderScriptConfigMap(chart, 'Script');
  const buildkitScript = new BuilderScriptConfigMap(chart, 'BuildkitScript', {
    name: BUILDKIT_SCRIPT_CONFIG_MAP, file: BUILDKIT_SCRIPT_FILE, script: BUILDKIT_SCRIPT,
  });
  const job = new BuildJob(chart, plan.name, {
    ...settings.builders,
    ...settings.jobs,
    script,
    buildkitScript,
    build: plan,
    name: plan.name, // unique per pushed commit already: no content hash
    registryPort: settings.registryPort,
    registryHost: settings.registryHost,
    labels: {
      'app.kubernetes.io/managed-by': MANAGED_BY,
      [DELIVERY_LABEL]: deliveryKey(push),
      [BRANCH_LABEL]: branchKey(match.build.repo, push.ref),
    },
  });
  const object = ApiObject.of(job.job);
  const annotations: Record<string, string> = {
    [ANNOTATIONS.repo]: match.build.repo,
    [ANNOTATIONS.ref]: push.ref,
    [ANNOTATIONS.commit]: push.commit,
    [ANNOTATIONS.images]: plan.images.flatMap((i) => [push.commit.slice(0, 7), ...plan.tags].map((t) => `${i.name}:${t}`)).join(' '),
    [ANNOTATIONS.provider]: push.provider,
    [ANNOTATIONS.delivery]: push.delivery,
    [ANNOTATIONS.queuedAt]: queuedAt.toISOString(),
    ...(older.length > 0 ? { [ANNOTATIONS.before]: older.slice(0, MAX_BEFORE).join(' ') } : {}),
  };
  for (const [k, v] of Object.entries(annotations)) object.metadata.addAnnotation(k, v);
  object.addJsonPatch(JsonPatch.add('/spec/suspend', true));
  const shared = [script.name, buildkitScript.name];
  const manifests = chart.toJson().filter((m: any) => m.kind !== 'ConfigMap' || !shared.includes(m.metadata?.name));
  const manifest = manifests.find((m: any) => m.kind === 'Job');
  if (manifests.length !== 1 || !manifest) {
    throw new Error(`BuildJob synthesized ${manifests.map((m: any) => m.kind).join(', ')}; the trigger expects exactly one Job`);
  }
  return { name: plan.name, manifest, plan };
}
