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
import { ExitError, runMain } from "../../src/util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../../src/util/flags.ts";

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

/** The flags. */
const FLAGS: FlagTable = {
  json: { kind: "path", help: "also write the report as JSON here" },
  help: { kind: "boolean", help: "print this table" },
};

/**
 * The CLI: prints the adapter as one line and, with `--json FILE`, writes it
 * as JSON; no adapter is exit 1 with a one-line reason.
 *
 * @example
 * ```ts
 * import { adapterMain } from "./adapter.ts";
 * await adapterMain(["--json", "/tmp/adapter.json"]);
 * ```
 */
export async function adapterMain(args: string[]): Promise<void> {
  const values = parseFlagTable(args, FLAGS) as { json?: string; help?: boolean };
  if (values.help) {
    console.log(flagHelp("deno run -A deploy/kit/adapter.ts [options]", FLAGS));
    return;
  }
  const r = await adapterReport();
  if (!r) {
    throw new ExitError(
      1,
      "adapter: navigator.gpu gives no WebGPU adapter (is a Vulkan driver installed? " +
        "NVIDIA: the driver's Vulkan ICD; CPU only: apt-get install mesa-vulkan-drivers)",
    );
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
      await Deno.remove(tmp).catch(() => {});
      throw new ExitError(1, `--json: cannot write ${values.json}: ${(e as Error).message}`);
    }
  }
}

if (import.meta.main) await runMain(() => adapterMain(Deno.args));
