import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cacheKey,
  type CacheKeyFields,
  canonicalJson,
  sha256Hex,
  StyleCache,
} from "../../src/study/cache.ts";

const BASE: CacheKeyFields = {
  content_sha256: sha256Hex("content"),
  style_sha256: sha256Hex("style"),
  weights: "vgg19-tfjs:abc123",
  content_layer: "block4_conv2",
  style_layers: ["block1_conv1", "block2_conv1", "block3_conv1"],
  ratio: 1e8,
  iterations: 500,
  size: 256,
  seed: 7,
};

/** Signature, one fake chunk, IEND: what the cache checks for completeness. */
function png(fill: number, n = 64): Uint8Array {
  const body = new Uint8Array(n).fill(fill);
  const iend = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];
  return new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...body, ...iend]);
}

Deno.test("canonicalJson sorts keys at every depth and refuses what JSON would change", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: "x" } }),
    '{"a":{"c":"x","d":[3,{"e":2,"f":1}]},"b":1}',
  );
  assert.throws(() => canonicalJson({ a: undefined }), /undefined/);
  assert.throws(() => canonicalJson({ a: NaN }), /non-finite/);
  assert.throws(() => canonicalJson({ a: 1n }), /bigint/);
});

Deno.test("sha256Hex of known inputs", () => {
  assert.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("cache key is stable, independent of field order, and changes with every field", () => {
  const k = cacheKey(BASE);
  assert.match(k, /^[0-9a-f]{64}$/);
  assert.equal(cacheKey({ ...BASE }), k);
  const reordered = Object.fromEntries(Object.entries(BASE).reverse()) as CacheKeyFields;
  assert.equal(cacheKey(reordered), k);
  const variants: Partial<CacheKeyFields>[] = [
    { content_sha256: sha256Hex("other content") },
    { style_sha256: sha256Hex("other style") },
    { weights: "vgg19-h5:def" },
    { content_layer: "block3_conv2" },
    { style_layers: ["block1_conv1", "block2_conv1"] },
    { style_layers: ["block2_conv1", "block1_conv1", "block3_conv1"] },
    { ratio: 1e7 },
    { iterations: 501 },
    { size: 512 },
    { seed: 8 },
    { init: "noise" },
    { learning_rate: 2 },
  ];
  const keys = new Set([k]);
  for (const v of variants) {
    const kv = cacheKey({ ...BASE, ...v });
    assert.ok(!keys.has(kv), `key unchanged by ${JSON.stringify(v)}`);
    keys.add(kv);
  }
  assert.throws(() => cacheKey({ ...BASE, weights: "" }), /weights/);
});

async function withCache(fn: (c: StyleCache, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(new StyleCache(dir), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("put then get; a new instance on the same dir sees it (resume)", async () => {
  await withCache(async (cache, dir) => {
    const key = cacheKey(BASE);
    assert.equal(await cache.get(key), null);
    const path = await cache.put(key, png(1), { losses: [3, 2, 1] });
    assert.equal(await cache.get(key), path);
    assert.deepEqual(await Deno.readFile(path), png(1));
    const again = new StyleCache(dir);
    assert.equal(await again.get(key), path);
    const e = await again.entry(key);
    assert.deepEqual(e?.meta, { losses: [3, 2, 1] });
    assert.equal(e?.png_sha256, sha256Hex(png(1)));
    assert.equal(await again.get(cacheKey({ ...BASE, seed: 99 })), null);
  });
});

Deno.test("putting a present key again is harmless and keeps the first entry", async () => {
  await withCache(async (cache) => {
    const key = cacheKey(BASE);
    const first = await cache.put(key, png(1), { run: 1 });
    const second = await cache.put(key, png(2), { run: 2 });
    assert.equal(second, first);
    assert.deepEqual(await Deno.readFile(first), png(1));
    assert.deepEqual((await cache.entry(key))?.meta, { run: 1 });
  });
});

Deno.test("concurrent puts of one key from several writers leave one consistent entry", async () => {
  await withCache(async (_c, dir) => {
    const key = cacheKey(BASE);
    const writers = Array.from({ length: 8 }, () => new StyleCache(dir));
    const paths = await Promise.all(writers.map((w, i) => w.put(key, png(i + 1, 2000), { i })));
    const e = await new StyleCache(dir).entry(key);
    assert.ok(e);
    assert.ok(paths.includes(e.path));
    const bytes = await Deno.readFile(e.path);
    assert.equal(sha256Hex(bytes), e.png_sha256);
    assert.deepEqual(bytes, png((e.meta.i as number) + 1, 2000));
    const shard = join(dir, key.slice(0, 2));
    const names = await Array.fromAsync(Deno.readDir(shard), (d) => d.name);
    assert.ok(!names.some((n) => n.endsWith(".tmp")), `${names}`);
  });
});

Deno.test("interrupted writes are not entries, and a later put succeeds", async () => {
  await withCache(async (cache, dir) => {
    const key = cacheKey(BASE);
    const shard = join(dir, key.slice(0, 2));
    await Deno.mkdir(shard, { recursive: true });
    const pngName = `${key}.${sha256Hex(png(1)).slice(0, 16)}.png`;

    // Killed while writing the PNG: only a temp file.
    await Deno.writeFile(join(shard, `.${pngName}.dead-beef.tmp`), png(1).slice(0, 20));
    assert.equal(await cache.get(key), null);

    // Killed after the PNG rename, before the sidecar: no commit marker.
    await Deno.writeFile(join(shard, pngName), png(1));
    assert.equal(await cache.get(key), null);

    // Sidecar half written (non-atomic writer elsewhere) or pointing at a truncated PNG.
    await Deno.writeTextFile(join(shard, `${key}.json`), '{"key":"');
    assert.equal(await cache.get(key), null);
    const truncated = png(1).slice(0, 40);
    await Deno.writeFile(join(shard, "trunc.png"), truncated);
    await Deno.writeTextFile(
      join(shard, `${key}.json`),
      JSON.stringify({ key, png: "trunc.png", png_bytes: truncated.length, meta: {} }),
    );
    assert.equal(await cache.get(key), null);
    await Deno.writeTextFile(
      join(shard, `${key}.json`),
      JSON.stringify({ key, png: pngName, png_bytes: 999, meta: {} }),
    );
    assert.equal(await cache.get(key), null);

    const path = await cache.put(key, png(1), { ok: true });
    assert.equal(await cache.get(key), path);
    assert.deepEqual((await cache.entry(key))?.meta, { ok: true });
  });
});

Deno.test("put refuses bytes that are not a complete PNG; keys must be hex", async () => {
  await withCache(async (cache) => {
    const key = cacheKey(BASE);
    await assert.rejects(cache.put(key, png(1).slice(0, 30), {}), /not a complete PNG/);
    assert.equal(await cache.get(key), null);
    await assert.rejects(cache.get("../../etc/passwd"), /64 hex/);
  });
});

Deno.test("sweepTemp removes only old temp files", async () => {
  await withCache(async (cache, dir) => {
    const shard = join(dir, "ab");
    await Deno.mkdir(shard);
    const old = join(shard, ".x.png.1.tmp"), young = join(shard, ".y.png.2.tmp");
    const keep = join(shard, "keep.json");
    for (const p of [old, young, keep]) await Deno.writeTextFile(p, "x");
    const past = new Date(Date.now() - 2 * 86_400_000);
    await Deno.utime(old, past, past);
    await Deno.utime(keep, past, past);
    assert.equal(await cache.sweepTemp(), 1);
    const names = (await Array.fromAsync(Deno.readDir(shard), (d) => d.name)).sort();
    assert.deepEqual(names, [".y.png.2.tmp", "keep.json"]);
  });
});

Deno.test("several processes putting one key into a shared dir agree on one entry", async () => {
  await withCache(async (_c, dir) => {
    const key = cacheKey(BASE);
    const mod = new URL("../../src/study/cache.ts", import.meta.url).href;
    const code = `
      import { StyleCache } from ${JSON.stringify(mod)};
      const [dir, key, fill] = Deno.args;
      const body = new Uint8Array(100000).fill(Number(fill));
      const iend = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...body, ...iend]);
      for (let i = 0; i < 20; i++) await new StyleCache(dir).put(key, png, { fill });`;
    const procs = [1, 2, 3].map((fill) =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--ext=ts", code, dir, key, String(fill)],
        stdout: "null",
        stderr: "piped",
      }).output()
    );
    for (const out of await Promise.all(procs)) {
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    }
    const e = await new StyleCache(dir).entry(key);
    assert.ok(e);
    const bytes = await Deno.readFile(e.path);
    assert.equal(sha256Hex(bytes), e.png_sha256);
    assert.equal(bytes[8], Number(e.meta.fill));
  });
});
