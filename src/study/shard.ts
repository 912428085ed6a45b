/**
 * `--shard K/N`: split the stylization work over N independent processes (a
 * Slurm array, several machines) so that together they do every job exactly
 * once. Jobs are identified by stable string keys; the keys are sorted and
 * job i (in sorted order) goes to shard (i mod N) + 1. Sorting makes the
 * assignment independent of the order jobs were generated in, and the modulo
 * keeps shard sizes within one job of each other. Every shard must be given
 * the same job list (same flags), which the study's deterministic planning
 * guarantees.
 *
 * @example
 * ```ts
 * import { parseShard, selectShard } from "./shard.ts";
 * const mine = selectShard(["a", "b", "c"], (k) => k, parseShard("2/2"));
 * console.log(mine); // ["b"]
 * ```
 * @module
 */
import { UserError } from "../util/errors.ts";

/** One shard: `index` is 1-based, 1 <= index <= count. */
export interface Shard {
  /** This shard, 1-based. */
  index: number;
  /** How many shards the jobs are split into. */
  count: number;
}

/** The whole work in one part (no `--shard` given). */
export const WHOLE: Shard = { index: 1, count: 1 };

/**
 * Parse `K/N` (1-based K). Anything else is a {@link UserError} naming `--shard`.
 *
 * @example
 * ```ts
 * import { parseShard } from "./shard.ts";
 * console.log(parseShard("3/8")); // { index: 3, count: 8 }
 * ```
 */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UserError(`--shard: expected K/N such as 1/4, got '${text}'`);
  const index = Number(m[1]), count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new UserError(`--shard: N must be at least 1, got '${text}'`);
  }
  if (!Number.isSafeInteger(index) || index < 1 || index > count) {
    throw new UserError(`--shard: K must be between 1 and ${count} (K is 1-based), got '${text}'`);
  }
  return { index, count };
}

/**
 * Shard number (1-based) of every key, as a map. Duplicate keys are a bug
 * (two jobs would write one cache entry) and throw.
 *
 * @example
 * ```ts
 * import { assignShards } from "./shard.ts";
 * console.log(assignShards(["b", "a"], 2).get("b")); // 2
 * ```
 */
export function assignShards(keys: readonly string[], count: number): Map<string, number> {
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`assignShards: count ${count}`);
  const sorted = [...keys].sort();
  const out = new Map<string, number>();
  sorted.forEach((k, i) => {
    if (out.has(k)) throw new Error(`assignShards: duplicate job key '${k}'`);
    out.set(k, (i % count) + 1);
  });
  return out;
}

/**
 * The items of `shard`, in their input order.
 *
 * @example
 * ```ts
 * import { selectShard } from "./shard.ts";
 * const jobs = [{ id: "x" }, { id: "y" }];
 * console.log(selectShard(jobs, (j) => j.id, { index: 1, count: 1 }).length); // 2
 * ```
 */
export function selectShard<T>(
  items: readonly T[],
  key: (item: T) => string,
  shard: Shard,
): T[] {
  const assigned = assignShards(items.map(key), shard.count);
  return items.filter((item) => assigned.get(key(item)) === shard.index);
}
