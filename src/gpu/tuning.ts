/**
 * Measured kernel selection, the bookkeeping: which implementation of each op
 * and shape is fastest is measured on the user's adapter (never guessed) and
 * cached per adapter identity and kernel-source hash under the cache
 * directory, so a driver, GPU or WGSL change invalidates it by itself.
 *
 * - {@link adapterIdentity}, {@link kernelSourceHash}, {@link tuningCachePath}: the cache key.
 * - {@link adapterReport}: the adapter's full info, limits and features, for bench JSON.
 * - {@link TuningCache}: the choices, one JSON file per key, written atomically.
 * - {@link pickFastest}: time each candidate (a quick probe prunes the hopeless) and keep the
 *   fastest; failures are skipped.
 * - {@link opKey} / {@link parseOpKey}: the canonical op + shape key the tuner and the auto set use.
 *
 * The candidates (stock tfjs, the custom kernels' routes and conv tile configurations) and the
 * `auto` kernel set that dispatches by these choices are in `auto.ts`; `deno task bench --tune`
 * fills the cache and prints the table of choices.
 *
 * @example
 * ```ts
 * import { GpuContext } from "./device.ts";
 * import { CUSTOM_KERNEL_DESCRIPTORS } from "./kernels.ts";
 * import { adapterIdentity, kernelSourceHash, TuningCache, tuningCachePath } from "./tuning.ts";
 * const id = adapterIdentity(GpuContext.sync());
 * const hash = await kernelSourceHash(CUSTOM_KERNEL_DESCRIPTORS);
 * const cache = await TuningCache.open(tuningCachePath(id, hash), id, hash);
 * console.log(cache.size);
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import type { tf } from "../tf.ts";
import { cacheDir, writeTextAtomic } from "../util/fs.ts";
import type { GpuContext } from "./device.ts";
import type { KernelDescriptor } from "./registry.ts";
import { loadWgsl } from "./wgsl.ts";

/** Who the adapter is: what a tuning result is valid for. */
export interface AdapterIdentity {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The driver, where the implementation reports one (wgpu: `driver` / `driverInfo`). */
  driver: string;
}

/** The ops the kernel seam has, as tuning keys name them. */
export type TunedOp = "conv3x3" | "conv3x3_grad_input" | "gram" | "style_loss" | "maxpool";

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The identity of `gpu`'s adapter (empty strings for what it does not report). */
export function adapterIdentity(gpu: GpuContext): AdapterIdentity {
  const info = ((gpu.device as unknown as { adapterInfo?: Record<string, unknown> }).adapterInfo ??
    gpu.backend.adapterInfo ?? {}) as Record<string, unknown>;
  const s = (k: string) => (typeof info[k] === "string" ? info[k] as string : "");
  return {
    vendor: s("vendor"),
    architecture: s("architecture"),
    device: s("device"),
    description: s("description") || gpu.adapterDescription,
    driver: [s("driver"), s("driverInfo")].filter(Boolean).join(" "),
  };
}

/**
 * Everything the adapter reports about itself: every string field of its info, whether it is a
 * fallback (software) adapter, its limits and features. What a bench JSON records.
 *
 * @example
 * ```ts
 * import { GpuContext } from "./device.ts";
 * import { adapterReport } from "./tuning.ts";
 * console.log(adapterReport(GpuContext.sync()).info.description);
 * ```
 */
export function adapterReport(gpu: GpuContext): {
  info: Record<string, string | boolean | number>;
  limits: Record<string, number>;
  features: string[];
} {
  const raw = ((gpu.device as unknown as { adapterInfo?: object }).adapterInfo ??
    gpu.backend.adapterInfo ?? {}) as Record<string, unknown>;
  const info: Record<string, string | boolean | number> = {};
  // GPUAdapterInfo's fields are prototype getters: walk the prototype chain, not own keys.
  for (let o: object | null = raw; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      if (k === "constructor" || k in info) continue;
      const v = (raw as Record<string, unknown>)[k];
      if (typeof v === "string" || typeof v === "boolean" || typeof v === "number") info[k] = v;
    }
  }
  if (!info.description) info.description = gpu.adapterDescription;
  info.cpuAdapter = gpu.cpuAdapter;
  const limits: Record<string, number> = {};
  const lim = gpu.device.limits as unknown as Record<string, unknown>;
  for (let o: object | null = lim; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      const v = lim[k];
      if (typeof v === "number" && !(k in limits)) limits[k] = v;
    }
  }
  return { info, limits, features: [...gpu.device.features].sort() };
}

/**
 * sha256 of every descriptor (its overrides, fixed constants, workgroup size, Params) and its
 * expanded WGSL: any change to a kernel invalidates the tuning.
 */
export async function kernelSourceHash(descs: readonly KernelDescriptor[]): Promise<string> {
  const parts: string[] = [];
  for (const d of [...descs].sort((a, b) => a.name.localeCompare(b.name))) {
    const { file, entryPoint, workgroupSize, overrides, fixed, params } = d;
    parts.push(JSON.stringify({ file, entryPoint, workgroupSize, overrides, fixed, params }));
    parts.push((await loadWgsl(d.file)).code);
  }
  return sha256Hex(parts.join("\n\u0000\n"));
}

/**
 * `<cacheDir>/tuning/<adapter hash>-<source hash>.json`.
 *
 * @example
 * ```ts
 * import { tuningCachePath } from "./tuning.ts";
 * const id = { vendor: "nvidia", architecture: "hopper", device: "", description: "H200", driver: "" };
 * console.log(tuningCachePath(id, "ab".repeat(32)).endsWith("-abababababab.json")); // true
 * ```
 */
export function tuningCachePath(
  id: AdapterIdentity,
  sourceHash: string,
  root = cacheDir(),
): string {
  const adapter = sha256Hex(JSON.stringify(id)).slice(0, 12);
  return join(root, "tuning", `${adapter}-${sourceHash.slice(0, 12)}.json`);
}

/** One measured choice: the winner and every candidate's median milliseconds. */
export interface TuningEntry {
  choice: string;
  /** Median ms per candidate (a pruned candidate: its probe; a failed one: Infinity). */
  ms: Record<string, number>;
  /** The candidate the custom set runs without tuning (the adapter's default route). */
  default?: string;
  /** Candidates dropped after their probe (slower than `prune` x the best probe). */
  pruned?: string[];
  /** The paired re-timing (ms) of a non-default winner against the default, where one ran. */
  confirm?: Record<string, number>;
  tunedAt: string;
}

interface TuningFile {
  version: 1;
  adapter: AdapterIdentity;
  sourceHash: string;
  entries: Record<string, TuningEntry>;
}

/** The choices for one adapter and kernel source, keyed by {@link opKey}. */
export class TuningCache {
  private constructor(
    readonly path: string,
    readonly adapter: AdapterIdentity,
    readonly sourceHash: string,
    private readonly entries: Map<string, TuningEntry>,
    /** Why the file on disk was ignored (truncated, not JSON, wrong shape), or null. */
    readonly invalid: string | null,
    private readonly accept?: AcceptEntry,
  ) {}

  /**
   * The cache at `path`, or an empty one when the file is missing, for another key, or
   * invalid (see {@link TuningCache.invalid}: its shapes are then measured again and the
   * next save replaces it). `accept` rejects choices this adapter cannot run.
   */
  static async open(
    path: string,
    adapter: AdapterIdentity,
    sourceHash: string,
    accept?: AcceptEntry,
  ): Promise<TuningCache> {
    const read = await readEntries(path, adapter, sourceHash, accept);
    return new TuningCache(path, adapter, sourceHash, read.entries, read.invalid, accept);
  }

  /**
   * Add the choices another process saved since this one read the file (its own entries
   * stay); returns how many were new.
   */
  async reload(): Promise<number> {
    let added = 0;
    const read = await readEntries(this.path, this.adapter, this.sourceHash, this.accept);
    for (const [k, e] of read.entries) {
      if (!this.entries.has(k)) {
        this.entries.set(k, e);
        added++;
      }
    }
    return added;
  }

  /** Number of tuned keys. */
  get size(): number {
    return this.entries.size;
  }

  get(key: string): TuningEntry | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: TuningEntry): void {
    this.entries.set(key, entry);
  }

  /** The keys of `keys` with no entry yet: what a normal run would tune first. */
  unseen(keys: readonly string[]): string[] {
    return keys.filter((k) => !this.entries.has(k));
  }

  /** Every key and its choice, sorted by key. */
  choices(): Array<[string, TuningEntry]> {
    return [...this.entries].sort(([a], [b]) => a.localeCompare(b));
  }

  /**
   * Merge with what is on disk (this process's entries win) and write the file atomically.
   * Callers that measure hold the {@link TuningLock}, so no saved choice is lost.
   */
  async save(): Promise<void> {
    await this.reload();
    const file: TuningFile = {
      version: 1,
      adapter: this.adapter,
      sourceHash: this.sourceHash,
      entries: Object.fromEntries(this.choices()),
    };
    await writeTextAtomic(this.path, JSON.stringify(file, null, 2) + "\n");
  }
}

/** Whether a cached entry's choice is one this adapter can run (see {@link TuningCache.open}). */
export type AcceptEntry = (key: string, entry: TuningEntry) => boolean;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Why `entry` is not a {@link TuningEntry}, or null. */
function entryProblem(key: string, entry: unknown, accept?: AcceptEntry): string | null {
  if (!isRecord(entry)) return `entry '${key}' is not an object`;
  if (typeof entry.choice !== "string") return `entry '${key}' has no choice`;
  if (!isRecord(entry.ms)) return `entry '${key}' has no ms table`;
  if (accept && !accept(key, entry as unknown as TuningEntry)) {
    return `entry '${key}': '${entry.choice}' is not a candidate here`;
  }
  return null;
}

async function readEntries(
  path: string,
  adapter: AdapterIdentity,
  sourceHash: string,
  accept?: AcceptEntry,
): Promise<{ entries: Map<string, TuningEntry>; invalid: string | null }> {
  const none = (invalid: string | null) => ({ entries: new Map(), invalid });
  let file: unknown;
  try {
    file = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return none(null);
    if (e instanceof SyntaxError) return none(`not valid JSON (${e.message})`);
    throw e;
  }
  if (!isRecord(file)) return none("not a JSON object");
  if (
    file.version !== 1 || file.sourceHash !== sourceHash ||
    JSON.stringify(file.adapter) !== JSON.stringify(adapter)
  ) return none(null); // another version, kernel source or adapter: nothing applies
  if (!isRecord(file.entries)) return none("'entries' is not an object");
  for (const [k, e] of Object.entries(file.entries)) {
    const problem = entryProblem(k, e, accept);
    if (problem) return none(problem);
  }
  return {
    entries: new Map(Object.entries(file.entries as Record<string, TuningEntry>)),
    invalid: null,
  };
}

/**
 * One measuring process per adapter and kernel source at a time: several processes timing on
 * one GPU would slow each other and measure that. A lock file beside the cache, created
 * exclusively; one older than {@link TuningLock.STALE_MS}, or one whose process on this host is
 * no longer alive, is taken over.
 *
 * @example
 * ```ts
 * import { TuningLock } from "./tuning.ts";
 * const lock = await TuningLock.acquire("/tmp/tuning-example.json.lock");
 * if (lock) await lock.release(); // else: another process is measuring
 * ```
 */
export class TuningLock {
  /** A lock this old is a dead process's. */
  static readonly STALE_MS = 10 * 60 * 1000;

  private constructor(readonly path: string) {}

  /** The lock, or null while another live process holds it. */
  static async acquire(path: string): Promise<TuningLock | null> {
    await Deno.mkdir(dirname(path), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await Deno.writeTextFile(
          path,
          JSON.stringify({
            pid: Deno.pid,
            host: Deno.hostname(),
            since: new Date().toISOString(),
          }) +
            "\n",
          { createNew: true },
        );
        return new TuningLock(path);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        let age = 0;
        try {
          age = Date.now() - ((await Deno.stat(path)).mtime?.getTime() ?? Date.now());
        } catch (e2) {
          if (e2 instanceof Deno.errors.NotFound) continue; // released meanwhile: try again
          throw e2;
        }
        if (age < TuningLock.STALE_MS && !(await heldByDeadProcess(path))) return null;
        await Deno.remove(path).catch(() => {});
      }
    }
    return null;
  }

  /** Give the lock back (a lock already taken over as stale is left alone). */
  async release(): Promise<void> {
    try {
      const held = JSON.parse(await Deno.readTextFile(this.path)) as { pid?: number };
      if (held.pid === Deno.pid) await Deno.remove(this.path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && !(e instanceof SyntaxError)) throw e;
    }
  }
}

/**
 * True when the lock at `path` names a process on this host that is no longer alive (Linux:
 * no /proc/PID). False when unsure: another host, an unreadable lock, no /proc.
 */
async function heldByDeadProcess(path: string): Promise<boolean> {
  let held: { pid?: unknown; host?: unknown };
  try {
    held = JSON.parse(await Deno.readTextFile(path));
  } catch {
    return false; // gone, or still being written
  }
  if (typeof held?.pid !== "number" || held.host !== Deno.hostname()) return false;
  if (held.pid === Deno.pid) return false;
  const gone = async (p: string) =>
    await Deno.stat(p).then(() => false, (e) => e instanceof Deno.errors.NotFound);
  if (await gone("/proc/self")) return false; // no procfs: cannot tell
  return await gone(`/proc/${held.pid}`);
}

/** A candidate of {@link pickFastest}: its name, a full timing and optionally a cheap probe. */
export interface TimedCandidate {
  name: string;
  /** Median milliseconds over the full samples. */
  time: () => Promise<number>;
  /** Milliseconds of one quick sample (after a warm-up): decides whether `time` runs at all. */
  probe?: () => Promise<number>;
}

/**
 * Time every candidate and pick the fastest. With `prune`, candidates that have a probe are
 * probed first and only those within `prune` x the best probe are fully timed (the rest keep
 * their probe as their ms and are listed in `pruned`). A candidate that throws is recorded as
 * Infinity and never chosen. Throws when all fail.
 *
 * @example
 * ```ts
 * import { pickFastest } from "./tuning.ts";
 * const e = await pickFastest([
 *   { name: "stock", time: () => Promise.resolve(2) },
 *   { name: "custom", time: () => Promise.resolve(1) },
 * ]);
 * console.log(e.choice); // "custom"
 * ```
 */
export async function pickFastest(
  candidates: readonly TimedCandidate[],
  options: { prune?: number } = {},
): Promise<TuningEntry> {
  const ms: Record<string, number> = {};
  const attempt = async (f: () => Promise<number>) => {
    try {
      const t = await f();
      return Number.isFinite(t) ? t : Infinity;
    } catch {
      return Infinity;
    }
  };
  let survivors = [...candidates];
  const pruned: string[] = [];
  if (options.prune !== undefined) {
    for (const c of candidates) if (c.probe) ms[c.name] = await attempt(c.probe);
    const probes = candidates.filter((c) => c.probe).map((c) => ms[c.name]);
    const bestProbe = Math.min(...probes);
    survivors = candidates.filter((c) => {
      if (!c.probe) return true;
      const keep = Number.isFinite(ms[c.name]) && ms[c.name] <= options.prune! * bestProbe;
      if (!keep && Number.isFinite(ms[c.name])) pruned.push(c.name);
      return keep;
    });
  }
  for (const c of survivors) ms[c.name] = await attempt(c.time);
  const best = survivors.map((c) => c.name).filter((n) => Number.isFinite(ms[n]))
    .sort((a, b) => ms[a] - ms[b])[0];
  if (best === undefined) throw new Error(`tuning: every candidate failed (${Object.keys(ms)})`);
  return {
    choice: best,
    ms,
    ...(pruned.length ? { pruned } : {}),
    tunedAt: new Date().toISOString(),
  };
}

/**
 * The canonical key of one op call: the op and the shapes that decide its cost.
 *
 * @example
 * ```ts
 * import { opKey } from "./tuning.ts";
 * console.log(opKey("conv3x3", [1, 56, 56, 128], 256)); // "conv3x3 1x56x56x128->256"
 * ```
 */
export function opKey(op: TunedOp, input: readonly number[], out?: number): string {
  return `${op} ${input.join("x")}${out === undefined ? "" : `->${out}`}`;
}

/** An {@link opKey} taken apart: the op, the input shape and the output channels (if any). */
export interface ParsedOpKey {
  op: TunedOp;
  input: number[];
  out?: number;
}

const TUNED_OPS: readonly TunedOp[] = [
  "conv3x3",
  "conv3x3_grad_input",
  "gram",
  "style_loss",
  "maxpool",
];

/**
 * The inverse of {@link opKey}; null for a key it did not make.
 *
 * @example
 * ```ts
 * import { parseOpKey } from "./tuning.ts";
 * console.log(parseOpKey("conv3x3 1x56x56x128->256")); // { op: "conv3x3", input: [1, 56, 56, 128], out: 256 }
 * ```
 */
export function parseOpKey(key: string): ParsedOpKey | null {
  const m = /^(\w+) (\d+(?:x\d+)*)(?:->(\d+))?$/.exec(key);
  if (!m || !TUNED_OPS.includes(m[1] as TunedOp)) return null;
  const input = m[2].split("x").map(Number);
  const op = m[1] as TunedOp;
  const rank = op === "gram" || op === "style_loss" ? 3 : 4;
  const withOut = op === "conv3x3" || op === "conv3x3_grad_input";
  if (input.length !== rank || withOut !== (m[3] !== undefined)) return null;
  return m[3] === undefined ? { op, input } : { op, input, out: Number(m[3]) };
}

/** The tuning key of a bench case's inputs (see bench/tune.ts), or null for untuned ops. */
export function caseKey(op: string, inputs: readonly tf.Tensor[]): string | null {
  switch (op) {
    case "conv3x3":
      return opKey(op, inputs[0].shape, inputs[1].shape[3]);
    case "conv3x3_grad_input":
      // Inputs dy, y, kernel [3,3,cIn,cOut], flipped [3,3,cOut,cIn]: the output has cIn channels.
      return opKey(op, inputs[0].shape, inputs[2].shape[2]);
    case "gram":
    case "style_loss":
    case "maxpool":
      return opKey(op, inputs[0].shape);
    default:
      return null;
  }
}
