import { Size, Testing } from 'cdk8s';
import { REGISTRY_DATA_PATH } from '../../lib/constructs/contract';
import { DEFAULT_REGISTRY_NODE_PORT, Registry, REGISTRY_IMAGE } from '../../lib/constructs/registry';
import { GC_SCRIPT } from '../../lib/constructs/registry-gc-script';
import { find } from '../support/synth';

function synth(props = {}) {
  const chart = Testing.chart();
  const registry = new Registry(chart, 'Registry', props);
  return { registry, manifests: Testing.synth(chart) };
}

describe('Registry', () => {
  test('a Deployment and a NodePort Service named "registry", on the default NodePort', () => {
    const { registry, manifests } = synth();
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(['ConfigMap/registry-config', 'Deployment/registry', 'Service/registry']);
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
    expect(spec.containers[0].volumeMounts).toEqual([
      { mountPath: REGISTRY_DATA_PATH, name: 'registry-data' },
      { mountPath: '/etc/docker/registry', name: 'registry-config', readOnly: true },
    ]);
    expect(spec.volumes).toContainEqual({ name: 'registry-data', emptyDir: {} });
  });

  test('or on a PersistentVolumeClaim', () => {
    const { manifests } = synth({ storageSize: Size.gibibytes(20), storageClassName: 'fast' });
    const claim = find(manifests, 'PersistentVolumeClaim', 'registry-data');
    expect(claim.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '20Gi' } } });
    const volumes = find(manifests, 'Deployment').spec.template.spec.volumes;
    expect(volumes).toContainEqual({ name: 'registry-data', persistentVolumeClaim: { claimName: 'registry-data' } });
    expect(volumes.filter((v: any) => v.emptyDir && v.name === 'registry-data')).toEqual([]);
  });

  test('probes the registry API port through the proxy (the registry itself listens on loopback)', () => {
    const containers = find(synth().manifests, 'Deployment').spec.template.spec.containers;
    const proxy = containers.find((c: any) => c.name === 'auth-proxy');
    expect(proxy.ports).toEqual([{ containerPort: 5000, name: 'registry' }]);
    expect(proxy.readinessProbe.httpGet).toMatchObject({ path: '/', port: 5000 });
    expect(proxy.livenessProbe.httpGet).toMatchObject({ path: '/', port: 5000 });
    expect(containers[0].ports).toBeUndefined();
  });

  describe('auth proxy', () => {
    test('nginx in front, its config and the registry\'s in one ConfigMap; the registry on 127.0.0.1:5001', () => {
      const { manifests } = synth();
      const config = find(manifests, 'ConfigMap', 'registry-config').data;
      expect(config['config.yml']).toContain('addr: 127.0.0.1:5001');
      expect(config['config.yml']).toMatch(/delete:\n\s+enabled: true/);
      expect(config['config.yml']).not.toContain('blobdescriptor');
      expect(config['nginx.conf']).toContain('proxy_pass http://127.0.0.1:5001;');
      expect(config['nginx.conf']).toContain('auth_basic_user_file /etc/registry-auth/htpasswd;');
      expect(config['nginx.conf']).toMatch(/limit_except GET HEAD \{\s+auth_basic/);
      const registry = find(manifests, 'Deployment').spec.template.spec.containers[0];
      expect(registry.command).toEqual(['registry', 'serve', '/etc/docker/registry/config.yml']);
    });

    test('the htpasswd Secret is referenced by name, mounted read-only, never synthesized', () => {
      const { manifests } = synth({ htpasswdSecretName: 'pushers' });
      const spec = find(manifests, 'Deployment').spec.template.spec;
      expect(spec.volumes).toContainEqual({ name: 'htpasswd', secret: { secretName: 'pushers', defaultMode: 0o440 } });
      const proxy = spec.containers.find((c: any) => c.name === 'auth-proxy');
      expect(proxy.volumeMounts).toContainEqual({ mountPath: '/etc/registry-auth', name: 'htpasswd', readOnly: true });
      expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    });

    test('proxy and garbage collector run as non-root with read-only images', () => {
      const containers = find(synth().manifests, 'Deployment').spec.template.spec.containers;
      expect(containers.map((c: any) => c.name)).toEqual(['registry', 'auth-proxy', 'garbage-collector']);
      for (const c of containers) {
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
        expect(c.image).toMatch(/:\d+\.\d+\.\d+(-[a-z0-9.]+)?$/);
      }
    });
  });

  describe('garbage collector', () => {
    test('in the registry Pod, sharing its data and the read-only flag directory with the proxy', () => {
      const spec = find(synth({ garbageCollectionAt: '05:30' }).manifests, 'Deployment').spec.template.spec;
      const gc = spec.containers.find((c: any) => c.name === 'garbage-collector');
      expect(gc.command).toEqual(['sh', '-c', GC_SCRIPT]);
      expect(gc.env).toContainEqual({ name: 'GC_AT', value: '05:30' });
      expect(gc.volumeMounts).toContainEqual({ mountPath: REGISTRY_DATA_PATH, name: 'registry-data' });
      expect(gc.volumeMounts).toContainEqual({ mountPath: '/run/registry-maintenance', name: 'maintenance' });
      const proxy = spec.containers.find((c: any) => c.name === 'auth-proxy');
      expect(proxy.volumeMounts).toContainEqual({ mountPath: '/run/registry-maintenance', name: 'maintenance', readOnly: true });
    });

    test('collects without --delete-untagged (images pulled by digest stay) and always closes the window', () => {
      expect(GC_SCRIPT).toContain('registry garbage-collect "$REGISTRY_CONFIG"');
      expect(GC_SCRIPT).not.toContain('delete-untagged');
      expect(GC_SCRIPT).toContain('trap \'rm -f "$flag"\' EXIT');
    });
  });
});
