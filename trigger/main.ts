import { ConfigError } from '../lib/config/builds-file';
import { PlanError } from '../lib/plan/build-plan';
import { KubeCluster } from './cluster';
import { BuildController } from './controller';
import { createTriggerServer } from './server';
import { loadSettings, SettingsError } from './settings';

/** `npm run trigger`: the build trigger against the cluster KUBECONFIG names (or its own ServiceAccount). */
async function main(): Promise<void> {
  let settings;
  try {
    settings = loadSettings();
  } catch (e) {
    if (e instanceof SettingsError || e instanceof ConfigError || e instanceof PlanError) {
      console.error(`build-trigger cannot start: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
  const cluster = KubeCluster.fromEnvironment(settings.namespace);
  const controller = new BuildController(cluster, settings.controller);
  controller.warmUp();
  await controller.reconcile();
  const reconcile = setInterval(() => {
    controller.reconcile().catch((e) => console.error(`reconcile: ${(e as Error).message}`));
  }, settings.reconcileSeconds * 1000);
  const server = createTriggerServer({ controller, webhookSecret: settings.webhookSecret, apiToken: settings.apiToken });
  server.listen(settings.port, settings.listenHost, () => {
    console.log(`build-trigger listening on ${settings.listenHost}:${settings.port}, namespace ${settings.namespace}, `
      + `${settings.controller.builds.length} build(s), at most ${settings.controller.maxConcurrentBuilds} at once`);
  });
  const stop = () => {
    clearInterval(reconcile);
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  console.error(`build-trigger failed: ${(e as Error).message}`);
  process.exit(1);
});
