import assert from "node:assert/strict";
import { median } from "../../src/util/median.ts";

Deno.test("median: middle value, mean of the middle two, NaN when empty, input untouched", () => {
  const xs = [5, 1, 4];
  assert.equal(median(xs), 4);
  assert.deepEqual(xs, [5, 1, 4]);
  assert.equal(median([3, 1, 2, 10]), 2.5);
  assert.equal(median([7]), 7);
  assert.ok(Number.isNaN(median([])));
});
