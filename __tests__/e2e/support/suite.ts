import { join } from 'path';
import { AtLine, BuilderContainer, BuilderRun, killRunningBuilders, pushedLines, Secrets, steps } from './builder';
import { E2EEnv, RunningEnv, startEnv, stopEnv } from './env';
import { createFixtureRepo, FixtureRepo } from './fixture';
import { RegistryClient } from './registry';

/**
 * What the two builder engines' e2e suites share: one env.sh environment, the
 * fixture repository and a registry client per suite, running builds.yaml's
 * builder Job with the engine's own runner, and the checks on what a run
 * printed and what the registry then serves. Each engine brings its runner
 * and stand-ins as an Engine (support/builder.ts, support/buildkit.ts).
 */

/** builds.yaml's builders.engine. */
export type EngineName = 'docker' | 'buildkit';

export const short = (sha: string) => sha.slice(0, 7);

export interface ImageSpec {
  readonly context: string;
  readonly dockerfile?: string;
}

/** The one build of a test's builds.yaml. */
export interface BuildSpec {
  readonly repo: string;
  readonly ref: string;
  /** @default builds.yaml's default: one image, context `.` */
  readonly images?: ImageSpec[];
}

/** builds.yaml with one build for `engine`, the registry on `nodePort`; `buildLines` are added to the build. */
export function buildsYaml(engine: EngineName, nodePort: number, build: BuildSpec, buildLines = ''): string {
  const q = (s: string) => JSON.stringify(s);
  const images = build.images
    ? `    images:\n${build.images.map((i) => `      - context: ${q(i.context)}${i.dockerfile ? `\n        dockerfile: ${q(i.dockerfile)}` : ''}`).join('\n')}\n`
    : '';
  const builders = engine === 'docker' ? '' : `builders:\n  engine: ${engine}\n`;
  return `registry:\n  nodePort: ${nodePort}\n${builders}builds:\n  - repo: ${q(build.repo)}\n    ref: ${q(build.ref)}\n${images}${buildLines}`;
}

/** Where a run happens: the port the builder reaches the registry at, and the namespace's Secrets. */
export interface RunSite {
  /** A fresh directory of this run's own (workspace, mounted ConfigMaps, HOME, ...). */
  readonly dir: string;
  readonly registryAt: number;
  readonly secrets: Secrets;
  /** Something to do at a point of the run. */
  readonly atLine?: AtLine;
}

/** One builder engine's part of the suite: its real runner and the stand-ins for the node. */
export interface Engine {
  readonly name: EngineName;
  /** What the registry serves its pushes as (the registry client's Accept). */
  readonly manifestTypes: readonly string[];
  /**
   * True when the builder pushes to localhost:<nodePort> (the docker engine): then builds.yaml's
   * nodePort is where it reaches the registry. Otherwise it pushes to the registry Service, and the
   * runner maps that address to RunSite.registryAt.
   */
  readonly pushesToNodePort: boolean;
  /** Once, after env.sh is up: prerequisites and stand-ins; returns what the fixture's Dockerfiles start FROM. */
  prepare(suite: E2ESuite): Promise<string>;
  /** The builder Job's container of a builds.yaml, as synthesized. */
  synth(buildsYaml: string): BuilderContainer;
  /** Runs it as the Pod would, with this engine's runner. */
  run(suite: E2ESuite, job: BuilderContainer, site: RunSite): Promise<BuilderRun>;
}

/** A builder Job run: the container as synthesized, what it did, and its directory. */
export interface Built {
  readonly job: BuilderContainer;
  readonly run: BuilderRun;
  readonly dir: string;
}

export interface BuildOptions {
  /** Where the builder reaches the registry. @default the registry's port */
  readonly registryAt?: number;
  /** The Secrets of the namespace. @default the push Secret with the registry's account */
  readonly secrets?: Secrets;
  /** Something to do at a point of the run (move the branch it builds, ...). */
  readonly atLine?: AtLine;
}

/** One engine's suite: `e2eSuite(engine)` at the top of its test file. */
export class E2ESuite {
  private running: RunningEnv | undefined;
  private runs = 0;
  private registryClient: RegistryClient | undefined;
  private fixture: FixtureRepo | undefined;
  /** Named durations, logged after the suite. */
  readonly timings: Record<string, number> = {};

  constructor(readonly engine: Engine) {}

  get env(): E2EEnv { return this.started().env; }
  get tmp(): string { return this.started().tmp; }
  get stateDir(): string { return this.started().stateDir; }
  get registry(): RegistryClient { return this.registryClient ?? this.fail(); }
  get repo(): FixtureRepo { return this.fixture ?? this.fail(); }

  async up(): Promise<void> {
    this.running = await startEnv(`e2e-${this.engine.name}-`);
    this.registryClient = new RegistryClient(this.env.registryUrl, this.engine.manifestTypes);
    const baseImage = await this.engine.prepare(this);
    this.fixture = createFixtureRepo(this.env.gitBase, this.env.gitRoot, join(this.tmp, 'fixture'), join(this.tmp, 'home'), baseImage);
    console.log(`${this.engine.name} e2e: registry=${this.env.registryUrl} git=${this.env.gitBase} base=${baseImage}`);
  }

  async down(): Promise<void> {
    if (Object.keys(this.timings).length > 0) console.log(Object.entries(this.timings).map(([k, v]) => `${k}: ${v} ms`).join('\n'));
    killRunningBuilders();
    await stopEnv(this.running);
  }

  /** The push Secret as an operator creates it (README), holding the e2e registry's account. */
  pushSecret(password = this.env.registryPassword): Secrets {
    return { 'registry-push': { username: this.env.registryUsername, password } };
  }

  /** builds.yaml for this engine with one build, the registry on `nodePort`. */
  yaml(build: BuildSpec, nodePort = this.env.registryPort): string {
    return buildsYaml(this.engine.name, nodePort, build);
  }

  /** The builder Job's container of builds.yaml for `build`, whose builder reaches the registry at `registryAt`. */
  synth(build: BuildSpec, registryAt = this.env.registryPort): BuilderContainer {
    return this.engine.synth(this.yaml(build, this.engine.pushesToNodePort ? registryAt : this.env.registryPort));
  }

  /** Synthesizes builds.yaml for `build` and runs its builder Job with the engine's runner. */
  async build(label: string, build: BuildSpec, options: BuildOptions = {}): Promise<Built> {
    return this.runJob(label, this.synth(build, options.registryAt), options);
  }

  /** Runs a builder container with the engine's runner in a fresh directory; no credential reaches the log. */
  async runJob(label: string, job: BuilderContainer, options: BuildOptions = {}): Promise<Built> {
    this.runs += 1;
    const dir = join(this.tmp, 'runs', `${this.runs}-${label}`);
    const secrets = options.secrets ?? this.pushSecret();
    const run = await this.engine.run(this, job, { dir, registryAt: options.registryAt ?? this.env.registryPort, secrets, atLine: options.atLine });
    for (const { username, password } of Object.values(secrets)) {
      if (password === undefined) continue;
      expect(run.output).not.toContain(password);
      expect(run.output).not.toContain(Buffer.from(`${username}:${password}`).toString('base64'));
    }
    return { job, run, dir };
  }

  /** Logs the pushed lines for CI, checks each against the registry, returns them as `name:tag` → digest. */
  async checkPushed(run: BuilderRun, expected: Record<string, string[]>): Promise<Map<string, string>> {
    const lines = pushedLines(run.stdout);
    console.log(lines.map((l) => l.line).join('\n'));
    expect(lines.map((l) => `${l.name}:${l.tag}`).sort())
      .toEqual(Object.entries(expected).flatMap(([name, tags]) => tags.map((t) => `${name}:${t}`)).sort());
    const digests = new Map<string, string>();
    for (const l of lines) {
      expect(l.port).toBe(this.env.registryPort);
      expect(l.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const served = await this.registry.manifest(l.name, l.tag);
      expect(this.engine.manifestTypes).toContain(served.mediaType);
      expect(served.digest).toBe(l.digest);
      digests.set(`${l.name}:${l.tag}`, l.digest);
    }
    for (const [name, tags] of Object.entries(expected)) {
      expect(await this.registry.tags(name)).toEqual(expect.arrayContaining(tags));
      // One image per build: every tag of it is the same manifest.
      expect(new Set(tags.map((t) => digests.get(`${name}:${t}`))).size).toBe(1);
    }
    return digests;
  }

  /** The labels and env of name:tag's config, with the provenance labels both scripts add. */
  async checkConfig(name: string, tag: string, commit: string, labels: Record<string, string>, envVars: string[]): Promise<void> {
    const config = (await this.registry.config(name, tag)).config;
    expect(config.Labels).toMatchObject({ ...labels, 'org.opencontainers.image.revision': commit, 'org.opencontainers.image.source': this.repo.url });
    expect(config.Env).toEqual(expect.arrayContaining(envVars));
  }

  /**
   * `name:tag` pushed by two runs (checkPushed's digests) is the same layers, whatever its
   * config (a new `created` time makes a new manifest digest); logs both digests.
   */
  async expectSameLayers(nameTag: string, first: Map<string, string>, again: Map<string, string>): Promise<void> {
    const name = nameTag.split(':')[0];
    const [a, b] = [await this.registry.manifest(name, first.get(nameTag)!), await this.registry.manifest(name, again.get(nameTag)!)];
    expect(b.manifest.layers).toEqual(a.manifest.layers);
    console.log(`${nameTag} first ${a.digest} → again ${b.digest}${a.digest === b.digest ? ' (identical)' : ' (same layers, new config)'}`);
  }

  /** A file of name:tag's layers, as text. */
  async layerFile(name: string, tag: string, path: string): Promise<string | undefined> {
    return (await this.registry.files(name, tag)).get(path)?.toString();
  }

  private started(): RunningEnv { return this.running ?? this.fail(); }

  private fail(): never { throw new Error('the e2e environment is not up (its beforeAll failed or has not run)'); }
}

/** The suite of one engine, brought up before the file's tests and down after them. */
export function e2eSuite(engine: Engine): E2ESuite {
  const suite = new E2ESuite(engine);
  // A cold machine builds BuildKit from the Go module proxy here (minutes).
  beforeAll(() => suite.up(), 1_800_000);
  afterAll(() => suite.down(), 180_000);
  return suite;
}

export function expectSuccess(run: BuilderRun): void {
  if (run.code !== 0) throw new Error(`builder exited ${run.code ?? run.signal}, expected 0; output:\n${run.output}`);
  expect(run.stderr).not.toContain('!! build failed');
}

/** A non-zero exit at `step`, as the script's last `==> [step]` and its `!!` line say, the `why` lines in the log, no `pushed` line. */
export function expectFailedAt(run: BuilderRun, step: string, why: RegExp[]): void {
  if (run.code === 0) throw new Error(`builder exited 0, expected a failure at step '${step}'; output:\n${run.output}`);
  expect(run.code).not.toBeNull();
  expect(run.stderr).toContain(`!! build failed at step '${step}' (exit ${run.code})`);
  for (const re of why) expect(run.output).toMatch(re);
  expect(steps(run.stdout).pop()).toBe(step);
  expect(pushedLines(run.stdout)).toEqual([]);
}

/** Key lines of a failed run, for the CI log: the script's `!!` lines and the tool's own error. */
export function logFailure(label: string, run: BuilderRun, toolError?: RegExp): void {
  const key = run.output.split('\n').filter((l) => l.startsWith('!!') || (toolError !== undefined && toolError.test(l)));
  console.log(`${label}: exit ${run.code} after ${run.ms} ms\n  ${key.join('\n  ')}`);
}
