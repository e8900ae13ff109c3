import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative } from 'path';
import { isMap, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import { checkPolicy, Manifest } from '../policy/rules';

/** One problem found by one layer of `npm run validate`. */
export interface Problem {
  readonly layer: 'yaml' | 'policy' | 'kubeconform' | 'apiserver';
  readonly file: string;
  /** `Kind/name`, when the problem belongs to one object. */
  readonly object?: string;
  /** Field path, e.g. `spec.containers[0].env[0].value`. */
  readonly path?: string;
  readonly message: string;
}

export function formatProblem(p: Problem): string {
  return `${p.file}: ${p.object ?? '(file)'}${p.path ? ` ${p.path}` : ''}: ${p.message} [${p.layer}]`;
}

/** Files to validate: each PATH itself, or the *.yaml / *.yml files in it (recursively), sorted. */
export function collectFiles(paths: string[], cwd = process.cwd()): string[] {
  const files: string[] = [];
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) {
      readdirSync(path).sort().forEach((entry) => walk(join(path, entry)));
    } else if (/\.ya?ml$/.test(path)) {
      files.push(path);
    }
  };
  for (const path of paths) {
    try {
      statSync(path);
    } catch {
      throw new Error(`${path}: no such file or directory`);
    }
    if (statSync(path).isDirectory()) walk(path);
    else files.push(path);
  }
  return files.map((f) => relative(cwd, f) || f);
}

/** `/spec/containers/0/env` → `spec.containers[0].env` */
export function pointerToPath(pointer: string): string {
  return pointer.split('/').slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : `${i === 0 ? '' : '.'}${p}`))
    .join('');
}

export interface ParsedFile {
  readonly file: string;
  readonly manifests: Manifest[];
  readonly problems: Problem[];
}

/**
 * Reads a multi-document YAML file as kubectl does (YAML 1.1), refusing what
 * lenient parsers let through: duplicate keys and syntax errors, with lines.
 */
export function parseFile(file: string): ParsedFile {
  const lines = new LineCounter();
  const docs = parseAllDocuments(readFileSync(file, 'utf-8'), { version: '1.1', uniqueKeys: true, lineCounter: lines });
  const problems: Problem[] = [];
  const manifests: Manifest[] = [];
  for (const doc of (Array.isArray(docs) ? docs : [])) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = lines.linePos(e.pos[0]);
        problems.push({ layer: 'yaml', file, path: `line ${pos.line}`, message: e.message.split('\n')[0] });
      }
      continue;
    }
    if (doc.contents === null) continue;
    if (!isMap(doc.contents) && !isSeq(doc.contents)) {
      problems.push({ layer: 'yaml', file, message: 'a document is not a mapping (not a Kubernetes object)' });
      continue;
    }
    manifests.push(doc.toJS());
  }
  return { file, manifests, problems };
}

/** The project's policy rules (lib/policy.ts), per file. */
export function policyProblems(parsed: ParsedFile[]): Problem[] {
  // Rules that relate objects (REGISTRY_PORT vs the Service) see all files at once.
  const owner = new Map<Manifest, string>();
  parsed.forEach((p) => p.manifests.forEach((m) => owner.set(m, p.file)));
  const all = parsed.flatMap((p) => p.manifests);
  return checkPolicy(all).map((v) => ({
    layer: 'policy',
    file: owner.get(all.find((m) => `${m.kind}/${m.metadata?.name}` === v.object)!) ?? parsed[0]?.file ?? '',
    object: v.object,
    path: v.path,
    message: `${v.rule} ${v.message} (fix: ${v.fix})`,
  }));
}
