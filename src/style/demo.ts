/**
 * `deno task demo`: the quick-start job. Downloads (once, verified) Keras's
 * VGG19 weights, Composition VII and the Tübingen photograph, then stylizes
 * Tübingen with the research plan's layers: `out/tubingen_kandinsky.png`.
 * Extra arguments are passed on to `deno task stylize` and win.
 *
 * @example
 * ```sh
 * deno task demo
 * deno task demo --preset heavy --iterations 500
 * ```
 * @module
 */
import { fetchWeights } from "../vgg/download.ts";
import { assetPath, ASSETS } from "../util/assets.ts";
import { downloadVerified } from "../util/download.ts";
import { runMain } from "../util/errors.ts";
import { stylizeMain } from "./cli.ts";

/** Defaults of the demo: small enough for a CPU in minutes, the paper's method otherwise. */
export const DEMO_ARGS = [
  "--size",
  "160",
  "--iterations",
  "150",
  "--out",
  "out/tubingen_kandinsky.png",
];

if (import.meta.main) {
  await runMain(async () => {
    const weights = await fetchWeights();
    const style = await downloadVerified(
      ASSETS.compositionVii.urls,
      assetPath(ASSETS.compositionVii),
      { sha256: ASSETS.compositionVii.sha256 },
    );
    const content = await downloadVerified(ASSETS.tubingen.urls, assetPath(ASSETS.tubingen), {
      sha256: ASSETS.tubingen.sha256,
    });
    await stylizeMain([
      "--content",
      content,
      "--style",
      style,
      "--weights",
      weights,
      ...DEMO_ARGS,
      ...Deno.args,
    ]);
  });
}
