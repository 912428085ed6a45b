/**
 * Shared test setup: where the read-only real data lives, and backend
 * selection for tests.
 *
 * The shared data folder is `NST_SHARED` when set, else `../shared` beside
 * the repo when it exists, else the project's own cache in the same layout
 * (`<cache>/test-shared`, filled by `deno task test-data`; see `_data.ts`).
 * `deno task test` checks it first (`_preflight.ts`). WebGPU tests need an
 * adapter; without one they fail when `NST_REQUIRE_WEBGPU=1` (set by
 * `.ci/run`) and are skipped otherwise, with the reason printed.
 *
 * @example
 * ```ts
 * import { SHARED, sharedPath } from "./_env.ts";
 * console.log(sharedPath("weights/vgg19-tfjs"));
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { probeWebGpuAdapter } from "../src/tf.ts";
import { resolveSharedDir } from "./_data.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** The shared data folder. */
export const SHARED: string = resolveSharedDir().dir;

/** A path inside {@link SHARED}. */
export function sharedPath(rel: string): string {
  return join(SHARED, rel);
}

/** The shared tfjs VGG19 weights (blocks 1-3 only). */
export const SHARED_WEIGHTS: string = sharedPath("weights/vgg19-tfjs");

/**
 * The flags of a study small enough to run several times in a test: the smoke preset on the
 * shared data, wasm, one worker, 1 subset of 2 images per class, 2 iterations at 32 px, the
 * given style groups, no evaluation pool (so clean accuracy is the primary endpoint).
 */
export function tinyStudyArgs(groups: string): string[] {
  return [
    "--preset",
    "smoke",
    "--data",
    sharedPath("data/caltech101"),
    "--style",
    sharedPath("data/styles/composition_vii.jpg"),
    "--weights",
    SHARED_WEIGHTS,
    "--backend",
    "wasm",
    "--workers",
    "1",
    "--subsets",
    "1",
    "--train-per-class",
    "2",
    "--iterations",
    "2",
    "--image-size",
    "32",
    "--groups",
    groups,
    "--eval-pool",
    "0",
    "--primary",
    "clean_accuracy",
  ];
}

/** The repository root (for running the CLI in tests). */
export const REPO_ROOT: string = repoRoot;

const adapter = await probeWebGpuAdapter();
const requireWebGpu = Deno.env.get("NST_REQUIRE_WEBGPU") === "1";
if (!adapter && requireWebGpu) {
  throw new Error(
    "NST_REQUIRE_WEBGPU=1 but navigator.gpu gives no adapter (install mesa-vulkan-drivers)",
  );
}

/** True when a WebGPU adapter exists; tests use it as `ignore: !HAS_WEBGPU`. */
export const HAS_WEBGPU: boolean = adapter !== null;
if (!HAS_WEBGPU) console.warn("tests: no WebGPU adapter, webgpu tests are skipped");

/** The backends tests run on here. */
export const TEST_BACKENDS: ("cpu" | "wasm" | "webgpu")[] = HAS_WEBGPU
  ? ["cpu", "wasm", "webgpu"]
  : ["cpu", "wasm"];
