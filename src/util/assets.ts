/**
 * The project's downloadable images (Composition VII, Tübingen): where
 * `deno task data` puts them, where they come from, and their sha256.
 *
 * @example
 * ```ts
 * import { ASSETS, assetPath } from "./assets.ts";
 * console.log(assetPath(ASSETS.compositionVii));
 * ```
 * @module
 */
import { join } from "node:path";
import { cacheDir, exists } from "./fs.ts";
import { UserError } from "./errors.ts";

/** A downloadable file: cache-relative path, source URLs, sha256. */
export interface Asset {
  file: string;
  urls: string[];
  sha256: string;
}

/** The images the project downloads (the same files as in the shared data folder). */
export const ASSETS = {
  /** Wassily Kandinsky, Composition VII (1913), public domain; 1071x712 JPEG. */
  compositionVii: {
    file: "data/styles/composition_vii.jpg",
    urls: [
      "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/composition_vii.jpg",
    ],
    sha256: "8f992ed4aecd6dd56972d7bc8166761de7c94e670ee6effa8fd05f3daeb33409",
  },
  /** The Neckarfront in Tübingen (Andreas Praefcke, CC BY 3.0), Gatys et al.'s content image; 1024x768. */
  tubingen: {
    file: "data/content/tubingen.jpg",
    urls: [
      "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/tubingen.jpg",
    ],
    sha256: "e67d1869f01fd805385c681a80d9ebcf0f70ea4a5fe6127f0606bb1c7f4bf506",
  },
} satisfies Record<string, Asset>;

/** Absolute path of an asset in the user cache. */
export function assetPath(a: Asset): string {
  return join(cacheDir(), a.file);
}

/** The default `--style`: the cached Composition VII, or a UserError saying how to get it. */
export async function defaultStylePath(): Promise<string> {
  const p = assetPath(ASSETS.compositionVii);
  if (await exists(p)) return p;
  throw new UserError(
    `--style: not given and ${p} is missing; run \`deno task data\` or pass --style FILE`,
  );
}
