import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';

/**
 * Kubernetes quantities from builds.yaml (already checked by its schema) as
 * the cdk8s types constructs take.
 */

const SIZE_UNITS: Record<string, (n: number) => Size> = { Mi: Size.mebibytes, Gi: Size.gibibytes, Ti: Size.tebibytes };

/** "512Mi", "10Gi", "1Ti" → Size. */
export function sizeFromQuantity(quantity: string): Size {
  const match = /^(\d+)(Mi|Gi|Ti)$/.exec(quantity);
  if (!match) {
    throw new Error(`"${quantity}" is not a size; use a whole number of Mi, Gi or Ti, e.g. "512Mi"`);
  }
  return SIZE_UNITS[match[2]](Number(match[1]));
}

/** "250m", "1", "1.5" → Cpu. */
export function cpuFromQuantity(quantity: string): kplus.Cpu {
  return quantity.endsWith('m') ? kplus.Cpu.millis(Number(quantity.slice(0, -1))) : kplus.Cpu.units(Number(quantity));
}
