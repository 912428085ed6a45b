/**
 * The stylization worker of {@link StylePool}: one Deno module worker with
 * its own tfjs backend, kernel set and VGG19. At init it loads the weights,
 * sets up the backend (`initBackend`, so the wasm binaries are found the same
 * way as on the main thread: next to the package in node_modules) with one
 * tfjs-wasm thread, and selects the kernels; then it runs {@link stylizeBatch}
 * for each task on the pixels sent by the main thread and sends back the
 * result pixels (transferred), the loss histories and the best steps. No
 * image decoding here: sharp stays on the main thread.
 *
 * Not meant to be imported; started by `src/style/pool.ts`.
 *
 * @example
 * ```ts
 * const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
 * w.postMessage({ type: "init", index: 0, init: { backend: "wasm", kernels: "auto",
 *   weights: "../shared/weights/vgg19-tfjs", contentLayer: "block3_conv4",
 *   styleLayers: ["block1_conv1"], style: null } });
 * ```
 * @module
 */
import { getThreadsCount, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { initBackend, tf } from "../tf.ts";
import { selectKernelsByName } from "../gpu/select.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { loadStylizeWeights } from "../vgg/random_weights.ts";
import { Vgg19 } from "../vgg/model.ts";
import type { RgbImage } from "../images/io.ts";
import type { LossValues } from "./engine.ts";
import type { ScaleInfo } from "./run.ts";
import { serveWorker } from "../util/pool.ts";
import { stylizeBatch, stylizeScales } from "./run.ts";
import type {
  StyleJob,
  StyleJobResult,
  StyleProgress,
  StyleWorkerInfo,
  StyleWorkerInit,
} from "./pool.ts";

let vgg: Vgg19 | null = null;
let setup: StyleWorkerInit | null = null;

serveWorker<StyleWorkerInit, StyleJob, StyleJobResult, StyleWorkerInfo, StyleProgress>({
  async init(init) {
    const specs = layersUpTo([init.contentLayer, ...init.styleLayers], "--style-layers");
    const weights = await loadStylizeWeights(init.weights, specs);
    // One core per worker: the pool supplies the parallelism.
    setThreadsCount(1);
    const info = await initBackend(init.backend);
    const kernels = await selectKernelsByName(init.kernels, info.name);
    vgg = Vgg19.create(weights, specs, init.pooling ?? "max");
    setup = init;
    return {
      backend: info.name,
      line: info.line,
      kernels,
      wasmThreads: info.name === "wasm" ? getThreadsCount() : null,
    };
  },

  async run(job, ctx) {
    const t0 = performance.now();
    const style = job.style ?? setup!.style;
    if (!style && !job.scales) {
      throw new Error("no style image: give StylePoolOptions.style or StyleTask.style");
    }
    const init = job.init === "content" || job.init === "random"
      ? job.init
      : tf.tensor4d(job.init.data, [1, job.init.height, job.init.width, 3]);
    let seq = 0;
    try {
      const config = {
        ...job.settings,
        contentLayer: setup!.contentLayer,
        styleLayers: setup!.styleLayers,
        init,
        seed: job.seed,
      };
      const opts = {
        iterations: job.iterations,
        shouldStop: setup!.stop
          ? ((flag) => () => Atomics.load(flag, 0) !== 0)(new Int32Array(setup!.stop))
          : undefined,
        onIteration: (iteration: number, losses: LossValues[], scale?: ScaleInfo) =>
          ctx.progress({
            kind: "tick",
            iteration,
            seq: seq++,
            ...(scale ? { scale } : {}),
            losses,
            seconds: (performance.now() - t0) / 1000,
          }),
        snapshot: job.snapshotEvery
          ? {
            every: job.snapshotEvery,
            save: (iteration: number, images: RgbImage[]) => {
              ctx.progress(
                { kind: "snapshot", iteration, images },
                images.map((im) => im.data.buffer as ArrayBuffer),
              );
              return Promise.resolve();
            },
          }
          : undefined,
      };
      const r = job.scales
        ? await stylizeScales(vgg!, job.scales, config, opts)
        : await stylizeBatch(vgg!, job.contents, style!, config, opts);
      return {
        result: {
          images: r.images,
          histories: r.histories,
          bestSteps: r.bestSteps,
          seconds: (performance.now() - t0) / 1000,
          stoppedAt: r.stoppedAt ?? null,
        },
        transfer: r.images.map((im) => im.data.buffer as ArrayBuffer),
      };
    } finally {
      if (typeof init !== "string") init.dispose();
    }
  },
});
