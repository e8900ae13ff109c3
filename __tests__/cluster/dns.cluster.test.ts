/**
 * `npm run test:cluster`, the cluster DNS: CoreDNS (scripts/cluster/cluster.sh,
 * kubernetes plugin) on the node address the kubelet writes into every Pod's
 * resolv.conf. A Pod must find a Service by its short name through the search
 * path, as the buildkit builders reach `registry:5000` and the retention CronJob
 * `http://registry:5000`, and by its full name `<svc>.<ns>.svc.cluster.local`.
 * The Service here fronts a real registry (the registry:2.8.3 stand-in) in a
 * namespace of its own, so the short name can only resolve through the cluster
 * DNS's search path of that namespace.
 */
import { ClusterEnv, clusterEnv, getJson, kubectl, kubectlOk, waitFor } from './support/cluster';

const env: ClusterEnv = clusterEnv();
const NS = 'cluster-test-dns';
const FQDN = `registry.${NS}.svc.${env.clusterDomain}`;

/** What the client Pod prints: its resolv.conf, then each lookup between markers. */
const CLIENT_SCRIPT = `cat /etc/resolv.conf
echo "== fqdn"; nslookup ${FQDN} 2>&1
echo "== missing"; nslookup no-such-service.${NS}.svc.${env.clusterDomain} 2>&1 && echo "missing: resolved" || echo "missing: not found"
echo "== short"
i=0
until wget -q -O /tmp/v2 http://registry:5000/v2/ 2>/tmp/err; do
  i=$((i + 1)); [ "$i" -lt 60 ] || { cat /tmp/err; echo "short: failed"; exit 1; }; sleep 0.5
done
echo "short: GET http://registry:5000/v2/ -> $(cat /tmp/v2)"
`;

function podReady(name: string): boolean {
  const pod = getJson(env, ['pod', name, '-n', NS]);
  return (pod?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

let clientLog = '';
let clusterIP = '';

beforeAll(async () => {
  kubectlOk(env, ['apply', '-f', '-'], `
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: v1
kind: Service
metadata: {name: registry, namespace: ${NS}}
spec:
  selector: {app: dns-registry}
  ports: [{port: 5000, targetPort: 5000}]
---
apiVersion: v1
kind: Pod
metadata: {name: registry, namespace: ${NS}, labels: {app: dns-registry}}
spec:
  containers:
    - name: registry
      image: registry:2.8.3
      imagePullPolicy: Never
      readinessProbe: {httpGet: {path: /v2/, port: 5000}, periodSeconds: 1}
`);
  await waitFor('the registry Pod Ready', 60_000, () => (podReady('registry') ? true : undefined),
    () => kubectl(env, ['describe', 'pod', 'registry', '-n', NS]).stdout);
  clusterIP = getJson(env, ['service', 'registry', '-n', NS]).spec.clusterIP;
  kubectlOk(env, ['run', 'dns-client', '-n', NS, '--image=busybox:stand-in', '--image-pull-policy=Never', '--restart=Never',
    '--command', '--', 'sh', '-c', CLIENT_SCRIPT]);
  await waitFor('the DNS client Pod to finish', 90_000, () => {
    const phase = getJson(env, ['pod', 'dns-client', '-n', NS])?.status?.phase;
    return phase === 'Succeeded' || phase === 'Failed' ? true : undefined;
  }, () => kubectl(env, ['describe', 'pod', 'dns-client', '-n', NS]).stdout);
  clientLog = kubectlOk(env, ['logs', 'dns-client', '-n', NS]);
  console.log(`DNS client Pod (Service registry = ${clusterIP}):\n${clientLog}`);
});

afterAll(() => {
  kubectl(env, ['delete', 'namespace', NS, '--wait=false']);
});

const section = (name: string) => clientLog.split(`== ${name}\n`)[1]?.split('\n== ')[0] ?? '';

describe('cluster DNS (CoreDNS on the node)', () => {
  test("a Pod's resolv.conf names the cluster DNS and its namespace's search path", () => {
    expect(clientLog).toMatch(new RegExp(`^nameserver ${env.nodeIP.replace(/\./g, '\\.')}$`, 'm'));
    expect(clientLog).toMatch(new RegExp(`^search ${NS}\\.svc\\.${env.clusterDomain} svc\\.${env.clusterDomain} ${env.clusterDomain}$`, 'm'));
  });

  test(`registry.<ns>.svc.${env.clusterDomain} resolves to the Service's cluster IP`, () => {
    expect(section('fqdn')).toMatch(new RegExp(`Address:\\s+${clusterIP.replace(/\./g, '\\.')}$`, 'm'));
  });

  test('a Service that does not exist does not resolve: the cluster DNS answers NXDOMAIN', () => {
    expect(section('missing')).toMatch(/NXDOMAIN/);
    expect(section('missing')).toMatch(/missing: not found/);
  });

  test('the short name `registry` resolves through the search path and reaches the registry on :5000', () => {
    expect(section('short')).toMatch(/^short: GET http:\/\/registry:5000\/v2\/ -> \{\}$/m);
    expect(getJson(env, ['pod', 'dns-client', '-n', NS]).status.phase).toBe('Succeeded');
  });
});
