import { ConfigError } from '../lib/config/builds-file';
import { PlanError } from '../lib/plan/build-plan';
import { KubeCluster } from './cluster';
import { BuildController } from './controller';
import { BUILD_TRIGGER_TERMINATION_GRACE_SECONDS } from '../lib/constructs/build-trigger';
import { createTriggerServer } from './server';
import { loadSettings, SettingsError } from './settings';

/**
 * How long a stopping trigger waits for the decisions under way: less than the Pod's
 * terminationGracePeriodSeconds, so it logs what it could not finish before the kubelet kills it.
 */
const SHUTDOWN_GRACE_SECONDS = BUILD_TRIGGER_TERMINATION_GRACE_SECONDS - 5;

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
  const server = createTriggerServer({ controller, webhookSecret: settings.webhookSecret, apiToken: settings.apiToken, maxBodyBytes: settings.maxBodyBytes });
  server.listen(settings.port, settings.listenHost, () => {
    console.log(`build-trigger listening on ${settings.listenHost}:${settings.port}, namespace ${settings.namespace}, `
      + `${settings.controller.builds.length} build(s), at most ${settings.controller.maxConcurrentBuilds} at once`);
  });
  let stopping = false;
  // SIGTERM (every rollout): webhooks answered 202 are not redelivered, so their decisions finish first.
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(reconcile);
    const deadline = Date.now() + SHUTDOWN_GRACE_SECONDS * 1000;
    console.log(`${signal}: accepting no more connections; finishing the decisions under way (at most ${SHUTDOWN_GRACE_SECONDS} s)`);
    // Requests being read still reach the controller; idle keep-alive connections close now.
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeIdleConnections();
    await Promise.race([closed, new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_SECONDS * 1000).unref())]);
    const left = await controller.drain(Math.max(0, deadline - Date.now()));
    if (left.length > 0) {
      console.error(`build-trigger: ${SHUTDOWN_GRACE_SECONDS} s grace ended with ${left.length} push(es) not built, lost unless the git server delivers them again: ${left.join('; ')}`);
      process.exit(1);
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((e) => {
  console.error(`build-trigger failed: ${(e as Error).message}`);
  process.exit(1);
});
