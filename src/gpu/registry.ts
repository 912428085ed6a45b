/**
 * Kernel descriptors and the pipeline registry. A {@link KernelDescriptor}
 * is to a WGSL file what tfjs's `WebGPUProgram` is to its generated shaders:
 * the file, its workgroup size, the tile sizes it takes as WGSL `override`
 * constants (set from here, never mirrored by hand), the constants it fixes in
 * code that the host relies on, and its uniform `Params` fields by name.
 * {@link compileKernels} checks each descriptor against its WGSL before
 * building the pipeline; {@link dispatch} packs uniforms by name.
 *
 * @example
 * ```ts
 * import { compileKernels, defineKernel, dispatch } from "./registry.ts";
 * import { GpuContext } from "./device.ts";
 * const ROW_SUM = defineKernel({
 *   file: "row_sum.wgsl",
 *   workgroupSize: [256, 1, 1],
 *   overrides: { WG: 256 },
 *   params: { cols: "u32" },
 * });
 * const gpu = GpuContext.sync();
 * await compileKernels(gpu, [ROW_SUM]);
 * declare const rows: GPUBuffer, out: GPUBuffer;
 * gpu.run([dispatch(gpu, ROW_SUM, [rows, out], { cols: 4 }, [1])]);
 * ```
 * @module
 */
import { type Binding, type DispatchStep, type GpuContext, packParams } from "./device.ts";
import {
  loadWgsl,
  parseLiteralConsts,
  parseOverrides,
  parseParams,
  parseWorkgroupSize,
  type WgslSource,
} from "./wgsl.ts";

/** The scalar types a `Params` field may have (4 bytes each). */
export type ParamType = "u32" | "f32";

/** One kernel: a WGSL file and everything the host needs to know to dispatch it. */
export interface KernelDescriptor {
  /** Registry name, for messages (default: the file and its overrides). */
  readonly name: string;
  /** The file under `kernels/`. */
  readonly file: string;
  readonly entryPoint: string;
  /** Threads per workgroup, checked against the entry point's `@workgroup_size`. */
  readonly workgroupSize: readonly [number, number, number];
  /** Values of the module's `override` constants: every one without a default must be here. */
  readonly overrides: Readonly<Record<string, number>>;
  /** Literal `const`s of the module the host's dispatch arithmetic relies on (checked). */
  readonly fixed: Readonly<Record<string, number>>;
  /** The `struct Params` fields in order (checked against the WGSL) and their types. */
  readonly params: Readonly<Record<string, ParamType>>;
  /** Constraints between overrides that WGSL `const_assert` cannot state: an error, or null. */
  readonly validate?: (o: Readonly<Record<string, number>>) => string | null;
}

/** What {@link defineKernel} takes: a descriptor with defaults for name, entry point and fixed. */
export type KernelSpec =
  & Omit<KernelDescriptor, "name" | "entryPoint" | "fixed">
  & Partial<Pick<KernelDescriptor, "name" | "entryPoint" | "fixed">>;

/**
 * A frozen {@link KernelDescriptor} with defaults filled in.
 *
 * @example
 * ```ts
 * import { defineKernel } from "./registry.ts";
 * const d = defineKernel({ file: "sum_slices.wgsl", workgroupSize: [256, 1, 1],
 *   overrides: { WG: 256 }, params: { len4: "u32", slices: "u32", total4: "u32", scale: "f32" } });
 * console.log(d.name); // "sum_slices.wgsl"
 * ```
 */
export function defineKernel(spec: KernelSpec): KernelDescriptor {
  const extra = Object.entries(spec.overrides).filter(([k]) => k !== "WG");
  return Object.freeze({
    ...spec,
    name: spec.name ?? spec.file + (extra.length ? ` ${JSON.stringify(spec.overrides)}` : ""),
    entryPoint: spec.entryPoint ?? "main",
    fixed: spec.fixed ?? {},
  });
}

/**
 * Every way `desc` disagrees with its WGSL `source` (empty when it matches): the Params fields,
 * the overrides, the fixed constants, the workgroup size and the descriptor's own constraints.
 *
 * @example
 * ```ts
 * import { defineKernel, descriptorMismatches } from "./registry.ts";
 * import { loadWgsl } from "./wgsl.ts";
 * const d = defineKernel({ file: "row_sum.wgsl", workgroupSize: [256, 1, 1], overrides: { WG: 256 },
 *   params: { rows: "u32" } });
 * console.log(descriptorMismatches(d, await loadWgsl(d.file))); // [ "Params: ..." ]
 * ```
 */
export function descriptorMismatches(desc: KernelDescriptor, source: WgslSource): string[] {
  const out: string[] = [];
  const fields = parseParams(source.code);
  const want = Object.entries(desc.params);
  const got = fields.map((f) => `${f.name}: ${f.type}`).join(", ");
  const wanted = want.map(([n, t]) => `${n}: ${t}`).join(", ");
  if (got !== wanted) out.push(`Params: the WGSL has {${got}}, the descriptor {${wanted}}`);
  for (const f of fields) {
    if (f.type !== "u32" && f.type !== "f32") {
      out.push(`Params.${f.name}: ${f.type} is not 4 bytes`);
    }
  }
  const overrides = parseOverrides(source.code);
  for (const [name, hasDefault] of overrides) {
    if (!hasDefault && !(name in desc.overrides)) out.push(`override ${name} is not set`);
  }
  for (const name of Object.keys(desc.overrides)) {
    if (!overrides.has(name)) out.push(`${name} is no override of the WGSL`);
  }
  const consts = parseLiteralConsts(source.code);
  for (const [name, value] of Object.entries(desc.fixed)) {
    const v = consts.get(name);
    if (v !== value) {
      out.push(`const ${name}: the WGSL has ${v ?? "none"}, the descriptor ${value}`);
    }
  }
  try {
    const args = parseWorkgroupSize(source.code, desc.entryPoint);
    const size = [0, 1, 2].map((i) => {
      const a = args[i] ?? "1";
      if (/^\d+[ui]?$/.test(a)) return parseInt(a, 10);
      return desc.overrides[a] ?? consts.get(a) ?? NaN;
    });
    if (size.some((s, i) => s !== desc.workgroupSize[i])) {
      out.push(
        `@workgroup_size(${args.join(", ")}) is [${size}], the descriptor [${desc.workgroupSize}]`,
      );
    }
  } catch (e) {
    out.push((e as Error).message);
  }
  const invalid = desc.validate?.(desc.overrides);
  if (invalid) out.push(invalid);
  return out;
}

const compiled = new WeakMap<GpuContext, Map<KernelDescriptor, GPUComputePipeline>>();

/**
 * Check every descriptor against its WGSL and compile it for `gpu` (once per descriptor and
 * context). A mismatch is an Error naming the kernel and every difference.
 */
export async function compileKernels(
  gpu: GpuContext,
  descs: readonly KernelDescriptor[],
): Promise<void> {
  let done = compiled.get(gpu);
  if (!done) compiled.set(gpu, done = new Map());
  const todo = descs.filter((d) => !done.has(d));
  const made = await Promise.all(todo.map(async (d) => {
    const problems = descriptorMismatches(d, await loadWgsl(d.file));
    if (problems.length > 0) {
      throw new Error(`kernel ${d.name} (kernels/${d.file}): ${problems.join("; ")}`);
    }
    return gpu.pipeline(d.file, d.entryPoint, { ...d.overrides });
  }));
  todo.forEach((d, i) => done.set(d, made[i]));
}

/** The compiled pipeline of `desc` on `gpu`. */
export function pipelineOf(gpu: GpuContext, desc: KernelDescriptor): GPUComputePipeline {
  const p = compiled.get(gpu)?.get(desc);
  if (!p) {
    throw new Error(
      `kernel ${desc.name} is not compiled for this backend: ` +
        "call `await selectKernels('custom')` (src/gpu/select.ts) first",
    );
  }
  return p;
}

/**
 * The bytes of `desc`'s `Params` from named `values`: every field exactly once, u32 fields
 * integers in range.
 *
 * @example
 * ```ts
 * import { defineKernel, packUniforms } from "./registry.ts";
 * const d = defineKernel({ file: "row_sum.wgsl", workgroupSize: [256, 1, 1], overrides: { WG: 256 },
 *   params: { cols: "u32" } });
 * console.log(packUniforms(d, { cols: 3 }).byteLength); // 16
 * ```
 */
export function packUniforms(desc: KernelDescriptor, values: Record<string, number>): ArrayBuffer {
  const names = Object.keys(desc.params);
  const extra = Object.keys(values).filter((k) => !(k in desc.params));
  const missing = names.filter((k) => !(k in values));
  if (extra.length > 0 || missing.length > 0) {
    throw new Error(
      `kernel ${desc.name}: uniforms` + (missing.length ? ` missing ${missing.join(", ")}` : "") +
        (extra.length ? ` unknown ${extra.join(", ")}` : ""),
    );
  }
  try {
    return packParams(
      names.map((n) => desc.params[n] === "u32" ? { u32: values[n] } : { f32: values[n] }),
    );
  } catch (e) {
    throw new Error(`kernel ${desc.name}: ${(e as Error).message} (fields: ${names.join(", ")})`);
  }
}

/**
 * One dispatch of `desc` with its uniforms packed by name.
 */
export function dispatch(
  gpu: GpuContext,
  desc: KernelDescriptor,
  bindings: Binding[],
  uniforms: Record<string, number>,
  workgroups: [number, number?, number?],
): DispatchStep {
  return {
    pipeline: pipelineOf(gpu, desc),
    bindings,
    uniforms: packUniforms(desc, uniforms),
    workgroups,
  };
}

/** A whole buffer as itself, a sub-range as a range binding. */
export function range(buffer: GPUBuffer, offset: number, size: number): Binding {
  return offset === 0 && size === buffer.size ? buffer : { buffer, offset, size };
}

/** Throws unless `got` equals `want`, naming `what`. */
export function checkShape(what: string, got: readonly number[], want: readonly number[]): void {
  if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
    throw new Error(`${what}: shape [${got}], expected [${want}]`);
  }
}

/** Batch chunks `[first, count]` covering `batch` items `chunk` at a time. */
export function chunks(batch: number, chunk: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let b0 = 0; b0 < batch; b0 += chunk) out.push([b0, Math.min(chunk, batch - b0)]);
  return out;
}

const withoutReluMemo = new WeakMap<KernelDescriptor, KernelDescriptor>();

/**
 * `desc` with its WGSL `RELU` override false (made once per descriptor): the conv kernels without
 * their ReLU (forward) or ReLU mask (input gradient), which tfjs's plain Conv2D and
 * Conv2DBackpropInput need when they run through the registered kernels (`register.ts`).
 *
 * @example
 * ```ts
 * import { withoutRelu } from "./registry.ts";
 * import { CONV_FORWARD } from "./conv.ts";
 * console.log(withoutRelu(CONV_FORWARD).overrides.RELU); // 0
 * ```
 */
export function withoutRelu(desc: KernelDescriptor): KernelDescriptor {
  let plain = withoutReluMemo.get(desc);
  if (!plain) {
    plain = defineKernel({
      ...desc,
      name: `${desc.name} without ReLU`,
      overrides: { ...desc.overrides, RELU: 0 },
    });
    withoutReluMemo.set(desc, plain);
  }
  return plain;
}

let forcedRoute: "texture" | "buffer" | null = null;

/**
 * Which route tests force (`null`: by adapter, see {@link GpuContext.cpuAdapter}).
 *
 * @example
 * ```ts
 * import { setConvRoute } from "./registry.ts";
 * setConvRoute("buffer"); // the workgroup-memory GEMMs even on llvmpipe
 * setConvRoute(null);
 * ```
 */
export function setConvRoute(route: "texture" | "buffer" | null): void {
  forcedRoute = route;
}

/** Whether the texture kernels (meant for CPU adapters) are used. */
export function textureRoute(gpu: GpuContext): boolean {
  return forcedRoute === null ? gpu.cpuAdapter : forcedRoute === "texture";
}

/**
 * The conv GEMM core's tunables: WG_Y threads along pixels (TILE_M = 8 * WG_Y pixels per
 * workgroup), TILE_K values of K per barrier. The 8 x 8 register block (kernels/gemm_core.wgsl)
 * and WG_X = 8 (kernels/conv3x3_gemm.wgsl) are fixed in the WGSL.
 */
export interface GemmTiles {
  WG_Y: number;
  TILE_K: number;
}

/**
 * One way the custom set can run an op: the route (`texture` for CPU adapters, `buffer` for
 * the workgroup-memory kernels) and, on the buffer route, the conv GEMM's tiles. What a tuning
 * candidate is (src/gpu/tuning.ts).
 */
export interface KernelVariant {
  route: "texture" | "buffer";
  /** The conv GEMM tiles (buffer route; default {@link GemmTiles} of `conv.ts` when absent). */
  tiles?: GemmTiles;
}

let forcedTiles: GemmTiles | null = null;

/** The conv GEMM tiles forced by {@link withVariant}, or null for the default. */
export function variantTiles(): GemmTiles | null {
  return forcedTiles;
}

/**
 * Run `fn` (a synchronous kernel call, which records its dispatches before returning) with the
 * route and tiles of `variant`, then restore the previous ones, also when it throws.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { conv3x3Relu } from "./conv.ts";
 * import { withVariant } from "./registry.ts";
 * declare const x: tf.Tensor4D, k: tf.Tensor4D, b: tf.Tensor1D;
 * const y = withVariant({ route: "buffer", tiles: { WG_Y: 4, TILE_K: 32 } }, () => conv3x3Relu(x, k, b));
 * ```
 */
export function withVariant<T>(variant: KernelVariant, fn: () => T): T {
  const route = forcedRoute;
  const tiles = forcedTiles;
  forcedRoute = variant.route;
  forcedTiles = variant.tiles ?? null;
  try {
    return fn();
  } finally {
    forcedRoute = route;
    forcedTiles = tiles;
  }
}

/** The elementwise kernels' workgroup size (adam, pools, sum_slices, style_diff, row_sum). */
export const ELEMENTWISE_WG = 256;

/** A 1-D elementwise kernel of {@link ELEMENTWISE_WG} threads per workgroup with `params`. */
export function elementwise(file: string, params: Record<string, ParamType>): KernelDescriptor {
  return defineKernel({
    file,
    workgroupSize: [ELEMENTWISE_WG, 1, 1],
    overrides: { WG: ELEMENTWISE_WG },
    params,
  });
}

/** Power of two (the tree reductions of row_sum.wgsl and style_diff.wgsl). */
export function powerOfTwo(name: string): (o: Readonly<Record<string, number>>) => string | null {
  return (o) => (o[name] > 0 && (o[name] & (o[name] - 1)) === 0 ? null : `${name} = ${o[name]}` +
    " is not a power of two");
}

/** kernels/sum_slices.wgsl: adds split-K / split-M partial results (conv texture route, Gram). */
export const SUM_SLICES: KernelDescriptor = elementwise("sum_slices.wgsl", {
  len4: "u32",
  slices: "u32",
  total4: "u32",
  scale: "f32",
});
