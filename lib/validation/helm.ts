import { spawnSync, SpawnSyncReturns } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, relative } from 'path';
import { Problem } from './problems';
import { validate } from './validate';
import { projectPath } from '../project-root';

const SCRIPT = projectPath('scripts/validate-tools/helm.sh');

/** The release name the validation renders with (the chart does not use it). */
export const RELEASE = 'image-builder';

/**
 * The pinned helm (scripts/validate-tools/helm.sh: built on first use, its own
 * config/cache under .tools/run/helm, `--kube-version` of the project's
 * Kubernetes for lint and template).
 */
export function helm(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf-8', env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 });
}

/**
 * `helm lint --strict`: warnings fail too. Each `[WARNING]` / `[ERROR]` line
 * becomes a problem on the chart file it names.
 */
export function helmLintProblems(chartDir: string): Problem[] {
  const run = helm(['lint', '--strict', chartDir]);
  const problems: Problem[] = [];
  for (const line of `${run.stdout}\n${run.stderr}`.split('\n')) {
    const m = /^\[(WARNING|ERROR)\] ([^:]*): (.*)$/.exec(line.trim());
    if (m) problems.push({ layer: 'helm', file: join(chartDir, m[2]), message: `${m[3]} (helm lint --strict: ${m[1].toLowerCase()})` });
  }
  if (run.status !== 0 && problems.length === 0) {
    problems.push({ layer: 'helm', file: chartDir, message: `helm lint --strict failed (exit ${run.status}): ${`${run.stderr}${run.stdout}`.trim()}` });
  }
  return problems;
}

/** What `helm template` rendered, one entry per template file. */
export interface RenderedChart {
  /** `templates/x.yaml` (path inside the chart) → the documents rendered from it. */
  readonly templates: Map<string, string>;
  /** Set when helm could not render the chart. */
  readonly problem?: Problem;
}

/**
 * `helm template`, split back into the template each document came from
 * (helm heads every document with `# Source: <chart>/<path>`).
 */
export function renderChart(chartDir: string, release = RELEASE): RenderedChart {
  const run = helm(['template', release, chartDir]);
  const templates = new Map<string, string>();
  if (run.status !== 0) {
    const error = run.stderr.trim().split('\n')[0].replace(/^Error: /, '');
    return { templates, problem: { layer: 'helm', file: chartDir, message: `helm template failed: ${error}` } };
  }
  let current = '';
  for (const doc of run.stdout.split(/^---\n/m)) {
    const source = /^# Source: [^/\n]+\/(.+)$/m.exec(doc)?.[1];
    if (source) current = source;
    if (doc.trim() === '') continue;
    templates.set(current, `${templates.get(current) ?? ''}---\n${doc}`);
  }
  return { templates };
}

/** Options of {@link chartProblems}. */
export interface ChartValidationOptions {
  /** Run the policy layer on the rendered objects. @default true */
  readonly policy?: boolean;
  /** Run the API-server layer too (started and stopped by validate). @default false */
  readonly server?: boolean;
}

/** Result of {@link chartProblems}. */
export interface ChartValidation {
  readonly problems: Problem[];
  /** Rendered template files validated. */
  readonly files: number;
  /** Objects rendered. */
  readonly objects: number;
}

/**
 * The kubeconform-helm way, without the plugin (it installs only from GitHub):
 * `helm lint --strict`, then `helm template`, and the rendered objects through
 * the same layers as dist/ (lib/validation/validate). Problems name the
 * template as `<chart>/templates/x.yaml (rendered)`; their lines are lines of
 * what `helm template` prints for that template.
 */
export async function chartProblems(chartDir: string, options: ChartValidationOptions = {}): Promise<ChartValidation> {
  const problems = helmLintProblems(chartDir);
  const rendered = renderChart(chartDir);
  if (rendered.problem) return { problems: [...problems, rendered.problem], files: 0, objects: 0 };
  const dir = mkdtempSync(join(tmpdir(), 'helm-rendered-'));
  try {
    const files = [...rendered.templates.entries()].map(([path, text]) => {
      const file = join(dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    });
    const result = await validate(files, { policy: options.policy ?? true, server: options.server ?? false });
    const name = (file: string) => `${join(chartDir, relative(dir, file))} (rendered)`;
    for (const p of result.problems) {
      problems.push({ ...p, file: name(p.file), object: p.object && { ...p.object, file: name(p.object.file) } });
    }
    return { problems, files: result.files.length, objects: result.objects };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
