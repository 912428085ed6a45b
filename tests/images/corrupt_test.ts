import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  blurSigma,
  corrupt,
  CORRUPTION_PARAMS,
  type CorruptionName,
  CORRUPTIONS,
  parseCorruptions,
  SEVERITIES,
  type Severity,
} from "../../src/images/corrupt.ts";
import { loadImage, type RgbImage } from "../../src/images/io.ts";
import { meanAbsDifference } from "../../src/images/ssim.ts";
import { UserError } from "../../src/util/errors.ts";

// Not ../_env.ts: that one loads tfjs and probes WebGPU, which these tests do not need.
const SHARED = Deno.env.get("NST_SHARED") ??
  fileURLToPath(new URL("../../../shared", import.meta.url));
const BUTTERFLY = join(SHARED, "data/caltech101/butterfly/image_0001.jpg");

function image(width: number, height: number, f: (x: number, y: number, c: number) => number) {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = f(x, y, c);
    }
  }
  return { data, width, height };
}

/** Channel `c` of `img` as a row-major array of numbers. */
function channel(img: RgbImage, c: number): number[] {
  return Array.from({ length: img.width * img.height }, (_, i) => img.data[3 * i + c]);
}

function sum(img: RgbImage, c: number): number {
  return channel(img, c).reduce((a, b) => a + b, 0);
}

let butterfly: RgbImage | undefined;
async function realImage(): Promise<RgbImage> {
  butterfly ??= await loadImage(BUTTERFLY, { exact: { width: 64, height: 64 } });
  return butterfly;
}

Deno.test("contrast: 2x2 image against hand-computed per-channel values", async () => {
  // R mean 100, G mean 25, B constant. A mean over all channels (73.75) would give other values.
  const r = [0, 100, 200, 100], g = [10, 10, 10, 70], b = [255, 255, 255, 255];
  const img = image(2, 2, (x, y, c) => [r, g, b][c][y * 2 + x]);
  const expected: Record<Severity, number[][]> = {
    // (v - mean) * c + mean with c = 0.4, 0.2, 0.05, then rounded.
    1: [[60, 100, 140, 100], [19, 19, 19, 43], b],
    2: [[80, 100, 120, 100], [22, 22, 22, 34], b],
    3: [[95, 100, 105, 100], [24, 24, 24, 27], b], // G: 24.25 -> 24, 27.25 -> 27
  };
  for (const s of SEVERITIES) {
    const out = await corrupt(img, "contrast", s, 0);
    for (let c = 0; c < 3; c++) {
      assert.deepEqual(channel(out, c), expected[s][c], `sev ${s} ch ${c}`);
    }
  }
});

Deno.test("pixelate: 4x4 with 2x2 blocks becomes block means; 1x1 at stronger severities", async () => {
  // Pixel (x, y) = 10 * (4y + x): block means 25, 45 (top), 105, 125 (bottom).
  const img = image(4, 4, (x, y) => 10 * (4 * y + x));
  const s1 = await corrupt(img, "pixelate", 1, 0); // floor(4 * 0.6) = 2: 2x2 blocks
  assert.deepEqual(
    channel(s1, 0),
    [25, 25, 45, 45, 25, 25, 45, 45, 105, 105, 125, 125, 105, 105, 125, 125],
  );
  assert.deepEqual(channel(s1, 2), channel(s1, 0));
  for (const s of [2, 3] as const) {
    // floor(4 * 0.4) = floor(4 * 0.25) = 1: one pixel, the mean 75 of 0..150.
    assert.deepEqual(channel(await corrupt(img, "pixelate", s, 0), 1), new Array(16).fill(75));
  }
  // 6x6 at severity 2: floor(6 * 0.4) = 2 -> 3x3 blocks. Block mean of 5 * (6y + x) over a
  // 3x3 block at (x0, y0) is 5 * (6 * (y0 + 1) + x0 + 1).
  const six = image(6, 6, (x, y) => 5 * (6 * y + x));
  const out = await corrupt(six, "pixelate", 2, 0);
  const want = Array.from({ length: 36 }, (_, i) => {
    const x0 = Math.floor((i % 6) / 3) * 3, y0 = Math.floor(Math.floor(i / 6) / 3) * 3;
    return 5 * (6 * (y0 + 1) + x0 + 1);
  });
  assert.deepEqual(channel(out, 0), want);
  // A ratio that is not an integer, 5 -> floor(5 * 0.6) = 3 (PIL's BOX rule, centres in the
  // footprint): pixels {0, 1}, {2}, {3, 4} give 5, 20, 35. sharp's nearest way up takes small
  // pixel floor(x * 3 / 5) for output x.
  const row = await corrupt(image(5, 1, (x) => 10 * x), "pixelate", 1, 0);
  assert.deepEqual(channel(row, 0), [5, 5, 20, 20, 35]);
});

Deno.test("gaussian noise: seeded, right mean and sd on mid-grey, clipped at 0 and 255", async () => {
  const grey = image(64, 64, () => 128);
  const a = await corrupt(grey, "gaussian_noise", 1, 11);
  assert.deepEqual(a.data, (await corrupt(grey, "gaussian_noise", 1, 11)).data);
  const other = await corrupt(grey, "gaussian_noise", 1, 12);
  assert.ok(meanAbsDifference(a, other) > 10, "another seed gives other noise");
  assert.ok(grey.data.every((v) => v === 128), "input untouched");

  const n = grey.data.length; // 12288 values
  for (const s of [1, 2] as const) {
    const sigma = CORRUPTION_PARAMS.gaussian_noise[s - 1] * 255; // 20.4, 45.9
    const d = Array.from((await corrupt(grey, "gaussian_noise", s, 5)).data, (v) => v - 128);
    const mean = d.reduce((p, v) => p + v, 0) / n;
    const sd = Math.sqrt(d.reduce((p, v) => p + (v - mean) ** 2, 0) / (n - 1));
    // 4 standard errors: SE(mean) = sigma / sqrt(n), SE(sd) ~ sigma / sqrt(2n). Clipping at
    // 128 / 45.9 = 2.8 sigma (severity 2) and rounding change the sd by < 0.1%.
    assert.ok(Math.abs(mean) < 4 * sigma / Math.sqrt(n), `sev ${s}: mean ${mean}`);
    assert.ok(
      Math.abs(sd - sigma) < 4 * sigma / Math.sqrt(2 * n),
      `sev ${s}: sd ${sd} vs ${sigma}`,
    );
    assert.ok(d.every(Number.isInteger), "rounded to 8-bit levels");
  }

  // Clipping: on black (white) about half the noise is negative (positive) and lands on 0 (255)
  // (plus the values rounding there, 0.2% at sigma 96.9); a wrap-around or mirror would not.
  for (const [value, edge] of [[0, 0], [255, 255]]) {
    const out = await corrupt(image(64, 64, () => value), "gaussian_noise", 3, 3);
    assert.ok(out.data.every((v) => v >= 0 && v <= 255));
    const frac = out.data.filter((v) => v === edge).length / n;
    assert.ok(Math.abs(frac - 0.502) < 4 * Math.sqrt(0.25 / n), `${value}: ${frac} at ${edge}`);
  }
});

/**
 * Independent reference blur: direct 2-D convolution with a Gaussian cut at 4 sigma (as
 * ImageNet-C's skimage), normalized to sum 1, edges extended by copying the border pixel.
 */
function referenceBlur(img: RgbImage, sigma: number): RgbImage {
  const r = Math.ceil(4 * sigma), w = img.width, h = img.height;
  const clamp = (v: number, hi: number) => Math.min(hi - 1, Math.max(0, v));
  const out = new Float32Array(img.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0, wsum = 0;
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            const k = Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
            acc += k * img.data[(clamp(y + dy, h) * w + clamp(x + dx, w)) * 3 + c];
            wsum += k;
          }
        }
        out[(y * w + x) * 3 + c] = acc / wsum;
      }
    }
  }
  return { data: out, width: w, height: h };
}

Deno.test("blur: sigma scaled to the width with a floor, strictly increasing", () => {
  assert.deepEqual(SEVERITIES.map((s) => blurSigma(224, s)), [1, 3, 6]);
  assert.deepEqual(SEVERITIES.map((s) => +blurSigma(64, s).toFixed(3)), [0.5, 0.857, 1.714]);
  for (const w of [16, 32, 48, 64, 96, 128, 224, 512]) {
    const s = SEVERITIES.map((v) => blurSigma(w, v));
    assert.ok(s[0] >= 0.5 && s[0] < s[1] && s[1] < s[2], `${w}: ${s}`);
  }
});

Deno.test("blur: matches a direct Gaussian convolution; constant stays constant", async () => {
  const img = await realImage();
  for (const s of SEVERITIES) {
    const out = await corrupt(img, "gaussian_blur", s, 0);
    const ref = referenceBlur(img, blurSigma(64, s));
    let max = 0;
    for (let i = 0; i < out.data.length; i++) {
      max = Math.max(max, Math.abs(out.data[i] - ref.data[i]));
    }
    // Rounding (0.5) plus the mask cut at 3.7 instead of 4 sigma. A sigma 10% off gives a
    // max of 10 or more and a mean of 1.6 or more on this image; truncating instead of
    // rounding gives a mean of 0.5.
    assert.ok(max <= 1, `sev ${s}: max |sharp - reference| ${max}`);
    const mean = meanAbsDifference(out, ref);
    assert.ok(mean < 0.3, `sev ${s}: mean |sharp - reference| ${mean}`);
  }
  const flat = image(64, 64, (_x, _y, c) => [37, 137, 237][c]);
  for (const s of SEVERITIES) {
    const out = await corrupt(flat, "gaussian_blur", s, 0);
    for (let i = 0; i < out.data.length; i++) {
      assert.ok(Math.abs(out.data[i] - flat.data[i]) <= 1, `sev ${s}: value ${i} ${out.data[i]}`);
    }
  }
});

Deno.test("blur: an impulse spreads with its mass kept, more at higher severity", async () => {
  // A 3x3 square of 250 on grey 100 (no clipping either way): excess mass 9 * 150 = 1350.
  const img = image(64, 64, (x, y) => Math.abs(x - 32) <= 1 && Math.abs(y - 32) <= 1 ? 250 : 100);
  let lastPeak = 250, lastSpread = 9;
  for (const s of SEVERITIES) {
    const out = await corrupt(img, "gaussian_blur", s, 0);
    const excess = sum(out, 0) - 100 * 64 * 64;
    // Rounding can lose up to 0.5 per pixel in the faint tails: allow 5%.
    assert.ok(Math.abs(excess - 1350) < 0.05 * 1350, `sev ${s}: excess mass ${excess}`);
    // The centre of the square keeps 250 at sigma 0.5 (its neighbours are 250 too), so the
    // peak only has to fall by the strongest severity; the lit area grows every time.
    const peak = out.data[(32 * 64 + 32) * 3];
    const spread = channel(out, 0).filter((v) => v > 100).length;
    assert.ok(peak <= lastPeak && spread > lastSpread, `sev ${s}: peak ${peak}, ${spread} px lit`);
    lastPeak = peak;
    lastSpread = spread;
  }
  assert.ok(lastPeak < 200, `severity 3 flattens the peak (${lastPeak})`);
  // A step edge: the number of in-between values along a row grows with severity.
  const step = image(64, 8, (x) => (x < 32 ? 50 : 200));
  let lastWidth = 0;
  for (const s of SEVERITIES) {
    const row = channel(await corrupt(step, "gaussian_blur", s, 0), 1).slice(4 * 64, 5 * 64);
    const width = row.filter((v) => v > 50 && v < 200).length;
    assert.ok(width > lastWidth, `sev ${s}: edge ${width} px wide`);
    assert.ok(row[0] === 50 && row[63] === 200, "far from the edge nothing changes");
    lastWidth = width;
  }
});

Deno.test("jpeg: changes the image, error grows with severity, size kept", async () => {
  const img = await realImage();
  let last = 0;
  for (const s of SEVERITIES) {
    const out = await corrupt(img, "jpeg", s, 0);
    assert.equal(out.width, 64);
    assert.equal(out.height, 64);
    assert.equal(out.data.length, img.data.length);
    const err = meanAbsDifference(img, out);
    assert.ok(err > last, `quality ${CORRUPTION_PARAMS.jpeg[s - 1]}: error ${err} after ${last}`);
    last = err;
  }
  // Odd sizes (not multiples of the 8x8 / 16x16 JPEG blocks) come back at their size.
  const odd = image(37, 21, (x, y, c) => (x * 7 + y * 3 + c * 50) % 256);
  const out = await corrupt(odd, "jpeg", 3, 0);
  assert.deepEqual([out.width, out.height, out.data.length], [37, 21, 37 * 21 * 3]);
});

Deno.test("every corruption and severity: size kept, 8-bit values, input untouched, monotone", async () => {
  const img = await realImage();
  const before = img.data.slice();
  const nonSquare = image(48, 30, (x, y, c) => (x * 5 + y * 9 + c * 80) % 256);
  for (const name of CORRUPTIONS) {
    const changes: number[] = [];
    for (const s of SEVERITIES) {
      const out = await corrupt(img, name, s, 1);
      assert.deepEqual([out.width, out.height, out.data.length], [64, 64, 64 * 64 * 3]);
      assert.ok(
        out.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255),
        `${name} ${s}: values`,
      );
      assert.deepEqual(await corrupt(img, name, s, 1), out, `${name} ${s}: deterministic`);
      changes.push(meanAbsDifference(img, out));
      const ns = await corrupt(nonSquare, name, s, 1);
      assert.deepEqual([ns.width, ns.height], [48, 30], `${name} ${s}: non-square size`);
    }
    assert.ok(changes[0] > 0.5, `${name}: severity 1 changes the image (${changes[0]})`);
    assert.ok(changes[0] < changes[1] && changes[1] < changes[2], `${name}: ${changes}`);
  }
  assert.deepEqual(img.data, before, "input untouched");
});

Deno.test("corrupt: a bad severity, name or data length is an Error", async () => {
  const img = image(4, 4, () => 1);
  await assert.rejects(corrupt(img, "jpeg", 4 as Severity, 0), /severity must be 1, 2 or 3/);
  await assert.rejects(corrupt(img, "fog" as CorruptionName, 1, 0), /unknown corruption 'fog'/);
  await assert.rejects(corrupt({ ...img, width: 5 }, "contrast", 1, 0), /48 values for 5x4/);
});

Deno.test("parseCorruptions: names in order; unknown, repeated or empty names name the flag", () => {
  assert.deepEqual(parseCorruptions("--corruptions", "jpeg, gaussian_noise"), [
    "jpeg",
    "gaussian_noise",
  ]);
  assert.deepEqual(parseCorruptions("--corruptions", CORRUPTIONS.join(",")), [...CORRUPTIONS]);
  assert.throws(
    () => parseCorruptions("--corruptions", "jpeg,fog"),
    (e: unknown) =>
      e instanceof UserError && e.message.startsWith("--corruptions: unknown corruption 'fog'") &&
      e.message.includes("gaussian_blur"),
  );
  assert.throws(() => parseCorruptions("--corrupt", "jpeg,jpeg"), /^UserError: --corrupt: .*twice/);
  assert.throws(() => parseCorruptions("--corrupt", ""), /^UserError: --corrupt: expected/);
  assert.throws(() => parseCorruptions("--corrupt", "jpeg,,contrast"), /--corrupt: empty item/);
});
