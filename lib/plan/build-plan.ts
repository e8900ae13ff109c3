import { deriveImageName, objectName, refToTag, repositoryName } from './naming';
import { isCommitSha } from '../config/source-rules';

/**
 * One image to build: a directory of the repository and the Dockerfile in it.
 * Paths are relative to the repository root, already normalised
 * (lib/config does that, with the rest of builds.yaml's defaults).
 */
export interface ImageSource {
  /** Directory in the repository, e.g. `dockercoins/worker`; `.` for the root. */
  readonly context: string;
  /** Dockerfile path relative to `context`, e.g. `Dockerfile`. */
  readonly dockerfile: string;
}

/** One build: a repository at a ref, and the images built from that one clone. */
export interface BuildSource {
  /** Git URL to clone (https, http, git, ssh or user@host:path). */
  readonly repo: string;
  /** Branch, tag or full commit SHA to build. */
  readonly ref: string;
  /** The branch whose builds are also tagged `latest`. */
  readonly defaultBranch: string;
  /** At least one image. */
  readonly images: ImageSource[];
}

/**
 * One image of a planned build: its source plus the name derived for it. The
 * only image type from the plan to the builder script.
 */
export interface PlannedImage extends ImageSource {
  /** Derived image name, e.g. `worker` (never configured). */
  readonly name: string;
  /** Where it came from, for messages: `builds[0].images[1]`. */
  readonly source: string;
}

/** One build, resolved: names, tags and images fixed before any object exists. */
export interface PlannedBuild {
  /** Name of the builder workload (Job or Pod). */
  readonly name: string;
  /** Where it came from, for messages: `builds[0]`. */
  readonly source: string;
  readonly repo: string;
  readonly ref: string;
  /** Tags pushed for every image besides the short commit SHA, e.g. `["main", "latest"]`. */
  readonly tags: string[];
  readonly images: PlannedImage[];
}

/** Two sources would push the same image, or builders would share a name. */
export class PlanError extends Error {
  constructor(readonly conflicts: string[]) {
    super(conflicts.join('\n'));
    this.name = 'PlanError';
  }
}

/**
 * Tags for a ref: the ref in Docker's tag grammar, plus `latest` only when the
 * ref is the build's default branch, so `latest` always means "the default
 * branch" and never "whatever was built last".
 */
export function tagsForRef(ref: string, defaultBranch: string): string[] {
  const tags = [refToTag(ref)];
  if (ref === defaultBranch && !isCommitSha(ref)) {
    tags.push('latest');
  }
  return tags;
}

/** deriveImageName, but its refusal reported like every other builds.yaml problem (no stack trace). */
function nameOrPlanError(repo: string, context: string, source: string): string {
  try {
    return deriveImageName(repo, context);
  } catch (e) {
    throw new PlanError([`${source}.context: ${(e as Error).message}`]);
  }
}

function describeImage(build: PlannedBuild, image: PlannedImage): string {
  return `${image.source} (${build.repo} at ${build.ref}, context ${image.context}, dockerfile ${image.dockerfile})`;
}

/** The default builder name: `build-<repository>-<ref tag>`. */
export function defaultWorkloadName(build: BuildSource): string {
  return objectName('build', repositoryName(build.repo), refToTag(build.ref));
}

/**
 * Resolves builds into what will be synthesized, and refuses conflicts: two
 * images that would push the same `name:tag` (within a build or across
 * builds), and two builds whose workloads would share a name.
 *
 * @param workloadName names the builder of a build; by default
 *   `build-<repository>-<ref tag>`.
 */
export function planBuilds(builds: BuildSource[], workloadName: (build: BuildSource) => string = defaultWorkloadName): PlannedBuild[] {
  const plans = builds.map((build, b): PlannedBuild => ({
    name: workloadName(build),
    source: `builds[${b}]`,
    repo: build.repo,
    ref: build.ref,
    tags: tagsForRef(build.ref, build.defaultBranch),
    images: build.images.map((image, i) => ({
      ...image,
      name: nameOrPlanError(build.repo, image.context, `builds[${b}].images[${i}]`),
      source: `builds[${b}].images[${i}]`,
    })),
  }));

  const conflicts: string[] = [];
  const pushers = new Map<string, string>();
  for (const plan of plans) {
    for (const image of plan.images) {
      for (const tag of plan.tags) {
        const ref = `${image.name}:${tag}`;
        const here = describeImage(plan, image);
        const first = pushers.get(ref);
        if (first) {
          conflicts.push(`image "${ref}" would be pushed by both ${first} and ${here}. `
            + 'Image names come from the last directory of the context (or the repository name for "."), '
            + 'so build each image once: remove one entry, or build the other from a directory with a different name.');
        } else {
          pushers.set(ref, here);
        }
      }
    }
  }
  const workloads = new Map<string, string>();
  plans.forEach((plan) => {
    const first = workloads.get(plan.name);
    if (first) {
      conflicts.push(`${first} and ${plan.source} would both be builder "${plan.name}" (same repository name and ref); `
        + 'merge their images into one build.');
    } else {
      workloads.set(plan.name, plan.source);
    }
  });
  if (conflicts.length > 0) {
    throw new PlanError(conflicts);
  }
  return plans;
}
