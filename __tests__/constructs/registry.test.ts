import { Size, Testing } from 'cdk8s';
import { DEFAULT_REGISTRY_NODE_PORT, Registry, REGISTRY_DATA_PATH, REGISTRY_IMAGE } from '../../lib/constructs/registry';
import { find } from '../support/synth';

function synth(props = {}) {
  const chart = Testing.chart();
  const registry = new Registry(chart, 'Registry', props);
  return { registry, manifests: Testing.synth(chart) };
}

describe('Registry', () => {
  test('a Deployment and a NodePort Service named "registry", on the default NodePort', () => {
    const { registry, manifests } = synth();
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(['Deployment/registry', 'Service/registry']);
    expect(registry.nodePort).toBe(DEFAULT_REGISTRY_NODE_PORT);
    expect(registry.pushEndpoint).toBe('localhost:30500');
    const service = find(manifests, 'Service');
    expect(service.spec.type).toBe('NodePort');
    expect(service.spec.ports).toEqual([{ name: 'registry', port: 5000, targetPort: 5000, nodePort: 30500 }]);
  });

  test('the nodePort is configurable and exposed to other constructs', () => {
    const { registry, manifests } = synth({ nodePort: 31999 });
    expect(registry.pushEndpoint).toBe('localhost:31999');
    expect(find(manifests, 'Service').spec.ports[0].nodePort).toBe(31999);
  });

  test('the Service selects the registry Pods by app.kubernetes.io labels only', () => {
    const { manifests } = synth();
    const deployment = find(manifests, 'Deployment');
    const selector = { 'app.kubernetes.io/name': 'registry', 'app.kubernetes.io/instance': 'registry' };
    expect(find(manifests, 'Service').spec.selector).toEqual(selector);
    expect(deployment.spec.selector).toEqual({ matchLabels: selector });
    expect(deployment.spec.template.metadata.labels).toMatchObject(selector);
    expect(JSON.stringify(manifests)).not.toContain('cdk8s.io/metadata.addr');
  });

  test('exactly one replica, replaced with Recreate (cdk8s-plus defaults to 2 and RollingUpdate)', () => {
    const deployment = find(synth().manifests, 'Deployment');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('pinned image, pulled only when missing', () => {
    const container = find(synth().manifests, 'Deployment').spec.template.spec.containers[0];
    expect(container.image).toBe(REGISTRY_IMAGE);
    expect(container.image).toMatch(/^registry:2\.8\.\d+$/);
    expect(container.imagePullPolicy).toBe('IfNotPresent');
  });

  test('runs as a non-root user, read-only image, data volume writable through fsGroup', () => {
    const spec = find(synth().manifests, 'Deployment').spec.template.spec;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
    expect(spec.containers[0].securityContext).toMatchObject({
      runAsNonRoot: true, runAsUser: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false,
    });
    expect(spec.automountServiceAccountToken).toBe(false);
  });

  test('keeps data in an emptyDir by default', () => {
    const spec = find(synth().manifests, 'Deployment').spec.template.spec;
    expect(spec.containers[0].volumeMounts).toEqual([{ mountPath: REGISTRY_DATA_PATH, name: 'registry-data' }]);
    expect(spec.volumes).toEqual([{ name: 'registry-data', emptyDir: {} }]);
  });

  test('or on a PersistentVolumeClaim', () => {
    const { manifests } = synth({ storageSize: Size.gibibytes(20), storageClassName: 'fast' });
    const claim = find(manifests, 'PersistentVolumeClaim', 'registry-data');
    expect(claim.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '20Gi' } } });
    expect(find(manifests, 'Deployment').spec.template.spec.volumes).toEqual([
      { name: 'registry-data', persistentVolumeClaim: { claimName: 'registry-data' } },
    ]);
  });

  test('probes the registry API port', () => {
    const container = find(synth().manifests, 'Deployment').spec.template.spec.containers[0];
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/', port: 5000 });
    expect(container.livenessProbe.httpGet).toMatchObject({ path: '/', port: 5000 });
  });
});
