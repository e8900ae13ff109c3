import { apiserverProblems, ApiServerOptions, startApiServer } from './apiserver';
import { collectFiles } from './files';
import { readFileSync } from 'fs';
import { KubeconformOptions, kubeconformProblems, splitDocuments, startKubeconform } from './kubeconform';
import { ManifestFile, parseManifestText, readManifestFile } from './manifests';
import { policyProblems } from './policy';
import { Layer, Problem } from './problems';

export interface ValidateOptions {
  /** Also dry-run every object against a real kube-apiserver (started and stopped here). */
  readonly server?: boolean;
  /** Skip the project's policy rules (for third-party YAML). */
  readonly policy?: boolean;
  readonly apiserver?: ApiServerOptions;
  readonly kubeconform?: KubeconformOptions;
}

export interface ValidateResult {
  readonly files: ManifestFile[];
  readonly objects: number;
  readonly problems: Problem[];
  readonly layers: Layer[];
}

/**
 * Every layer of `npm run validate` on files or folders: each file is read
 * once (lib/validation/manifests), and the policy rules run while kubeconform
 * does. Problems come in file order, then layer order.
 */
export async function validate(paths: string[], options: ValidateOptions = {}): Promise<ValidateResult> {
  const names = collectFiles(paths);
  // kubeconform starts on the documents (split at their markers, no parse) and runs while the
  // files are parsed and the policy rules run.
  const sources = names.map((name) => {
    try {
      return readFileSync(name, 'utf-8');
    } catch {
      return undefined; // readManifestFile reports it
    }
  });
  const early = startKubeconform(sources.flatMap((s) => (s === undefined ? [] : splitDocuments(s))), options.kubeconform);
  const files = names.map((name, i) => (sources[i] === undefined ? readManifestFile(name) : parseManifestText(sources[i]!, name)));
  const layers: Layer[] = ['yaml', ...(options.policy === false ? [] : ['policy' as const]), 'kubeconform', ...(options.server ? ['apiserver' as const] : [])];
  // If the quick split and the parser disagree on the documents (unusual YAML), run it again on the parsed texts.
  const schema = early.finish(files.flatMap((f) => f.docs)).catch(() => kubeconformProblems(files, options.kubeconform));
  const problems: Problem[] = files.flatMap((f) => f.problems);
  if (options.policy !== false) problems.push(...policyProblems(files));
  problems.push(...await schema);
  if (options.server) {
    const stop = startApiServer();
    try {
      problems.push(...await apiserverProblems(files, options.apiserver));
    } finally {
      stop();
    }
  }
  const fileOrder = new Map(files.map((f, i) => [f.file, i]));
  const layerOrder = new Map<string, number>(['files', ...layers].map((l, i) => [l, i]));
  const key = (p: Problem) => [fileOrder.get(p.file) ?? files.length, p.line ?? 0, layerOrder.get(p.layer) ?? 0];
  const sorted = problems.map((p, i) => ({ p, i })).sort((a, b) => {
    const ka = key(a.p);
    const kb = key(b.p);
    for (let n = 0; n < ka.length; n++) if (ka[n] !== kb[n]) return ka[n] - kb[n];
    return a.i - b.i;
  }).map(({ p }) => p);
  return { files, objects: files.reduce((n, f) => n + f.docs.length, 0), problems: sorted, layers };
}
