import assert from "node:assert/strict";
import { hash32, mulberry32, shuffled } from "../../src/util/random.ts";

Deno.test("mulberry32 matches its reference output and stays in [0, 1)", () => {
  // Reference: an independent Python transcription of the published mulberry32 C
  // code, seed 0, first outputs as uint32 (the JS returns them divided by 2^32).
  const r = mulberry32(0);
  assert.equal(r() * 4294967296, 1144304738);
  assert.equal(r() * 4294967296, 1416247);
  assert.equal(r() * 4294967296, 958946056);
  const s = mulberry32(99);
  for (let i = 0; i < 10000; i++) {
    const x = s();
    assert.ok(x >= 0 && x < 1);
  }
});

Deno.test("hash32 is FNV-1a", () => {
  assert.equal(hash32(""), 0x811c9dc5);
  assert.equal(hash32("a"), 0xe40c292c);
  assert.equal(hash32("foobar"), 0xbf9cf968);
});

Deno.test("shuffled is a permutation and leaves the input alone", () => {
  const xs = Array.from({ length: 50 }, (_, i) => i);
  const ys = shuffled(xs, mulberry32(5));
  assert.deepEqual([...ys].sort((a, b) => a - b), xs);
  assert.notDeepEqual(ys, xs);
  assert.deepEqual(xs, Array.from({ length: 50 }, (_, i) => i));
});
