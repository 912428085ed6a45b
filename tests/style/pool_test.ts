/**
 * The stylization pool: the same pixels as in-process stylizeBatch with 1
 * and 2 workers (exactly: wasm is deterministic and each task runs whole on
 * one worker), a killed or crashed worker's job redone with every result
 * delivered once, no job started twice otherwise, job errors surfacing with
 * their class and job id, and a clean shutdown (Deno's sanitizers).
 */
import assert from "node:assert/strict";
import { SHARED_WEIGHTS, sharedPath } from "../_env.ts";
import { initBackend } from "../../src/tf.ts";
import { loadImage, type RgbImage } from "../../src/images/io.ts";
import { layersUpTo } from "../../src/vgg/layers.ts";
import { loadVggWeights } from "../../src/vgg/weights.ts";
import { Vgg19 } from "../../src/vgg/model.ts";
import { stylizeBatch } from "../../src/style/run.ts";
import { NonFiniteLossError } from "../../src/style/engine.ts";
import { DEFAULT_ADAM, PROFILES, resolveWeights } from "../../src/style/options.ts";
import {
  StylePool,
  type StylePoolOptions,
  type StyleResult,
  type StyleTask,
} from "../../src/style/pool.ts";
import { CRASH_ENV, JobFailedError, WorkerDiedError } from "../../src/util/pool.ts";
import { UserError } from "../../src/util/errors.ts";

const SIZE = 24;
const { contentLayer, styleLayers, presets } = PROFILES.offline;
const settings = { ...resolveWeights(presets.medium), adam: { ...DEFAULT_ADAM } };
const square = { exact: { width: SIZE, height: SIZE } };
const contents: RgbImage[] = [];
for (const p of ["crab/image_0001.jpg", "butterfly/image_0001.jpg", "scorpion/image_0001.jpg"]) {
  contents.push(await loadImage(sharedPath(`data/caltech101/${p}`), square));
}
const style = await loadImage(sharedPath("data/styles/composition_vii.jpg"), { longSide: SIZE });

const base: StylePoolOptions = {
  workers: 1,
  backend: "wasm",
  kernels: "stock",
  weights: SHARED_WEIGHTS,
  contentLayer,
  styleLayers,
  style,
  log: () => {},
};

/** Three tasks: one image from the content, a batch of two, one from seeded noise. */
function tasks(iterations = 3): StyleTask[] {
  return [
    { id: "a", contents: [contents[0]], settings, iterations, init: "content", seed: 0 },
    {
      id: "b",
      contents: [contents[1], contents[2]],
      settings,
      iterations,
      init: "content",
      seed: 0,
    },
    { id: "c", contents: [contents[2]], settings, iterations, init: "random", seed: 7 },
  ];
}

type Outcome = Pick<StyleResult, "images" | "histories" | "bestSteps">;

/** Run `list` through `pool`; fails on a result delivered twice. */
async function collect(pool: StylePool, list: StyleTask[]): Promise<Map<string, Outcome>> {
  const got = new Map<string, Outcome>();
  await pool.run(list, (r) => {
    assert.ok(!got.has(r.id), `result ${r.id} delivered twice`);
    got.set(r.id, r);
  });
  return got;
}

let reference: Map<string, Outcome> | null = null;
/** The same tasks with stylizeBatch in this process, on wasm. */
async function inProcess(): Promise<Map<string, Outcome>> {
  if (reference) return reference;
  await initBackend("wasm");
  const specs = layersUpTo([contentLayer, ...styleLayers]);
  const vgg = Vgg19.create(await loadVggWeights(SHARED_WEIGHTS, specs), specs);
  reference = new Map();
  try {
    for (const t of tasks()) {
      reference.set(
        t.id,
        await stylizeBatch(vgg, t.contents, style, {
          ...settings,
          contentLayer,
          styleLayers,
          init: t.init as "content" | "random",
          seed: t.seed,
        }, { iterations: t.iterations }),
      );
    }
  } finally {
    vgg.dispose();
  }
  return reference;
}

function assertSame(got: Map<string, Outcome>, want: Map<string, Outcome>, what: string) {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), what);
  for (const [id, w] of want) {
    const g = got.get(id)!;
    assert.equal(g.images.length, w.images.length);
    g.images.forEach((im, i) => {
      assert.equal(im.width, w.images[i].width);
      assert.equal(im.height, w.images[i].height);
      // Bit-identical: same backend, same kernels, one task on one worker.
      assert.deepEqual(im.data, w.images[i].data, `${what}: task ${id} image ${i} pixels`);
    });
    assert.deepEqual(g.histories, w.histories, `${what}: task ${id} histories`);
    assert.deepEqual(g.bestSteps, w.bestSteps, `${what}: task ${id} best steps`);
  }
}

Deno.test("1 and 2 workers give exactly the in-process pixels, histories and best steps", async () => {
  const want = await inProcess();
  for (const workers of [1, 2]) {
    const starts: string[] = [];
    const ticks: string[] = [];
    const pool = await StylePool.start({
      ...base,
      workers,
      onJobStart: (id, _w, attempt) => starts.push(`${id}#${attempt}`),
    });
    try {
      assert.equal(pool.workers, workers);
      assert.equal(pool.backend, "wasm");
      const got = new Map<string, Outcome>();
      await pool.run(tasks(), (r) => {
        assert.ok(!got.has(r.id));
        got.set(r.id, r);
      }, { onIteration: (t) => void ticks.push(`${t.id}:${t.iteration}`) });
      assertSame(got, want, `${workers} worker(s)`);
      assert.deepEqual(starts.sort(), ["a#0", "b#0", "c#0"]); // no job ran twice
      assert.equal(ticks.length, 3 * 4); // iterations 0..3 of each task, once each
      assert.equal(new Set(ticks).size, ticks.length);
      assert.equal(pool.stats.jobsStarted, 3);
      assert.equal(pool.stats.jobsRedone, 0);
    } finally {
      pool.close();
    }
  }
});

Deno.test("a worker terminated mid-job: its job is redone, every result arrives once", async () => {
  const want = await inProcess();
  const starts = new Map<string, number>();
  let killed: string | null = null;
  const pool = await StylePool.start({
    ...base,
    workers: 2,
    onJobStart: (id) => starts.set(id, (starts.get(id) ?? 0) + 1),
  });
  try {
    const got = new Map<string, Outcome>();
    const ticks: string[] = [];
    await pool.run(tasks(), (r) => {
      assert.ok(!got.has(r.id), `result ${r.id} delivered twice`);
      got.set(r.id, r);
    }, {
      onIteration: (t) => {
        ticks.push(`${t.id}:${t.iteration}`);
        if (killed === null && t.id === "b" && t.iteration === 1) {
          killed = t.id;
          assert.ok(pool.terminateWorker(t.worker));
        }
      },
    });
    assert.equal(killed, "b");
    assertSame(got, want, "after a kill");
    assert.deepEqual(Object.fromEntries(starts), { a: 1, b: 2, c: 1 });
    assert.equal(pool.stats.jobsRedone, 1);
    assert.equal(pool.stats.workerDeaths, 1);
    // Each iteration is reported once, even for the redone task.
    assert.equal(new Set(ticks).size, ticks.length);
    assert.equal(ticks.length, 3 * 4);
  } finally {
    pool.close();
  }
});

Deno.test("a worker dying of an uncaught error holding a job: redone on a replacement", async () => {
  const want = await inProcess();
  Deno.env.set(CRASH_ENV, "c"); // the worker crashes at job c's first progress, first attempt only
  const starts: string[] = [];
  let pool: StylePool | null = null;
  try {
    pool = await StylePool.start({
      ...base,
      workers: 2,
      onJobStart: (id, _w, attempt) => starts.push(`${id}#${attempt}`),
    });
    const got = await collect(pool, tasks());
    assertSame(got, want, "after a crash");
    assert.deepEqual(starts.sort(), ["a#0", "b#0", "c#0", "c#1"]);
    assert.equal(pool.stats.workerDeaths, 1);
    assert.equal(pool.stats.workersStarted, 3);
  } finally {
    Deno.env.delete(CRASH_ENV);
    pool?.close();
  }
});

Deno.test("retries are bounded: a job whose worker keeps dying fails the run naming it", async () => {
  // Every attempt's worker is killed right after it gets the job.
  const pool: StylePool = await StylePool.start({
    ...base,
    workers: 1,
    maxRetries: 1,
    onJobStart: (_id, w) => void setTimeout(() => pool.terminateWorker(w), 0),
  });
  try {
    const err = await pool.run(tasks(1).slice(0, 1), () => {}).then(() => null, (e) => e);
    assert.ok(err instanceof WorkerDiedError, String(err));
    assert.equal(err.jobId, "a");
    assert.match(err.message, /^job a: its worker died 2 time\(s\)/);
    assert.equal(pool.stats.jobsStarted, 2);
  } finally {
    pool.close();
  }
});

Deno.test("a job's own error ends the run with its class and id, is not retried, and the pool recovers", async () => {
  const starts: string[] = [];
  const pool = await StylePool.start({
    ...base,
    workers: 2,
    onJobStart: (id) => starts.push(id),
  });
  try {
    const bad: StyleTask = {
      ...tasks()[0],
      id: "bad",
      settings: { ...resolveWeights(1e300), adam: { ...DEFAULT_ADAM } },
    };
    const e1 = await collect(pool, [bad]).then(() => null, (e) => e);
    assert.ok(e1 instanceof NonFiniteLossError, String(e1));
    assert.match(e1.message, /^job bad: loss is not finite at iteration 0/);
    assert.deepEqual(starts, ["bad"]); // not retried

    const mixed: StyleTask = {
      ...tasks()[0],
      id: "mixed",
      contents: [contents[0], { data: new Float32Array(8 * 8 * 3), width: 8, height: 8 }],
    };
    const e2 = await collect(pool, [mixed]).then(() => null, (e) => e);
    assert.ok(e2 instanceof JobFailedError, String(e2));
    assert.equal(e2.jobId, "mixed");
    assert.equal(e2.remote.name, "Error");
    assert.equal(e2.message, "job mixed: a batch needs images of one size");

    // The pool still works after failed runs.
    const got = await collect(pool, tasks(1).slice(0, 2));
    assert.deepEqual([...got.keys()].sort(), ["a", "b"]);
    await assert.rejects(
      pool.run([{ ...tasks()[0] }, { ...tasks()[0] }], () => {}),
      /duplicate job id 'a'/,
    );
  } finally {
    pool.close();
  }
});

Deno.test("a worker's init error comes back as a UserError; close is final and idempotent", async () => {
  await assert.rejects(
    StylePool.start({ ...base, workers: 2, weights: "/nonexistent/weights" }),
    (e: unknown) => e instanceof UserError && /nonexistent/.test(e.message),
  );
  await assert.rejects(
    StylePool.start({ ...base, kernels: "bogus" }),
    (e: unknown) =>
      e instanceof UserError && /--kernels: unknown kernel set 'bogus'/.test(e.message),
  );
  const pool = await StylePool.start(base);
  pool.close();
  pool.close();
  await assert.rejects(pool.run(tasks(), () => {}), /closed/);
});
