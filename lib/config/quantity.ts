import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { quoted } from './source-rules';

/**
 * Kubernetes quantities from builds.yaml (already checked by its schema) as
 * the cdk8s types constructs take.
 */

const SIZE_UNITS: Record<string, (n: number) => Size> = { Mi: Size.mebibytes, Gi: Size.gibibytes, Ti: Size.tebibytes };

/** "512Mi", "10Gi", "1Ti" → Size. */
export function sizeFromQuantity(quantity: string): Size {
  const match = /^(\d+)(Mi|Gi|Ti)$/.exec(quantity);
  if (!match) {
    throw new Error(`${quoted(quantity)} is not a size; use a whole number of Mi, Gi or Ti, e.g. "512Mi"`);
  }
  return SIZE_UNITS[match[2]](Number(match[1]));
}

/** "250m", "1", "1.5" → Cpu. */
export function cpuFromQuantity(quantity: string): kplus.Cpu {
  return quantity.endsWith('m') ? kplus.Cpu.millis(Number(quantity.slice(0, -1))) : kplus.Cpu.units(Number(quantity));
}

/** "250m" → 250, "1.5" → 1500 (for comparing requests with limits). */
export function cpuMillis(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Math.round(Number(quantity) * 1000);
}

/** "512Mi" → 512, "1Gi" → 1024, "1Ti" → 1048576. */
export function memoryMebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi|Ti)$/.exec(quantity);
  if (!match) throw new Error(`${quoted(quantity)} is not a size`);
  return Number(match[1]) * { Mi: 1, Gi: 1024, Ti: 1024 * 1024 }[match[2] as 'Mi' | 'Gi' | 'Ti'];
}

/** A memory or storage Size as builds.yaml would write it: "512Mi", "1Gi", "2Ti". */
export function quantityOfSize(size: Size): string {
  const mebibytes = size.toMebibytes();
  if (mebibytes % (1024 * 1024) === 0) return `${mebibytes / (1024 * 1024)}Ti`;
  return mebibytes % 1024 === 0 ? `${mebibytes / 1024}Gi` : `${mebibytes}Mi`;
}

/** CPU and memory amounts as builds.yaml writes them. */
export interface Amounts {
  readonly cpu: string;
  readonly memory: string;
}

/**
 * An engine's default requests and limits (the constructs' DEFAULT_BUILDER_RESOURCES
 * or DEFAULT_BUILDKIT_RESOURCES, the only place their numbers are written) as
 * builds.yaml would write them, to check builds.yaml against.
 */
export function amountsOf(resources: kplus.ContainerResources): { readonly requests: Amounts; readonly limits: Amounts } {
  const { cpu, memory } = resources;
  if (!cpu?.request || !cpu.limit || !memory?.request || !memory.limit) {
    throw new Error('engine default resources must set the request and the limit of both cpu and memory');
  }
  return {
    requests: { cpu: cpu.request.amount, memory: quantityOfSize(memory.request) },
    limits: { cpu: cpu.limit.amount, memory: quantityOfSize(memory.limit) },
  };
}
