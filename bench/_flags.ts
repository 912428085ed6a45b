/**
 * Flags several bench scripts share.
 *
 * @example
 * ```ts
 * import { BENCH_BACKEND_FLAG } from "./_flags.ts";
 * const FLAGS = { backend: BENCH_BACKEND_FLAG };
 * console.log(FLAGS.backend.default); // "wasm"
 * ```
 * @module
 */
import { BACKEND_CHOICES } from "../src/tf.ts";
import type { FlagSpec } from "../src/util/flags.ts";

/** `--backend`: a named tfjs backend (no `auto`: a figure says which backend it is), wasm by default. */
export const BENCH_BACKEND_FLAG: FlagSpec = {
  kind: "enum",
  choices: BACKEND_CHOICES.filter((b) => b !== "auto"),
  default: "wasm",
  noun: "backend",
  help: "tfjs backend",
};
