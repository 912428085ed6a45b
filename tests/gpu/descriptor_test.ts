/**
 * The kernel descriptors against their WGSL, without a GPU: every descriptor
 * of the custom set matches its file (Params fields by name and type, every
 * override set, fixed constants, workgroup size); mismatches are reported;
 * uniforms are packed by name; `// #include` keeps line numbers and names a
 * missing file; the GEMM microkernel is one file every tiled matmul includes; the bridge's
 * backend check names the pinned tfjs version; the seam has no import cycle.
 */
import assert from "node:assert/strict";
import { CUSTOM_KERNEL_DESCRIPTORS } from "../../src/gpu/kernels.ts";
import {
  defineKernel,
  descriptorMismatches,
  type KernelDescriptor,
  packUniforms,
} from "../../src/gpu/registry.ts";
import { expandIncludes, loadWgsl, parseOverrides, parseParams } from "../../src/gpu/wgsl.ts";
import { CONV_FORWARD, CONV_GRAD, convGemmKernels } from "../../src/gpu/conv.ts";
import { GRAM } from "../../src/gpu/gram.ts";
import { FD_MATMUL } from "../../src/gpu/style_loss.ts";
import {
  asWebGpuBackend,
  missingBackendMembers,
  PINNED_WEBGPU_VERSION,
} from "../../src/gpu/backend.ts";
import { REPO_ROOT } from "../_env.ts";

Deno.test("every kernel descriptor matches its WGSL", async () => {
  const files = new Set<string>();
  for (const d of CUSTOM_KERNEL_DESCRIPTORS) {
    files.add(d.file);
    assert.deepEqual(descriptorMismatches(d, await loadWgsl(d.file)), [], d.name);
  }
  // Every kernel file is some descriptor's (the included cores aside).
  const included = ["conv3x3_gemm.wgsl", "gemm_core.wgsl"];
  const onDisk = [...Deno.readDirSync(`${REPO_ROOT}/kernels`)].map((e) => e.name)
    .filter((n) => n.endsWith(".wgsl") && !included.includes(n));
  assert.deepEqual([...files].sort(), onDisk.sort());
});

Deno.test("descriptor mismatches are named: fields, overrides, constants, workgroup size", async () => {
  const src = await loadWgsl(CONV_FORWARD.file);
  const bad: KernelDescriptor = defineKernel({
    file: CONV_FORWARD.file,
    workgroupSize: [8, 4, 1],
    overrides: { WG_Y: 8, NOPE: 1 },
    fixed: { THREAD_M: 4 },
    params: { height: "u32", batch: "u32" },
  });
  const problems = descriptorMismatches(bad, src).join("\n");
  assert.match(problems, /Params: the WGSL has \{batch: u32, height: u32, width: u32/);
  assert.match(problems, /override TILE_K is not set/);
  assert.match(problems, /NOPE is no override/);
  assert.match(problems, /const THREAD_M: the WGSL has 8, the descriptor 4/);
  assert.match(problems, /@workgroup_size\(WG_X, WG_Y, 1\) is \[8,8,1\], the descriptor \[8,4,1\]/);
  const badTiles = defineKernel({ ...CONV_FORWARD, overrides: { WG_Y: 8, TILE_K: 6 } });
  assert.match(descriptorMismatches(badTiles, src).join(), /TILE_K = 6 is not a multiple of 4/);
});

Deno.test("the conv GEMM core is one file, included by both directions", async () => {
  for (const d of [CONV_FORWARD, CONV_GRAD]) {
    const src = await loadWgsl(d.file);
    assert.deepEqual(src.files, [d.file, "conv3x3_gemm.wgsl", "gemm_core.wgsl"]);
    const lines = src.code.split("\n");
    const main = lines.findIndex((l) => l.startsWith("fn main(")) + 1;
    const core = (await Deno.readTextFile(`${REPO_ROOT}/kernels/conv3x3_gemm.wgsl`)).split("\n");
    assert.equal(src.where(main), `conv3x3_gemm.wgsl:${core.indexOf(lines[main - 1]) + 1}`);
    assert.equal(src.where(1), `${d.file}:1`);
    // The kernel's own RELU switch aside, the overrides are the core's.
    const overrides = [...parseOverrides(src.code).keys()].filter((k) => k !== "RELU");
    assert.deepEqual(overrides.slice(0, 2), ["WG_Y", "TILE_K"]);
    assert.equal(parseParams(src.code).length, 8);
  }
});

Deno.test("the GEMM microkernel is one file, included once by every tiled matmul", async () => {
  const core = await Deno.readTextFile(`${REPO_ROOT}/kernels/gemm_core.wgsl`);
  // One FMA line of the register block: it must exist in the core and nowhere else.
  const fma = "+= a0.x * b0;";
  assert.ok(core.includes(fma), `gemm_core.wgsl lacks '${fma}'`);
  for (const e of Deno.readDirSync(`${REPO_ROOT}/kernels`)) {
    if (!e.name.endsWith(".wgsl") || e.name === "gemm_core.wgsl") continue;
    const text = await Deno.readTextFile(`${REPO_ROOT}/kernels/${e.name}`);
    assert.ok(!text.includes(fma), `${e.name} has its own copy of the register-block loop`);
  }
  const count = (text: string, what: string) => text.split(what).length - 1;
  for (const d of [CONV_FORWARD, CONV_GRAD, GRAM, FD_MATMUL]) {
    const src = await loadWgsl(d.file);
    assert.equal(src.files.filter((f) => f === "gemm_core.wgsl").length, 1, d.file);
    assert.equal(count(src.code, "fn gemm_k_slice("), 1, d.file);
    assert.equal(count(src.code, "struct GemmAcc"), 1, d.file);
    // The kernel runs the core: one call per staged K slice.
    assert.equal(count(src.code, "gemm_k_slice(&acc, lid.y, lid.x);"), 1, d.file);
    const lines = src.code.split("\n");
    const fn = lines.findIndex((l) => l.startsWith("fn gemm_k_slice(")) + 1;
    assert.equal(src.where(fn), `gemm_core.wgsl:${core.split("\n").indexOf(lines[fn - 1]) + 1}`);
    assert.deepEqual(descriptorMismatches(d, src), [], d.name);
  }
});

Deno.test("every conv GEMM tile configuration matches the WGSL with the shared core", async () => {
  // The grid --kernels auto times (src/gpu/conv.ts convTileCandidates, before device limits).
  let checked = 0;
  for (const WG_Y of [4, 8, 16]) {
    for (const TILE_K of [8, 16, 32]) {
      const { forward, grad } = convGemmKernels({ WG_Y, TILE_K });
      for (const d of [forward, grad]) {
        assert.deepEqual(descriptorMismatches(d, await loadWgsl(d.file)), [], d.name);
        checked++;
      }
    }
  }
  assert.equal(checked, 18);
});

Deno.test("expandIncludes: a missing file names the including line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/b.wgsl`, "b1\n// #include gone.wgsl\nb3");
    const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
    await assert.rejects(
      expandIncludes("a.wgsl", "a1\n// #include b.wgsl", read),
      (e: Error) => {
        assert.equal(
          e.message,
          "kernels/b.wgsl:2: #include gone.wgsl: no such file (kernels/gone.wgsl)",
        );
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("expandIncludes: line map, nested includes, cycles refused", async () => {
  const files: Record<string, string> = {
    "b.wgsl": "b1\n// #include c.wgsl\nb3",
    "c.wgsl": "c1",
    "loop.wgsl": "// #include loop.wgsl",
  };
  const read = (f: string) => Promise.resolve(files[f]);
  const src = await expandIncludes("a.wgsl", "a1\n// #include b.wgsl\na3", read);
  assert.equal(src.code, "a1\nb1\nc1\nb3\na3");
  assert.deepEqual([1, 2, 3, 4, 5].map((l) => src.where(l)), [
    "a.wgsl:1",
    "b.wgsl:1",
    "c.wgsl:1",
    "b.wgsl:3",
    "a.wgsl:3",
  ]);
  await assert.rejects(expandIncludes("loop.wgsl", files["loop.wgsl"], read), /circular/);
});

Deno.test("packUniforms packs by name and refuses missing, unknown or out-of-range fields", () => {
  const d = defineKernel({
    file: "sum_slices.wgsl",
    workgroupSize: [256, 1, 1],
    overrides: { WG: 256 },
    params: { len4: "u32", slices: "u32", total4: "u32", scale: "f32" },
  });
  const bytes = new DataView(packUniforms(d, { scale: 0.5, total4: 3, slices: 2, len4: 1 }));
  assert.deepEqual([bytes.getUint32(0, true), bytes.getUint32(4, true), bytes.getUint32(8, true)], [
    1,
    2,
    3,
  ]);
  assert.equal(bytes.getFloat32(12, true), 0.5);
  assert.throws(() => packUniforms(d, { len4: 1, slices: 2, total4: 3 }), /missing scale/);
  assert.throws(
    () => packUniforms(d, { len4: 1, slices: 2, total4: 3, scale: 1, extra: 1 }),
    /unknown extra/,
  );
  assert.throws(() => packUniforms(d, { len4: -1, slices: 2, total4: 3, scale: 1 }), /not a u32/);
});

Deno.test("the backend check lists what is missing and names the pinned tfjs version", () => {
  assert.ok(missingBackendMembers({}).includes("bufferManager.acquireBuffer (a function)"));
  assert.throws(() => asWebGpuBackend({ device: {} }), (e: Error) => {
    assert.ok(e.message.includes(`tfjs-backend-webgpu ${PINNED_WEBGPU_VERSION}`));
    assert.match(e.message, /commandEncoder \(a field\)/);
    return true;
  });
  const pinned = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}/deno.json`)).imports[
    "@tensorflow/tfjs-backend-webgpu"
  ];
  assert.equal(pinned, `npm:@tensorflow/tfjs-backend-webgpu@${PINNED_WEBGPU_VERSION}`);
});
