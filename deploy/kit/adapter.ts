/**
 * The GPU kit's first check: the WebGPU adapter Deno finds (through Vulkan),
 * printed as one line and written as JSON: vendor, architecture, device,
 * description, driver-related info, fallback flag, features and every limit.
 * Exits 1 with a one-line reason when `navigator.gpu` gives no adapter.
 *
 * @example
 * ```sh
 * deno run -A deploy/kit/adapter.ts --json out/adapter.json
 * ```
 * @module
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";

/**
 * The adapter as JSON-ready data, or `null` when there is none.
 *
 * @example
 * ```ts
 * import { adapterReport } from "./adapter.ts";
 * console.log((await adapterReport())?.info.description);
 * ```
 */
export async function adapterReport(): Promise<
  {
    info: Record<string, unknown>;
    features: string[];
    limits: Record<string, number>;
    deno: string;
    vk_driver_files: string | null;
  } | null
> {
  if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", "/tmp");
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return null;
  const info: Record<string, unknown> = {};
  const ai = adapter.info as unknown as Record<string, unknown>;
  for (const k of ["vendor", "architecture", "device", "description", "isFallbackAdapter"]) {
    info[k] = ai[k] ?? null;
  }
  const limits: Record<string, number> = {};
  const lim = adapter.limits as unknown as Record<string, number>;
  // GPUSupportedLimits exposes its members as prototype getters.
  for (const k of Object.keys(Object.getPrototypeOf(adapter.limits)).concat(Object.keys(lim))) {
    if (typeof lim[k] === "number") limits[k] = lim[k];
  }
  return {
    info,
    features: [...adapter.features].sort(),
    limits,
    deno: Deno.version.deno,
    vk_driver_files: Deno.env.get("VK_DRIVER_FILES") ?? Deno.env.get("VK_ICD_FILENAMES") ?? null,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { json: { type: "string" } } });
  const r = await adapterReport();
  if (!r) {
    console.error(
      "adapter: navigator.gpu gives no WebGPU adapter (is a Vulkan driver installed? " +
        "NVIDIA: the driver's Vulkan ICD; CPU only: apt-get install mesa-vulkan-drivers)",
    );
    Deno.exit(1);
  }
  const i = r.info;
  console.log(
    `adapter: ${i.description || "(no description)"}; vendor ${i.vendor}, architecture ${
      i.architecture || "-"
    }, device ${
      i.device || "-"
    }, fallback ${i.isFallbackAdapter}; maxBufferSize ${r.limits.maxBufferSize}, maxStorageBufferBindingSize ${r.limits.maxStorageBufferBindingSize}, ` +
      `maxComputeWorkgroupStorageSize ${r.limits.maxComputeWorkgroupStorageSize}, ` +
      `maxComputeInvocationsPerWorkgroup ${r.limits.maxComputeInvocationsPerWorkgroup}`,
  );
  if (values.json) {
    const tmp = `${values.json}.tmp-${Deno.pid}`;
    try {
      await Deno.mkdir(dirname(values.json), { recursive: true });
      await Deno.writeTextFile(tmp, JSON.stringify(r, null, 2) + "\n");
      await Deno.rename(tmp, values.json);
    } catch (e) {
      console.error(`--json: cannot write ${values.json}: ${(e as Error).message}`);
      Deno.exit(1);
    }
  }
}
