/**
 * The kernel seam. The hot operations of a Gatys step (3x3 conv + ReLU, its
 * input gradient, the Gram matrix, the style loss with its gradient, the Adam
 * update) go through the active {@link KernelSet}. `stock` is built from
 * tfjs ops and runs on every backend; `src/gpu/` provides `custom`, made of
 * hand-written WGSL kernels for the webgpu backend. Callers never branch on
 * which set is active, exactly like tfjs's per-backend kernel registry.
 *
 * Module graph (no cycle): `kernel_set.ts` (types) <- `stock_kernels.ts` <-
 * `gpu/kernels.ts` (the custom set); this module depends on all of them and
 * is the one place a set is chosen ({@link selectKernels}). The custom set is
 * loaded on demand, so cpu and wasm runs never load the WGSL side.
 *
 * @example
 * ```ts
 * import { activeKernels, useKernels, STOCK_KERNELS } from "./active.ts";
 * useKernels(STOCK_KERNELS);
 * console.log(activeKernels().name); // "stock"
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { UserError } from "../util/errors.ts";
import type { KernelSet, KernelSetName } from "./kernel_set.ts";
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

/** Values `--kernels` accepts. */
export const KERNEL_CHOICES: readonly string[] = ["auto", "custom", "stock"];

/**
 * The kernel set `--kernels <name>` means on `backend` (default: the active
 * tfjs backend), compiled and ready for {@link useKernels}. `custom` (the WGSL
 * kernels) needs the webgpu backend; `auto` is, on webgpu, the set that
 * sends each op and shape to what was measured fastest on this adapter
 * (stock tfjs or a custom route and tile configuration, `gpu/auto.ts`; shapes
 * never met are measured once and cached), and stock everywhere else. An unknown name, or `custom` off webgpu, is a
 * {@link UserError} that names the fix.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { selectKernels, useKernels } from "./active.ts";
 * const { name } = await initBackend("auto");
 * useKernels(await selectKernels("auto", name));
 * ```
 */
export async function selectKernels(
  name: string,
  backend: string = tf.getBackend(),
): Promise<KernelSet> {
  if (!KERNEL_CHOICES.includes(name)) {
    throw new UserError(
      `--kernels: unknown kernel set '${name}' (known: ${KERNEL_CHOICES.join(", ")})`,
    );
  }
  const onWebGpu = backend === "webgpu" && tf.getBackend() === "webgpu";
  if (name === "stock" || (name === "auto" && !onWebGpu)) return STOCK_KERNELS;
  if (!onWebGpu) {
    throw new UserError(
      `--kernels custom: the WGSL kernels need --backend webgpu (got ${backend}); ` +
        "use --kernels stock or --kernels auto",
    );
  }
  // Loaded on demand: cpu and wasm runs never need the WGSL side.
  if (name === "auto") return await (await import("../gpu/auto.ts")).openAutoKernels();
  const { CUSTOM_KERNELS, initCustomKernels } = await import("../gpu/kernels.ts");
  await initCustomKernels();
  return CUSTOM_KERNELS;
}

/**
 * {@link selectKernels} then {@link useKernels}: activate the set named by
 * `--kernels` for `backend` and return what runs: `stock`, `custom`, or `auto`
 * (the measured per-shape choice on webgpu).
 *
 * @example
 * ```ts
 * import { selectKernelsByName } from "./active.ts";
 * console.log(await selectKernelsByName("auto", "cpu")); // "stock"
 * ```
 */
export async function selectKernelsByName(
  name: string,
  backend: string,
): Promise<KernelSetName | "auto"> {
  const set = await selectKernels(name, backend);
  useKernels(set);
  return set.label === "auto" ? "auto" : set.name;
}
