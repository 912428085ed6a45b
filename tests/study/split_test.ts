import assert from "node:assert/strict";
import { makeDraws, makeSubsets } from "../../src/study/split.ts";
import { UserError } from "../../src/util/errors.ts";

function fakeClasses(): Record<string, string[]> {
  const mk = (name: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${name}/image_${String(i + 1).padStart(4, "0")}.jpg`);
  return { butterfly: mk("butterfly", 91), crab: mk("crab", 73), scorpion: mk("scorpion", 84) };
}

const OPTS = { trainPerClass: 10, subsets: 3, seed: 1234 };

Deno.test("makeSubsets: same seed gives the same subsets", () => {
  assert.deepEqual(makeSubsets(fakeClasses(), OPTS), makeSubsets(fakeClasses(), OPTS));
});

Deno.test("makeSubsets: different seeds give different subsets", () => {
  const a = makeSubsets(fakeClasses(), OPTS);
  const b = makeSubsets(fakeClasses(), { ...OPTS, seed: 1235 });
  for (const cls of ["butterfly", "crab", "scorpion"]) {
    assert.notDeepEqual(a[0].train[cls], b[0].train[cls]);
  }
});

Deno.test("makeSubsets: training sets are disjoint, sized, and tests are their complements", () => {
  const images = fakeClasses();
  const subsets = makeSubsets(images, OPTS);
  assert.equal(subsets.length, 3);
  assert.deepEqual(subsets.map((s) => s.index), [0, 1, 2]);
  for (const [cls, all] of Object.entries(images)) {
    const seen = new Set<string>();
    for (const s of subsets) {
      const train = s.train[cls], test = s.test[cls];
      assert.equal(train.length, 10);
      assert.equal(new Set(train).size, 10);
      for (const x of train) {
        assert.ok(!seen.has(x), `${x} in two training subsets`);
        seen.add(x);
        assert.ok(all.includes(x));
        assert.ok(!test.includes(x), `${x} in both train and test`);
      }
      assert.deepEqual([...train, ...test].sort(), [...all].sort());
      assert.equal(test.length, all.length - 10);
      // Order is the input's order, which is sorted.
      assert.deepEqual(train, [...train].sort());
      assert.deepEqual(test, [...test].sort());
    }
    assert.equal(seen.size, 30);
  }
});

Deno.test("makeSubsets: a class's subsets do not depend on the other classes", () => {
  const all = makeSubsets(fakeClasses(), OPTS);
  const crabOnly = makeSubsets({ crab: fakeClasses().crab }, OPTS);
  assert.deepEqual(crabOnly.map((s) => s.train.crab), all.map((s) => s.train.crab));
});

Deno.test("makeSubsets: too few images is a UserError naming the class and counts", () => {
  const images = { crab: Array.from({ length: 30 }, (_, i) => `crab/${i}.jpg`) };
  assert.throws(() => makeSubsets(images, OPTS), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /crab/);
    assert.match(e.message, /30/);
    assert.match(e.message, /31/);
    return true;
  });
  // 31 is exactly enough: every image but one trains, one tests.
  images.crab.push("crab/30.jpg");
  const s = makeSubsets(images, OPTS);
  assert.equal(s[2].test.crab.length, 21);
});

Deno.test("makeSubsets: bad options are UserErrors", () => {
  assert.throws(() => makeSubsets({}, { ...OPTS, trainPerClass: 0 }), UserError);
  assert.throws(() => makeSubsets({}, { ...OPTS, subsets: 1.5 }), UserError);
  assert.throws(() => makeSubsets({}, { ...OPTS, seed: NaN }), UserError);
});

Deno.test("makeDraws: seeded, within-class, test set = the class's complement, draws may overlap", () => {
  const images = {
    a: Array.from({ length: 20 }, (_, i) => `a/${i}.jpg`),
    b: Array.from({ length: 13 }, (_, i) => `b/${i}.jpg`),
  };
  const d1 = makeDraws(images, { trainPerClass: 5, draws: 8, seed: 3 });
  const d2 = makeDraws(images, { trainPerClass: 5, draws: 8, seed: 3 });
  assert.deepEqual(d1, d2, "same seed, same draws");
  const other = makeDraws(images, { trainPerClass: 5, draws: 8, seed: 4 });
  assert.notDeepEqual(d1, other, "another seed, other draws");
  assert.equal(d1.length, 8);
  let overlapping = 0;
  for (const d of d1) {
    for (const [cls, all] of Object.entries(images)) {
      assert.equal(d.train[cls].length, 5);
      for (const x of d.train[cls]) assert.ok(all.includes(x), `${x} is not of class ${cls}`);
      assert.deepEqual([...d.train[cls], ...d.test[cls]].sort(), [...all].sort());
      assert.ok(d.train[cls].every((x) => !d.test[cls].includes(x)));
    }
    if (d.train.a.some((x) => d1[0].train.a.includes(x)) && d !== d1[0]) overlapping++;
  }
  assert.ok(overlapping > 0, "independent draws of 5 of 20 should overlap somewhere");
  // Adding draws never changes the earlier ones.
  const more = makeDraws(images, { trainPerClass: 5, draws: 10, seed: 3 });
  assert.deepEqual(more.slice(0, 8), d1);
});

Deno.test("makeDraws: a class too small for a draw plus a test image is a UserError naming it", () => {
  assert.throws(
    () => makeDraws({ tiny: ["t1", "t2"] }, { trainPerClass: 2, draws: 3, seed: 0 }),
    (e: Error) => e instanceof UserError && /class tiny has 2 images.*needs 3/.test(e.message),
  );
});
