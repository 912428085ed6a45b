/**
 * The kernel seam. The hot operations of a Gatys step (3x3 conv + ReLU, its
 * input gradient, the Gram matrix, the style loss with its gradient, the Adam
 * update) go through the active {@link KernelSet}. `stock` is built from
 * tfjs ops and runs on every backend; `src/gpu/` provides `custom`, made of
 * hand-written WGSL kernels for the webgpu backend. Callers never branch on
 * which set is active, exactly like tfjs's per-backend kernel registry.
 *
 * Module graph (no cycle): `kernel_set.ts` (types) <- `stock_kernels.ts` <-
 * this module, all in `src/ops/`, which imports nothing from `src/gpu/`; the
 * custom set and the choice of a set by name (`src/gpu/select.ts`) depend on
 * it, not the other way round.
 *
 * @example
 * ```ts
 * import { activeKernels, useKernels, STOCK_KERNELS } from "./active.ts";
 * useKernels(STOCK_KERNELS);
 * console.log(activeKernels().name); // "stock"
 * ```
 * @module
 */
import type { KernelSet } from "./kernel_set.ts";
import { STOCK_KERNELS } from "./stock_kernels.ts";

export type { AdamConfig, AdamState, KernelSet, KernelSetName } from "./kernel_set.ts";
export { STOCK_KERNELS } from "./stock_kernels.ts";

let active: KernelSet = STOCK_KERNELS;

/** Make `set` the kernel set every later op call uses. */
export function useKernels(set: KernelSet): void {
  active = set;
}

/** The kernel set in use. */
export function activeKernels(): KernelSet {
  return active;
}
