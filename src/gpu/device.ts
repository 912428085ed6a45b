/**
 * The bridge between hand-written WGSL and tfjs-backend-webgpu 4.22.0: it
 * borrows the backend's `GPUDevice`, compiles the modules in `kernels/`,
 * reads the `GPUBuffer` behind a tfjs tensor, allocates outputs from the
 * backend's own buffer pool and hands them back as ordinary tfjs tensors, so
 * data never leaves the GPU between kernels and `tf.dispose` frees it.
 *
 * Ordering: tfjs records its programs into a deferred command encoder. Before
 * our command buffer is submitted that encoder is flushed, so queue order is
 * program order. Uniform and scratch buffers go back to tfjs's pool right
 * after our submit, which is safe because any later use is queued after it.
 *
 * @example
 * ```ts
 * import { initBackend, tf } from "../tf.ts";
 * import { GpuContext } from "./device.ts";
 * await initBackend("webgpu");
 * const gpu = await GpuContext.get();
 * const pipeline = await gpu.pipeline("maxpool2x2.wgsl", "main");
 * console.log(gpu.bindingLimit, pipeline.label);
 * ```
 * @module
 */
import { tf } from "../tf.ts";
import { UserError } from "../util/errors.ts";
import { asWebGpuBackend, type WebGpuBackendLike } from "./backend.ts";
import { loadWgsl } from "./wgsl.ts";

/**
 * A storage binding: a whole buffer or a byte range of one.
 *
 * @example
 * ```ts
 * import type { Binding } from "./device.ts";
 * declare const buf: GPUBuffer;
 * const firstImage: Binding = { buffer: buf, offset: 0, size: 4096 };
 * ```
 */
export type Binding =
  | GPUBuffer
  | { buffer: GPUBuffer; offset: number; size: number }
  | GPUTextureView
  | null;

/**
 * One compute dispatch of a pipeline.
 *
 * @example
 * ```ts
 * import { type DispatchStep, packParams } from "./device.ts";
 * declare const pipeline: GPUComputePipeline, x: GPUBuffer, y: GPUBuffer;
 * const step: DispatchStep = { pipeline, bindings: [x, y], uniforms: packParams([{ u32: 4 }]), workgroups: [1] };
 * ```
 */
export interface DispatchStep {
  pipeline: GPUComputePipeline;
  /**
   * Bindings 0..n-1 of group 0 in order (`null` leaves that number out); the uniform block, when
   * given, is binding n.
   */
  bindings: Binding[];
  /** Little-endian bytes of the kernel's `Params` struct. */
  uniforms?: ArrayBuffer;
  workgroups: [number, number?, number?];
}

/**
 * A buffer-to-buffer copy between dispatches.
 *
 * @example
 * ```ts
 * import type { CopyStep } from "./device.ts";
 * declare const a: GPUBuffer, b: GPUBuffer;
 * const step: CopyStep = { copy: { src: a, srcOffset: 0, dst: b, dstOffset: 16, size: 12 } };
 * ```
 */
export interface CopyStep {
  copy: { src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number };
}

/**
 * A buffer-to-texture copy between dispatches: `rows` rows of `bytesPerRow` bytes (a multiple of
 * 256) from `offset` into `width` x `rows` texels of `texture` starting at row `y`.
 *
 * @example
 * ```ts
 * import type { TextureCopyStep } from "./device.ts";
 * declare const a: GPUBuffer, t: GPUTexture;
 * const step: TextureCopyStep = { toTexture: { src: a, offset: 0, bytesPerRow: 256, rows: 4, texture: t, width: 16 } };
 * ```
 */
export interface TextureCopyStep {
  toTexture: {
    src: GPUBuffer;
    offset: number;
    bytesPerRow: number;
    rows: number;
    texture: GPUTexture;
    width: number;
    /** First texture row written (default 0). */
    y?: number;
  };
}

/**
 * A new tfjs tensor's data id together with the buffer a kernel writes it through.
 *
 * @example
 * ```ts
 * import { GpuContext } from "./device.ts";
 * const gpu = GpuContext.sync();
 * const slot = gpu.output([1, 8]); // ...a kernel writes slot.buffer...
 * const t = gpu.tensor(slot);
 * ```
 */
export interface OutputSlot {
  info: tf.TensorInfo;
  buffer: GPUBuffer;
}

const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * Packs a kernel's `Params` struct: every field is a 4-byte u32 or f32, padded to 16 bytes.
 *
 * @example
 * ```ts
 * import { packParams } from "./device.ts";
 * console.log(packParams([{ u32: 3 }, { f32: 0.5 }]).byteLength); // 16
 * ```
 */
export function packParams(fields: Array<{ u32: number } | { f32: number }>): ArrayBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const view = new DataView(bytes);
  fields.forEach((f, i) => {
    if ("u32" in f) {
      if (!Number.isInteger(f.u32) || f.u32 < 0 || f.u32 > 0xffffffff) {
        throw new Error(`uniform field ${i}: ${f.u32} is not a u32`);
      }
      view.setUint32(i * 4, f.u32, true);
    } else view.setFloat32(i * 4, f.f32, true);
  });
  return bytes;
}

/**
 * Everything a custom kernel needs from tfjs's webgpu backend; one per backend instance.
 *
 * @example
 * ```ts
 * import { GpuContext } from "./device.ts";
 * const gpu = GpuContext.sync(); // the webgpu backend must be active
 * await gpu.idle(); // wait for all queued GPU work
 * ```
 */
export class GpuContext {
  private static current: GpuContext | null = null;
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private lostInfo: GPUDeviceLostInfo | null = null;
  private readonly validationErrors: string[] = [];
  private validate = Deno.env.get("NST_GPU_VALIDATE") === "1";
  private pending: Promise<void>[] = [];
  /**
   * The largest byte range one storage binding may cover: the device's
   * `maxStorageBufferBindingSize`, lowered by tests to exercise splitting.
   */
  bindingLimit: number;
  /** Byte alignment of a binding's offset (`minStorageBufferOffsetAlignment`). */
  readonly offsetAlignment: number;
  /** `maxComputeWorkgroupsPerDimension`. */
  readonly maxWorkgroups: number;
  /** The adapter's description as tfjs recorded it. */
  readonly adapterDescription: string;
  /**
   * Whether the adapter is a CPU implementation (llvmpipe, SwiftShader: `isFallbackAdapter`),
   * where the kernels take texture-based routes (see kernels/conv3x3_tex.wgsl). `NST_GPU_ROUTE`
   * = `texture` or `buffer` forces one; tests flip it to cover both.
   */
  cpuAdapter: boolean;
  private readonly texturePool = new Map<string, GPUTexture>();

  private constructor(readonly backend: WebGpuBackendLike, readonly device: GPUDevice) {
    this.bindingLimit = device.limits.maxStorageBufferBindingSize;
    this.offsetAlignment = device.limits.minStorageBufferOffsetAlignment;
    this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
    const info = backend.adapterInfo;
    this.adapterDescription = info?.description || info?.vendor || "unknown adapter";
    const devInfo = (device as unknown as { adapterInfo?: { isFallbackAdapter?: boolean } })
      .adapterInfo;
    const route = Deno.env.get("NST_GPU_ROUTE");
    this.cpuAdapter = route === "texture" ||
      (route !== "buffer" && (devInfo?.isFallbackAdapter === true ||
        /llvmpipe|lavapipe|swiftshader/i.test(this.adapterDescription)));
    // A lost device would otherwise make every later readback wait forever.
    device.lost.then((lost) => {
      this.lostInfo = lost;
    });
  }

  /**
   * The context of the active tfjs backend, which must be webgpu.
   *
   * @example
   * ```ts
   * import { GpuContext } from "./device.ts";
   * const gpu = await GpuContext.get();
   * console.log(gpu.device.limits.maxStorageBufferBindingSize);
   * ```
   */
  static get(): Promise<GpuContext> {
    return Promise.resolve(GpuContext.sync());
  }

  /** Like {@link GpuContext.get} but synchronous: the backend is already initialised. */
  static sync(): GpuContext {
    const name = tf.getBackend();
    if (name !== "webgpu") {
      throw new UserError(
        `the custom WGSL kernels run on the webgpu backend only (active backend: ${name}); ` +
          "use --backend webgpu or the stock kernels",
      );
    }
    const backend = tf.backend() as unknown;
    let current = GpuContext.current;
    if (current === null || current.backend !== backend) {
      // Checked once per backend instance: a tfjs whose internals moved fails here, by name.
      const checked = asWebGpuBackend(backend);
      current = GpuContext.current = new GpuContext(checked, checked.device);
    }
    return current;
  }

  /** Throws when the device has been lost, with the reason the driver gave. */
  checkAlive(): void {
    if (this.lostInfo) {
      throw new Error(
        `WebGPU device lost (${this.lostInfo.reason}): ${this.lostInfo.message || "no message"}; ` +
          "restart the process",
      );
    }
  }

  /**
   * Compile `kernels/<file>`'s entry point (cached), with its `// #include` lines
   * expanded (see `wgsl.ts`) and `constants` setting its `override`s. Shader
   * errors are thrown with the file name and line, not left to surface as a
   * validation warning. Kernels get their pipelines through `registry.ts`,
   * which checks their descriptors first.
   */
  pipeline(
    file: string,
    entryPoint = "main",
    constants?: Record<string, number>,
  ): Promise<GPUComputePipeline> {
    const key = `${file}:${entryPoint}:${JSON.stringify(constants ?? {})}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.compile(file, entryPoint, constants);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  private async compile(
    file: string,
    entryPoint: string,
    constants?: Record<string, number>,
  ): Promise<GPUComputePipeline> {
    this.checkAlive();
    const source = await loadWgsl(file);
    const module = this.device.createShaderModule({ label: file, code: source.code });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) {
      // Line numbers point into the file that holds the line (an included core or the kernel).
      throw new Error(
        `kernels/${file}: ` +
          errors.map((m) => `${source.where(m.lineNum)}:${m.linePos}: ${m.message}`).join("; "),
      );
    }
    return await this.device.createComputePipelineAsync({
      label: `${file}:${entryPoint}`,
      layout: "auto",
      compute: { module, entryPoint, constants },
    });
  }

  /** The GPU buffer holding `t`'s data, uploading it first when it still lives on the CPU. */
  bufferOf(t: tf.TensorInfo): GPUBuffer {
    this.backend.uploadToGPU(t.dataId);
    const data = this.backend.tensorMap.get(t.dataId);
    const resource = data?.resource;
    if (!(resource instanceof GPUBuffer)) {
      throw new Error(`tensor [${t.shape}] is not backed by a GPUBuffer (a texture import?)`);
    }
    if (t.dtype !== "float32") throw new Error(`custom kernels take float32, got ${t.dtype}`);
    return resource;
  }

  /** A fresh float32 tfjs tensor slot of `shape`, allocated on the GPU and not yet written. */
  output(shape: number[]): OutputSlot {
    const info = this.backend.makeTensorInfo(shape, "float32");
    return { info, buffer: this.bufferOf(info) };
  }

  /** Register a written {@link OutputSlot} with the engine as a tracked tensor. */
  tensor<T extends tf.Tensor>(slot: OutputSlot): T {
    return tf.engine().makeTensorFromTensorInfo(slot.info) as T;
  }

  /**
   * Free an output slot that was never turned into a tensor.
   * The engine doesn't know it yet, so the backend's refcount is the owner.
   */
  discard(slot: OutputSlot): void {
    this.backend.disposeData(slot.info.dataId, true);
  }

  /**
   * An rgba32float texture of `width` x `height` texels that can be copied into and sampled,
   * reused across calls under `slot` (queue order keeps reuse safe: a later copy waits for the
   * dispatches submitted before it).
   */
  poolTexture(slot: string, width: number, height: number): GPUTexture {
    const key = `${slot}:${width}x${height}`;
    let t = this.texturePool.get(key);
    if (!t) {
      t = this.device.createTexture({
        label: key,
        size: [width, height],
        format: "rgba32float",
        usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
      });
      this.texturePool.set(key, t);
    }
    return t;
  }

  /** `maxTextureDimension2D`. */
  get maxTextureSide(): number {
    return this.device.limits.maxTextureDimension2D;
  }

  /** A scratch storage buffer from tfjs's pool; pass it to {@link GpuContext.run}'s `scratch`. */
  scratch(bytes: number): GPUBuffer {
    this.ensureFits(bytes, "a scratch buffer");
    return this.backend.bufferManager.acquireBuffer(
      Math.max(16, Math.ceil(bytes / 16) * 16),
      STORAGE_USAGE,
    );
  }

  /** Refuses a binding over the device's limit with a message saying what to change. */
  ensureFits(bytes: number, what: string): void {
    if (bytes > this.bindingLimit) {
      throw new UserError(
        `${what} needs ${(bytes / 2 ** 20).toFixed(1)} MiB in one GPU binding, over this ` +
          `adapter's maxStorageBufferBindingSize of ${
            (this.bindingLimit / 2 ** 20).toFixed(1)
          } MiB; ` +
          "use a smaller image size or batch",
      );
    }
  }

  /**
   * How many batch items each dispatch may cover so that every binding, at
   * `bytesPerItem[i]` per item, fits the binding limit and starts at an
   * aligned offset. Throws a {@link UserError} when a single item is too big.
   */
  batchChunk(batch: number, bytesPerItem: number[], what: string): number {
    const biggest = Math.max(...bytesPerItem);
    this.ensureFits(biggest, `one image of ${what}`);
    const chunk = Math.max(1, Math.min(batch, Math.floor(this.bindingLimit / biggest)));
    if (chunk < batch) {
      const misaligned = bytesPerItem.find((b) => (b * chunk) % this.offsetAlignment !== 0);
      if (misaligned !== undefined) {
        throw new UserError(
          `${what}: batch ${batch} has to be split to fit maxStorageBufferBindingSize, but an item ` +
            `of ${misaligned} bytes can't start at a ${this.offsetAlignment}-byte aligned offset; ` +
            "use a smaller batch",
        );
      }
    }
    return chunk;
  }

  /**
   * Encode `steps` into one command buffer and submit it after tfjs's pending
   * work. Uniform blocks and `scratch` buffers return to the pool afterwards.
   */
  run(steps: Array<DispatchStep | CopyStep | TextureCopyStep>, scratch: GPUBuffer[] = []): void {
    this.checkAlive();
    const b = this.backend;
    if (b.commandEncoder) {
      b.endComputePassEncoder();
      b.submitQueue();
    }
    const uniforms: GPUBuffer[] = [];
    if (this.validate) this.device.pushErrorScope("validation");
    const encoder = this.device.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    for (const step of steps) {
      if ("copy" in step) {
        pass?.end();
        pass = null;
        const c = step.copy;
        encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
        continue;
      }
      if ("toTexture" in step) {
        pass?.end();
        pass = null;
        const c = step.toTexture;
        encoder.copyBufferToTexture(
          { buffer: c.src, offset: c.offset, bytesPerRow: c.bytesPerRow },
          { texture: c.texture, origin: [0, c.y ?? 0] },
          [c.width, c.rows],
        );
        continue;
      }
      const entries: GPUBindGroupEntry[] = [];
      step.bindings.forEach((bind, i) => {
        if (bind === null) return;
        entries.push({
          binding: i,
          resource: bind instanceof GPUBuffer ? { buffer: bind } : bind,
        });
      });
      if (step.uniforms) {
        const u = b.bufferManager.acquireBuffer(
          step.uniforms.byteLength,
          GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        );
        this.device.queue.writeBuffer(u, 0, step.uniforms);
        uniforms.push(u);
        entries.push({ binding: step.bindings.length, resource: { buffer: u } });
      }
      const [x, y = 1, z = 1] = step.workgroups;
      if (x === 0 || y === 0 || z === 0) continue;
      for (const n of [x, y, z]) {
        if (n > this.maxWorkgroups) {
          throw new Error(`${step.pipeline.label}: ${n} workgroups exceed ${this.maxWorkgroups}`);
        }
      }
      const group = this.device.createBindGroup({
        layout: step.pipeline.getBindGroupLayout(0),
        entries,
      });
      pass ??= encoder.beginComputePass();
      pass.setPipeline(step.pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y, z);
    }
    pass?.end();
    this.device.queue.submit([encoder.finish()]);
    if (this.validate) {
      this.pending.push(
        this.device.popErrorScope().then((e) => {
          if (e) this.validationErrors.push(e.message);
        }),
      );
    }
    for (const u of uniforms) b.bufferManager.releaseBuffer(u);
    for (const s of scratch) b.bufferManager.releaseBuffer(s);
  }

  /**
   * Validation errors seen since the last call (only collected with
   * `NST_GPU_VALIDATE=1`, which tests set).
   */
  async takeValidationErrors(): Promise<string[]> {
    await Promise.all(this.pending);
    this.pending = [];
    return this.validationErrors.splice(0);
  }

  /**
   * Resolves when all submitted GPU work is done; rejects if the device is
   * lost first instead of hanging.
   */
  async idle(): Promise<void> {
    this.checkAlive();
    const b = this.backend;
    if (b.commandEncoder) {
      b.endComputePassEncoder();
      b.submitQueue();
    }
    const lost = this.device.lost.then((info) => {
      throw new Error(`WebGPU device lost (${info.reason}): ${info.message}`);
    });
    await Promise.race([this.device.queue.onSubmittedWorkDone(), lost]);
  }

  /** Turn on validation-error collection (what `NST_GPU_VALIDATE=1` does). */
  enableValidation(): void {
    this.validate = true;
  }

  /** Bytes tfjs's buffer pool currently hands out (a leak check). */
  get bytesInUse(): number {
    return this.backend.bufferManager.numBytesUsed;
  }
}

/**
 * Split a workgroup count over x and y so neither exceeds `max`; kernels
 * recover the linear index as `id.x + id.y * num_workgroups.x`.
 *
 * @example
 * ```ts
 * import { fold } from "./device.ts";
 * console.log(fold(70000, 65535)); // [35000, 2]
 * ```
 */
export function fold(count: number, max = 65535): [number, number] {
  if (count <= max) return [count, 1];
  const y = Math.ceil(count / max);
  return [Math.ceil(count / y), y];
}
