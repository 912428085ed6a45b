/**
 * The choice of a kernel set by name (`--kernels`): stock, custom (the WGSL
 * kernels of this folder) or auto (measured per shape, `auto.ts`). It lives in
 * `src/gpu/` because it is the one place that loads this folder's sets; the
 * seam (`src/ops/`) never imports `src/gpu/`, so the folders form no cycle.
 * The custom and auto sets are imported on demand, so cpu and wasm runs never
 * load the WGSL side.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { selectKernelsByName } from "./select.ts";
 * const { name } = await initBackend("auto");
 * console.log(await selectKernelsByName("auto", name)); // "auto" on webgpu, else "stock"
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { UserError } from "../util/errors.ts";
import { type KernelSet, type KernelSetName, STOCK_KERNELS, useKernels } from "../ops/active.ts";

/** Values `--kernels` accepts. */
export const KERNEL_CHOICES: readonly string[] = ["auto", "custom", "stock"];

/**
 * The kernel set `--kernels <name>` means on `backend` (default: the active
 * tfjs backend), compiled and ready for {@link useKernels}. `custom` (the WGSL
 * kernels) needs the webgpu backend; `auto` is, on webgpu, the set that
 * sends each op and shape to what was measured fastest on this adapter
 * (stock tfjs or a custom route and tile configuration, `auto.ts`; shapes
 * never met are measured once and cached), and stock everywhere else. An unknown name, or `custom` off webgpu, is a
 * {@link UserError} that names the fix.
 *
 * @example
 * ```ts
 * import { initBackend } from "../tf.ts";
 * import { useKernels } from "../ops/active.ts";
 * import { selectKernels } from "./select.ts";
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
  if (name === "auto") return await (await import("./auto.ts")).openAutoKernels();
  const { CUSTOM_KERNELS, initCustomKernels } = await import("./kernels.ts");
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
 * import { selectKernelsByName } from "./select.ts";
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
