/**
 * The project's downloadable images (the style bank, Tübingen): where
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
  /** Vincent van Gogh, The Starry Night (1889), public domain. */
  starryNight: {
    file: "data/styles/starry_night.jpg",
    urls: [
      "https://raw.githubusercontent.com/jcjohnson/neural-style/07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs/starry_night.jpg",
    ],
    sha256: "0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098",
  },
  /** J. M. W. Turner, The Shipwreck (1805), public domain. */
  shipwreck: {
    file: "data/styles/shipwreck.jpg",
    urls: [
      "https://raw.githubusercontent.com/jcjohnson/neural-style/07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs/shipwreck.jpg",
    ],
    sha256: "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213",
  },
  /** Edvard Munch, The Scream (1893), public domain; a held-out test style. */
  theScream: {
    file: "data/styles/the_scream.jpg",
    urls: [
      "https://raw.githubusercontent.com/jcjohnson/neural-style/07c4b8299f8fbdafec0c514fc820ff1d7ff62e46/examples/inputs/the_scream.jpg",
    ],
    sha256: "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee",
  },
  /** Katsushika Hokusai, The Great Wave off Kanagawa (c. 1831), public domain; a held-out test style. */
  greatWave: {
    file: "data/styles/great_wave.jpg",
    urls: [
      "https://raw.githubusercontent.com/lengstrom/fast-style-transfer/0d3d981f7ab948253d355585bdbdfa914247b4d0/examples/style/wave.jpg",
    ],
    sha256: "54f19686bea5117c0bb68ce4425dbed4efafa3e8d7cafe35f0fae80b8223f4be",
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

/** The style paintings `deno task data` fetches (bank and test styles), in `data/styles/`. */
export const STYLE_ASSETS: readonly Asset[] = [
  ASSETS.compositionVii,
  ASSETS.starryNight,
  ASSETS.shipwreck,
  ASSETS.theScream,
  ASSETS.greatWave,
];

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
