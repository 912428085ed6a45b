import assert from "node:assert/strict";
import {
  applyTransform,
  augmentSet,
  DEFAULT_AUGMENT_COUNT,
  ROTATION_RANGE_DEG,
  STATIC_TRANSFORMS,
  staticTransforms,
  TRANSLATION_RANGE,
  translationPixels,
} from "../../src/study/augment.ts";
import type { RgbImage } from "../../src/images/io.ts";
import { mulberry32 } from "../../src/util/random.ts";

function blank(w: number, h: number): RgbImage {
  return { data: new Float32Array(w * h * 3), width: w, height: h };
}
function set(img: RgbImage, x: number, y: number, v: number) {
  for (let c = 0; c < 3; c++) img.data[3 * (y * img.width + x) + c] = v;
}
function get(img: RgbImage, x: number, y: number, c = 0): number {
  return img.data[3 * (y * img.width + x) + c];
}
/** Intensity-weighted centroid of channel 0. */
function centroid(img: RgbImage): { x: number; y: number; mass: number } {
  let sx = 0, sy = 0, m = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const v = get(img, x, y);
      sx += v * x;
      sy += v * y;
      m += v;
    }
  }
  return { x: sx / m, y: sy / m, mass: m };
}

const rot = (deg: number) => ({ name: "r", rotationDeg: deg, translateX: 0, translateY: 0 });

Deno.test("rotation by 90 degrees moves a pixel right of the centre to above it (counter-clockwise)", () => {
  const img = blank(41, 41); // centre pixel (20, 20)
  set(img, 30, 20, 255);
  const out = applyTransform(img, rot(90), { fill: "constant" });
  assert.equal(get(out, 20, 10), 255);
  assert.equal(get(out, 30, 20), 0);
  assert.ok(Math.abs(centroid(out).mass - 255) < 1e-3);
});

Deno.test("rotation by 12 degrees lands a pixel where the rotation matrix says", () => {
  const img = blank(61, 61);
  const [cx, cy] = [30, 30];
  const [ox, oy] = [12, -5]; // offset from the centre, y down
  set(img, cx + ox, cy + oy, 255);
  const theta = (12 * Math.PI) / 180;
  // Counter-clockwise on screen with y pointing down.
  const ex = cx + ox * Math.cos(theta) + oy * Math.sin(theta);
  const ey = cy - ox * Math.sin(theta) + oy * Math.cos(theta);
  const out = applyTransform(img, rot(12), { fill: "constant" });
  const c = centroid(out);
  assert.ok(Math.abs(c.x - ex) < 0.35, `centroid x ${c.x} vs ${ex}`);
  assert.ok(Math.abs(c.y - ey) < 0.35, `centroid y ${c.y} vs ${ey}`);
  // The brightest output pixel is the one nearest the predicted spot.
  let best = { v: -1, x: 0, y: 0 };
  for (let y = 0; y < 61; y++) {
    for (let x = 0; x < 61; x++) if (get(out, x, y) > best.v) best = { v: get(out, x, y), x, y };
  }
  assert.deepEqual([best.x, best.y], [Math.round(ex), Math.round(ey)]);
});

Deno.test("rotation keeps the centre pixel of an odd-sized image", () => {
  const img = blank(33, 33);
  set(img, 16, 16, 200);
  for (const deg of [-15, 10, 13.7, 45]) {
    const out = applyTransform(img, rot(deg), { fill: "constant" });
    assert.ok(Math.abs(get(out, 16, 16) - 200) < 1e-3, `deg ${deg}: ${get(out, 16, 16)}`);
  }
});

Deno.test("translation moves a pattern by exactly the given whole pixels, without blur", () => {
  const w = 40, h = 20;
  const img = blank(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) set(img, x, y, (x * 7 + y * 13) % 256);
  const t = { name: "t", rotationDeg: 0, translateX: 0.1, translateY: -0.15 }; // +4 px, -3 px
  assert.deepEqual(translationPixels(t, w, h), { dx: 4, dy: -3 });
  const out = applyTransform(img, t, { fill: "constant", constant: -1 });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = x - 4, sy = y + 3;
      const want = sx >= 0 && sy < h ? get(img, sx, sy) : -1;
      assert.equal(get(out, x, y), want, `(${x}, ${y})`);
    }
  }
});

Deno.test("fill modes: reflect mirrors, edge clamps, constant fills", () => {
  const img = blank(5, 1);
  [10, 20, 30, 40, 50].forEach((v, x) => set(img, x, 0, v));
  const t = { name: "t", rotationDeg: 0, translateX: 0.4, translateY: 0 }; // +2 px
  const row = (o: RgbImage) => Array.from({ length: 5 }, (_, x) => get(o, x, 0));
  assert.deepEqual(row(applyTransform(img, t, { fill: "reflect" })), [20, 10, 10, 20, 30]);
  assert.deepEqual(row(applyTransform(img, t, { fill: "edge" })), [10, 10, 10, 20, 30]);
  assert.deepEqual(row(applyTransform(img, t, { fill: "constant", constant: 7 })), [
    7,
    7,
    10,
    20,
    30,
  ]);
});

Deno.test("the transform list is seeded, in range, alternates rotation sign and covers four directions", () => {
  const a = staticTransforms(123);
  assert.deepEqual(a, staticTransforms(123));
  assert.notDeepEqual(a, staticTransforms(124));
  assert.equal(a.length, DEFAULT_AUGMENT_COUNT);
  assert.deepEqual(STATIC_TRANSFORMS, staticTransforms());
  const dirs = new Set<string>();
  a.forEach((t, i) => {
    const r = Math.abs(t.rotationDeg);
    assert.ok(
      r >= ROTATION_RANGE_DEG[0] && r <= ROTATION_RANGE_DEG[1],
      `rotation ${t.rotationDeg}`,
    );
    assert.equal(Math.sign(t.rotationDeg), i % 2 === 0 ? 1 : -1);
    for (const v of [t.translateX, t.translateY]) {
      assert.ok(Math.abs(v) >= TRANSLATION_RANGE[0] && Math.abs(v) <= TRANSLATION_RANGE[1]);
    }
    dirs.add(`${Math.sign(t.translateX)},${Math.sign(t.translateY)}`);
  });
  assert.equal(dirs.size, 4);
  assert.deepEqual(JSON.parse(JSON.stringify(a)), a);
});

Deno.test("applying the same transforms twice gives identical pixels", () => {
  const rng = mulberry32(5);
  const img = blank(23, 17);
  for (let i = 0; i < img.data.length; i++) img.data[i] = rng() * 255;
  const t = staticTransforms(9);
  const a = augmentSet({ images: [img], labels: [1] }, t);
  const b = augmentSet({ images: [img], labels: [1] }, t);
  assert.equal(a.images.length, 1 + t.length);
  a.images.forEach((im, i) => assert.deepEqual(im.data, b.images[i].data));
  assert.notDeepEqual(a.images[1].data, a.images[0].data);
});

Deno.test("augmentSet keeps originals first, then each image's copies, labels and names aligned", () => {
  const imgs = [blank(4, 4), blank(4, 4)];
  const t = staticTransforms(1, 2);
  const s = augmentSet({ images: imgs, labels: [0, 2], names: ["a", "b"] }, t);
  assert.deepEqual(s.labels, [0, 2, 0, 0, 2, 2]);
  assert.deepEqual(s.names, ["a", "b", "a#aug0", "a#aug1", "b#aug0", "b#aug1"]);
  assert.equal(s.images[0], imgs[0]);
  assert.throws(() => augmentSet({ images: imgs, labels: [0] }, t), RangeError);
});
