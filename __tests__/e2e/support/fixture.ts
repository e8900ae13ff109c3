import { execFileSync } from 'child_process';
import { mkdirSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';

/**
 * The fixture application: a git repository with three build contexts,
 * created by the test and served by env.sh's git daemon.
 *
 *   main            C1 ── C2                (C1 is tagged v1.0.0, annotated)
 *   feature/login          └── C3           (worker's queue changed)
 *   e2e/*                  └── one commit each, for the failure cases and the
 *                              cases of CASE_BRANCHES (own SHA, so their
 *                              short-SHA tags are unused too)
 *   e2e/moves-*            └── A ── B     one commit each (A) on the server; B (worker's queue
 *                                         changed) is pushed onto the branch by moveBranch()
 *                                         while a build of it runs
 */

export const BASE_IMAGE = 'localhost/e2e-busybox:1';

const hasher = (base: string) => `FROM ${base}
LABEL e2e.image="hasher" e2e.fixture="hasher-label"
ENV HASHER_ALGO=sha256 E2E_IMAGE=hasher
COPY hash.sh /usr/local/bin/hash.sh
RUN chmod +x /usr/local/bin/hash.sh && echo "e2e: hasher RUN step ran" && echo "hasher built with $HASHER_ALGO" > /etc/hasher-built.txt
CMD ["/usr/local/bin/hash.sh"]
`;

const worker = (base: string, queue: string) => `FROM ${base}
LABEL e2e.image="worker" e2e.fixture="worker-label"
ENV WORKER_QUEUE=${queue} E2E_IMAGE=worker
RUN mkdir -p /srv && echo "e2e: worker RUN step ran" && echo "worker queue=$WORKER_QUEUE" > /srv/worker-built.txt
CMD ["cat", "/srv/worker-built.txt"]
`;

/** services/api has no Dockerfile at its root: only docker/Dockerfile.prod, relative to the context. */
const apiProd = (base: string) => `FROM ${base}
LABEL e2e.image="api" e2e.dockerfile="docker/Dockerfile.prod"
ENV API_ENV=production E2E_IMAGE=api
COPY config.txt /srv/api/config.txt
RUN echo "e2e: api RUN step ran" && cp /srv/api/config.txt /srv/api/built.txt
`;

const broken = (base: string) => `FROM ${base}
LABEL e2e.image="broken"
RUN echo "e2e: broken RUN step is about to fail" >&2; exit 3
`;

/** Branches a test moves while a build of them runs (moveBranch). */
export const MOVING_BRANCHES = {
  duringPush: 'e2e/moves-during-push',
  afterFirstImage: 'e2e/moves-after-first-image',
  beforeBuild: 'e2e/moves-before-build',
} as const;
export type MovingBranch = keyof typeof MOVING_BRANCHES;

export interface FixtureRepo {
  /** git://127.0.0.1:<port>/app.git */
  readonly url: string;
  /** Each MOVING_BRANCHES branch: the commit it is on (`from`), the one moveBranch pushes onto it (`to`, a child of `from`). */
  readonly moving: Record<MovingBranch, { readonly from: string; readonly to: string }>;
  /** `git push` of the branch's `to` commit onto it, as a developer pushing to the branch would; returns when the server has it. */
  moveBranch(branch: MovingBranch): void;
  /** Full commit SHAs. */
  readonly commits: {
    readonly v1: string;
    readonly main: string;
    readonly feature: string;
    readonly login: string;
    readonly gcWindow: string;
    readonly missingContext: string;
    readonly missingDockerfile: string;
    readonly registryDown: string;
    readonly badRun: string;
  };
  /**
   * Commits `files` on `branch` (created from main when new) and pushes it: a branch that moves
   * during a test. Returns the new commit's full SHA.
   */
  commit(branch: string, files: Record<string, string>, message: string): string;
}

/** Branches of cases that push (their tags: e2e-login, …): tags no other case pushes. */
export const CASE_BRANCHES = {
  login: 'e2e/login',
  gcWindow: 'e2e/gc-window',
} as const;

/** Branches for the failure cases (their tags: e2e-missing-context, …). */
export const FAILURE_BRANCHES = {
  missingContext: 'e2e/missing-context',
  missingDockerfile: 'e2e/missing-dockerfile',
  registryDown: 'e2e/registry-down',
  badRun: 'e2e/bad-run',
} as const;

/**
 * Creates `<gitRoot>/app.git` and pushes the fixture history to it over git://.
 * @param baseImage what the Dockerfiles start FROM (podman's local storage for the
 *   docker engine; a registry reference for BuildKit, which pulls it)
 */
export function createFixtureRepo(gitBase: string, gitRoot: string, workDir: string, homeDir: string, baseImage = BASE_IMAGE): FixtureRepo {
  mkdirSync(homeDir, { recursive: true });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: homeDir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@example.invalid',
    GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@example.invalid',
  };
  const git = (...args: string[]) => execFileSync('git', ['-C', workDir, ...args], { env, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(workDir, path)), { recursive: true });
    writeFileSync(join(workDir, path), text);
  };
  const commit = (message: string) => {
    git('add', '-A');
    git('commit', '-q', '--allow-empty', '-m', message);
    return git('rev-parse', 'HEAD');
  };

  mkdirSync(workDir, { recursive: true });
  git('init', '-q', '-b', 'main');
  write('README.md', '# e2e fixture app\n');
  write('services/hasher/Dockerfile', hasher(baseImage));
  write('services/hasher/hash.sh', '#!/bin/sh\nsha256sum "$@"\n');
  write('services/worker/Dockerfile', worker(baseImage, 'jobs'));
  write('services/api/docker/Dockerfile.prod', apiProd(baseImage));
  write('services/api/config.txt', 'api config from the services/api context\n');
  const v1 = commit('fixture app 1.0.0');
  git('tag', '-a', 'v1.0.0', '-m', 'release 1.0.0');

  write('README.md', '# e2e fixture app\n\nNow on main after 1.0.0.\n');
  const main = commit('main: after the release');

  git('checkout', '-q', '-b', 'feature/login');
  write('services/worker/Dockerfile', worker(baseImage, 'login-jobs'));
  const feature = commit('feature/login: worker consumes the login queue');

  const branch = (name: string, message: string, files: Record<string, string> = {}) => {
    git('checkout', '-q', '-b', name, 'main');
    for (const [path, text] of Object.entries(files)) write(path, text);
    return commit(message);
  };
  const login = branch(CASE_BRANCHES.login, 'e2e: for the login case');
  const gcWindow = branch(CASE_BRANCHES.gcWindow, 'e2e: for the read-only window case');
  const missingContext = branch(FAILURE_BRANCHES.missingContext, 'e2e: for the missing-context case');
  const missingDockerfile = branch(FAILURE_BRANCHES.missingDockerfile, 'e2e: for the missing-Dockerfile case');
  const registryDown = branch(FAILURE_BRANCHES.registryDown, 'e2e: for the registry-down case');
  const badRun = branch(FAILURE_BRANCHES.badRun, 'e2e: a Dockerfile whose RUN fails', { 'services/broken/Dockerfile': broken(baseImage) });
  const moving = Object.fromEntries(Object.entries(MOVING_BRANCHES).map(([key, name]) => {
    const from = branch(name, `e2e: ${name}, before it moves`);
    write('services/worker/Dockerfile', worker(baseImage, 'moved-jobs'));
    const to = commit(`e2e: ${name}, after it moved`);
    return [key, { from, to }];
  })) as FixtureRepo['moving'];
  git('checkout', '-q', 'main');

  execFileSync('git', ['init', '-q', '--bare', join(gitRoot, 'app.git')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = `${gitBase}app.git`;
  git('push', '-q', url, 'main', 'feature/login', 'v1.0.0', ...Object.values(CASE_BRANCHES), ...Object.values(FAILURE_BRANCHES));
  // The moving branches' first commits only (their local branches are at `to`).
  git('push', '-q', url, ...Object.entries(MOVING_BRANCHES).map(([key, name]) => `${moving[key as MovingBranch].from}:refs/heads/${name}`));
  const commitOn = (name: string, files: Record<string, string>, message: string) => {
    const exists = git('branch', '--list', name) !== '';
    git('checkout', '-q', ...(exists ? [name] : ['-b', name, 'main']));
    for (const [path, text] of Object.entries(files)) write(path, text);
    const sha = commit(message);
    git('push', '-q', url, name);
    git('checkout', '-q', 'main');
    return sha;
  };
  return {
    url,
    commits: { v1, main, feature, login, gcWindow, missingContext, missingDockerfile, registryDown, badRun },
    moving,
    moveBranch: (key) => { git('push', '-q', url, `${moving[key].to}:refs/heads/${MOVING_BRANCHES[key]}`); },
    commit: commitOn,
  };
}
