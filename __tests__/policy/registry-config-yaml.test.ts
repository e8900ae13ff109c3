import { checkPolicy, Manifest, RULES } from '../../lib/policy/rules';
import { synthDefault } from '../support/synth';

/** IB017 reads the registry's config.yml as the registry does: Go's yaml v2, YAML 1.1. */
const IB017 = RULES.filter((r) => r.id === 'IB017');

function withConfig(edit: (configYml: string) => string): Manifest[] {
  const manifests: Manifest[] = JSON.parse(JSON.stringify(synthDefault()));
  const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'registry-config')!;
  configMap.data['config.yml'] = edit(configMap.data['config.yml']);
  return manifests;
}

describe('IB017 reads config.yml as the registry does (YAML 1.1)', () => {
  const enabled = /(delete:\n\s+enabled:) true/;

  test('the synthesized config passes; `enabled: yes` is true to the registry, so it passes too', () => {
    expect(checkPolicy(withConfig((c) => c), IB017)).toEqual([]);
    expect(checkPolicy(withConfig((c) => c.replace(enabled, '$1 yes')), IB017)).toEqual([]);
    expect(checkPolicy(withConfig((c) => c.replace(enabled, '$1 on')), IB017)).toEqual([]);
  });

  test('a quoted "yes" is a string, not true: reported', () => {
    const violations = checkPolicy(withConfig((c) => c.replace(enabled, '$1 "yes"')), IB017);
    expect(violations.map((v) => v.message)).toEqual(['storage.delete.enabled is not true: retention cannot delete']);
  });

  test('unreadable YAML is one line naming the line, not a snippet', () => {
    const violations = checkPolicy(withConfig((c) => `${c}storage: [unclosed\n`), IB017);
    expect(violations).toHaveLength(1);
    expect(violations[0].message).toMatch(/^not YAML: .+ \(line \d+\)$/);
  });
});
