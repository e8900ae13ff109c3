import { Cluster, JobRecord } from './cluster';
import { clusterErrorText, transientClusterError } from './cluster-errors';
import { ANNOTATIONS, BRANCH_LABEL, branchKey, DELIVERY_LABEL, deliveryKey, olderCommits, planTriggeredBuild, triggeredJob, TriggeredJobSettings } from './job';
import { matchPush, TriggerableBuild } from './match';
import { Push } from './providers';

/** What became of a push. */
export interface SubmitResult {
  /**
   * `queued`: Jobs were created; `duplicate`: a redelivery, nothing created; `ignored`: not a
   * build; `accepted`: a build, its Jobs are being created (the answer did not wait for the cluster).
   */
  readonly outcome: 'queued' | 'duplicate' | 'ignored' | 'accepted';
  readonly reason: string;
  /** Jobs created for this push (`accepted`: the Jobs it creates unless the cluster has them already). */
  readonly jobs: string[];
  /** Older builds of the same branch this push cancelled. */
  readonly cancelled: string[];
}

/** A push handed to the controller: what is known at once, and the decision over the cluster's Jobs. */
export interface Submission {
  /**
   * Known without asking the cluster: `ignored` (builds.yaml), `duplicate` (a delivery this
   * process has seen), or `accepted` with the Jobs it will create.
   */
  readonly answer: SubmitResult;
  /** The decision made against the cluster's Jobs; the answer itself when there is nothing to decide. */
  readonly decided: Promise<SubmitResult>;
}

export type BuildState = 'queued' | 'running' | 'succeeded' | 'failed';

/** One build, as GET /builds shows it. */
export interface BuildView {
  readonly id: string;
  readonly repo: string;
  readonly ref: string;
  readonly commit: string;
  readonly images: string[];
  readonly state: BuildState;
  readonly queued: string;
  readonly start?: string;
  readonly end?: string;
}

export interface ControllerOptions {
  readonly builds: TriggerableBuild[];
  readonly job: TriggeredJobSettings;
  /** At most this many builds run at once; the rest wait suspended. */
  readonly maxConcurrentBuilds: number;
  /** Deliveries remembered in memory (the cluster's labels cover the rest). @default 10000 */
  readonly rememberDeliveries?: number;
  /**
   * How a decision the cluster failed transiently (connection refused or reset, 5xx, 429) is
   * tried again: the webhook was answered 202, so the git server will not redeliver it.
   * @default DEFAULT_RETRY
   */
  readonly retry?: RetryPolicy;
  /** Where retries are logged. @default console.log */
  readonly log?: (line: string) => void;
}

/** Bounded exponential backoff: `attempts` tries in all, waiting `firstDelayMs`, twice that, ... at most `maxDelayMs`. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

/** 8 tries over ~35 s (0.5, 1, 2, 4, 8, 10, 10 s between them): an API server restart or a rollout of it. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, firstDelayMs: 500, maxDelayMs: 10_000 };

/** A decision that did not reach the cluster: the push is lost unless the git server redelivers it. */
export class DecisionError extends Error {}

export function stateOf(job: JobRecord): BuildState {
  if (job.succeeded) return 'succeeded';
  if (job.failed) return 'failed';
  return job.suspended ? 'queued' : 'running';
}

/** The record of a Job this process just created (suspended: queued). */
function queuedRecord(manifest: any, queuedAt: Date): JobRecord {
  return {
    name: manifest.metadata.name,
    labels: manifest.metadata.labels ?? {},
    annotations: manifest.metadata.annotations ?? {},
    suspended: true,
    created: queuedAt,
    succeeded: false,
    failed: false,
  };
}

function active(job: JobRecord): boolean {
  const state = stateOf(job);
  return state === 'queued' || state === 'running';
}

/**
 * Turns pushes into builder Jobs. Every decision is made from the Jobs in the
 * cluster (their labels and suspend flag), one at a time, so a restarted
 * trigger continues where the last one stopped:
 * - a delivery already seen (same source, same id) creates nothing;
 * - a push to a branch deletes that branch's older unfinished builds, unless a build of the
 *   branch is newer than it (its commit is that build's `before`, or older): then it does nothing;
 * - Jobs are created suspended, and resumed oldest first while fewer than
 *   `maxConcurrentBuilds` run.
 */
export class BuildController {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly seen = new Map<string, string>();
  private readonly remember: number;
  private readonly retry: RetryPolicy;
  private readonly log: (line: string) => void;
  /** Decisions submitted and not finished: what each was to create. */
  private readonly undecided = new Map<string, string>();

  constructor(private readonly cluster: Cluster, private readonly options: ControllerOptions) {
    this.remember = options.rememberDeliveries ?? 10_000;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.log = options.log ?? ((line: string) => console.log(line));
  }

  /**
   * Runs `work` again while it fails transiently, with bounded exponential backoff. `attempt`
   * starts at 1. Errors the API server means (4xx: the object is invalid or forbidden) are not
   * retried.
   */
  private async retried<T>(what: string, work: (attempt: number) => Promise<T>): Promise<T> {
    const { attempts, firstDelayMs, maxDelayMs } = this.retry;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await work(attempt);
      } catch (e) {
        const text = clusterErrorText(e);
        if (!transientClusterError(e)) {
          throw new DecisionError(`the API server refused it (${text}); not retried: the same request would be refused again`);
        }
        if (attempt >= attempts) {
          throw new DecisionError(`gave up after ${attempt} attempts over ${((Date.now() - started) / 1000).toFixed(1)} s (last: ${text})`);
        }
        const delay = Math.min(maxDelayMs, firstDelayMs * 2 ** (attempt - 1));
        this.log(`${what}: attempt ${attempt} of ${attempts} failed (${text}); retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * Waits until every decision submitted so far (and any submitted meanwhile) has finished, or
   * `timeoutMs` has passed; returns what is still undecided (empty when all finished).
   */
  async drain(timeoutMs: number): Promise<string[]> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), timeoutMs); });
    try {
      for (;;) {
        const chain = this.chain;
        if (await Promise.race([chain.then(() => 'done' as const), deadline]) === 'late') break;
        if (chain === this.chain) break;
      }
    } finally {
      clearTimeout(timer);
    }
    return [...this.undecided.values()];
  }

  /** Runs `work` after every earlier decision has finished. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work, work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private remembered(key: string, outcome: string): void {
    this.seen.set(key, outcome);
    if (this.seen.size > this.remember) {
      this.seen.delete(this.seen.keys().next().value as string);
    }
  }

  /**
   * Decides what a verified push starts. Its answer needs no cluster call (builds.yaml and the
   * deliveries seen); the Jobs are then created in the background, after every earlier decision.
   * Nothing touches the cluster unless builds.yaml allows the push.
   */
  submit(push: Push): Submission {
    const now = (answer: SubmitResult): Submission => ({ answer, decided: Promise.resolve(answer) });
    const match = matchPush(push, this.options.builds);
    if ('ignored' in match) {
      return now({ outcome: 'ignored', reason: match.ignored, jobs: [], cancelled: [] });
    }
    const key = deliveryKey(push);
    const earlier = this.seen.get(key);
    if (earlier !== undefined) {
      return now({ outcome: 'duplicate', reason: `delivery ${push.delivery} from ${push.provider} was handled already (${earlier})`, jobs: [], cancelled: [] });
    }
    const planned = match.builds.map((m) => planTriggeredBuild(m, push.commit).name);
    // Claimed before the cluster is asked, so a redelivery arriving meanwhile is answered at once;
    // released again if the decision fails, so the provider's retry is not lost.
    this.remembered(key, 'being decided');
    const what = `${push.provider} ${push.delivery} ${push.ref} ${push.commit.slice(0, 7)}`;
    this.undecided.set(key, `${what} (${planned.join(', ')})`);
    const decided = this.serialized(() => this.retried(what, async (attempt): Promise<SubmitResult> => {
      const jobs = await this.cluster.listJobs();
      const known = jobs.filter((j) => j.labels[DELIVERY_LABEL] === key).map((j) => j.name);
      // A retry finds the Jobs its own earlier attempt created before failing: they are this push's.
      const ours = attempt > 1 ? known : [];
      if (known.length > 0 && attempt === 1) {
        this.remembered(key, known.join(', '));
        return { outcome: 'duplicate', reason: `delivery ${push.delivery} from ${push.provider} already built by ${known.join(', ')}`, jobs: [], cancelled: [] };
      }
      const queuedAt = new Date();
      const created: JobRecord[] = [];
      const cancelled: string[] = [];
      const existing: string[] = [];
      let older = push.before ? [push.before] : [];
      if (match.builds[0].refKind === 'branch') {
        // One branch label for every entry of the repository (branchKey is the repository's key and the ref).
        const branch = jobs.filter((j) => j.labels[BRANCH_LABEL] === branchKey(match.builds[0].build.repo, push.ref));
        // Arrival order is not push order: a push whose commit a build of the branch already supersedes
        // (a late delivery, or a redelivery after that build cancelled its Job) changes nothing.
        const newer = branch.find((j) => olderCommits(j.annotations).includes(push.commit));
        if (newer) {
          this.remembered(key, `superseded by ${newer.name}`);
          return { outcome: 'ignored', reason: `${push.ref} at ${push.commit.slice(0, 7)} is superseded by ${newer.name}, which builds a later push of it`, jobs: [], cancelled: [] };
        }
        for (const job of branch.filter((j) => !planned.includes(j.name) && active(j))) {
          await this.cluster.deleteJob(job.name);
          cancelled.push(job.name);
          // the cancelled build's commit and what it superseded are older than this push's, and its Job is gone
          older = [...older, job.annotations[ANNOTATIONS.commit] ?? '', ...olderCommits(job.annotations)];
        }
        older = [...new Set(older.filter((c) => c && c !== push.commit))];
      }
      for (const m of match.builds) {
        const { name, manifest } = triggeredJob(m, push, this.options.job, queuedAt, older);
        if (await this.cluster.createJob(manifest)) {
          created.push(queuedRecord(manifest, queuedAt));
        } else if (!ours.includes(name)) {
          existing.push(name);
        }
      }
      const names = [...created.map((j) => j.name), ...ours.filter((n) => !created.some((c) => c.name === n))];
      this.remembered(key, [...names, ...existing].join(', '));
      if (names.length === 0) {
        return { outcome: 'duplicate', reason: `commit ${push.commit} of ${push.ref} is already built by ${existing.join(', ')}`, jobs: [], cancelled };
      }
      // The cluster's Jobs now: what was listed, less what this decision deleted, plus what it created
      // (decisions are serial, so nothing else changed them but the Job controller finishing builds,
      // which the next reconcile sees).
      await this.startQueued([...jobs.filter((j) => !cancelled.includes(j.name)), ...created]);
      return { outcome: 'queued', reason: `${push.ref} at ${push.commit.slice(0, 7)}: ${names.join(', ')}`, jobs: names, cancelled };
    }));
    // Kept as seen while retried; released when the decision gave up, so a redelivery is not refused.
    decided.catch(() => this.seen.delete(key)).finally(() => this.undecided.delete(key));
    return {
      answer: { outcome: 'accepted', reason: `${push.ref} at ${push.commit.slice(0, 7)}: creating ${planned.join(', ')}; see GET /builds`, jobs: planned, cancelled: [] },
      decided,
    };
  }

  /** Resumes queued Jobs, oldest first, while fewer than the limit run. */
  private async startQueued(jobs: JobRecord[]): Promise<string[]> {
    const running = jobs.filter((j) => stateOf(j) === 'running').length;
    const queued = jobs.filter((j) => stateOf(j) === 'queued')
      .sort((a, b) => (a.annotations[ANNOTATIONS.queuedAt] ?? '').localeCompare(b.annotations[ANNOTATIONS.queuedAt] ?? '') || a.name.localeCompare(b.name));
    const started: string[] = [];
    for (const job of queued.slice(0, Math.max(0, this.options.maxConcurrentBuilds - running))) {
      await this.cluster.resumeJob(job.name);
      started.push(job.name);
    }
    return started;
  }

  /**
   * Synthesizes (and drops) one Job per build at start-up, touching no cluster: the first pushes
   * then do not pay for loading and compiling the construct code while webhooks wait behind them.
   */
  warmUp(): void {
    for (const build of this.options.builds) {
      const push: Push = { provider: 'github', delivery: 'warm-up', repoUrls: [build.repo], ref: `refs/heads/${build.ref}`, commit: '0'.repeat(40) };
      try {
        triggeredJob({ build, refName: build.ref, refKind: 'branch' }, push, this.options.job, new Date(0));
      } catch {
        // only a warm-up: a real push of this build reports what is wrong
      }
    }
  }

  /** Re-reads the cluster and starts what has room: at start-up, and periodically as builds finish. */
  reconcile(): Promise<string[]> {
    return this.serialized(async () => this.startQueued(await this.cluster.listJobs()));
  }

  /** Recent builds, newest first. */
  async list(): Promise<BuildView[]> {
    const jobs = await this.cluster.listJobs();
    return jobs.map((job) => this.view(job)).sort((a, b) => b.queued.localeCompare(a.queued) || a.id.localeCompare(b.id));
  }

  async find(id: string): Promise<JobRecord | undefined> {
    return (await this.cluster.listJobs()).find((j) => j.name === id);
  }

  pods(id: string) {
    return this.cluster.jobPods(id);
  }

  streamLog(pod: string, out: NodeJS.WritableStream & import('stream').Writable, follow: boolean, opened?: () => void): Promise<void> {
    return this.cluster.streamLog(pod, out, follow, opened);
  }

  view(job: JobRecord): BuildView {
    const a = job.annotations;
    return {
      id: job.name,
      repo: a[ANNOTATIONS.repo] ?? '',
      ref: a[ANNOTATIONS.ref] ?? '',
      commit: a[ANNOTATIONS.commit] ?? '',
      images: (a[ANNOTATIONS.images] ?? '').split(' ').filter((s) => s),
      state: stateOf(job),
      queued: a[ANNOTATIONS.queuedAt] ?? job.created.toISOString(),
      start: job.started?.toISOString(),
      end: job.finished?.toISOString(),
    };
  }
}
