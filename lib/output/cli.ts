import { ConfigError } from '../config/builds-file';
import { PlanError } from '../plan/build-plan';

/**
 * Runs a synth step and turns our own errors into a clean message and exit
 * code 1, without a stack trace. Everything is validated before app.synth()
 * writes a file, so a refused builds.yaml leaves dist/ as it was.
 */
export function runCli(step: () => void): void {
  try {
    step();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof PlanError) {
      process.stderr.write(`error: builds.yaml is not valid:\n${e.message.split('\n').map((l) => `  ${l}`).join('\n')}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}
