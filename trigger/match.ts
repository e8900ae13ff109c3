import picomatch from 'picomatch';
import { BuildEntry } from '../lib/config/builds-file';
import { planBuilds } from '../lib/plan/build-plan';
import { repositoryKey } from '../lib/plan/repository-key';
import { Push } from './providers';

/** A build of builds.yaml that pushes may start. */
export interface TriggerableBuild extends BuildEntry {
  /** Where it came from, for answers: `builds[0]`. */
  readonly source: string;
  /** Its builder's name as planBuilds gives it (dist/'s Job of this entry); its triggered Jobs are named after it. */
  readonly name: string;
}

/**
 * builds.yaml's entries, planned together once (at start-up) as synth plans them: each keeps the
 * name planBuilds gives it, unique across entries. Throws PlanError as synth would.
 */
export function triggerableBuilds(entries: BuildEntry[]): TriggerableBuild[] {
  const plans = planBuilds(entries);
  return entries.map((entry, i) => ({ ...entry, source: plans[i].source, name: plans[i].name }));
}

/** A build a push starts: the builds.yaml entry, the pushed ref's short name and its kind. */
export interface MatchedBuild {
  readonly build: TriggerableBuild;
  /** `main`, `release/1.x`, `v1.2.0`. */
  readonly refName: string;
  readonly refKind: 'branch' | 'tag';
}

/** Every build a push starts, or the reason it starts none. */
export type MatchResult = { readonly builds: MatchedBuild[] } | { readonly ignored: string };

function matches(patterns: string[], name: string): boolean {
  return patterns.some((p) => picomatch.isMatch(name, p, { dot: true, nonegate: true, noextglob: true }));
}

/**
 * A push becomes builds only through builds.yaml: the pushed repository must
 * be listed (any URL form of it), and the ref allowed by that build's
 * `trigger`. Contexts, Dockerfiles and names all come from the entry, never
 * from the payload.
 */
export function matchPush(push: Push, builds: TriggerableBuild[]): MatchResult {
  const keys = new Set(push.repoUrls.map(repositoryKey));
  const listed = builds.filter((b) => keys.has(repositoryKey(b.repo)));
  if (listed.length === 0) {
    return { ignored: `repository ${push.repoUrls[0]} is not listed in builds.yaml` };
  }
  const refKind = push.ref.startsWith('refs/tags/') ? 'tag' : 'branch';
  const refName = push.ref.replace(/^refs\/(heads|tags)\//, '');
  const started = listed
    .filter((b) => matches(refKind === 'tag' ? b.trigger.tags : b.trigger.branches, refName))
    .map((build) => ({ build, refName, refKind }) as MatchedBuild);
  if (started.length === 0) {
    const allowed = listed.map((b) => `${b.source}: branches [${b.trigger.branches.join(', ')}], tags [${b.trigger.tags.join(', ')}]`).join('; ');
    return { ignored: `${refKind} ${refName} is not allowed by the trigger of ${allowed}` };
  }
  return { builds: started };
}
