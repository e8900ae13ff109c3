import { checkPolicy } from '../policy/rules';
import { ManifestFile, objectsOf, refOf } from './manifests';
import { Problem } from './problems';

/**
 * The project's policy rules (lib/policy/rules.ts) on every object read. Rules
 * that relate objects (REGISTRY_PORT vs the registry Service) see all files at
 * once; each violation names the object's own file and line.
 */
export function policyProblems(files: ManifestFile[]): Problem[] {
  // A list's items, not the list: what kubectl applies.
  const manifests = files.flatMap((f) => f.docs.flatMap(objectsOf));
  if (manifests.length === 0) return [];
  return checkPolicy(manifests).map((v): Problem => {
    const ref = v.manifest ? refOf(v.manifest) : undefined;
    const message = `${v.rule} ${v.message} (fix: ${v.fix})`;
    if (ref) return { layer: 'policy', file: ref.file, line: ref.line, object: ref, path: v.path || undefined, message };
    return { layer: 'policy', file: files.map((f) => f.file).join(', '), path: v.path || undefined, message: `${v.object}: ${message}` };
  });
}
