import { ConfigError } from '../config/builds-file';
import { PlanError } from '../plan/build-plan';
import { OutputError, PolicyError } from './write-dist';

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
      // The file BUILDS_CONFIG named (ConfigError knows it; a bare PlanError is about builds.yaml).
      const file = e instanceof ConfigError ? e.file : 'builds.yaml';
      process.stderr.write(`error: ${file} is not valid:\n${e.message.split('\n').map((l) => `  ${l}`).join('\n')}\n`);
      process.exitCode = 1;
      return;
    }
    if (e instanceof PolicyError) {
      process.stderr.write(`error: the synthesized manifests break the policy rules (nothing was written):\n${e.message.split('\n').map((l) => `  ${l}`).join('\n')}\n`);
      process.exitCode = 1;
      return;
    }
    if (e instanceof OutputError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}
