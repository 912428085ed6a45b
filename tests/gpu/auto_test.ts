/**
 * `--kernels auto` on a real adapter: every conv GEMM tile configuration it
 * may choose computes what the stock op computes (forward and input gradient,
 * tolerance 1e-4 relative to the reference's magnitude, as kernels_test.ts),
 * the candidates and defaults follow the route, and measuring the shapes a
 * run met fills the cache, says so in one line, leaks no tensor and is not
 * repeated by the next run.
 */
import assert from "node:assert/strict";
import { HAS_WEBGPU } from "../_env.ts";
import { initBackend, tf } from "../../src/tf.ts";
import { STOCK_KERNELS } from "../../src/ops/active.ts";
import { GpuContext } from "../../src/gpu/device.ts";
import {
  compileConvTiles,
  conv3x3Relu,
  conv3x3ReluGradInput,
  CONV_GEMM_TILES,
  convTileCandidates,
} from "../../src/gpu/conv.ts";
import { setConvRoute, withVariant } from "../../src/gpu/registry.ts";
import { candidatesFor, openAutoKernels } from "../../src/gpu/auto.ts";
import { opKey, parseOpKey } from "../../src/gpu/tuning.ts";
import { assertClose, GPU_TEST, onBackend, randomArray } from "./_util.ts";

const ignore = !HAS_WEBGPU;
const TOL = 1e-4;

/** [batch, h, w, cIn, cOut]: ragged pixel and channel tiles, a batch, a deep layer. */
const SHAPES: Array<[number, number, number, number, number]> = [
  [1, 9, 11, 64, 64],
  [2, 3, 3, 128, 256],
  [1, 17, 3, 16, 72],
];

for (const [b, h, w, cIn, cOut] of SHAPES) {
  Deno.test({
    name: `every conv tile candidate matches stock [${b},${h},${w},${cIn}] -> ${cOut}`,
    ignore,
    ...GPU_TEST,
    fn: async () => {
      const x = randomArray(b * h * w * cIn, 11 + cIn);
      const s = Math.sqrt(3 / (9 * cIn));
      const k = randomArray(9 * cIn * cOut, 12 + cOut, -s, s);
      const bias = randomArray(cOut, 13, -0.2, 0.2);
      const dy = randomArray(b * h * w * cOut, 14);
      const forward = (t: typeof tf, conv: typeof STOCK_KERNELS.conv3x3Relu) =>
        conv(t.tensor4d(x, [b, h, w, cIn]), t.tensor4d(k, [3, 3, cIn, cOut]), t.tensor1d(bias));
      const grad = (
        t: typeof tf,
        g: (dy: tf.Tensor4D, y: tf.Tensor4D, k: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D,
      ) => {
        const kernel = t.tensor4d(k, [3, 3, cIn, cOut]);
        const y = STOCK_KERNELS.conv3x3Relu(
          t.tensor4d(x, [b, h, w, cIn]),
          kernel,
          t.tensor1d(bias),
        );
        const flipped = t.transpose(t.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
        return g(t.tensor4d(dy, [b, h, w, cOut]), y, kernel, flipped);
      };
      const wantY = await onBackend("cpu", (t) => forward(t, STOCK_KERNELS.conv3x3Relu));
      const wantDx = await onBackend(
        "cpu",
        (t) => grad(t, STOCK_KERNELS.conv3x3ReluGradInput),
      );
      await initBackend("webgpu");
      const gpu = GpuContext.sync();
      const tiles = convTileCandidates(gpu);
      assert.ok(tiles.length >= 4, `only ${tiles.length} tile configurations fit this device`);
      for (const t of tiles) {
        await compileConvTiles(gpu, t);
        const v = { route: "buffer" as const, tiles: t };
        const label = `tiles ${t.WG_Y}x${t.TILE_K}`;
        const y = await onBackend("webgpu", (tt) => withVariant(v, () => forward(tt, conv3x3Relu)));
        assertClose(y, wantY, TOL, `${label} forward`);
        const dx = await onBackend(
          "webgpu",
          (tt) => withVariant(v, () => grad(tt, (d, y, _k, f) => conv3x3ReluGradInput(d, y, f))),
        );
        assertClose(dx, wantDx, TOL, `${label} input gradient`);
      }
    },
  });
}

Deno.test({
  name: "candidates: stock and both routes; the default follows the adapter's route",
  ignore,
  ...GPU_TEST,
  fn: async () => {
    await initBackend("webgpu");
    const gpu = GpuContext.sync();
    const conv = parseOpKey(opKey("conv3x3", [1, 32, 32, 64], 128))!;
    try {
      setConvRoute("buffer");
      const onBuffer = candidatesFor(gpu, conv);
      assert.equal(onBuffer.default, `buffer:${CONV_GEMM_TILES.WG_Y}x${CONV_GEMM_TILES.TILE_K}`);
      assert.ok(onBuffer.names.includes("stock") && onBuffer.names.includes("texture"));
      assert.equal(
        onBuffer.names.filter((n) => n.startsWith("buffer:")).length,
        convTileCandidates(gpu).length,
      );
      setConvRoute("texture");
      assert.equal(candidatesFor(gpu, conv).default, "texture");
      // A gradient into 3 channels has one buffer kernel, no tiles.
      const narrow = candidatesFor(gpu, parseOpKey("conv3x3_grad_input 1x64x64x64->3")!);
      assert.deepEqual(narrow.names.filter((n) => n.startsWith("buffer")), ["buffer"]);
      // N % 4 != 0: the custom set runs stock itself, so stock is the only candidate.
      assert.deepEqual(candidatesFor(gpu, parseOpKey("gram 1x16x6")!).names, ["stock"]);
    } finally {
      setConvRoute(null);
    }
  },
});

Deno.test({
  name: "tunePending: measures new shapes once, says so before and after, caches, leaks nothing",
  ignore,
  ...GPU_TEST,
  fn: async () => {
    await initBackend("webgpu");
    const root = await Deno.makeTempDir();
    try {
      const lines: string[] = [];
      const settings = { warmup: 1, runs: 1, repeat: 1, prune: 1.5 };
      const auto = await openAutoKernels({ log: (l) => lines.push(l), settings, cacheRoot: root });
      assert.equal(auto.cache.size, 0);
      const f = tf.relu(tf.randomNormal([1, 256, 64], 0, 1, "float32", 1)) as tf.Tensor3D;
      const x = tf.randomNormal([1, 8, 8, 16], 0, 1, "float32", 2) as tf.Tensor4D;
      tf.dispose([auto.gram(f), auto.maxPool2x2(x)]);
      assert.deepEqual(auto.untuned.sort(), ["gram 1x256x64", "maxpool 1x8x8x16"]);
      const before = tf.memory().numTensors;
      await auto.tunePending();
      assert.equal(tf.memory().numTensors, before, "tensors leaked by tuning");
      assert.equal(lines.length, 2);
      assert.match(lines[0], /^kernels auto: measuring 2 op shape\(s\) new to this adapter/);
      assert.match(lines[1], /^kernels auto: measured 2 new op shape\(s\) in [\d.]+ s/);
      const entry = auto.cache.get("gram 1x256x64")!;
      assert.ok(["stock", "texture", "buffer"].includes(entry.choice));
      assert.ok(Number.isFinite(entry.ms[entry.choice]) && entry.ms[entry.choice] > 0);
      // Nothing new: nothing measured, nothing said.
      await auto.tunePending();
      assert.equal(lines.length, 2);
      // The next run reads the choices and measures nothing.
      const again = await openAutoKernels({ log: (l) => lines.push(l), settings, cacheRoot: root });
      assert.equal(again.cache.size, 2);
      const g = again.gram(f);
      const want = STOCK_KERNELS.gram(f);
      assertClose(
        [await g.data() as Float32Array],
        [await want.data() as Float32Array],
        TOL,
        "gram",
      );
      assert.deepEqual(again.untuned, []);
      tf.dispose([f, x, g, want]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "study training with --kernels auto measures the shapes a job met, for the jobs after it",
  ignore,
  ...GPU_TEST,
  fn: async () => {
    const { trainJobsHere } = await import("../../src/study/train_tasks.ts");
    const { unregisterNstKernels } = await import("../../src/gpu/register.ts");
    const root = await Deno.makeTempDir();
    const saved = Deno.env.get("NST_CACHE_DIR");
    Deno.env.set("NST_CACHE_DIR", root);
    try {
      const trainer = await trainJobsHere({
        backend: "webgpu",
        weights: "",
        backbone: false,
        kernels: "auto",
      });
      const images = [0, 1, 2, 3].map((i) => ({
        width: 16,
        height: 16,
        data: randomArray(16 * 16 * 3, 10 + i).map((v) => 128 + 60 * v),
      }));
      const names = images.map((_, i) => `img${i}`);
      const outcome = await trainer.run({
        id: "cnn-tiny",
        kind: "cnn",
        set: { images, labels: [0, 1, 0, 1], names },
        trainImages: names,
        test: { images, names, labels: [0, 1, 0, 1] },
        conditions: [],
        classes: ["a", "b"],
        settings: {
          transfer: { size: 16, steps: 1, seed: 1 },
          cnn: { size: 16, steps: 1, seed: 1 },
        },
      });
      trainer.dispose();
      assert.equal(outcome.predictions.length, 4);
      const files = [...Deno.readDirSync(`${root}/tuning`)].map((e) => e.name);
      assert.equal(files.length, 1, `one tuning cache per adapter: ${files}`);
      const cache = JSON.parse(Deno.readTextFileSync(`${root}/tuning/${files[0]}`));
      const keys = Object.keys(cache.entries ?? cache);
      assert.ok(keys.some((k) => k.startsWith("conv3x3")), `no conv shape measured: ${keys}`);
    } finally {
      unregisterNstKernels();
      if (saved === undefined) Deno.env.delete("NST_CACHE_DIR");
      else Deno.env.set("NST_CACHE_DIR", saved);
      await Deno.remove(root, { recursive: true });
    }
  },
});
