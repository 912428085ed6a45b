import assert from "node:assert/strict";
import { bankDraw, planAddedJobs } from "../../src/study/stylize.ts";
import { cueConflictPairs, reservePool } from "../../src/study/prepare.ts";
import { resolveStudyConfig } from "../../src/study/config.ts";
import { makeDraws } from "../../src/study/split.ts";
import type { Prepared } from "../../src/study/prepare.ts";

const pixel = { data: new Float32Array(3), width: 1, height: 1 };
const styleImage = (name: string, sha256 = `sha-${name}`) => ({
  file: `styles/${name}.jpg`,
  name,
  sha256,
  image: pixel,
});

function prepared(draws: number, poolPerClass = 0): Prepared {
  const byClass = {
    a: Array.from({ length: 12 }, (_, i) => `a/${i}.jpg`),
    b: Array.from({ length: 9 }, (_, i) => `b/${i}.jpg`),
  };
  const sha256 = new Map(Object.values(byClass).flat().map((p) => [p, `sha-${p}`]));
  const pool = reservePool(byClass, poolPerClass, 1);
  const trainable = {
    a: byClass.a.filter((x) => !pool.a.includes(x)),
    b: byClass.b.filter((x) => !pool.b.includes(x)),
  };
  const cuePairs = cueConflictPairs(pool, ["a", "b"], 1);
  return {
    weights: { identity: "w" } as Prepared["weights"],
    style: pixel,
    styleSha256: "style",
    bank: ["composition_vii", "starry_night", "shipwreck"].map((n) => styleImage(n)),
    testStyles: poolPerClass > 0 ? ["the_scream", "great_wave"].map((n) => styleImage(n)) : [],
    data: { squares: new Map(), images: new Map(), sha256, byClass, skipped: [] },
    pool,
    cuePairs,
    textures: new Map(cuePairs.map((c) => [c.texture_image, pixel])),
    samples: makeDraws(trainable, { trainPerClass: 4, draws, seed: 1 }),
  };
}

const config = resolveStudyConfig({ preset: "smoke", classes: ["a", "b"] }, {
  data: "d",
  style: "s",
  weights: "w",
  cache: "c",
});

Deno.test("planAddedJobs: each training original once per added group, whatever the number of draws", () => {
  for (const draws of [1, 5, 20]) {
    const p = prepared(draws);
    const jobs = planAddedJobs(p, config);
    const unique = new Set(p.samples.flatMap((s) => Object.values(s.train).flat()));
    assert.equal(jobs.length, unique.size * 5, `${draws} draws`);
    assert.equal(new Set(jobs.map((j) => j.key)).size, jobs.length, "one key per job");
    for (const g of ["copy", "light", "medium", "heavy", "bank"]) {
      const images = jobs.filter((j) => j.group === g).map((j) => j.image);
      assert.deepEqual([...images].sort(), [...unique].sort());
    }
  }
});

Deno.test("planAddedJobs: a copy's key ignores the optimiser settings; a stylization's key does not", () => {
  const p = prepared(2);
  const base = planAddedJobs(p, config);
  const other = planAddedJobs(p, {
    ...config,
    iterations: config.iterations + 1,
    optimizer: "adam",
  });
  const key = (jobs: typeof base, g: string) => jobs.find((j) => j.group === g)!.key;
  assert.equal(key(base, "copy"), key(other, "copy"));
  for (const g of ["light", "medium", "heavy"]) assert.notEqual(key(base, g), key(other, g));
  for (const j of base) assert.equal(j.ratio === null, j.group === "copy");
});

Deno.test("bankDraw: deterministic per image, a bank index and a log-uniform ratio in [heavy, light]", () => {
  const ratios = { heavy: 100, light: 10000 };
  const logs: number[] = [];
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) {
    const d = bankDraw(`c/${i}.jpg`, 3, ratios, 7);
    assert.deepEqual(bankDraw(`c/${i}.jpg`, 3, ratios, 7), d, "same image, same draw");
    assert.ok(d.ratio >= 100 && d.ratio <= 10000, `ratio ${d.ratio}`);
    logs.push(Math.log10(d.ratio));
    counts[d.index]++;
  }
  // log10(ratio) ~ U(2, 4): mean 3, sd 2/sqrt(12) = 0.577; 3000 draws give a mean within 0.04 (4 se).
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  assert.ok(Math.abs(mean - 3) < 0.04, `mean log10 ratio ${mean}`);
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (logs.length - 1));
  assert.ok(Math.abs(sd - 0.577) < 0.03, `sd ${sd}`);
  // Each of 3 styles ~1000 times (binomial sd ~26).
  for (const c of counts) assert.ok(Math.abs(c - 1000) < 110, `counts ${counts}`);
  assert.notDeepEqual(bankDraw("c/1.jpg", 3, ratios, 8), bankDraw("c/1.jpg", 3, ratios, 7));
});

Deno.test("planAddedJobs: bank copies use only bank styles, recorded per job; test styles only on the pool", () => {
  const p = prepared(3, 2);
  const jobs = planAddedJobs(p, config);
  const bank = jobs.filter((j) => j.group === "bank");
  assert.ok(bank.length > 0);
  for (const j of bank) {
    assert.match(j.style!, /^bank:(composition_vii|starry_night|shipwreck)$/);
    assert.equal(j.styleFile, `styles/${j.style!.slice(5)}.jpg`);
    const d = bankDraw(j.image, 3, config.ratios, config.seed);
    assert.equal(j.ratio, d.ratio);
    assert.equal(j.style, `bank:${p.bank[d.index].name}`);
  }
  const poolImages = new Set(Object.values(p.pool).flat());
  const training = new Set(p.samples.flatMap((s) => Object.values(s.train).flat()));
  for (const img of poolImages) {
    assert.ok(!training.has(img), `${img} is in the pool and trained on`);
  }
  for (const j of jobs) {
    const evalJob = j.group === "texture" || j.group === "cue";
    assert.equal(poolImages.has(j.image), evalJob, `${j.name}`);
    if (j.style?.startsWith("test:")) assert.equal(j.group, "texture");
  }
  assert.equal(jobs.filter((j) => j.group === "texture").length, poolImages.size * 2);
  assert.equal(jobs.filter((j) => j.group === "cue").length, poolImages.size);
  for (const c of p.cuePairs) assert.notEqual(c.shape_class, c.texture_class);
});

Deno.test("planAddedJobs: cache keys include the style file's hash", () => {
  const p = prepared(2, 2);
  const before = planAddedJobs(p, config);
  const changed: Prepared = {
    ...p,
    styleSha256: "style-2",
    bank: p.bank.map((b) => ({ ...b, sha256: `${b.sha256}-2` })),
    testStyles: p.testStyles.map((t) => ({ ...t, sha256: `${t.sha256}-2` })),
  };
  const after = planAddedJobs(changed, config);
  for (let i = 0; i < before.length; i++) {
    const j = before[i];
    if (j.group === "copy" || j.group === "cue") continue; // no style file (cue: a data image)
    assert.notEqual(after[i].key, j.key, `${j.name}`);
  }
});
