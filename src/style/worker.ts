/**
 * The stylization worker of {@link StylePool}: one Deno module worker with
 * its own tfjs backend, kernel set and VGG19. At init it loads the weights,
 * sets up the backend (`initBackend`, so the wasm binaries are found the same
 * way as on the main thread: next to the package in node_modules) with one
 * tfjs-wasm thread, and selects the kernels; then it runs each task
 * ({@link runStyleJob}, as in-process runs do) on the pixels sent by the main thread and sends back the
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
import { initBackend } from "../tf.ts";
import { selectKernelsByName } from "../gpu/select.ts";
import { layersUpTo } from "../vgg/layers.ts";
import { loadStylizeWeights } from "../vgg/random_weights.ts";
import { Vgg19 } from "../vgg/model.ts";
import { serveWorker } from "../util/pool.ts";
import { runStyleJob, type StyleJobSetup } from "./job.ts";
import type {
  StyleJob,
  StyleJobResult,
  StyleProgress,
  StyleWorkerInfo,
  StyleWorkerInit,
} from "./pool.ts";

let setup: StyleJobSetup | null = null;

serveWorker<StyleWorkerInit, StyleJob, StyleJobResult, StyleWorkerInfo, StyleProgress>({
  async init(init) {
    const specs = layersUpTo([init.contentLayer, ...init.styleLayers], "--style-layers");
    const weights = await loadStylizeWeights(init.weights, specs);
    // One core per worker: the pool supplies the parallelism.
    setThreadsCount(1);
    const info = await initBackend(init.backend);
    const kernels = await selectKernelsByName(init.kernels, info.name);
    const stop = init.stop ? new Int32Array(init.stop) : null;
    setup = {
      vgg: Vgg19.create(weights, specs, init.pooling ?? "max"),
      contentLayer: init.contentLayer,
      styleLayers: init.styleLayers,
      style: init.style,
      ...(stop ? { shouldStop: () => Atomics.load(stop, 0) !== 0 } : {}),
    };
    return {
      backend: info.name,
      line: info.line,
      kernels,
      wasmThreads: info.name === "wasm" ? getThreadsCount() : null,
    };
  },

  async run(job, ctx) {
    const result = await runStyleJob(setup!, job, (p, transfer) => ctx.progress(p, transfer));
    return { result, transfer: result.images.map((im) => im.data.buffer as ArrayBuffer) };
  },
});
