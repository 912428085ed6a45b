import assert from "node:assert/strict";
import { join } from "node:path";
import { SHARED_WEIGHTS } from "../_env.ts";
import { layersUpTo, VGG19_CONV_LAYERS } from "../../src/vgg/layers.ts";
import { loadHdf5Weights, loadTfjsWeights, loadVggWeights } from "../../src/vgg/weights.ts";
import { UserError } from "../../src/util/errors.ts";

Deno.test("tfjs loader reads blocks 1-3 of the shared weights with Keras shapes", async () => {
  const specs = layersUpTo(["block3_conv4"]);
  const w = await loadVggWeights(SHARED_WEIGHTS, specs);
  assert.equal(w.format, "tfjs");
  assert.equal(w.layers.size, 8);
  const k = w.layers.get("block3_conv4")!;
  assert.equal(k.kernel.length, 3 * 3 * 256 * 256);
  assert.equal(k.bias.length, 256);
  // block1_conv1 is group1's first weight: compare with the raw shard bytes.
  const raw = new Float32Array(
    (await Deno.readFile(join(SHARED_WEIGHTS, "group1-shard1of1"))).buffer,
  );
  assert.deepEqual(
    Array.from(w.layers.get("block1_conv1")!.kernel.slice(0, 5)),
    Array.from(raw.slice(0, 5)),
  );
  assert.equal(w.layers.get("block1_conv1")!.bias[0], raw[3 * 3 * 3 * 64]);
  assert.match(w.identity, /^[0-9a-f]{64}$/);
});

Deno.test("a layer whose shards are missing is an error naming the layer and the file", async () => {
  await assert.rejects(
    () => loadTfjsWeights(SHARED_WEIGHTS, layersUpTo(["block4_conv1"])),
    (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /block4_conv1/);
      assert.match(e.message, /group9-shard1of2/);
      return true;
    },
  );
});

Deno.test("HDF5 loader reads a Keras-layout file written by the test", async () => {
  const h5wasm = (await import("h5wasm/node")).default;
  await h5wasm.ready;
  const dir = await Deno.makeTempDir();
  const path = join(dir, "tiny.h5");
  const specs = VGG19_CONV_LAYERS.slice(0, 2);
  const f = new h5wasm.File(path, "w");
  f.create_attribute("layer_names", specs.map((s) => s.name));
  for (const s of specs) {
    const g = f.create_group(s.name);
    const names = [`${s.name}/kernel:0`, `${s.name}/bias:0`];
    g.create_attribute("weight_names", names);
    const kernel = Float32Array.from({ length: 9 * s.cIn * s.cOut }, (_, i) => i * 1e-3);
    const bias = Float32Array.from({ length: s.cOut }, (_, i) => -i);
    g.create_group(s.name);
    f.create_dataset({
      name: `${s.name}/${names[0]}`,
      data: kernel,
      shape: [3, 3, s.cIn, s.cOut],
      dtype: "<f4",
    });
    f.create_dataset({ name: `${s.name}/${names[1]}`, data: bias, shape: [s.cOut], dtype: "<f4" });
  }
  f.close();
  const w = await loadHdf5Weights(path, specs);
  assert.equal(w.format, "hdf5");
  const k = w.layers.get("block1_conv2")!;
  assert.equal(k.kernel.length, 9 * 64 * 64);
  assert.ok(Math.abs(k.kernel[10] - 0.01) < 1e-7);
  assert.equal(k.bias[5], -5);
  await assert.rejects(
    () => loadHdf5Weights(path, VGG19_CONV_LAYERS.slice(0, 3)),
    /block2_conv1 is missing/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mismatched shapes and unreadable files are clear errors", async () => {
  const dir = await Deno.makeTempDir();
  const model = JSON.parse(await Deno.readTextFile(join(SHARED_WEIGHTS, "model.json")));
  model.weightsManifest[0].weights[0].shape = [3, 3, 3, 32];
  await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(model));
  await assert.rejects(
    () => loadVggWeights(dir, layersUpTo(["block1_conv1"])),
    /block1_conv1 kernel has shape \[3,3,3,32\]/,
  );
  await Deno.writeTextFile(join(dir, "model.json"), "{not json");
  await assert.rejects(
    () => loadVggWeights(dir, layersUpTo(["block1_conv1"])),
    /cannot read a tfjs model.json/,
  );
  await Deno.writeTextFile(join(dir, "bad.h5"), "not hdf5");
  await assert.rejects(
    () => loadVggWeights(join(dir, "bad.h5"), layersUpTo(["block1_conv1"])),
    /bad\.h5/,
  );
  await assert.rejects(
    () => loadVggWeights(join(dir, "nope"), layersUpTo(["block1_conv1"])),
    /nope does not exist/,
  );
  await Deno.remove(dir, { recursive: true });
});

/** A copy of the shared blocks 1-3 weights (block 1 only) in a temp dir, with `edit` applied to model.json. */
async function hostileCopy(
  edit: (model: { weightsManifest: unknown[] }) => void,
  shard?: (bytes: Uint8Array) => Uint8Array,
): Promise<string> {
  const dir = await Deno.makeTempDir();
  const model = JSON.parse(await Deno.readTextFile(join(SHARED_WEIGHTS, "model.json")));
  edit(model);
  await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(model));
  for (const g of ["group1-shard1of1", "group2-shard1of1"]) {
    const b = await Deno.readFile(join(SHARED_WEIGHTS, g));
    await Deno.writeFile(join(dir, g), shard ? shard(b) : b);
  }
  return dir;
}

const hostileManifests: Array<[string, Parameters<typeof hostileCopy>, RegExp]> = [
  ["a null group", [(m) => (m.weightsManifest[0] = null)], /weightsManifest\[0\] is not an object/],
  [
    "a group without weights",
    [(m) => delete (m.weightsManifest[0] as { weights?: unknown }).weights],
    /weightsManifest\[0\] has no 'weights' array/,
  ],
  [
    "a shape given as a string",
    [(m) => ((m.weightsManifest[0] as { weights: { shape: unknown }[] }).weights[0].shape = "3,3")],
    /block1_conv1\/kernel .*shape "3,3" is not an array of integers/,
  ],
  [
    "a fractional shape",
    [(m) => ((m.weightsManifest[0] as { weights: { shape: unknown }[] }).weights[1].shape = [6.5])],
    /block1_conv1\/bias .*shape \[6.5\]/,
  ],
  [
    "an unknown dtype",
    [(m) => ((m.weightsManifest[0] as { weights: { dtype: unknown }[] }).weights[0].dtype = "f16")],
    /block1_conv1\/kernel .*unknown dtype "f16"/,
  ],
  [
    "a path outside the directory",
    [(m) => ((m.weightsManifest[0] as { paths: string[] }).paths = ["../../etc/passwd"])],
    /shard path '..\/..\/etc\/passwd' is outside the weights directory/,
  ],
  [
    "an absolute path",
    [(m) => ((m.weightsManifest[0] as { paths: string[] }).paths = ["/etc/passwd"])],
    /shard path '\/etc\/passwd' is outside/,
  ],
  [
    "a shard longer than the manifest says",
    [() => {}, (b) => new Uint8Array([...b, 0, 0, 0, 0])],
    /layer block1_conv1 .*group1-shard1of1\) hold \d+ bytes; the manifest's weights need exactly/,
  ],
  [
    "NaN weights",
    [() => {}, (b) => {
      const c = b.slice();
      new DataView(c.buffer).setFloat32(40, NaN, true);
      return c;
    }],
    /layer block1_conv1 kernel has a non-finite value \(NaN\) at index 10/,
  ],
  [
    "weightsManifest not an array",
    [(m) => ((m as { weightsManifest: unknown }).weightsManifest = "x")],
    /model.json: no weightsManifest array/,
  ],
];
for (const [name, args, pattern] of hostileManifests) {
  Deno.test(`hostile weights: ${name} is a UserError naming layer and file`, async () => {
    const dir = await hostileCopy(...args);
    try {
      await assert.rejects(
        () => loadTfjsWeights(dir, layersUpTo(["block1_conv2"])),
        (e: Error) => {
          assert.ok(e instanceof UserError, String(e));
          assert.match(e.message, pattern);
          return true;
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("the weights table matches the network and the tfjs shapes", async () => {
  const { WEIGHTS_TABLE } = await import("../../src/vgg/table.ts");
  assert.equal(WEIGHTS_TABLE.layers.length, 16);
  assert.deepEqual(WEIGHTS_TABLE.layers[4].kernel, [3, 3, 128, 256]);
  assert.equal(WEIGHTS_TABLE.sources[0].md5.length, 32);
  const model = JSON.parse(await Deno.readTextFile(join(SHARED_WEIGHTS, "model.json")));
  for (const g of model.weightsManifest) {
    for (const w of g.weights) {
      const [layer, what] = w.name.split("/");
      const t = WEIGHTS_TABLE.layers.find((l) => l.name === layer);
      if (t) assert.deepEqual(w.shape, what === "kernel" ? t.kernel : t.bias, w.name);
    }
  }
});
