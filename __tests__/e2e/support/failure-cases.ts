import { Secrets, steps } from './builder';
import { closedPort, freePortIn, NODE_PORT_MAX, NODE_PORT_MIN, portIsFree } from './env';
import { FAILURE_BRANCHES } from './fixture';
import { BuildSpec, E2ESuite, EngineName, expectFailedAt, logFailure, short } from './suite';

/**
 * The failure cases both builder engines' e2e suites run (describeFailureCases):
 * one row per way a build goes wrong, with what each engine's log must then
 * show. Every case also checks what holds for any failure: a non-zero exit,
 * `!! build failed at step '<the last step>'`, no `pushed` line, no credential
 * in the log, no final tag of the build's images on the registry and no new
 * repository in its catalog.
 */

/** A failing build, and what else is off. */
export interface FailureInput {
  readonly build: BuildSpec;
  /** The commit the build would be tagged with, when known: its 7-character tag is a final tag too. */
  readonly commit?: string;
  /** Where the builder reaches the registry, when not where the registry listens. */
  readonly registryAt?: number;
  /** The namespace's Secrets, when not the push Secret with the registry's account. */
  readonly secrets?: Secrets;
}

/** How a case fails on one engine. */
export type Outcome = Failed | NotStarted;

export interface Failed {
  /** Every `==> [step]` of the log, in order; the last is the one that failed. `<commit>`: the input's 7-character commit tag. */
  readonly steps: readonly string[];
  /** Lines of the log that say why. */
  why(input: FailureInput): RegExp[];
  /** The tool's own error lines, shown in the CI log with the `!!` lines. */
  readonly toolError?: RegExp;
}

/** The container never starts: the kubelet refuses it, the runner throws this. */
export interface NotStarted {
  readonly notStarted: RegExp;
}

export interface FailureCase {
  /** What is wrong, as the test's name says it. */
  readonly name: string;
  input(suite: E2ESuite): FailureInput | Promise<FailureInput>;
  readonly outcome: Record<EngineName, Outcome>;
  /** Anything else to check after the run. */
  after?(input: FailureInput): Promise<void>;
}

/** The steps each engine's script runs before its first `build <image>`. */
const BEFORE_BUILDS: Record<EngineName, readonly string[]> = {
  docker: ['install-git', 'login', 'clone'],
  buildkit: ['resolve', 'start-buildkitd', 'login'],
};

/** A failure in the builds, alike on both engines: BEFORE_BUILDS, then `after` (the last one failed), the same reasons. */
function failingInBuilds(after: string[], why: (input: FailureInput) => RegExp[]): Record<EngineName, Failed> {
  return {
    docker: { steps: [...BEFORE_BUILDS.docker, ...after], why },
    buildkit: { steps: [...BEFORE_BUILDS.buildkit, ...after], why },
  };
}

/** `text` as a regular expression matching it literally. */
const literally = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

const hasher = { context: 'services/hasher' };
const worker = { context: 'services/worker' };

export const FAILURE_CASES: readonly FailureCase[] = [
  {
    name: 'unreachable git server (closed port)',
    input: async () => ({ build: { repo: `git://127.0.0.1:${await closedPort()}/unreachable.git`, ref: 'main' } }),
    outcome: {
      docker: {
        steps: ['install-git', 'login', 'clone'],
        why: (i) => [literally(`!! cannot fetch main from ${i.build.repo}: check the repository URL`), /unable to connect to 127\.0\.0\.1|Connection refused/],
        toolError: /^fatal:|errno=/,
      },
      buildkit: {
        steps: ['resolve'],
        why: (i) => [literally(`!! cannot list the refs of ${i.build.repo}: check the repository URL`), /Connection refused|unable to connect/],
        toolError: /^fatal:|errno=/,
      },
    },
  },
  {
    name: 'repository that does not exist',
    input: (s) => ({ build: { repo: `${s.env.gitBase}nope.git`, ref: 'main' } }),
    outcome: {
      docker: {
        steps: ['install-git', 'login', 'clone'],
        why: (i) => [literally(`!! cannot fetch main from ${i.build.repo}`), /no such repository: \/nope\.git/],
        toolError: /^fatal:/,
      },
      buildkit: {
        steps: ['resolve'],
        why: (i) => [literally(`!! cannot list the refs of ${i.build.repo}`), /no such repository: \/nope\.git/],
        toolError: /^fatal:/,
      },
    },
  },
  {
    name: 'missing branch or tag',
    input: (s) => ({ build: { repo: s.repo.url, ref: 'v9.9.9', images: [hasher] } }),
    outcome: {
      docker: {
        steps: ['install-git', 'login', 'clone'],
        why: (i) => [literally(`!! cannot fetch v9.9.9 from ${i.build.repo}`), /couldn't find remote ref v9\.9\.9/],
        toolError: /^fatal:/,
      },
      buildkit: {
        steps: ['resolve'],
        why: (i) => [literally(`!! ${i.build.repo} has no branch or tag named v9.9.9`)],
      },
    },
  },
  {
    // A missing branch or tag named with 1-6 hex digits ("cafe", "2024") must not resolve as an
    // abbreviated object name and build an unrelated commit: the steps end before any build.
    name: 'a missing branch named like a SHA prefix of a commit in the repository',
    input: (s) => ({ build: { repo: s.repo.url, ref: s.repo.commits.feature.slice(0, 6), images: [hasher] } }),
    outcome: {
      docker: {
        steps: ['install-git', 'login', 'clone'],
        why: (i) => [literally(`!! cannot fetch ${i.build.ref} from ${i.build.repo}`)],
        toolError: /^(fatal:|checked out)/,
      },
      buildkit: {
        steps: ['resolve'],
        why: (i) => [literally(`!! ${i.build.repo} has no branch or tag named ${i.build.ref}`)],
      },
    },
  },
  {
    // The docker engine takes the fetch-all-branches fallback; BuildKit is handed the SHA unresolved.
    name: 'full commit SHA that is not in the repository',
    input: (s) => ({ build: { repo: s.repo.url, ref: 'deadbeef'.repeat(5), images: [hasher] }, commit: 'deadbeef'.repeat(5) }),
    outcome: {
      docker: {
        steps: ['install-git', 'login', 'clone'],
        why: (i) => [literally(`!! commit ${i.build.ref} is not on any branch of ${i.build.repo}`)],
        toolError: /^fatal:/,
      },
      buildkit: {
        steps: [...BEFORE_BUILDS.buildkit, 'build hasher'],
        why: (i) => [literally(`!! cannot fetch ${i.build.ref} (${i.build.ref}) from ${i.build.repo}`)],
        toolError: /failed to fetch|fatal:/,
      },
    },
  },
  {
    name: 'missing context directory, after the first image built fine',
    input: (s) => ({
      build: { repo: s.repo.url, ref: FAILURE_BRANCHES.missingContext, images: [hasher, { context: 'services/missing' }] },
      commit: s.repo.commits.missingContext,
    }),
    outcome: failingInBuilds(['build hasher', 'build missing'], () => [/!! context directory 'services\/missing' does not exist in .* at e2e\/missing-context/]),
  },
  {
    name: 'missing Dockerfile',
    input: (s) => ({
      build: { repo: s.repo.url, ref: FAILURE_BRANCHES.missingDockerfile, images: [hasher, { context: 'services/worker', dockerfile: 'Dockerfile.missing' }] },
      commit: s.repo.commits.missingDockerfile,
    }),
    outcome: failingInBuilds(['build hasher', 'build worker'], () => [/!! Dockerfile 'services\/worker\/Dockerfile\.missing' does not exist in .* at e2e\/missing-dockerfile/]),
  },
  {
    name: 'a RUN step that fails',
    input: (s) => ({
      build: { repo: s.repo.url, ref: FAILURE_BRANCHES.badRun, images: [hasher, { context: 'services/broken' }] },
      commit: s.repo.commits.badRun,
    }),
    outcome: {
      docker: {
        steps: [...BEFORE_BUILDS.docker, 'build hasher', 'build broken'],
        why: () => [/^e2e: broken RUN step is about to fail$/m, /while running runtime: exit status 3/],
        toolError: /about to fail|^(Error|error building|building at STEP)/,
      },
      buildkit: {
        steps: [...BEFORE_BUILDS.buildkit, 'build hasher', 'build broken'],
        why: () => [/^#\d+ [\d.]+ e2e: broken RUN step is about to fail$/m, /did not complete successfully: exit code: 3/, /!! the build of broken failed/],
        toolError: /about to fail|ERROR|did not complete successfully/,
      },
    },
  },
  {
    // Both engines log in before anything is built, and the login asks the registry: the docker
    // engine before it clones, BuildKit (GET /v2/ with the credentials) after resolving the ref.
    name: 'registry down (nothing listens where the builder pushes)',
    input: async (s) => ({
      build: { repo: s.repo.url, ref: FAILURE_BRANCHES.registryDown, images: [hasher, worker] },
      commit: s.repo.commits.registryDown,
      registryAt: await freePortIn(NODE_PORT_MIN, NODE_PORT_MAX, [s.env.registryPort, s.env.gitPort]),
    }),
    outcome: {
      docker: {
        steps: ['install-git', 'login'],
        why: (i) => [
          literally(`!! cannot log in to localhost:${i.registryAt}: is the registry Service up on NodePort ${i.registryAt}, and is Secret registry-push`),
          /connection refused/,
        ],
        toolError: /connection refused/,
      },
      buildkit: {
        steps: [...BEFORE_BUILDS.buildkit],
        why: (i) => [literally(`!! cannot reach the registry at registry:${i.registryAt} (no HTTP answer to GET /v2/): is the registry Service up?`), /connection refused/i],
        toolError: /connection refused/i,
      },
    },
    // Nothing listened there all along: the failure was the registry's absence, not a stray server.
    after: async (i) => expect(await portIsFree(i.registryAt!)).toBe(true),
  },
  {
    name: 'a wrong password in the push Secret',
    input: (s) => ({
      build: { repo: s.repo.url, ref: FAILURE_BRANCHES.registryDown, images: [hasher] },
      commit: s.repo.commits.registryDown,
      secrets: s.pushSecret(`not-the-password-${Date.now()}`),
    }),
    outcome: {
      docker: {
        steps: ['install-git', 'login'],
        why: () => [/!! cannot log in to localhost:\d+: .*Secret registry-push/, /401|unauthorized/i],
        toolError: /401|unauthorized/i,
      },
      buildkit: {
        steps: [...BEFORE_BUILDS.buildkit],
        why: () => [/^!! the registry at registry:\d+ refused the credentials of Secret registry-push \(GET \/v2\/: HTTP 401\): its username and password must be an account of the registry's htpasswd Secret/m],
        toolError: /HTTP 401/,
      },
    },
  },
  {
    name: 'no push Secret',
    input: (s) => ({ build: { repo: s.repo.url, ref: 'main' }, secrets: {} }),
    outcome: {
      docker: { notStarted: /CreateContainerConfigError: envFrom of .*: Secret "registry-push" not found/ },
      buildkit: { notStarted: /CreateContainerConfigError: envFrom of .*: Secret "registry-push" not found/ },
    },
  },
  {
    // The builder reads the Secret whole (envFrom): a key it lacks stops the login step, naming the Secret and the key.
    name: 'a push Secret without its password key',
    input: (s) => ({
      build: { repo: s.repo.url, ref: FAILURE_BRANCHES.registryDown, images: [hasher] },
      commit: s.repo.commits.registryDown,
      secrets: { 'registry-push': { username: s.env.registryUsername } },
    }),
    outcome: {
      docker: {
        steps: ['install-git', 'login'],
        why: () => [/^!! Secret registry-push has no key password, or it is empty: the push Secret needs keys username and password \(README: Registry credentials\)$/m],
      },
      buildkit: {
        steps: [...BEFORE_BUILDS.buildkit],
        why: () => [/^!! Secret registry-push has no key password, or it is empty: the push Secret needs keys username and password \(README: Registry credentials\)$/m],
      },
    },
  },
];

/** Registers FAILURE_CASES as tests of the suite's engine. */
export function describeFailureCases(suite: E2ESuite): void {
  describe('failure: non-zero exit, the failed step and why, nothing pushed under the final tags', () => {
    FAILURE_CASES.forEach((c, n) => {
      const outcome = c.outcome[suite.engine.name];
      const at = 'notStarted' in outcome ? 'the container does not start (the kubelet\'s CreateContainerConfigError)' : outcome.steps[outcome.steps.length - 1];
      test(`${c.name} → ${at}`, async () => {
        const input = await c.input(suite);
        const catalog = await suite.registry.catalog();
        const job = suite.synth(input.build, input.registryAt);
        const options = { registryAt: input.registryAt, secrets: input.secrets };
        if ('notStarted' in outcome) {
          await expect(suite.runJob(`failure-${n}`, job, options)).rejects.toThrow(outcome.notStarted);
        } else {
          const { run } = await suite.runJob(`failure-${n}`, job, options);
          logFailure(c.name, run, outcome.toolError);
          const expectedSteps = outcome.steps.map((step) => step.replace('<commit>', () => short(input.commit ?? '<no commit in the input>')));
          expectFailedAt(run, expectedSteps[expectedSteps.length - 1], outcome.why(input));
          expect(steps(run.stdout)).toEqual(expectedSteps);
        }
        // Nothing pushed: no final tag on any of the build's images, no new repository.
        const finalTags = [...job.env.IMAGE_TAGS.split(' '), ...(input.commit ? [short(input.commit)] : [])];
        for (let i = 1; job.env[`IMAGE_${i}_NAME`] !== undefined; i++) {
          const present = await suite.registry.tags(job.env[`IMAGE_${i}_NAME`]);
          for (const tag of finalTags) expect(present).not.toContain(tag);
        }
        expect(await suite.registry.catalog()).toEqual(catalog);
        await c.after?.(input);
      });
    });
  });
}
