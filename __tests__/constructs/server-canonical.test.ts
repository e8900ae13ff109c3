import { canonicalQuantity, defaultPullPolicy, SERVER_DROPS, withoutPodDefaults } from '../../lib/constructs/server-canonical';
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

describe('Pod values the API server fills in itself, or that mean the same as none (builder Jobs)', () => {
  test.each([
    ['docker:28.2.2-cli', 'IfNotPresent'], ['docker:latest', 'Always'], ['docker', 'Always'],
    ['localhost:30500/worker', 'Always'], ['localhost:30500/worker:abc1234', 'IfNotPresent'],
    ['x/y@sha256:0123', 'IfNotPresent'],
  ])('the server pulls %s with %s', (image, policy) => {
    expect(defaultPullPolicy(image)).toBe(policy);
  });

  test('dropped only where absent means the same', () => {
    const spec = withoutPodDefaults({
      dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30, setHostnameAsFQDN: false, restartPolicy: 'Never',
      securityContext: { runAsUser: 0, runAsNonRoot: false, fsGroupChangePolicy: 'Always' },
      containers: [
        { name: 'a', image: 'x:1', imagePullPolicy: 'IfNotPresent', securityContext: { runAsUser: 0, privileged: false, readOnlyRootFilesystem: false, runAsNonRoot: false } },
        { name: 'b', image: 'x:latest', imagePullPolicy: 'IfNotPresent', securityContext: { runAsUser: 1000, privileged: true, readOnlyRootFilesystem: true } },
      ],
    });
    expect(spec).toEqual({
      restartPolicy: 'Never',
      securityContext: { runAsUser: 0 },
      containers: [
        { name: 'a', image: 'x:1' },
        { name: 'b', image: 'x:latest', imagePullPolicy: 'IfNotPresent', securityContext: { runAsUser: 1000, privileged: true, readOnlyRootFilesystem: true } },
      ],
    });
    // A container's runAsNonRoot false overrides the Pod's true: kept.
    const strict = withoutPodDefaults({ securityContext: { runAsNonRoot: true }, containers: [{ name: 'a', image: 'x:1', securityContext: { runAsNonRoot: false } }] });
    expect(strict.containers[0].securityContext).toEqual({ runAsNonRoot: false });
    // Other server defaults stay as written.
    expect(withoutPodDefaults({ dnsPolicy: 'Default', terminationGracePeriodSeconds: 5, containers: [] })).toEqual({ dnsPolicy: 'Default', terminationGracePeriodSeconds: 5, containers: [] });
  });
});
