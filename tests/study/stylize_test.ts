import assert from "node:assert/strict";
import { planAddedJobs } from "../../src/study/stylize.ts";
import { resolveStudyConfig } from "../../src/study/config.ts";
import { makeDraws } from "../../src/study/split.ts";
import type { Prepared } from "../../src/study/prepare.ts";

function prepared(draws: number): Prepared {
  const byClass = {
    a: Array.from({ length: 12 }, (_, i) => `a/${i}.jpg`),
    b: Array.from({ length: 9 }, (_, i) => `b/${i}.jpg`),
  };
  const sha256 = new Map(Object.values(byClass).flat().map((p) => [p, `sha-${p}`]));
  return {
    weights: { identity: "w" } as Prepared["weights"],
    style: { data: new Float32Array(3), width: 1, height: 1 },
    styleSha256: "style",
    data: { squares: new Map(), images: new Map(), sha256, byClass, skipped: [] },
    samples: makeDraws(byClass, { trainPerClass: 4, draws, seed: 1 }),
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
    assert.equal(jobs.length, unique.size * 4, `${draws} draws`);
    assert.equal(new Set(jobs.map((j) => j.key)).size, jobs.length, "one key per job");
    for (const g of ["copy", "light", "medium", "heavy"]) {
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
