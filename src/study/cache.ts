/**
 * Content-addressed cache of stylized images, safe to share between processes
 * (a Slurm array writing to one directory) and against kill -9 at any moment.
 *
 * Key: sha256 over a canonical JSON of everything that determines the output
 * (content and style bytes' sha256, weights identity, layers, ratio,
 * iterations, size, seed, and any further parameter), so a changed input can
 * never return a stale image.
 *
 * Layout, per key `K` in `DIR/K[0..2]/`:
 * - `K.<png sha256 prefix>.png`: the image, named by its own content, so it is
 *   never overwritten with different bytes;
 * - `K.json`: the sidecar (meta, loss history, which PNG file, its size and
 *   sha256), written last: it is the commit marker.
 *
 * Both are written to a uniquely named temporary file and renamed into place.
 * An entry is present only when the sidecar parses and names a PNG of the
 * recorded size that ends in a PNG IEND chunk. Two processes putting the same
 * key each write their own PNG; whichever sidecar rename lands last wins and
 * points at its own, complete PNG, so the entry is always consistent.
 *
 * @example
 * ```ts
 * import { cacheKey, StyleCache } from "./cache.ts";
 * const cache = new StyleCache("out/cache");
 * const key = cacheKey({ content_sha256: "ab", style_sha256: "cd", weights: "w", seed: 1 });
 * console.log(await cache.get(key)); // null until put
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { userPathError, writeFileAtomic } from "../util/fs.ts";
import { dirname, join } from "node:path";

/** Bumped when the key derivation or layout changes, so old entries are not misread. */
export const CACHE_FORMAT = 1;

/** What a stylized image depends on. Every field, including extra ones, enters the key. */
export interface CacheKeyFields {
  content_sha256: string;
  style_sha256: string;
  /** Identity of the loaded weights (see `VggWeights.identity`). */
  weights: string;
  content_layer?: string;
  style_layers?: string[];
  ratio?: number;
  iterations?: number;
  size?: number;
  seed?: number;
  [extra: string]: unknown;
}

/**
 * JSON with object keys sorted at every depth and no whitespace, so equal
 * values always give identical text. Rejects what JSON would silently alter
 * or drop (undefined, NaN, Infinity, functions, bigint).
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./cache.ts";
 * console.log(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] })); // {"a":[2,{"c":4,"d":3}],"b":1}
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "string" || typeof value === "boolean") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`canonicalJson: non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  throw new Error(`canonicalJson: cannot encode a ${typeof value}`);
}

/**
 * Lowercase hex sha256 of bytes or of a string's UTF-8.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./cache.ts";
 * console.log(sha256Hex("").slice(0, 8)); // e3b0c442
 * ```
 */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The cache key of a stylization: sha256 of the canonical JSON of the fields
 * plus {@link CACHE_FORMAT}.
 *
 * @example
 * ```ts
 * import { cacheKey } from "./cache.ts";
 * const k = cacheKey({ content_sha256: "a", style_sha256: "b", weights: "w", ratio: 1e8 });
 * console.log(k.length); // 64
 * ```
 */
export function cacheKey(fields: CacheKeyFields): string {
  for (const f of ["content_sha256", "style_sha256", "weights"] as const) {
    if (typeof fields[f] !== "string" || fields[f] === "") {
      throw new Error(`cacheKey: field ${f} must be a non-empty string`);
    }
  }
  return sha256Hex(canonicalJson({ ...fields, cache_format: CACHE_FORMAT }));
}

/** The sidecar: the commit marker of an entry. */
export interface CacheSidecar {
  key: string;
  /** File name of the PNG, in the same directory. */
  png: string;
  png_bytes: number;
  png_sha256: string;
  written_at: string;
  meta: Record<string, unknown>;
}

// The last 12 bytes of every complete PNG: IEND chunk (length 0, type, CRC).
const IEND = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function looksLikeCompletePng(bytes: Uint8Array): boolean {
  if (bytes.length < PNG_SIGNATURE.length + IEND.length) return false;
  if (PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return false;
  const tail = bytes.length - IEND.length;
  return IEND.every((b, i) => bytes[tail + i] === b);
}

/**
 * A directory of stylized images keyed by {@link cacheKey}.
 *
 * @example
 * ```ts
 * import { StyleCache } from "./cache.ts";
 * const cache = new StyleCache(await Deno.makeTempDir());
 * console.log(await cache.has("0".repeat(64))); // false
 * ```
 */
export class StyleCache {
  constructor(readonly dir: string) {}

  private checkKey(key: string): void {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`cache key must be 64 hex digits: '${key}'`);
  }

  /** Path of the sidecar for `key` (whether or not it exists). */
  sidecarPath(key: string): string {
    this.checkKey(key);
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The sidecar of a present entry, else null. Partial or inconsistent entries count as absent. */
  async entry(key: string): Promise<(CacheSidecar & { path: string }) | null> {
    let side: CacheSidecar;
    try {
      side = JSON.parse(await Deno.readTextFile(this.sidecarPath(key)));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof SyntaxError) return null;
      throw e;
    }
    if (side?.key !== key || typeof side.png !== "string" || side.png.includes("/")) return null;
    const path = join(dirname(this.sidecarPath(key)), side.png);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    if (bytes.length !== side.png_bytes || !looksLikeCompletePng(bytes)) return null;
    return { ...side, path };
  }

  /** Path of the cached PNG for `key`, or null when there is no complete entry. */
  async get(key: string): Promise<string | null> {
    return (await this.entry(key))?.path ?? null;
  }

  /** True when `key` has a complete entry. */
  async has(key: string): Promise<boolean> {
    return (await this.entry(key)) !== null;
  }

  /**
   * Store a PNG and its meta (e.g. the loss history); returns the PNG's path.
   * Writing a key that is already present, from this or another process, is
   * harmless: the existing entry is kept.
   */
  async put(key: string, png: Uint8Array, meta: Record<string, unknown>): Promise<string> {
    try {
      return await this.putEntry(key, png, meta);
    } catch (e) {
      throw userPathError(e, "--cache", this.dir); // e.g. a full disk: one line naming the file
    }
  }

  private async putEntry(
    key: string,
    png: Uint8Array,
    meta: Record<string, unknown>,
  ): Promise<string> {
    if (!looksLikeCompletePng(png)) throw new Error(`cache put ${key}: not a complete PNG`);
    const existing = await this.entry(key);
    if (existing) return existing.path;
    const sidecar = this.sidecarPath(key);
    await Deno.mkdir(dirname(sidecar), { recursive: true });
    const png_sha256 = sha256Hex(png);
    const name = `${key}.${png_sha256.slice(0, 16)}.png`;
    const path = join(dirname(sidecar), name);
    await writeFileAtomic(path, png);
    const side: CacheSidecar = {
      key,
      png: name,
      png_bytes: png.length,
      png_sha256,
      written_at: new Date().toISOString(),
      meta,
    };
    await writeFileAtomic(sidecar, new TextEncoder().encode(JSON.stringify(side, null, 1) + "\n"));
    return path;
  }

  /**
   * Delete leftover temporary files older than `maxAgeMs` (default one day),
   * which only a killed writer leaves behind; younger ones may belong to a
   * running writer. Returns how many were removed.
   */
  async sweepTemp(maxAgeMs = 86_400_000): Promise<number> {
    let removed = 0;
    const now = Date.now();
    let shards: Deno.DirEntry[];
    try {
      shards = await Array.fromAsync(Deno.readDir(this.dir));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return 0;
      throw e;
    }
    for (const s of shards) {
      if (!s.isDirectory) continue;
      for await (const f of Deno.readDir(join(this.dir, s.name))) {
        if (!f.name.startsWith(".") || !f.name.endsWith(".tmp")) continue;
        const p = join(this.dir, s.name, f.name);
        const st = await Deno.stat(p).catch(() => null);
        if (st?.mtime && now - st.mtime.getTime() > maxAgeMs) {
          await Deno.remove(p).catch(() => {});
          removed++;
        }
      }
    }
    return removed;
  }
}
