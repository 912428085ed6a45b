/**
 * Every member of tfjs-backend-webgpu's `WebGPUBackend` the bridge
 * (`device.ts`) relies on, in one interface, and the start-up check that the
 * running backend has them. Most are public in tfjs's typings but no part of
 * its documented API; `commandEncoder` is `private` there. They are pinned to
 * {@link PINNED_WEBGPU_VERSION}: a tfjs upgrade that renames or drops one fails
 * here, at start-up, with an error naming that version, instead of deep inside
 * a kernel.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { asWebGpuBackend } from "./backend.ts";
 * const backend = asWebGpuBackend(tf.backend()); // the webgpu backend must be active
 * console.log(backend.device.limits.maxStorageBufferBindingSize);
 * ```
 * @module
 */
import type { tf } from "../tf.ts";

/** The tfjs-backend-webgpu version whose internals {@link WebGpuBackendLike} describes. */
export const PINNED_WEBGPU_VERSION = "4.22.0";

/** The members of `WebGPUBackend` (tfjs-backend-webgpu 4.22.0) this project uses. */
export interface WebGpuBackendLike {
  device: GPUDevice;
  queue: GPUQueue;
  /** tfjs's `AdapterInfo`: only `vendor` and `architecture` (both private there) are recorded. */
  adapterInfo?: { vendor?: string; architecture?: string; description?: string };
  tensorMap: {
    get(dataId: object): { resource?: unknown; shape: number[]; dtype: string } | undefined;
  };
  bufferManager: {
    acquireBuffer(
      size: number,
      usage: number,
      mappedAtCreation?: boolean,
      reuse?: boolean,
    ): GPUBuffer;
    releaseBuffer(buffer: GPUBuffer, reuse?: boolean): void;
    /** Bytes handed out by the pool (a leak check in tests). */
    numBytesUsed: number;
  };
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  /** Private in tfjs; read only to skip flushing an empty encoder (null when there is none). */
  commandEncoder?: GPUCommandEncoder | null;
}

type Kind = "function" | "object" | "number" | "present";

/** What {@link asWebGpuBackend} checks: member path and the kind of value it must hold. */
const REQUIRED: ReadonlyArray<[string, Kind]> = [
  ["device", "object"],
  ["queue", "object"],
  ["tensorMap", "object"],
  ["tensorMap.get", "function"],
  ["bufferManager", "object"],
  ["bufferManager.acquireBuffer", "function"],
  ["bufferManager.releaseBuffer", "function"],
  ["bufferManager.numBytesUsed", "number"],
  ["makeTensorInfo", "function"],
  ["uploadToGPU", "function"],
  ["disposeData", "function"],
  ["ensureCommandEncoderReady", "function"],
  ["endComputePassEncoder", "function"],
  ["submitQueue", "function"],
  // Assigned null in the constructor, so the key exists while no encoder is open.
  ["commandEncoder", "present"],
];

/**
 * The members of {@link WebGpuBackendLike} that `backend` lacks (`path (want kind)`), empty when
 * it matches.
 *
 * @example
 * ```ts
 * import { missingBackendMembers } from "./backend.ts";
 * console.log(missingBackendMembers({}).length > 0); // true
 * ```
 */
export function missingBackendMembers(backend: unknown): string[] {
  const missing: string[] = [];
  for (const [path, kind] of REQUIRED) {
    let owner: unknown = backend;
    const parts = path.split(".");
    for (const part of parts.slice(0, -1)) {
      owner = owner !== null && typeof owner === "object"
        ? (owner as Record<string, unknown>)[part]
        : undefined;
    }
    const last = parts[parts.length - 1];
    const isObject = owner !== null && typeof owner === "object";
    const value = isObject ? (owner as Record<string, unknown>)[last] : undefined;
    const ok = kind === "present"
      ? isObject && last in (owner as object)
      : kind === "object"
      ? value !== null && typeof value === "object"
      : kind === "function"
      ? typeof value === "function"
      : typeof value === "number";
    if (!ok) missing.push(`${path} (${kind === "present" ? "a field" : `a ${kind}`})`);
  }
  return missing;
}

/**
 * `backend` as a {@link WebGpuBackendLike}, after checking that it has every member; otherwise an
 * Error that names the pinned tfjs-backend-webgpu version and the members that differ.
 *
 * @example
 * ```ts
 * import { asWebGpuBackend } from "./backend.ts";
 * try {
 *   asWebGpuBackend({});
 * } catch (e) {
 *   console.log((e as Error).message.includes("4.22.0")); // true
 * }
 * ```
 */
export function asWebGpuBackend(backend: unknown): WebGpuBackendLike {
  const missing = missingBackendMembers(backend);
  if (missing.length > 0) {
    throw new Error(
      `the WGSL kernels use internals of @tensorflow/tfjs-backend-webgpu ${PINNED_WEBGPU_VERSION}` +
        ` (pinned in deno.json), and the running backend differs: missing ${missing.join(", ")}; ` +
        `install tfjs-backend-webgpu ${PINNED_WEBGPU_VERSION} or use --kernels stock`,
    );
  }
  return backend as WebGpuBackendLike;
}
