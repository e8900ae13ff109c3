/**
 * Writes the registry's config.yml and the auth proxy's nginx.conf for the
 * end-to-end environment, from the same functions the manifests use
 * (lib/constructs/registry-config.ts), with loopback ports and state-dir paths:
 *
 *   ts-node scripts/e2e/registry-configs.ts <statedir> <proxyPort> <registryPort>
 *
 * Writes <statedir>/conf/registry.yml and <statedir>/conf/nginx.conf; the
 * htpasswd file (<statedir>/conf/htpasswd) and <statedir>/maintenance/ are env.sh's.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { proxyNginxConf, registryConfigYaml } from '../../lib/constructs/registry-config';

function main(argv: string[]): void {
  const [stateDir, proxyPort, registryPort] = argv;
  if (!stateDir || !/^\d+$/.test(proxyPort ?? '') || !/^\d+$/.test(registryPort ?? '')) {
    process.stderr.write('usage: registry-configs.ts <statedir> <proxyPort> <registryPort>\n');
    process.exit(2);
  }
  const conf = join(stateDir, 'conf');
  const temp = join(stateDir, 'nginx');
  mkdirSync(conf, { recursive: true });
  mkdirSync(temp, { recursive: true });
  mkdirSync(join(stateDir, 'maintenance'), { recursive: true });
  writeFileSync(join(conf, 'registry.yml'), registryConfigYaml({
    addr: `127.0.0.1:${registryPort}`,
    rootDirectory: join(stateDir, 'registry'),
  }));
  writeFileSync(join(conf, 'nginx.conf'), proxyNginxConf({
    listen: `127.0.0.1:${proxyPort}`,
    upstream: `127.0.0.1:${registryPort}`,
    htpasswdFile: join(conf, 'htpasswd'),
    maintenanceDir: join(stateDir, 'maintenance'),
    tempDir: temp,
  }));
}

main(process.argv.slice(2));
