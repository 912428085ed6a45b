/**
 * The one place that loads TensorFlow.js: tfjs-core's ops, the gradient
 * registrations (which tfjs-core's npm entry leaves out), and the three
 * backends this project runs on. Every other module imports `tf` from here so
 * that one engine, one kernel registry and one gradient registry are shared.
 *
 * @example
 * ```ts
 * import { initBackend, tf } from "./tf.ts";
 * const info = await initBackend("auto");
 * console.log(info.line);
 * tf.tidy(() => tf.ones([2]).sum().print());
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// The union package's bundle registers every gradient into tfjs's global
// gradient registry; importing it for that side effect is the supported way.
import "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { onBeforeExit, UserError } from "./util/errors.ts";

export { tf };

/** Backends a user may ask for. `auto` picks webgpu when an adapter exists, else wasm. */
export type BackendName = "webgpu" | "wasm" | "cpu";
/** What `--backend` accepts. */
export type BackendChoice = BackendName | "auto";
/** All values `--backend` accepts, for validation and help text. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "webgpu", "wasm", "cpu"];

/** The backend that was set up, and a one-line human description of why. */
export interface BackendInfo {
  /** The backend in use. */
  name: BackendName;
  /** The WebGPU adapter's description (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"), or "" for wasm/cpu. */
  adapter: string;
  /** One line for the log: which backend, which adapter, and why it was chosen. */
  line: string;
}

/** What `navigator.gpu` offers: the adapter's description and whether it is a software fallback. */
export interface AdapterProbe {
  description: string;
  /** True for a software adapter such as Mesa's llvmpipe. */
  fallback: boolean;
  /** The adapter's buffer limits, bytes. */
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

/** Description of the first WebGPU adapter, or `null` when `navigator.gpu` gives none. */
export async function probeWebGpuAdapter(): Promise<string | null> {
  return (await probeAdapter())?.description ?? null;
}

/** The first WebGPU adapter, or `null` when `navigator.gpu` gives none. */
export async function probeAdapter(): Promise<AdapterProbe | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return null;
  // Mesa's Vulkan loader complains on every adapter request when this is unset (headless servers).
  if (!Deno.env.get("XDG_RUNTIME_DIR")) {
    Deno.env.set("XDG_RUNTIME_DIR", Deno.env.get("TMPDIR") ?? "/tmp");
  }
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info;
    const description = info.description ||
      [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") || "unknown adapter";
    return {
      description,
      fallback: info.isFallbackAdapter === true,
      limits: {
        maxBufferSize: adapter.limits.maxBufferSize,
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      },
    };
  } catch {
    return null;
  }
}

/**
 * The backend {@link initBackend} would pick for `choice`, without starting it
 * (for limits checked before any work), with the adapter's limits on webgpu.
 *
 * @example
 * ```ts
 * import { resolveBackend } from "./tf.ts";
 * console.log((await resolveBackend("auto")).name); // "wasm" on a CPU-only machine
 * ```
 */
export async function resolveBackend(
  choice: BackendChoice,
): Promise<{ name: BackendName; adapter: AdapterProbe | null }> {
  if (choice === "wasm" || choice === "cpu") return { name: choice, adapter: null };
  const found = await probeAdapter();
  if (choice === "webgpu") return { name: "webgpu", adapter: found };
  return found && !found.fallback
    ? { name: "webgpu", adapter: found }
    : { name: "wasm", adapter: null };
}

const NO_ADAPTER_HINT = "no WebGPU adapter found (install a GPU driver with Vulkan support, " +
  "or `apt-get install mesa-vulkan-drivers` for a CPU-only machine); use --backend wasm to run on the CPU";

function wasmDir(): string {
  // The .wasm binaries sit next to the package's dist bundle in node_modules.
  const url = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
  return url.slice(0, url.lastIndexOf("/") + 1);
}

/**
 * Set up and activate a tfjs backend.
 *
 * `auto` chooses webgpu when an adapter is available, otherwise wasm, and says
 * so in `line`. Asking for webgpu explicitly without an adapter throws a
 * {@link UserError} that names the alternative; nothing falls back silently.
 */
export async function initBackend(choice: BackendChoice = "auto"): Promise<BackendInfo> {
  tf.enableProdMode(); // silences tfjs's "install tfjs-node" banner; numerics are unchanged
  let name: BackendName;
  let why: string;
  let adapter = "";
  if (choice === "auto") {
    const found = await probeAdapter();
    if (found && !found.fallback) {
      name = "webgpu";
      adapter = found.description;
      why = "auto: a WebGPU adapter is available";
    } else if (found) {
      // A software adapter (llvmpipe) runs a Gatys step 2.5x (custom) to 20x (stock) slower than wasm
      // (see README, Speed): it is for correctness checks, not for work.
      name = "wasm";
      why = `auto: the only WebGPU adapter is a software fallback (${found.description}), ` +
        "slower than wasm on this CPU; --backend webgpu uses it anyway";
    } else {
      name = "wasm";
      why = `auto: ${NO_ADAPTER_HINT.split(";")[0]}, so using wasm on the CPU`;
    }
  } else {
    name = choice;
    why = "--backend " + choice;
    if (name === "webgpu") {
      const found = await probeWebGpuAdapter();
      if (!found) throw new UserError(`--backend webgpu: ${NO_ADAPTER_HINT}`);
      adapter = found;
    }
  }
  if (name === "wasm") setWasmPaths(wasmDir());
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) {
    throw new UserError(`--backend ${name}: tfjs could not initialise the ${name} backend`);
  }
  if (name === "wasm") guardWasmHeap();
  if (name === "webgpu") {
    // An orderly release before the process (or a test module) ends; see releaseWebGpu.
    globalThis.addEventListener("unload", releaseWebGpuNow);
    onBeforeExit(releaseWebGpu);
  }
  const line = `backend: ${name}${adapter ? ` (adapter: ${adapter})` : ""} [${why}]`;
  return { name, adapter, line };
}

/** The wasm module's allocator, as the tfjs-wasm backend holds it. */
interface WasmModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
}

/** The largest heap a wasm32 module can grow to: 4 GiB. */
const WASM32_HEAP_BYTES = 4 * 1024 ** 3;

/**
 * Make a full wasm heap an error instead of memory corruption. tfjs-wasm
 * 4.22 takes `_malloc`'s result unchecked: when the 4 GiB wasm32 heap has no
 * room, malloc returns 0 and the tensor is placed at address 0, over the
 * module's own data (the XNNPACK operators, the allocator's state), or (seen
 * with a 3.9 GiB heap) a block that runs past the heap's end; the run
 * then dies later in an unrelated op with "memory access out of bounds" or
 * "table index is out of bounds". Wrapping the active backend's `_malloc`
 * turns that into a {@link UserError} before anything is written. Called by
 * {@link initBackend} for wasm; idempotent.
 *
 * @example
 * ```ts
 * import { guardWasmHeap, initBackend, tf } from "./tf.ts";
 * await initBackend("wasm"); // calls guardWasmHeap()
 * guardWasmHeap(); // a second call changes nothing
 * tf.zeros([2 ** 30]); // 4 GiB: throws "wasm heap exhausted: ..." instead of corrupting the heap
 * ```
 */
export function guardWasmHeap(): void {
  const wasm = (tf.backend() as unknown as { wasm?: WasmModule & { heapGuarded?: boolean } }).wasm;
  if (!wasm || wasm.heapGuarded) return;
  // Emscripten's first `_malloc` call replaces the export stub with the real
  // function; make that happen now, so the stub cannot later overwrite the guard.
  wasm._free(wasm._malloc(16));
  const malloc = wasm._malloc;
  wasm._malloc = (bytes: number) => {
    // Near the top of the heap the allocator fails either way: 0, or (seen
    // with a 3.9 GiB heap) a block that ends past the heap.
    const ptr = malloc(bytes) >>> 0;
    if (bytes > 0 && (ptr === 0 || ptr + bytes > wasm.HEAPU8.length)) {
      throw new UserError(wasmHeapMessage(bytes, wasm.HEAPU8.length));
    }
    return ptr;
  };
  wasm.heapGuarded = true;
}

/** `wasm heap exhausted: ...`, naming what was asked and how to need less. */
function wasmHeapMessage(bytes: number, heap: number): string {
  const mib = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MiB`;
  return `wasm heap exhausted: could not allocate ${mib(bytes)} (the heap has grown to ${
    mib(heap)
  } of the ${mib(WASM32_HEAP_BYTES)} wasm32 allows, and what is free is in smaller pieces); ` +
    "use a smaller image or a smaller --tile, or --backend webgpu";
}

/** The initialised webgpu backend (never initialising one), or null. */
function liveWebGpu(): { device: GPUDevice; dispose(): void } | null {
  const registry = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
  const b = registry["webgpu"] as { device?: GPUDevice; dispose(): void } | undefined;
  return b?.device ? b as { device: GPUDevice; dispose(): void } : null;
}

/**
 * Release the webgpu backend in order: wait until the queue is idle, free
 * tfjs's buffer pools, then destroy the device, so no GPU work or mapped
 * buffer outlives the JavaScript side when the process ends. Without it,
 * the device and its buffers are torn down by the runtime at exit in no set
 * order, which is where a WebGPU process has been seen to abort (glibc heap
 * corruption, exit 134; README, known problems). {@link initBackend} arranges
 * it for every process that starts webgpu: `runMain` awaits it, and an
 * `unload` listener runs the synchronous part for anything else (a test
 * module, a script that just ends). After it, tensors on webgpu are invalid;
 * a later `initBackend("webgpu")` starts afresh.
 *
 * @example
 * ```ts
 * import { initBackend, releaseWebGpu } from "./tf.ts";
 * await initBackend("webgpu");
 * await releaseWebGpu(); // once the work is done, e.g. before exit
 * ```
 */
export async function releaseWebGpu(): Promise<void> {
  const b = liveWebGpu();
  if (!b) return;
  await b.device.queue.onSubmittedWorkDone().catch(() => {});
  releaseWebGpuNow();
}

/** The synchronous part of {@link releaseWebGpu} (an `unload` listener cannot wait). */
function releaseWebGpuNow(): void {
  const b = liveWebGpu();
  if (!b) return;
  const engine = tf.engine() as unknown as {
    registryFactory: Record<string, { factory: () => tf.KernelBackend; priority: number }>;
  };
  const entry = engine.registryFactory["webgpu"];
  try {
    b.dispose();
  } finally {
    b.device.destroy();
    // Out of the engine, factory kept: a later initBackend("webgpu") starts a fresh device.
    tf.removeBackend("webgpu");
    if (entry) tf.registerBackend("webgpu", entry.factory, entry.priority);
  }
}
