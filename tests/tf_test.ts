import assert from "node:assert/strict";
import { HAS_WEBGPU } from "./_env.ts";
import { initBackend, probeAdapter, tf } from "../src/tf.ts";
import { UserError } from "../src/util/errors.ts";

Deno.test("--backend webgpu without an adapter is a clear error naming the alternative", async () => {
  const desc = Object.getOwnPropertyDescriptor(Navigator.prototype, "gpu")!;
  Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined, configurable: true });
  try {
    await assert.rejects(() => initBackend("webgpu"), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /--backend webgpu: no WebGPU adapter found/);
      assert.match(e.message, /mesa-vulkan-drivers/);
      assert.match(e.message, /--backend wasm/);
      return true;
    });
    const auto = await initBackend("auto");
    assert.equal(auto.name, "wasm");
    assert.match(auto.line, /no WebGPU adapter found.*wasm/);
  } finally {
    Object.defineProperty(Navigator.prototype, "gpu", desc);
  }
});

Deno.test({
  name: "auto picks webgpu on a hardware adapter and wasm on a software fallback, saying why",
  ignore: !HAS_WEBGPU,
  fn: async () => {
    const probe = (await probeAdapter())!;
    const info = await initBackend("auto");
    if (probe.fallback) {
      assert.equal(info.name, "wasm");
      assert.match(info.line, /software fallback \(.+\).*--backend webgpu/);
    } else {
      assert.equal(info.name, "webgpu");
      assert.equal(info.adapter, probe.description);
      assert.match(info.line, /adapter: /);
    }
    assert.equal(tf.getBackend(), info.name);
    const explicit = await initBackend("webgpu");
    assert.equal(explicit.adapter, probe.description);
    assert.match(explicit.line, /adapter: .+\[--backend webgpu\]/);
  },
});

Deno.test("wasm: a full heap is a clear error before anything is written, not a tensor at address 0", async () => {
  await initBackend("wasm");
  const wasm = (tf.backend() as unknown as {
    wasm: { _malloc(n: number): number; _free(p: number): void; HEAPU8: Uint8Array };
  }).wasm;
  // Fill the 4 GiB wasm32 heap to ~3.9 GiB with one untouched block (no resident memory).
  const ballast = wasm._malloc(3900 * 2 ** 20);
  assert.ok(ballast > 0, "the ballast itself must fit");
  try {
    const before = tf.memory().numTensors;
    assert.throws(() => tf.zeros([64 * 2 ** 20]), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(
        e.message,
        /^wasm heap exhausted: could not allocate 256 MiB .*--tile.*--backend webgpu$/,
      );
      return true;
    });
    assert.equal(tf.memory().numTensors, before);
  } finally {
    wasm._free(ballast);
  }
  // With the room back, the same allocation works and holds its values.
  const z = tf.fill([64 * 2 ** 20], 2);
  const ends = tf.tidy(() => tf.stack([tf.min(z), tf.max(z)]));
  assert.deepEqual(Array.from(await ends.data()), [2, 2]);
  ends.dispose();
  z.dispose();
});
