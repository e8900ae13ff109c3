import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { KUBECONFIG, kubectl } from '../../lib/validation/apiserver';

/**
 * What the kubelet gives a Pod to reach the API server as its ServiceAccount,
 * for a program run outside a Pod against the local kube-apiserver
 * (startApiServer): KUBERNETES_SERVICE_HOST/PORT and a directory holding a real
 * token of `namespace/serviceAccount` (TokenRequest), the cluster's CA and the
 * namespace, as SERVICE_ACCOUNT_DIR.
 */
export function serviceAccountEnv(parent: string, namespace: string, serviceAccount: string): Record<string, string> {
  const token = kubectl(['create', 'token', serviceAccount, '-n', namespace]);
  if (token.status !== 0) throw new Error(`kubectl create token ${serviceAccount} -n ${namespace}: ${token.stderr}`);
  const dir = mkdtempSync(join(parent, 'serviceaccount-'));
  writeFileSync(join(dir, 'token'), token.stdout.trim());
  writeFileSync(join(dir, 'namespace'), namespace);
  writeFileSync(join(dir, 'ca.crt'), readFileSync(join(dirname(KUBECONFIG), 'pki', 'ca.crt')));
  const server = /server: (\S+)/.exec(kubectl(['config', 'view', '--minify']).stdout)?.[1];
  if (!server) throw new Error(`no server in ${KUBECONFIG}`);
  const url = new URL(server);
  return { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port, SERVICE_ACCOUNT_DIR: dir };
}
