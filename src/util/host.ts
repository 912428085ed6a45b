/**
 * What machine a measurement ran on: the host CPU (model, family and the
 * widest SIMD it has, since llvmpipe's speed depends on it), cores, OS and
 * runtime versions. Every figure the benches write records it.
 *
 * @example
 * ```ts
 * import { hostInfo } from "./host.ts";
 * const h = await hostInfo();
 * console.log(`${h.cpu_model} (${h.simd}), ${h.cores} cores`);
 * ```
 * @module
 */

/** The host, as recorded beside every measured figure. */
export interface HostInfo {
  /** `model name` of /proc/cpuinfo (some VMs report only "AMD EPYC"), or "unknown". */
  cpu_model: string;
  /** `vendor_id`, `cpu family` and `model` of /proc/cpuinfo: tells hosts apart where the name does not. */
  cpu_id: string;
  /** The widest x86 vector extension the CPU reports: avx512, avx2, avx, sse, or unknown. */
  simd: string;
  cores: number;
  os: string;
  deno: string;
  v8: string;
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}\\s*:\\s*(.+)$`, "m").exec(text)?.[1].trim();
}

/** The host CPU's model name (Linux /proc/cpuinfo), or "unknown". */
export async function cpuModel(): Promise<string> {
  return (await hostInfo()).cpu_model;
}

/**
 * The host's {@link HostInfo} (unknown fields where /proc/cpuinfo is absent).
 *
 * @example
 * ```ts
 * import { hostInfo } from "./host.ts";
 * console.log((await hostInfo()).simd); // e.g. "avx512"
 * ```
 */
export async function hostInfo(): Promise<HostInfo> {
  let text = "";
  try {
    text = await Deno.readTextFile("/proc/cpuinfo");
  } catch {
    // Not Linux: leave the CPU fields unknown.
  }
  const flags = new Set((field(text, "flags") ?? "").split(/\s+/));
  const simd = flags.has("avx512f")
    ? "avx512"
    : flags.has("avx2")
    ? "avx2"
    : flags.has("avx")
    ? "avx"
    : flags.has("sse2")
    ? "sse"
    : "unknown";
  const id = [field(text, "vendor_id"), field(text, "cpu family"), field(text, "model")];
  return {
    cpu_model: field(text, "model name") ?? "unknown",
    cpu_id: id.every((x) => x !== undefined)
      ? `${id[0]} family ${id[1]} model ${id[2]}`
      : "unknown",
    simd,
    cores: navigator.hardwareConcurrency,
    os: `${Deno.build.os} ${Deno.build.arch} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
}

/**
 * `--workers N` capped at this machine's cores: more workers than cores only share them
 * and multiply memory (each holds its own backend and weights). Says so in one line when it
 * caps; `undefined` (the flag not given) passes through.
 *
 * @example
 * ```ts
 * import { capWorkers } from "./host.ts";
 * console.log(capWorkers(1)); // 1
 * ```
 */
export function capWorkers<T extends number | undefined>(
  n: T,
  log: (line: string) => void = (l) => console.error(l),
): T {
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  if (n === undefined || n <= cores) return n;
  log(`--workers: ${n} is more than the ${cores} CPU core(s) here; using ${cores}`);
  return cores as T;
}
