import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../_env.ts";
import { type ConvLayerSpec, VGG19_CONV_LAYERS } from "../../src/vgg/layers.ts";
import { loadHdf5Weights, loadTfjsWeights } from "../../src/vgg/weights.ts";
import { convertHdf5ToTfjs } from "../../src/vgg/convert.ts";
import { UserError } from "../../src/util/errors.ts";

/** A Keras-layout HDF5 file of `specs` with deterministic values, written with h5wasm. */
async function writeH5(path: string, specs: readonly ConvLayerSpec[]): Promise<void> {
  const h5wasm = (await import("h5wasm/node")).default;
  await h5wasm.ready;
  const f = new h5wasm.File(path, "w");
  f.create_attribute("layer_names", specs.map((s) => s.name));
  for (const s of specs) {
    const g = f.create_group(s.name);
    const names = [`${s.name}/kernel:0`, `${s.name}/bias:0`];
    g.create_attribute("weight_names", names);
    g.create_group(s.name);
    f.create_dataset({
      name: `${s.name}/${names[0]}`,
      data: Float32Array.from({ length: 9 * s.cIn * s.cOut }, (_, i) => Math.sin(i + s.cOut)),
      shape: [3, 3, s.cIn, s.cOut],
      dtype: "<f4",
    });
    f.create_dataset({
      name: `${s.name}/${names[1]}`,
      data: Float32Array.from({ length: s.cOut }, (_, i) => i / 7),
      shape: [s.cOut],
      dtype: "<f4",
    });
  }
  f.close();
}

Deno.test("--convert writes a tfjs directory that reads back bit-identical to the HDF5 source", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const specs = VGG19_CONV_LAYERS.slice(0, 3);
    await writeH5(join(dir, "w.h5"), specs);
    const out = join(dir, "tfjs");
    const r = await convertHdf5ToTfjs(join(dir, "w.h5"), out);
    assert.deepEqual(r.layers, ["block1_conv1", "block1_conv2", "block2_conv1"]);
    const a = await loadHdf5Weights(join(dir, "w.h5"), specs);
    const b = await loadTfjsWeights(out, specs);
    assert.equal(b.identity, a.identity);
    for (const s of specs) {
      assert.deepEqual(b.layers.get(s.name)!.kernel, a.layers.get(s.name)!.kernel);
      assert.deepEqual(b.layers.get(s.name)!.bias, a.layers.get(s.name)!.bias);
    }
    const model = JSON.parse(await Deno.readTextFile(join(out, "model.json")));
    assert.equal(model.format, "layers-model");
    assert.deepEqual(
      model.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name),
      ["Conv2D", "Conv2D", "MaxPooling2D", "Conv2D"],
    );
    // Nothing but the directory is left beside it (no temp directory).
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left.sort(), ["tfjs", "w.h5"]);
    // A second conversion into the now non-empty directory is refused.
    await assert.rejects(
      () => convertHdf5ToTfjs(join(dir, "w.h5"), out),
      (e: Error) => e instanceof UserError && /is not empty/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task weights --convert: CLI, exit codes and messages", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeH5(join(dir, "w.h5"), VGG19_CONV_LAYERS.slice(0, 1));
    const run = async (...args: string[]) => {
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", join(REPO_ROOT, "src/vgg/download.ts"), ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
    };
    const ok = await run("--convert", join(dir, "w.h5"), join(dir, "t"));
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /1 layer\(s\) block1_conv1..block1_conv1/);
    const missing = await run("--convert", join(dir, "nope.h5"), join(dir, "u"));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^error: --convert: .*nope.h5 does not exist/);
    const one = await run("--convert", join(dir, "w.h5"));
    assert.equal(one.code, 2);
    assert.match(one.err, /expected two arguments/);
    const bogus = await run("--bogus");
    assert.equal(bogus.code, 2);
    assert.match(bogus.err, /^error: .*--bogus/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
