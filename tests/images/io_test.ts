import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { sharedPath } from "../_env.ts";
import { decodeImage, fitLongSide, listImages, loadImage, savePng } from "../../src/images/io.ts";
import { UserError } from "../../src/util/errors.ts";

/** A 4x2 RGB test pattern: left half red, right half blue. */
function pattern(): Buffer {
  const px = Buffer.alloc(4 * 2 * 3);
  for (let y = 0; y < 2; y++) {
    for (let x = 0; x < 4; x++) px.set(x < 2 ? [255, 0, 0] : [0, 0, 255], (y * 4 + x) * 3);
  }
  return px;
}

Deno.test("grayscale images become 3 equal channels", async () => {
  const gray = await sharp(Buffer.from([0, 100, 200, 255]), {
    raw: { width: 2, height: 2, channels: 1 },
  })
    .png().toBuffer();
  const img = await decodeImage(new Uint8Array(gray), "gray.png");
  assert.equal(img.data.length, 2 * 2 * 3);
  assert.deepEqual(Array.from(img.data.slice(3, 6)), [100, 100, 100]);
  // Eight shared Caltech images are grayscale JPEGs; this is one of them.
  const path = sharedPath("data/caltech101/crab/image_0018.jpg");
  assert.equal((await sharp(path).metadata()).channels, 1);
  const real = await loadImage(path);
  assert.equal(real.data.length, real.width * real.height * 3);
  assert.equal(real.data[30], real.data[31]);
});

Deno.test("CMYK JPEGs become sRGB", async () => {
  const cmyk = await sharp(pattern(), { raw: { width: 4, height: 2, channels: 3 } })
    .toColourspace("cmyk").jpeg({ quality: 100 }).toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, "cmyk");
  const img = await decodeImage(new Uint8Array(cmyk), "cmyk.jpg");
  assert.equal(img.data.length, 4 * 2 * 3);
  const [r, , b] = img.data.slice(0, 3);
  assert.ok(r > 150 && b < 100, `left pixel should stay red, got ${img.data.slice(0, 3)}`);
});

Deno.test("EXIF orientation is applied (orientation 6: rotate 90 degrees clockwise)", async () => {
  const rotated = await sharp(pattern(), { raw: { width: 4, height: 2, channels: 3 } })
    .withMetadata({ orientation: 6 }).png().toBuffer();
  const img = await decodeImage(new Uint8Array(rotated), "exif.png");
  assert.deepEqual([img.width, img.height], [2, 4]);
  // Rotating clockwise puts the red left half at the top.
  assert.ok(img.data[0] > 200 && img.data[2] < 50, `top-left ${img.data.slice(0, 3)}`);
  assert.ok(img.data[img.data.length - 1] > 200, "bottom row should be blue");
  const resized = await decodeImage(new Uint8Array(rotated), "exif.png", { longSide: 8 });
  assert.deepEqual([resized.width, resized.height], [4, 8]);
});

Deno.test("resizing keeps the aspect ratio and skips resampling at the same size", async () => {
  assert.deepEqual(fitLongSide(300, 200, 150), { width: 150, height: 100 });
  const path = sharedPath("data/content/tubingen.jpg");
  const same = await loadImage(path, { longSide: 1024 });
  const raw = await sharp(path).removeAlpha().raw().toBuffer();
  assert.deepEqual(Array.from(same.data.slice(0, 30)), Array.from(raw.subarray(0, 30)));
});

Deno.test("PNG output is 8-bit sRGB and written atomically", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "a", "b.png");
  await savePng(out, { data: new Float32Array([300, -5, 127.6, 0, 0, 0]), width: 2, height: 1 });
  const meta = await sharp(out).metadata();
  assert.equal(meta.format, "png");
  assert.equal(meta.depth, "uchar");
  assert.equal(meta.channels, 3);
  const back = await loadImage(out);
  assert.deepEqual(Array.from(back.data.slice(0, 3)), [255, 0, 128]);
  const names = [];
  for await (const e of Deno.readDir(join(dir, "a"))) names.push(e.name);
  assert.deepEqual(names, ["b.png"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bad images and empty directories are UserErrors naming the path", async () => {
  await assert.rejects(
    () => decodeImage(new TextEncoder().encode("nope"), "x.jpg"),
    (e: Error) => e instanceof UserError && /x\.jpg/.test(e.message),
  );
  await assert.rejects(() => loadImage("/nonexistent.jpg"), /nonexistent\.jpg: cannot read image/);
  const dir = await Deno.makeTempDir();
  await assert.rejects(() => listImages(dir), /contains no \.jpg/);
  await Deno.remove(dir);
});

Deno.test("maxLongSide only shrinks", async () => {
  const path = sharedPath("data/content/tubingen.jpg"); // 1024x768
  const small = await loadImage(path, { maxLongSide: 512 });
  assert.deepEqual([small.width, small.height], [512, 384]);
  const same = await loadImage(path, { maxLongSide: 2048 });
  assert.deepEqual([same.width, same.height], [1024, 768]);
});
