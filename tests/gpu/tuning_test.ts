/**
 * The tuning cache's logic, without a GPU: its key (adapter identity and
 * kernel-source hash), persistence and invalidation, the fastest-candidate
 * choice (with its probe pruning), the op keys and candidate names, and the auto set's
 * per-shape dispatch; files of the wrong shape and locks of dead processes. The last test
 * opens the auto set on a real adapter (skipped without WebGPU).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { HAS_WEBGPU } from "../_env.ts";
import { GPU_TEST } from "./_util.ts";
import { initBackend, tf } from "../../src/tf.ts";
import { STOCK_KERNELS } from "../../src/ops/stock_kernels.ts";
import type { KernelSet } from "../../src/ops/kernel_set.ts";
import { CUSTOM_KERNEL_DESCRIPTORS } from "../../src/gpu/kernels.ts";
import { defineKernel, variantTiles } from "../../src/gpu/registry.ts";
import { AutoKernels, openAutoKernels, variantOf } from "../../src/gpu/auto.ts";
import {
  type AdapterIdentity,
  caseKey,
  kernelSourceHash,
  opKey,
  parseOpKey,
  pickFastest,
  TuningCache,
  tuningCachePath,
  TuningLock,
} from "../../src/gpu/tuning.ts";

const ID: AdapterIdentity = {
  vendor: "nvidia",
  architecture: "hopper",
  device: "",
  description: "NVIDIA H200",
  driver: "560.35",
};

Deno.test("kernelSourceHash: stable, and changed by any descriptor change", async () => {
  const a = await kernelSourceHash(CUSTOM_KERNEL_DESCRIPTORS);
  assert.equal(a, await kernelSourceHash([...CUSTOM_KERNEL_DESCRIPTORS].reverse()));
  assert.match(a, /^[0-9a-f]{64}$/);
  const [first, ...rest] = CUSTOM_KERNEL_DESCRIPTORS;
  const changed = defineKernel({ ...first, overrides: { ...first.overrides, TILE_K: 32 } });
  assert.notEqual(a, await kernelSourceHash([changed, ...rest]));
});

Deno.test("TuningCache: saved per adapter and source hash, ignored for another", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = tuningCachePath(ID, "a".repeat(64), root);
    assert.ok(path.startsWith(join(root, "tuning")));
    assert.notEqual(path, tuningCachePath({ ...ID, driver: "561" }, "a".repeat(64), root));
    const cache = await TuningCache.open(path, ID, "a".repeat(64));
    assert.equal(cache.size, 0);
    const key = opKey("conv3x3", [1, 56, 56, 128], 256);
    cache.set(key, { choice: "stock", ms: { stock: 1, custom: 2 }, tunedAt: "t" });
    await cache.save();
    const again = await TuningCache.open(path, ID, "a".repeat(64));
    assert.equal(again.get(key)?.choice, "stock");
    assert.deepEqual(again.unseen([key, "gram 1x10x4"]), ["gram 1x10x4"]);
    // The same file read for another kernel source or adapter: nothing applies.
    assert.equal((await TuningCache.open(path, ID, "b".repeat(64))).size, 0);
    assert.equal((await TuningCache.open(path, { ...ID, driver: "x" }, "a".repeat(64))).size, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pickFastest: the fastest that works; all failing is an error", async () => {
  const e = await pickFastest([
    { name: "stock", time: () => Promise.resolve(3) },
    { name: "custom", time: () => Promise.reject(new Error("no")) },
    { name: "custom-tk32", time: () => Promise.resolve(2) },
  ]);
  assert.equal(e.choice, "custom-tk32");
  assert.equal(e.ms.custom, Infinity);
  await assert.rejects(
    pickFastest([{ name: "x", time: () => Promise.reject(new Error("no")) }]),
    /every candidate failed/,
  );
});

Deno.test("pickFastest with prune: only candidates near the best probe are timed", async () => {
  const timed: string[] = [];
  const cand = (name: string, probe: number, time: number) => ({
    name,
    probe: () => Promise.resolve(probe),
    time: () => {
      timed.push(name);
      return Promise.resolve(time);
    },
  });
  const e = await pickFastest([
    cand("stock", 10, 9),
    cand("texture", 4, 5),
    cand("buffer:8x16", 5.5, 4.5),
    cand("buffer:4x8", 7, 1), // would win, but its probe is 1.75x the best: pruned
    { name: "broken", probe: () => Promise.reject(new Error("x")), time: () => Promise.resolve(0) },
  ], { prune: 1.5 });
  assert.deepEqual(timed, ["texture", "buffer:8x16"]);
  assert.equal(e.choice, "buffer:8x16");
  assert.deepEqual(e.pruned, ["stock", "buffer:4x8"]);
  assert.equal(e.ms.stock, 10);
  assert.equal(e.ms.broken, Infinity);
});

Deno.test("opKey and parseOpKey are inverse; foreign keys are null", () => {
  for (
    const [op, input, out] of [
      ["conv3x3", [1, 56, 56, 128], 256],
      ["conv3x3_grad_input", [2, 8, 8, 64], 3],
      ["gram", [1, 4096, 64], undefined],
      ["style_loss", [1, 16, 512], undefined],
      ["maxpool", [1, 64, 64, 64], undefined],
    ] as const
  ) {
    const key = opKey(op, input, out);
    assert.deepEqual(parseOpKey(key), out === undefined ? { op, input } : { op, input, out });
  }
  for (const bad of ["conv3x3 1x4x4x3", "gram 1x4->3", "matmul 2x2", "gram 1x4", "gram"]) {
    assert.equal(parseOpKey(bad), null, bad);
  }
});

Deno.test("variantOf: every candidate name a route and tiles, unknown names null", () => {
  assert.equal(variantOf("stock"), "stock");
  assert.deepEqual(variantOf("texture"), { route: "texture" });
  assert.deepEqual(variantOf("buffer"), { route: "buffer" });
  assert.deepEqual(variantOf("buffer:16x8"), { route: "buffer", tiles: { WG_Y: 16, TILE_K: 8 } });
  assert.equal(variantOf("custom"), null);
  assert.equal(variantOf("buffer:16"), null);
});

Deno.test("AutoKernels sends each shape to its cached choice, the default where none", async () => {
  await initBackend("cpu");
  const root = await Deno.makeTempDir();
  try {
    const cache = await TuningCache.open(join(root, "t.json"), ID, "c".repeat(64));
    const calls: string[] = [];
    const custom: KernelSet = {
      ...STOCK_KERNELS,
      name: "custom",
      gram: (f) => {
        const t = variantTiles();
        calls.push(`custom ${f.shape} ${t ? `${t.WG_Y}x${t.TILE_K}` : "default"}`);
        return STOCK_KERNELS.gram(f);
      },
    };
    const small = tf.ones([1, 4, 8]) as tf.Tensor3D;
    const mid = tf.ones([1, 8, 8]) as tf.Tensor3D;
    const big = tf.ones([1, 16, 8]) as tf.Tensor3D;
    cache.set(caseKey("gram", [small])!, { choice: "stock", ms: {}, tunedAt: "t" });
    cache.set(caseKey("gram", [mid])!, { choice: "buffer:4x32", ms: {}, tunedAt: "t" });
    const auto = new AutoKernels(cache, custom);
    assert.equal(auto.label, "auto");
    assert.equal(auto.name, "custom");
    tf.dispose([auto.gram(small), auto.gram(mid), auto.gram(big)]);
    assert.deepEqual(calls, ["custom 1,8,8 4x32", "custom 1,16,8 default"]);
    // Forced tiles last only for the call.
    assert.equal(variantTiles(), null);
    assert.deepEqual(auto.untuned, ["gram 1x16x8"]);
    assert.equal(
      caseKey("conv3x3_grad_input", [
        tf.zeros([1, 4, 4, 64]),
        tf.zeros([1, 4, 4, 64]),
        tf.zeros([3, 3, 3, 64]),
      ]),
      "conv3x3_grad_input 1x4x4x64->3",
    );
    tf.dispose([small, mid, big]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("TuningLock: one holder at a time; a stale lock is taken over", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, "sub", "t.json.lock");
    const a = await TuningLock.acquire(path);
    assert.ok(a);
    assert.equal(await TuningLock.acquire(path), null);
    await a.release();
    const b = await TuningLock.acquire(path);
    assert.ok(b);
    // A lock left by a process that died long ago.
    const old = new Date(Date.now() - TuningLock.STALE_MS - 1000);
    await Deno.utime(path, old, old);
    const c = await TuningLock.acquire(path);
    assert.ok(c);
    await c.release();
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("TuningCache.save merges with what another process saved", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, "t.json");
    const one = await TuningCache.open(path, ID, "d".repeat(64));
    const two = await TuningCache.open(path, ID, "d".repeat(64));
    one.set("gram 1x4x8", { choice: "stock", ms: {}, tunedAt: "t" });
    two.set("gram 1x8x8", { choice: "buffer", ms: {}, tunedAt: "t" });
    await one.save();
    await two.save();
    const read = await TuningCache.open(path, ID, "d".repeat(64));
    assert.deepEqual(read.choices().map(([k]) => k), ["gram 1x4x8", "gram 1x8x8"]);
    assert.equal(await one.reload(), 1);
    assert.equal(one.size, 2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("tunePending while another process measures: defaults, one message, its choices later", async () => {
  await initBackend("cpu");
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, "t.json");
    const cache = await TuningCache.open(path, ID, "e".repeat(64));
    const lines: string[] = [];
    const auto = new AutoKernels(cache, { ...STOCK_KERNELS, name: "custom" }, (l) => lines.push(l));
    const f = tf.ones([1, 4, 8]) as tf.Tensor3D;
    const other = await TuningLock.acquire(path + ".lock");
    assert.ok(other);
    tf.dispose(auto.gram(f));
    await auto.tunePending(); // measuring here would need a GPU: it must not start
    await auto.tunePending();
    assert.deepEqual(auto.untuned, ["gram 1x4x8"]);
    assert.equal(lines.filter((l) => l.includes("another process is measuring")).length, 1);
    assert.equal(lines.filter((l) => l.includes("measuring 1 op shape")).length, 0);
    // The other process saves its choice and lets go: the next step takes it, measuring nothing.
    const theirs = await TuningCache.open(path, ID, "e".repeat(64));
    theirs.set("gram 1x4x8", { choice: "stock", ms: { stock: 1 }, tunedAt: "t" });
    await theirs.save();
    await other.release();
    const before = lines.length;
    await auto.tunePending();
    assert.deepEqual(auto.untuned, []);
    assert.equal(lines.length, before);
    assert.equal(auto.cache.get("gram 1x4x8")?.choice, "stock");
    f.dispose();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** A tuning file for ID and `hash` with `entries` (any JSON). */
const fileOf = (hash: string, entries: unknown) =>
  JSON.stringify({ version: 1, adapter: ID, sourceHash: hash, entries });

Deno.test("TuningCache: valid JSON of the wrong shape is ignored like a truncated file, then replaced", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, "t.json");
    const hash = "f".repeat(64);
    const key = "gram 1x4x8";
    const cases: Array<[string, RegExp]> = [
      ["null", /not a JSON object/],
      ['{"version": 1, "adapter"', /not valid JSON/],
      [fileOf(hash, null), /'entries' is not an object/],
      [fileOf(hash, [1]), /'entries' is not an object/],
      [fileOf(hash, { [key]: null }), /entry 'gram 1x4x8' is not an object/],
      [fileOf(hash, { [key]: { ms: {} } }), /has no choice/],
      [fileOf(hash, { [key]: { choice: "stock", ms: null } }), /has no ms table/],
    ];
    for (const [text, why] of cases) {
      await Deno.writeTextFile(path, text);
      const cache = await TuningCache.open(path, ID, hash);
      assert.equal(cache.size, 0, text);
      assert.match(cache.invalid ?? "", why, text);
      assert.equal(await cache.reload(), 0);
    }
    // A choice the adapter has no candidate for (`accept` says no): the whole file is void.
    const accept = (_k: string, e: { choice: string }) => variantOf(e.choice) !== null;
    await Deno.writeTextFile(
      path,
      fileOf(hash, {
        [key]: { choice: "stock", ms: {}, tunedAt: "t" },
        "gram 1x8x8": { choice: "buffer:nope", ms: {}, tunedAt: "t" },
      }),
    );
    const cache = await TuningCache.open(path, ID, hash, accept);
    assert.equal(cache.size, 0);
    assert.match(cache.invalid ?? "", /'buffer:nope' is not a candidate here/);
    // The next save writes a valid file over it.
    cache.set(key, { choice: "stock", ms: { stock: 1 }, tunedAt: "t" });
    await cache.save();
    const again = await TuningCache.open(path, ID, hash, accept);
    assert.equal(again.invalid, null);
    assert.deepEqual(again.choices().map(([k]) => k), [key]);
    // Another key's file is not "invalid": it just does not apply.
    await Deno.writeTextFile(path, fileOf("0".repeat(64), null));
    assert.equal((await TuningCache.open(path, ID, hash)).invalid, null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("TuningLock: a fresh lock of a dead process on this host is taken over; a live one is not", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, "t.json.lock");
    const dead = new Deno.Command("true").spawn();
    await dead.status;
    const write = (pid: number, host = Deno.hostname()) =>
      Deno.writeTextFile(path, JSON.stringify({ pid, host, since: new Date().toISOString() }));
    // A live process (pid 1) on this host, and a dead one's on another host: kept.
    await write(1);
    assert.equal(await TuningLock.acquire(path), null);
    await write(dead.pid, "elsewhere");
    assert.equal(await TuningLock.acquire(path), null);
    // A dead process's on this host: taken over at once.
    await write(dead.pid);
    const lock = await TuningLock.acquire(path);
    assert.ok(lock);
    assert.equal(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
    await lock.release();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name:
    "openAutoKernels: a cached choice like buffer:999x3 is ignored with one line and measured again",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    await initBackend("webgpu");
    const root = await Deno.makeTempDir();
    try {
      const probe = await openAutoKernels({ log: () => {}, cacheRoot: root });
      const path = probe.cache.path;
      const { adapter, sourceHash } = probe.cache;
      for (const choice of ["buffer:999x3", "texture:1"]) {
        await Deno.mkdir(dirname(path), { recursive: true });
        await Deno.writeTextFile(
          path,
          JSON.stringify({
            version: 1,
            adapter,
            sourceHash,
            entries: { "conv3x3 1x8x8x16->16": { choice, ms: {}, tunedAt: "t" } },
          }),
        );
        const lines: string[] = [];
        const auto = await openAutoKernels({ log: (l) => lines.push(l), cacheRoot: root });
        assert.equal(auto.cache.size, 0);
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(
          lines[0],
          /kernels auto: ignoring the tuning cache .* is not a candidate here/,
        );
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
