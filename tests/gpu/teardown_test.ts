/**
 * The orderly WebGPU release (`releaseWebGpu` in src/tf.ts, issue 16 §2):
 * it destroys the device after the queue is idle, leaves tfjs able to start
 * a fresh webgpu backend, and `runMain` awaits it before exiting.
 * @module
 */
import assert from "node:assert/strict";
import { HAS_WEBGPU, REPO_ROOT } from "../_env.ts";
import { initBackend, releaseWebGpu, tf } from "../../src/tf.ts";
import { asWebGpuBackend } from "../../src/gpu/backend.ts";
import { GPU_TEST } from "./_util.ts";

Deno.test({
  name: "releaseWebGpu: device destroyed after the work; a later initBackend starts afresh",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    await initBackend("webgpu");
    const first = asWebGpuBackend(tf.backend()).device;
    const x = tf.square(tf.tensor1d([1, 2, 3]));
    const pending = x.data(); // work in flight when the release starts
    assert.deepEqual(Array.from(await pending), [1, 4, 9]);
    x.dispose();
    await releaseWebGpu();
    assert.equal((await first.lost).reason, "destroyed");
    await releaseWebGpu(); // a second call finds nothing to release
    await initBackend("webgpu");
    const second = asWebGpuBackend(tf.backend()).device;
    assert.notEqual(second, first);
    const y = tf.add(tf.tensor1d([1, 2]), 1);
    assert.deepEqual(Array.from(await y.data()), [2, 3]);
    y.dispose();
    await releaseWebGpu();
    assert.equal((await second.lost).reason, "destroyed");
  },
});

Deno.test({
  name: "runMain awaits the release before exit: a webgpu script ends with its device destroyed",
  ignore: !HAS_WEBGPU,
  ...GPU_TEST,
  fn: async () => {
    // The child prints when its device is lost; the line can only appear if runMain waited for
    // the release (destroy) before Deno.exit, since nothing else destroys the device.
    const script = `
      import { initBackend, tf } from "${REPO_ROOT}/src/tf.ts";
      import { asWebGpuBackend } from "${REPO_ROOT}/src/gpu/backend.ts";
      import { onBeforeExit, runMain } from "${REPO_ROOT}/src/util/errors.ts";
      await runMain(async () => {
        await initBackend("webgpu");
        const device = asWebGpuBackend(tf.backend()).device;
        onBeforeExit(async () => {
          const info = await device.lost;
          console.log("lost:", info.reason);
        });
        console.log("sum:", (await tf.sum(tf.tensor1d([1, 2, 3])).data())[0]);
      });
    `;
    const file = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      await Deno.writeTextFile(file, script);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", "--config", `${REPO_ROOT}/deno.json`, file],
        cwd: REPO_ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.deepEqual(text.trim().split("\n"), ["sum: 6", "lost: destroyed"]);
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test({
  name: "the WebGPU test process has not loaded libvips (sharp loads only when an image is coded)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // The exit-time abort's core showed exit() in libvips's destructors racing a libvips thread
    // (README, Tests); this process runs every tests/gpu/ file before this one and none codes an
    // image, so libvips must not be mapped. A static `import sharp` anywhere on their import
    // graphs would map it.
    const maps = await Deno.readTextFile("/proc/self/maps");
    assert.equal(maps.includes("libvips"), false, "libvips is mapped in this process");
  },
});
