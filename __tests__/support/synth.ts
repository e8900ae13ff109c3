import { readFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdk8s';
import { parseImageBuilderProps } from '../../lib/config/to-props';
import { ImageBuilder } from '../../lib/constructs/image-builder';

export const ROOT = join(__dirname, '..', '..');

/** Synthesizes the whole app for a builds.yaml text, as main.ts does; `file` names it in errors. */
export function synthBuilds(text: string, file?: string): any[] {
  const chart = Testing.chart();
  new ImageBuilder(chart, 'ImageBuilder', parseImageBuilderProps(text, file));
  return Testing.synth(chart);
}

/** The repository's own builds.yaml, synthesized. */
export function synthDefault(): any[] {
  return synthBuilds(readFileSync(join(ROOT, 'builds.yaml'), 'utf-8'));
}

export function find(manifests: any[], kind: string, name?: string): any {
  const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (!found) {
    throw new Error(`no ${kind}${name ? `/${name}` : ''} in ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  }
  return found;
}

export function envOf(container: any): Record<string, string> {
  return Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
}

export const SEED_BUILD = `
builds:
  - repo: https://github.com/jpetazzo/container.training
    images:
      - context: dockercoins/worker
`;
