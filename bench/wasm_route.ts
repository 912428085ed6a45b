/**
 * Measures the wasm route for the conv input gradient (issue 2): the forward
 * pass's FLOP rate against a full Gatys step's, with the input gradient taken
 * (a) as a forward conv with the flipped kernel (what STOCK_KERNELS does on
 * wasm) and (b) through tfjs-wasm's Conv2DBackpropInput (conv2dTranspose).
 *
 * @example
 * ```sh
 * deno run -A bench/wasm_route.ts --size 128 --runs 5
 * ```
 * @module
 */
import { initBackend, tf } from "../src/tf.ts";
import { STOCK_KERNELS, useKernels } from "../src/ops/active.ts";
import { layersUpTo } from "../src/vgg/layers.ts";
import { preprocess, Vgg19 } from "../src/vgg/model.ts";
import { loadVggWeights } from "../src/vgg/weights.ts";
import { GatysOptimizer } from "../src/style/engine.ts";
import { PROFILES } from "../src/style/options.ts";
import { runMain } from "../src/util/errors.ts";
import { median } from "../src/util/median.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";

/** The flags. */
const FLAGS: FlagTable = {
  size: { kind: "int", min: 2, default: 128, help: "image height (px); the width is 3/4 of it" },
  runs: { kind: "int", min: 1, default: 5, help: "timed runs per measurement" },
  weights: { kind: "path", default: "../shared/weights/vgg19-tfjs", help: "VGG19 weights" },
  help: { kind: "boolean", help: "print this table" },
};

/** Entry point. */
async function main(): Promise<void> {
  const values = parseFlagTable(Deno.args, FLAGS) as {
    size: number;
    runs: number;
    weights: string;
    help?: boolean;
  };
  if (values.help) {
    console.log(flagHelp("deno run -A bench/wasm_route.ts [options]", FLAGS));
    return;
  }
  const size = values.size, runs = values.runs;
  await initBackend("wasm");
  const { contentLayer, styleLayers } = PROFILES.offline;
  const specs = layersUpTo([contentLayer, ...styleLayers]);
  const vgg = Vgg19.create(await loadVggWeights(values.weights, specs), specs);
  const h = size, w = Math.round(size * 0.75);

  /** Forward conv FLOPs (2 per multiply-add) of the stack for an h x w image. */
  function convFlops(): number {
    let flops = 0, hh = h, ww = w;
    for (const s of specs) {
      if (s.poolBefore) [hh, ww] = [Math.floor(hh / 2), Math.floor(ww / 2)];
      flops += 2 * hh * ww * 9 * s.cIn * s.cOut;
    }
    return flops;
  }

  /** The median ms of `runs` timed calls of `f`, after one untimed call. */
  async function timeMedian(f: () => Promise<void>): Promise<number> {
    await f();
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await f();
      t.push(performance.now() - t0);
    }
    return median(t);
  }

  const img = tf.randomUniform([1, h, w, 3], 0, 255, "float32", 1) as tf.Tensor4D;
  const fwd = await timeMedian(async () => {
    const f = tf.tidy(() =>
      vgg.features(preprocess(img), [contentLayer, ...styleLayers])[contentLayer]
    );
    await f.data();
    f.dispose();
  });
  const F = convFlops();
  console.log(
    `wasm, ${h}x${w}, offline profile (${specs.length} convs, ${
      (F / 1e9).toFixed(2)
    } GFLOP forward)`,
  );
  console.log(`forward: ${fwd.toFixed(1)} ms = ${(F / fwd / 1e6).toFixed(2)} GFLOP/s`);

  const transposeRoute = {
    ...STOCK_KERNELS,
    conv3x3ReluGradInput: (dy: tf.Tensor4D, y: tf.Tensor4D, kernel: tf.Tensor4D) =>
      tf.tidy(() => {
        const [b, hh, ww] = y.shape;
        return tf.conv2dTranspose(
          tf.mul(dy, tf.step(y)) as tf.Tensor4D,
          kernel,
          [b, hh, ww, kernel.shape[2]],
          1,
          "same",
        );
      }),
  };
  for (
    const [name, set] of [["flipped forward conv", STOCK_KERNELS], [
      "Conv2DBackpropInput",
      transposeRoute,
    ]] as const
  ) {
    useKernels(set);
    const opt = GatysOptimizer.create(vgg, img, img, {
      contentLayer,
      styleLayers,
      alpha: 1e3,
      beta: 1,
      adam: { learningRate: 5, beta1: 0.99, beta2: 0.999, epsilon: 0.1 },
      init: "random",
      seed: 0,
    });
    const step = await timeMedian(async () => void await opt.step());
    opt.dispose();
    // A step does the forward convs plus their input gradients (same FLOPs each): 2F.
    const rate = 2 * F / step / 1e6;
    console.log(
      `step (${name}): ${step.toFixed(1)} ms = ${rate.toFixed(2)} GFLOP/s, ${
        (rate / (F / fwd / 1e6)).toFixed(2)
      }x the forward rate, ${(1000 / step).toFixed(2)} it/s`,
    );
  }
  useKernels(STOCK_KERNELS);
}

if (import.meta.main) await runMain(main);
