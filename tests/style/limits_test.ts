import assert from "node:assert/strict";
import { layersUpTo } from "../../src/vgg/layers.ts";
import {
  BYTES_PER_ACTIVATION,
  checkMinSide,
  estimateStepBytes,
  largestLongSide,
  maxBatch,
  memoryLimit,
  minImageSide,
  smallestLongSide,
  WASM_HEAP_BYTES,
  weightBytes,
} from "../../src/style/limits.ts";
import { UserError } from "../../src/util/errors.ts";

Deno.test("minImageSide: 2^pools before the deepest layer", () => {
  assert.deepEqual(minImageSide(layersUpTo(["block1_conv2"])), {
    side: 1,
    layer: "block1_conv2",
    pools: 0,
  });
  assert.equal(minImageSide(layersUpTo(["block2_conv1"])).side, 2);
  assert.equal(minImageSide(layersUpTo(["block3_conv4"])).side, 4);
  assert.equal(minImageSide(layersUpTo(["block5_conv2"])).side, 16);
});

Deno.test("minImageSide agrees with repeated floor(n/2) pooling", () => {
  for (const top of ["block2_conv2", "block3_conv1", "block4_conv1", "block5_conv1"]) {
    const specs = layersUpTo([top]);
    const { side } = minImageSide(specs);
    const after = (n: number) => specs.reduce((m, s) => (s.poolBefore ? Math.floor(m / 2) : m), n);
    assert.ok(after(side) >= 1, top);
    assert.equal(after(side - 1), 0, top);
  }
});

Deno.test("checkMinSide names the flag, image and layer", () => {
  const specs = layersUpTo(["block3_conv4"]);
  checkMinSide({ width: 4, height: 4 }, specs, "--size", "x");
  assert.throws(
    () => checkMinSide({ width: 5, height: 3 }, specs, "--size", "style image s.jpg"),
    (e: Error) =>
      e instanceof UserError && e.message.startsWith("--size: style image s.jpg would be 5x3") &&
      e.message.includes("block3_conv4") && e.message.includes(">= 4"),
  );
});

Deno.test("smallestLongSide: the first long side whose short side reaches the minimum", () => {
  // 200x100: round(L / 2) >= 4 from L = 7 (3.5 rounds up).
  assert.equal(smallestLongSide({ width: 200, height: 100 }, 4), 7);
  assert.equal(smallestLongSide({ width: 10, height: 10 }, 16), 16);
  // 2000x8: short side round(8 L / 2000) >= 4 needs L >= 875 (3.5 rounds to 4).
  assert.equal(smallestLongSide({ width: 2000, height: 8 }, 4), 875);
});

Deno.test("estimateStepBytes: 24 bytes per activation, summed by hand for the offline layers", () => {
  const specs = layersUpTo(["block3_conv4"]);
  // block1: 2 x 64 at full size; block2: 2 x 128 at 1/4; block3: 4 x 256 at 1/16 = 256 per pixel.
  assert.equal(estimateStepBytes(10, 10, 2, specs), BYTES_PER_ACTIVATION * 256 * 200);
  // weights: 3*3*3*64+64 + 3*3*64*64+64 + ... by hand for block1 only.
  assert.equal(weightBytes(layersUpTo(["block1_conv2"])), 4 * (1728 + 64 + 36864 + 64));
});

Deno.test("maxBatch and largestLongSide stay within the wasm heap", () => {
  const specs = layersUpTo(["block3_conv4"]);
  const limit = memoryLimit("wasm", specs);
  assert.ok(limit.total < WASM_HEAP_BYTES);
  const b = maxBatch({ width: 512, height: 384 }, specs, limit);
  assert.ok(b >= 1 && b < 8, String(b));
  assert.ok(estimateStepBytes(512, 384, b, specs) <= limit.total);
  assert.ok(estimateStepBytes(512, 384, b + 1, specs) > limit.total);
  const l = largestLongSide({ width: 4, height: 3 }, 1, specs, limit);
  const at = (n: number) => estimateStepBytes(n, Math.round((n * 3) / 4), 1, specs);
  assert.ok(at(l) <= limit.total && at(l + 1) > limit.total, String(l));
});

Deno.test("webgpu: the adapter's largest buffer bounds the largest tensor", () => {
  const specs = layersUpTo(["block3_conv4"]);
  const limit = memoryLimit("webgpu", specs, {
    maxBufferSize: 2 ** 30,
    maxStorageBufferBindingSize: 2 ** 27,
  });
  assert.equal(limit.perTensor, 2 ** 27);
  // block1's output: 64 float32 per pixel.
  assert.equal(
    maxBatch({ width: 256, height: 256 }, specs, limit),
    Math.floor(2 ** 27 / (256 * 256 * 256)),
  );
});

/** Square content images of `sides` against one 40x30 style, with room for exactly 2 images of 100x100. */
function sizeCase(sides: number[], batch: number) {
  const specs = layersUpTo(["block3_conv4"]);
  const limit = {
    backend: "wasm",
    total: estimateStepBytes(100, 100, 2, specs), // weights excluded
    perTensor: Infinity,
    why: "test heap",
  };
  const req = {
    contents: sides.map((s, i) => ({ name: `${i}.png`, size: { width: s, height: s } })),
    sizeFlag: "--size",
    styles: [{ path: "s.png", dims: { width: 40, height: 30 } }],
    styleLongSide: (l: number) => l,
    styleFlag: "--size",
    batch,
  };
  return { specs, limit, req };
}

Deno.test("checkSizes: a directory batch over the limit is split and said; one image over it is tiled, or refused", async () => {
  const { checkSizes } = await import("../../src/style/limits.ts");
  const lines: string[] = [];
  const { specs, limit } = sizeCase([], 3);
  const req = (names: string[], side: number) => ({
    ...sizeCase(names.map(() => side), 3).req,
    contents: names.map((name) => ({ name, size: { width: side, height: side } })),
  });
  const b = checkSizes(
    { ...req(["a.png", "b.png", "c.png"], 100), overBatch: "split", overOne: "tile" },
    specs,
    limit,
    (l: string) => lines.push(l),
  );
  assert.deepEqual(b.get("100x100"), { batch: 2 });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /running them in batches of 2/);
  const t = checkSizes(
    { ...req(["big.png"], 300), overBatch: "one", overOne: "tile" },
    specs,
    limit,
    () => {},
  );
  assert.ok((t.get("300x300")!.tile ?? 0) >= 4);
  // Coarser scales up to the largest untiled size (141, as the refusal below says) run in one pass.
  assert.equal(t.get("300x300")!.untiledUpTo, 141);
  assert.throws(
    () =>
      checkSizes({ ...req(["big.png"], 300), overBatch: "one", overOne: "refuse" }, specs, limit),
    /--size: big.png at 300x300 px .* the largest that fits is --size 141/,
  );
});

Deno.test("checkSizes: --tile tiles every image larger than it, one at a time, and says so; a tile over memory names --tile", async () => {
  const { checkSizes } = await import("../../src/style/limits.ts");
  const { specs, limit } = sizeCase([], 2);
  const req = (sides: number[], tile: number) => ({
    ...sizeCase(sides, 2).req,
    overBatch: "split" as const,
    overOne: "tile" as const,
    tile,
  });
  const lines: string[] = [];
  // 60 px fits untiled in batches of 2; --tile 32 still tiles it, as asked.
  const p = checkSizes(req([60, 60, 20], 32), specs, limit, (l) => lines.push(l));
  assert.deepEqual(p.get("60x60"), { batch: 1, tile: 32 });
  // An image no larger than the tile runs untiled, batched as before.
  assert.deepEqual(p.get("20x20"), { batch: 2 });
  assert.deepEqual(lines, ["tiles: 60x60 px in tiles of 32 px (+28 px halo) [--tile]"]);
  // A tile whose step does not fit: refused, naming --tile and the largest that fits.
  const small = { ...limit, total: estimateStepBytes(100, 100, 1, specs) };
  assert.throws(
    () => checkSizes(req([200], 190), specs, small, () => {}),
    /^UserError: --tile: tiles of 190 px \(\+28 px halo\) of 200x200 px need more memory than wasm has; the largest tile that fits is --tile \d+$/,
  );
});
