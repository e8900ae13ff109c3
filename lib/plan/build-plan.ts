import { createHash } from 'crypto';
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

/**
 * How a build is built:
 *  - `DOCKER`: the node's Docker engine, through its socket (a hostPath; root on the node);
 *  - `BUILDKIT`: rootless BuildKit inside the builder's own container (no socket, never root).
 */
export enum BuilderEngine {
  DOCKER = 'docker',
  BUILDKIT = 'buildkit',
}

/** One build: a repository at a ref, and the images built from that one clone. */
export interface BuildSource {
  /**
   * How to build it.
   * @default BuilderEngine.DOCKER
   */
  readonly engine?: BuilderEngine;
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
  readonly engine: BuilderEngine;
  /**
   * The registry-held layer cache of the buildkit engine, `buildcache/<image>:<tag>`
   * (two path components, so never an image's own name): exported to the
   * first tag (the ref's), imported from all (then the default branch's).
   */
  readonly cacheTags: string[];
  readonly images: PlannedImage[];
}

/** One plan problem, at the builds.yaml key it comes from (e.g. `builds[1].images[0].context`). */
export interface PlanProblem {
  readonly path: string;
  readonly message: string;
}

/** Two sources would push the same image, builders would share a name, or a name cannot be derived. */
export class PlanError extends Error {
  /** `<path>: <message>` per problem. */
  readonly conflicts: string[];
  constructor(readonly problems: PlanProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    this.conflicts = problems.map((p) => `${p.path}: ${p.message}`);
    this.name = 'PlanError';
  }
}

/**
 * Longest derived image name: it is the name part of the label key
 * `images.cdk8s-image-builder/<name>` (at most 63 characters), and keeps
 * `localhost:<port>/<name>:<tag>` far below the 255 characters a registry takes.
 */
export const MAX_IMAGE_NAME_LENGTH = 63;

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
  let name: string;
  try {
    name = deriveImageName(repo, context);
  } catch (e) {
    throw new PlanError([{ path: `${source}.context`, message: (e as Error).message }]);
  }
  if (name.length > MAX_IMAGE_NAME_LENGTH) {
    const from = context === '.' ? 'the repository name' : 'the last directory of the context';
    throw new PlanError([{
      path: context === '.' ? `${source.replace(/\.images\[\d+\]$/, '')}.repo` : `${source}.context`,
      message: `the image name derived from ${from} is ${name.length} characters long ("${name.slice(0, 20)}..."), more than ${MAX_IMAGE_NAME_LENGTH} `
        + '(it names the label images.cdk8s-image-builder/<name>); build from a directory with a shorter name',
    }]);
  }
  return name;
}

/** A short, stable hash of a repository URL, to tell apart repositories with the same last path segment. */
export function repoHash(repo: string): string {
  return createHash('sha256').update(repo).digest('hex').slice(0, 6);
}

function describeImage(build: PlannedBuild, image: PlannedImage): string {
  return `${image.source} (${build.repo} at ${build.ref}, context ${image.context}, dockerfile ${image.dockerfile})`;
}

/** The default builder name: `build-<repository>-<ref tag>`. */
export function defaultWorkloadName(build: BuildSource): string {
  return objectName('build', repositoryName(build.repo), refToTag(build.ref));
}

/**
 * The builder of one pushed commit of a planned build (the build trigger's Jobs): the build's
 * name as planBuilds gave it (repository, its URL's hash when another repository has the same
 * name, the build's ref), the pushed ref when it is not the build's own, and the short SHA. So
 * two builds of one repository (a monorepo's contexts) and two forks pushed at the same commit
 * never share a Job, and two branches pushed at one commit (different tags) neither.
 */
export function commitWorkloadName(build: Pick<PlannedBuild, 'name' | 'ref'>, pushedRef: string, commit: string): string {
  return objectName(build.name, ...(pushedRef === build.ref ? [] : [refToTag(pushedRef)]), commit.slice(0, 7));
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
  const names = builds.map((build) => workloadName(build));
  if (workloadName === defaultWorkloadName) {
    // Two different repositories with the same last path segment (github.com/a/app and
    // github.com/b/app) at the same ref: each gets a short hash of its URL in the name.
    // Deterministic, and only for those, so other builders keep their names.
    // (One pass over the builds, not one per build: 1,000 builds were a million comparisons.)
    const reposByName = new Map<string, Set<string>>();
    builds.forEach((build, b) => {
      const repos = reposByName.get(names[b]) ?? new Set<string>();
      reposByName.set(names[b], repos.add(build.repo));
    });
    builds.forEach((build, b) => {
      if ((reposByName.get(names[b])?.size ?? 0) > 1) names[b] = objectName('build', repositoryName(build.repo), repoHash(build.repo), refToTag(build.ref));
    });
  }
  const nameProblems: PlanProblem[] = [];
  const imageName = (repo: string, context: string, source: string) => {
    try {
      return nameOrPlanError(repo, context, source);
    } catch (e) {
      if (!(e instanceof PlanError)) throw e;
      nameProblems.push(...e.problems);
      return '';
    }
  };
  const plans = builds.map((build, b): PlannedBuild => ({
    name: names[b],
    source: `builds[${b}]`,
    repo: build.repo,
    ref: build.ref,
    tags: tagsForRef(build.ref, build.defaultBranch),
    engine: build.engine ?? BuilderEngine.DOCKER,
    cacheTags: [...new Set([refToTag(build.ref), refToTag(build.defaultBranch)])],
    images: build.images.map((image, i) => ({
      ...image,
      name: imageName(build.repo, image.context, `builds[${b}].images[${i}]`),
      source: `builds[${b}].images[${i}]`,
    })),
  }));

  if (nameProblems.length > 0) {
    throw new PlanError(nameProblems);
  }
  const conflicts: PlanProblem[] = [];
  const pushers = new Map<string, string>();
  for (const plan of plans) {
    for (const image of plan.images) {
      for (const tag of plan.tags) {
        const ref = `${image.name}:${tag}`;
        const here = describeImage(plan, image);
        const first = pushers.get(ref);
        if (first) {
          conflicts.push({
            path: image.source,
            message: `image "${ref}" would be pushed by both ${first} and ${here}. `
              + 'Image names come from the last directory of the context (or the repository name for "."), '
              + 'so build each image once: remove one entry, or build the other from a directory with a different name.',
          });
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
      conflicts.push({
        path: plan.source,
        message: `${first} and ${plan.source} would both be builder "${plan.name}" (same repository and ref); merge their images into one build.`,
      });
    } else {
      workloads.set(plan.name, plan.source);
    }
  });
  if (conflicts.length > 0) {
    throw new PlanError(conflicts);
  }
  return plans;
}
