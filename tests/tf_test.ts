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
