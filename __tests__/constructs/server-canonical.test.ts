import { canonicalQuantity, SERVER_DROPS } from '../../lib/constructs/server-canonical';
import { synthBuilds, synthDefault } from '../support/synth';

describe('server-canonical form (what a real API server stores, so a second apply is "unchanged")', () => {
  test.each([
    ['1000m', '1'], ['1500m', '1500m'], ['250m', '250m'], ['2', '2'], ['0.5', '500m'], ['1.5', '1500m'],
    ['1024Mi', '1Gi'], ['2048Mi', '2Gi'], ['512Mi', '512Mi'], ['1536Mi', '1536Mi'], ['1024Gi', '1Ti'], ['0', '0'],
  ])('%s -> %s', (input, canonical) => {
    expect(canonicalQuantity(input)).toBe(canonical);
  });

  test.each([
    ['the default builds.yaml', () => synthDefault()],
    ['a registry on a PersistentVolumeClaim', () => synthBuilds('registry:\n  storage:\n    persistentVolumeClaim: {size: 1024Gi}\nbuilds:\n  - repo: https://example.com/a/b.git\n')],
  ])('%s holds no value the server would rewrite', (_name, synth) => {
    const text = JSON.stringify(synth());
    for (const drop of SERVER_DROPS) {
      expect(text).not.toContain(`"${drop.key}":${JSON.stringify(drop.dropped)}`);
    }
    expect(text).not.toMatch(/"(1000m|1024Mi|1024Gi)"/);
  });
});
