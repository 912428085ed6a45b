import assert from "node:assert/strict";
import { assignShards, parseShard, selectShard, WHOLE } from "../../src/study/shard.ts";
import { UserError } from "../../src/util/errors.ts";

Deno.test("parseShard accepts K/N with 1-based K", () => {
  assert.deepEqual(parseShard("1/1"), { index: 1, count: 1 });
  assert.deepEqual(parseShard("3/8"), { index: 3, count: 8 });
  assert.deepEqual(parseShard(" 8 / 8 "), { index: 8, count: 8 });
});

Deno.test("parseShard rejects bad values with a UserError naming --shard", () => {
  for (const bad of ["0/4", "5/4", "1/0", "1", "a/b", "-1/3", "1/2/3", "", "1.5/3"]) {
    assert.throws(() => parseShard(bad), (e: Error) => {
      assert.ok(e instanceof UserError, bad);
      assert.match(e.message, /--shard/);
      return true;
    });
  }
});

const jobs = Array.from({ length: 103 }, (_, i) => ({ key: `img${(i * 37) % 103}|style${i % 4}` }));

Deno.test("shards cover every job exactly once, balanced, for several N", () => {
  for (const n of [1, 2, 3, 7, 10, 103, 200]) {
    const seen = new Map<string, number>();
    const sizes: number[] = [];
    for (let k = 1; k <= n; k++) {
      const part = selectShard(jobs, (j) => j.key, { index: k, count: n });
      sizes.push(part.length);
      for (const j of part) seen.set(j.key, (seen.get(j.key) ?? 0) + 1);
    }
    assert.equal(seen.size, jobs.length, `N=${n}`);
    assert.ok([...seen.values()].every((c) => c === 1), `N=${n}`);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `N=${n}: ${sizes}`);
  }
});

Deno.test("assignment ignores input order and keeps the input order in each part", () => {
  const reversed = [...jobs].reverse();
  const a = assignShards(jobs.map((j) => j.key), 4);
  const b = assignShards(reversed.map((j) => j.key), 4);
  assert.deepEqual([...a.entries()].sort(), [...b.entries()].sort());
  const part = selectShard(reversed, (j) => j.key, { index: 2, count: 4 });
  const positions = part.map((j) => reversed.indexOf(j));
  assert.deepEqual(positions, [...positions].sort((x, y) => x - y));
  assert.equal(selectShard(jobs, (j) => j.key, WHOLE).length, jobs.length);
});

Deno.test("duplicate keys are refused", () => {
  assert.throws(() => assignShards(["a", "b", "a"], 2), /duplicate job key 'a'/);
});
