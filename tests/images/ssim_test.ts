import assert from "node:assert/strict";
import { identicalImages, meanAbsDifference, ssim } from "../../src/images/ssim.ts";
import type { RgbImage } from "../../src/images/io.ts";
import { mulberry32 } from "../../src/util/random.ts";

function image(width: number, height: number, f: (x: number, y: number, c: number) => number) {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = f(x, y, c);
    }
  }
  return { data, width, height };
}

function randomImage(width: number, height: number, seed: number): RgbImage {
  const rand = mulberry32(seed);
  return image(width, height, () => Math.round(rand() * 255));
}

function addNoise(img: RgbImage, amplitude: number, seed: number): RgbImage {
  const rand = mulberry32(seed);
  const data = img.data.map((v) => Math.min(255, Math.max(0, v + (rand() - 0.5) * 2 * amplitude)));
  return { ...img, data };
}

/**
 * Naive SSIM written straight from Wang et al. (2004), eq. 13 with a Gaussian window: for
 * every valid 11x11 window position, explicit 2-D weighted sums (no separable filtering, no
 * E[x^2] - E[x]^2 shortcut), then the mean.
 */
function naiveSsim(a: RgbImage, b: RgbImage): number {
  const w = a.width, h = a.height;
  const lum = (img: RgbImage, x: number, y: number) => {
    const i = (y * w + x) * 3;
    return 0.299 * img.data[i] + 0.587 * img.data[i + 1] + 0.114 * img.data[i + 2];
  };
  const c1 = (0.01 * 255) ** 2, c2 = (0.03 * 255) ** 2;
  const weights: number[][] = [];
  let total = 0;
  for (let i = -5; i <= 5; i++) {
    const row: number[] = [];
    for (let j = -5; j <= 5; j++) {
      const v = Math.exp(-(i * i + j * j) / (2 * 1.5 * 1.5));
      row.push(v);
      total += v;
    }
    weights.push(row);
  }
  let sum = 0, count = 0;
  for (let y0 = 0; y0 + 11 <= h; y0++) {
    for (let x0 = 0; x0 + 11 <= w; x0++) {
      let mx = 0, my = 0;
      for (let i = 0; i < 11; i++) {
        for (let j = 0; j < 11; j++) {
          const wt = weights[i][j] / total;
          mx += wt * lum(a, x0 + j, y0 + i);
          my += wt * lum(b, x0 + j, y0 + i);
        }
      }
      let vx = 0, vy = 0, cxy = 0;
      for (let i = 0; i < 11; i++) {
        for (let j = 0; j < 11; j++) {
          const wt = weights[i][j] / total;
          const dx = lum(a, x0 + j, y0 + i) - mx, dy = lum(b, x0 + j, y0 + i) - my;
          vx += wt * dx * dx;
          vy += wt * dy * dy;
          cxy += wt * dx * dy;
        }
      }
      sum += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
  }
  return sum / count;
}

Deno.test("ssim of an image with itself is 1", () => {
  for (const [w, h] of [[32, 24], [11, 11], [5, 7], [1, 1]]) {
    const a = randomImage(w, h, w * 100 + h);
    assert.ok(Math.abs(ssim(a, a) - 1) < 1e-12, `${w}x${h}: ${ssim(a, a)}`);
  }
  const flat = image(16, 16, () => 77);
  assert.ok(Math.abs(ssim(flat, flat) - 1) < 1e-12);
});

Deno.test("ssim matches a naive direct-formula implementation on random images", () => {
  for (const [w, h, seed] of [[23, 17, 1], [11, 11, 2], [40, 12, 3], [12, 30, 4]]) {
    const a = randomImage(w, h, seed);
    for (const b of [randomImage(w, h, seed + 50), addNoise(a, 30, seed + 60)]) {
      const got = ssim(a, b), want = naiveSsim(a, b);
      assert.ok(Math.abs(got - want) < 1e-9, `${w}x${h}: ${got} vs ${want}`);
    }
  }
  // Smooth structure too (values well away from 0, where E[x^2] - E[x]^2 cancels most).
  const a = image(30, 20, (x, y, c) => 120 + 60 * Math.sin(x / 3 + c) * Math.cos(y / 4));
  const b = image(30, 20, (x, y, c) => 125 + 50 * Math.sin(x / 3 + 0.3 + c) * Math.cos(y / 4));
  assert.ok(Math.abs(ssim(a, b) - naiveSsim(a, b)) < 1e-9);
});

Deno.test("ssim of a constant shift: only the luminance term remains", () => {
  // Adding c to R, G and B adds c to luma (0.299 + 0.587 + 0.114 = 1), leaving variances and
  // covariance unchanged, so SSIM = (2 mu (mu + c) + C1) / (mu^2 + (mu + c)^2 + C1), C1 = 6.5025.
  const c1 = 6.5025;
  // Flat 100 vs flat 110 (valid windows; every window alike): 22006.5025 / 22106.5025.
  const flat = ssim(image(20, 20, () => 100), image(20, 20, () => 110));
  assert.ok(Math.abs(flat - 22006.5025 / 22106.5025) < 1e-12, `${flat}`);
  // A 4x3 image (smaller than the window: one global window). Luma values 10..120 step 10
  // (gray pixels), mean 65; shifted by 20: (2 * 65 * 85 + C1) / (65^2 + 85^2 + C1).
  const a = image(4, 3, (x, y) => 10 * (y * 4 + x + 1));
  const b = image(4, 3, (x, y) => 10 * (y * 4 + x + 1) + 20);
  const want = (2 * 65 * 85 + c1) / (65 * 65 + 85 * 85 + c1);
  assert.ok(Math.abs(ssim(a, b) - want) < 1e-12, `${ssim(a, b)} vs ${want}`);
  // And the global-window case by hand with structure: a = [0, 2] gray, b = [2, 0] gray
  // (a 2x1 image): mu 1 and 1, var 1 and 1, cov -1:
  // (2 + C1)(-2 + C2) / ((2 + C1)(2 + C2)) = (C2 - 2) / (C2 + 2), C2 = 58.5225.
  const p = image(2, 1, (x) => 2 * x), q = image(2, 1, (x) => 2 - 2 * x);
  const c2 = 58.5225;
  assert.ok(Math.abs(ssim(p, q) - (c2 - 2) / (c2 + 2)) < 1e-12);
});

Deno.test("ssim decreases monotonically as noise grows", () => {
  const a = image(48, 40, (x, y, c) => 128 + 90 * Math.sin(x / 5 + c) * Math.cos(y / 6));
  let prev = 1;
  for (const amp of [2, 8, 20, 50, 100]) {
    const s = ssim(a, addNoise(a, amp, 7));
    assert.ok(s < prev, `noise ${amp}: ${s} not below ${prev}`);
    assert.ok(s > -1 && s <= 1);
    prev = s;
  }
  assert.ok(prev < 0.5, `${prev}`);
});

Deno.test("meanAbsDifference and identicalImages", () => {
  const a = image(3, 2, (x, y, c) => x + y + c);
  const b = image(3, 2, (x, y, c) => x + y + c + (c === 0 ? 6 : 0)); // +6 on one channel in 3
  assert.equal(meanAbsDifference(a, a), 0);
  assert.equal(meanAbsDifference(a, b), 2);
  assert.equal(meanAbsDifference(b, a), 2);
  assert.equal(identicalImages(a, { ...a, data: a.data.slice() }), true);
  assert.equal(identicalImages(a, b), false);
  const c = { ...a, data: a.data.slice() };
  c.data[17] += 0.5;
  assert.equal(identicalImages(a, c), false);
});

Deno.test("size mismatches are errors naming both sizes", () => {
  const a = image(12, 12, () => 1), b = image(12, 13, () => 1);
  for (const f of [ssim, meanAbsDifference, identicalImages]) {
    assert.throws(() => f(a, b), /12x12 vs 12x13/);
  }
  const broken = { data: new Float32Array(5), width: 2, height: 1 };
  assert.throws(() => ssim(broken, broken), /5 values for 2x1/);
});
