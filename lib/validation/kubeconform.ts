import { spawnSync } from 'child_process';
import { join } from 'path';
import { pointerToPath, Problem } from './problems';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'validate-tools', 'kubeconform.sh');

/**
 * The real kubeconform, strict, against the Kubernetes 1.27 schemas the
 * project generates offline (scripts/validate-tools/k8s-schemas.sh).
 */
export function kubeconformProblems(files: string[]): Problem[] {
  if (files.length === 0) return [];
  const run = spawnSync('bash', [SCRIPT, '-output', 'json', ...files], { encoding: 'utf-8', maxBuffer: 256 * 1024 * 1024 });
  let report: any;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`kubeconform did not run (exit ${run.status}):\n${run.stderr}${run.stdout}`);
  }
  const problems: Problem[] = [];
  for (const r of report.resources ?? []) {
    if (r.status === 'statusValid' || r.status === 'statusSkipped') continue;
    const object = r.kind ? `${r.kind}/${r.name || '(no name)'}` : undefined;
    if (r.validationErrors?.length) {
      for (const e of r.validationErrors) {
        // Name the unknown field itself in the path, not just its parent.
        const extra = /^additional properties '([^']+)' not allowed$/.exec(e.msg)?.[1];
        const path = [pointerToPath(e.path), extra].filter((p) => p).join('.');
        problems.push({ layer: 'kubeconform', file: r.filename, object, path: path || undefined, message: extra ? 'unknown field' : e.msg });
      }
    } else {
      problems.push({ layer: 'kubeconform', file: r.filename, object, message: String(r.msg).replace(/\n\s*/g, ' ') });
    }
  }
  return problems;
}
