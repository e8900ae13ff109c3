import { Testing } from 'cdk8s';
import { BuildTrigger } from '../../lib/constructs/build-trigger';
import { checkPolicy, formatViolation } from '../../lib/policy/rules';
import { find, synthBuilds } from '../support/synth';

const synth = () => {
  const chart = Testing.chart();
  new BuildTrigger(chart, 'T', { image: 'localhost:30500/cdk8s-image-builder:main', buildsYaml: 'builds: []\n', maxConcurrentBuilds: 3 });
  return Testing.synth(chart);
};
const byKind = (kind: string) => synth().filter((o: any) => o.kind === kind);

describe('BuildTrigger', () => {
  test('Deployment, Service, ServiceAccount, Role, RoleBinding and the builds.yaml ConfigMap; never a Secret', () => {
    expect(synth().map((o: any) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/build-trigger-config', 'Deployment/build-trigger', 'Role/build-trigger', 'RoleBinding/build-trigger', 'Service/build-trigger', 'ServiceAccount/build-trigger',
    ]);
  });

  test('the Role: Jobs (patch resumes a queued one), reading Pods and their logs; nothing else', () => {
    const [role] = byKind('Role');
    const rules = role.rules.flatMap((r: any) => r.resources.map((res: any) => `${r.apiGroups.join(',') || 'core'}/${res}: ${[...r.verbs].sort().join(',')}`)).sort();
    expect(rules).toEqual([
      'batch/jobs: create,delete,get,list,patch,watch',
      'core/pods/log: get',
      'core/pods: get,list,watch',
    ]);
  });

  test('the same variables as npm run trigger; secrets as files from the out-of-band Secret', () => {
    const [deployment] = byKind('Deployment');
    const pod = deployment.spec.template.spec;
    const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toEqual({
      PORT: '8080',
      NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
      BUILDS_CONFIG: '/etc/build-trigger/builds.yaml',
      WEBHOOK_SECRET_FILE: '/var/run/secrets/build-trigger/webhook-secret',
      API_TOKEN_FILE: '/var/run/secrets/build-trigger/api-token',
      MAX_CONCURRENT_BUILDS: '3',
    });
    expect(pod.volumes).toContainEqual(expect.objectContaining({ secret: expect.objectContaining({ secretName: 'build-trigger' }) }));
    expect(pod.serviceAccountName).toBe('build-trigger');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'build-trigger', 'app.kubernetes.io/instance': 'build-trigger' });
  });

  test('dist/ with a buildTrigger passes the policy rules: the trigger is its own component, not a builder', () => {
    // Labelled as a builder, the rules took its Deployment for one (restartPolicy, REGISTRY_PORT,
    // push credentials...) and synth refused every builds.yaml with a buildTrigger.
    const manifests = synthBuilds(`buildTrigger: {image: "localhost:30500/cdk8s-image-builder:main"}
builds:
  - repo: https://git.example.com/platform/cdk8s-image-builder.git
    images: [{context: ., dockerfile: trigger/Dockerfile}]
`);
    expect(find(manifests, 'Deployment', 'build-trigger').spec.template.metadata.labels['app.kubernetes.io/component']).toBe('trigger');
    expect(checkPolicy(manifests).map(formatViolation)).toEqual([]);
  });
});
