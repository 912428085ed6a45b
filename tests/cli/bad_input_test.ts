/**
 * Bad and unusual inputs to every entry point, table-driven. Each row makes
 * its fixture in a fresh temporary directory (tiny PNGs, broken files,
 * hostile manifests), runs the command line there, and checks the exit code,
 * a fragment of the one-line message, that no stack trace is printed, that
 * every file present before is byte-identical after, and that no file appears
 * except the row's expected ones. Runs on wasm with 0-1 iterations and tiny
 * images, so the whole table takes seconds per row.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { REPO_ROOT, SHARED_WEIGHTS, sharedPath } from "../_env.ts";
import { encodePng } from "../../src/images/io.ts";

/** A small deterministic RGB test image as PNG bytes. */
async function png(width: number, height: number): Promise<Uint8Array> {
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
  return await encodePng({ width, height, data });
}

/** One bad-input case. */
interface Row {
  name: string;
  /** Entry point under src/ (or bench/, deploy/kit/). */
  entry: string;
  /** Fixture: files to create in the row's directory (relative path -> bytes), made before the run. */
  setup?: (dir: string) => Promise<void>;
  /** The command line; `dir` is the row's directory. */
  args: (dir: string) => string[];
  code: number;
  /** A fragment of stderr (the one-line message). */
  message: string | RegExp;
  /** Paths (relative to dir) that may appear; everything else must not. */
  newFiles?: string[];
  /** At most this many non-empty lines on stdout and stderr together (e.g. 1: the message only). */
  lines?: number;
}

const STYLIZE = "src/style/cli.ts", STUDY = "src/study/cli.ts";

/** The common flags of a cheap stylize run on the row's own style image. */
const cheap = (dir: string) => [
  "--style",
  join(dir, "style.png"),
  "--weights",
  SHARED_WEIGHTS,
  "--profile",
  "offline",
  "--backend",
  "wasm",
  "--iterations",
  "0",
];

/** A small valid HDF5 file (one Keras-like layer group) at `path`, cut to `keep` of its bytes. */
async function truncatedH5(path: string, keep: number): Promise<void> {
  const h5wasm = (await import("h5wasm/node")).default;
  await h5wasm.ready;
  const f = new h5wasm.File(path, "w");
  const g = f.create_group("block1_conv1");
  g.create_dataset({
    name: "kernel",
    data: new Float32Array(3 * 3 * 3 * 64),
    shape: [3, 3, 3, 64],
  });
  g.create_dataset({ name: "bias", data: new Float32Array(64), shape: [64] });
  f.close();
  const b = await Deno.readFile(path);
  await Deno.writeFile(path, b.slice(0, Math.floor(b.length * keep)));
}

/** content.png (30x40) and style.png (40x30). */
async function images(dir: string): Promise<void> {
  await Deno.writeFile(join(dir, "content.png"), await png(30, 40));
  await Deno.writeFile(join(dir, "style.png"), await png(40, 30));
}

/** Layers of block 1 only, on the row's own weights copy (w/). */
const block1 = (d: string) => [
  "--weights",
  join(d, "w"),
  "--content-layer",
  "block1_conv2",
  "--style-layers",
  "block1_conv1",
];

/** images() plus w/: the shared weights' block 1 with `edit` applied to model.json and `shard` to group1. */
async function hostileWeights(
  dir: string,
  edit: (m: { weightsManifest: unknown[] }) => void,
  shard?: (b: Uint8Array) => Uint8Array,
): Promise<void> {
  await images(dir);
  const w = join(dir, "w");
  await Deno.mkdir(w);
  const model = JSON.parse(await Deno.readTextFile(join(SHARED_WEIGHTS, "model.json")));
  edit(model);
  await Deno.writeTextFile(join(w, "model.json"), JSON.stringify(model));
  for (const g of ["group1-shard1of1", "group2-shard1of1"]) {
    const b = await Deno.readFile(join(SHARED_WEIGHTS, g));
    await Deno.writeFile(join(w, g), g.startsWith("group1") && shard ? shard(b) : b);
  }
}

const studyBase = (dir: string) => [
  "--preset",
  "smoke",
  "--data",
  sharedPath("data/caltech101"),
  "--weights",
  SHARED_WEIGHTS,
  "--style",
  join(dir, "style.png"),
  "--out",
  join(dir, "study"),
  "--cache",
  join(dir, "cache"),
  "--styles",
  ["composition_vii", "starry_night", "shipwreck"].map((n) => sharedPath(`data/styles/${n}.jpg`))
    .join(","),
  "--test-styles",
  ["the_scream", "great_wave"].map((n) => sharedPath(`data/styles/${n}.jpg`)).join(","),
];

const ROWS: Row[] = [
  // --- the style bank and the evaluation pool (issue 13) ---
  {
    name: "study: a bank style that cannot be decoded",
    entry: STUDY,
    setup: async (d) => {
      await images(d);
      await Deno.writeFile(join(d, "broken.jpg"), new TextEncoder().encode("not a jpeg"));
    },
    args: (d) => [...studyBase(d), "--styles", join(d, "broken.jpg")],
    code: 2,
    message: /--styles: cannot decode \S*broken\.jpg/,
  },
  {
    name: "study: a test style that is also in the bank (same bytes, other name)",
    entry: STUDY,
    setup: async (d) => {
      await images(d);
      await Deno.copyFile(sharedPath("data/styles/starry_night.jpg"), join(d, "renamed.jpg"));
    },
    args: (d) => [...studyBase(d), "--test-styles", join(d, "renamed.jpg")],
    code: 2,
    message:
      /--test-styles: \S*renamed\.jpg is the same image as --styles \S*starry_night\.jpg; a held-out style must not be used for training/,
  },
  {
    name: "study: a test style that is --style",
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--test-styles", join(d, "style.png")],
    code: 2,
    message: /--test-styles: \S*style\.png is the same image as --style/,
  },
  {
    name: "study: an evaluation pool that leaves a class too few images for its draws",
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--eval-pool", "70"],
    code: 2,
    message:
      "class 'crab' has 73 images; --eval-pool 70 (reserved from training) and 3 draws of 4 training images plus one test image need 75",
  },
  // --- size limits (issue 8, 1) ---
  {
    name: "--size 5: the style image would be 5x3 (was a hang)",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.writeFile(join(d, "style.png"), await png(50, 30));
    },
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--size", "5"],
    code: 2,
    message: /--size: the style image .* would be 5x3 px; layer block3_conv4/,
  },
  {
    name: "--size 3: the content would be 2x3 (was a wasm crash)",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--size", "3"],
    code: 2,
    message: /--size: content image .* would be 2x3 px; layer block3_conv4 .* >= 4 px/,
  },
  {
    name: "--size 4: the content would be 3x4",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--size", "4"],
    code: 2,
    message: "would be 3x4 px",
  },
  {
    name: "a 1x1 content image without --size",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.writeFile(join(d, "one.png"), await png(1, 1));
    },
    args: (d) => [...cheap(d), "--content", join(d, "one.png")],
    code: 2,
    message: /--content: content image .*one.png would be 1x1 px.*use --size 4 or more/,
  },
  {
    name: "a 2000x8 content image (capped at 512x2)",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.writeFile(join(d, "wide.png"), await png(2000, 8));
    },
    args: (d) => [...cheap(d), "--content", join(d, "wide.png")],
    code: 2,
    message: /would be 512x2 px.*use --size 875 or more/,
  },
  {
    name: "a very wide style image",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.writeFile(join(d, "style.png"), await png(400, 20));
    },
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--size", "24"],
    code: 2,
    message: /--size: the style image .* would be 24x1 px/,
  },
  {
    name: "--size 100000 is over the wasm heap and says what fits",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--size", "100000"],
    code: 2,
    message:
      /--size: .* over the 3\.2 GiB a step may use on wasm \(wasm32 heap of 4 GiB.*\); the largest that fits is --size \d+/,
  },
  {
    name: "study --stylize-size 3",
    entry: STUDY,
    setup: images,
    // The CNN takes any --image-size (its pools are 'same'); the transfer backbone does not.
    args: (
      d,
    ) => [...studyBase(d), "--stylize-size", "3", "--image-size", "3", "--classifier", "cnn"],
    code: 2,
    message: /--stylize-size: a 3x3 square .* block3_conv4/,
  },
  // --- outputs never clobber inputs, writability before compute (issue 8, 2-3) ---
  {
    name: "--out equal to --content",
    entry: STYLIZE,
    setup: images,
    args: (
      d,
    ) => [...cheap(d), "--content", join(d, "content.png"), "--out", join(d, "content.png")],
    code: 2,
    message: /--out: .*content.png is the --content image .*refusing to overwrite an input/,
  },
  {
    name: "--out a symlink to --content",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.symlink(join(d, "content.png"), join(d, "link.png"));
    },
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--out", join(d, "link.png")],
    code: 2,
    message: /--out: .*link.png is the --content image/,
  },
  {
    name: "--out equal to --style",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--out", join(d, "style.png")],
    code: 2,
    message: /--out: .*style.png is the --style image/,
  },
  {
    name: "--log equal to --out",
    entry: STYLIZE,
    setup: images,
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--out",
      join(d, "o.png"),
      "--log",
      join(d, "o.png"),
    ],
    code: 2,
    message: /--log: .*o.png is also the output of --out/,
  },
  {
    name: "--log equal to --content",
    entry: STYLIZE,
    setup: images,
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--out",
      join(d, "o.png"),
      "--log",
      join(d, "content.png"),
    ],
    code: 2,
    message: /--log: .*content.png is the --content image/,
  },
  {
    name: "a --save-every snapshot that would replace the content",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.writeFile(join(d, "x_iter0001.png"), await png(30, 40));
    },
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "x_iter0001.png"),
      "--out",
      join(d, "x.png"),
      "--iterations",
      "2",
      "--save-every",
      "1",
    ],
    code: 2,
    message: /--save-every: .*x_iter0001.png is the --content image/,
  },
  {
    name: "directory mode: --out is the --content directory",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.mkdir(join(d, "in"));
      await Deno.writeFile(join(d, "in", "x.png"), await png(30, 40));
    },
    args: (d) => [...cheap(d), "--content", join(d, "in"), "--out", join(d, "in")],
    code: 2,
    message: /--out: .*in is the --content directory/,
  },
  {
    name: "directory mode: x.jpg and x.png get distinct names",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.mkdir(join(d, "in"));
      await Deno.writeFile(join(d, "in", "x.png"), await png(30, 40));
      await Deno.writeFile(join(d, "in", "x.jpg"), await png(30, 40));
    },
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "in"),
      "--out",
      join(d, "out"),
      "--size",
      "16",
      "--workers",
      "1",
    ],
    code: 0,
    message:
      /names: .*x.jpg -> x.jpg.png, x.png -> x.png.png[\s\S]*wrote 2 image\(s\): .*x.jpg.png, .*x.png.png/,
    newFiles: ["out/", "out/x.jpg.png", "out/x.png.png"],
  },
  {
    name: "--out under /proc",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--out", "/proc/nst-x.png"],
    code: 2,
    message: "--out: cannot write /proc/nst-x.png",
  },
  {
    name: "--out under a file",
    entry: STYLIZE,
    setup: images,
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--out",
      join(d, "content.png", "x.png"),
    ],
    code: 2,
    message: /--out: cannot write .*content.png\/x.png \(.*content.png is not a directory\)/,
  },
  {
    name: "--out an existing directory named x.png",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.mkdir(join(d, "x.png"));
    },
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--out", join(d, "x.png")],
    code: 2,
    message: /--out: .*x.png is a directory, expected a file/,
  },
  {
    name: "--log under /proc",
    entry: STYLIZE,
    setup: images,
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--out",
      join(d, "o.png"),
      "--log",
      "/proc/nst-log.jsonl",
    ],
    code: 2,
    message: "--log: cannot write /proc/nst-log.jsonl",
  },
  ...(Deno.uid() === 0 ? [] : [{
    name: "--out in a read-only directory (non-root only)",
    entry: STYLIZE,
    setup: async (d: string) => {
      await images(d);
      await Deno.mkdir(join(d, "ro"));
      await Deno.chmod(join(d, "ro"), 0o555);
    },
    args: (d: string) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--out",
      join(d, "ro", "x.png"),
    ],
    code: 2,
    message: /--out: cannot write .*ro\/x.png/,
  }]),
  {
    name: "study: an early failure leaves no empty --out or --cache",
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--weights", join(d, "nowhere")],
    code: 2,
    message: "--weights:",
  },
  {
    name: "study: --out under a file",
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--out", join(d, "style.png", "study")],
    code: 2,
    message: /--out: cannot write .*style.png is not a directory/,
  },
  ...(["--out", "--cache"] as const).map((flag): Row => ({
    name: `study: ${flag} inside --data is refused before any work`,
    entry: STUDY,
    setup: async (d) => {
      await images(d);
      for (const c of ["a", "b"]) {
        await Deno.mkdir(join(d, "data", c), { recursive: true });
        await Deno.writeFile(join(d, "data", c, "x.png"), await png(40, 30));
      }
    },
    args: (d) => [...studyBase(d), "--data", join(d, "data"), flag, join(d, "data", "a", "o")],
    code: 2,
    message: new RegExp(`${flag} \\S+ is inside --data \\S+: the study would write into`),
  })),
  {
    name: "study: --out equal to --data (through a symlink) is refused",
    entry: STUDY,
    setup: async (d) => {
      await images(d);
      await Deno.mkdir(join(d, "data", "a"), { recursive: true });
      await Deno.writeFile(join(d, "data", "a", "x.png"), await png(40, 30));
      await Deno.symlink(join(d, "data"), join(d, "link"));
    },
    args: (d) => [...studyBase(d), "--data", join(d, "data"), "--out", join(d, "link")],
    code: 2,
    message: /--out .*link is --data .*: the study would write into the dataset it reads/,
  },
  // --- weights validated as data (issue 8, 5) ---
  {
    name: "weights: a null manifest group",
    entry: STYLIZE,
    setup: (d) => hostileWeights(d, (m) => (m.weightsManifest[0] = null)),
    args: (d) => [...cheap(d), ...block1(d), "--content", join(d, "content.png")],
    code: 2,
    message: /model.json: weightsManifest\[0\] is not an object/,
  },
  {
    name: "weights: a shape given as a string",
    entry: STYLIZE,
    setup: (d) =>
      hostileWeights(
        d,
        (m) => ((m.weightsManifest[1] as { weights: { shape: unknown }[] }).weights[0].shape = "3"),
      ),
    args: (d) => [...cheap(d), ...block1(d), "--content", join(d, "content.png")],
    code: 2,
    message: /block1_conv2\/kernel .*shape "3" is not an array of integers/,
  },
  {
    name: "weights: NaN in a kernel (was 'lower --lr')",
    entry: STYLIZE,
    setup: (d) =>
      hostileWeights(d, () => {}, (b) => {
        const c = b.slice();
        new DataView(c.buffer).setFloat32(0, NaN, true);
        return c;
      }),
    args: (d) => [...cheap(d), ...block1(d), "--content", join(d, "content.png")],
    code: 2,
    message: /layer block1_conv1 kernel has a non-finite value \(NaN\) at index 0/,
  },
  {
    name: "weights: a shard longer than its manifest",
    entry: STYLIZE,
    setup: (d) => hostileWeights(d, () => {}, (b) => new Uint8Array([...b, 1, 2, 3, 4])),
    args: (d) => [...cheap(d), ...block1(d), "--content", join(d, "content.png")],
    code: 2,
    message: /hold \d+ bytes; the manifest's weights need exactly/,
  },
  {
    name: "weights: a shard path outside the directory",
    entry: STYLIZE,
    setup: (d) =>
      hostileWeights(
        d,
        (m) => ((m.weightsManifest[0] as { paths: string[] }).paths = ["../content.png"]),
      ),
    args: (d) => [...cheap(d), ...block1(d), "--content", join(d, "content.png")],
    code: 2,
    message: /shard path '..\/content.png' is outside the weights directory/,
  },
  // --- smaller items (issue 8, 7) ---
  {
    name: "bench --bogus",
    entry: "bench/bench.ts",
    args: () => ["--bogus"],
    code: 2,
    message: "error: Unknown option '--bogus' (see --help)",
  },
  {
    name: "bench --runs 1e1",
    entry: "bench/bench.ts",
    args: () => ["--runs", "1e1"],
    code: 2,
    message: "--runs: expected a positive integer, got '1e1'",
  },
  {
    name: "bench --json under /proc is refused before timing",
    entry: "bench/bench.ts",
    args: () => ["--json", "/proc/nst-bench.json"],
    code: 2,
    message: "--json: cannot write /proc/nst-bench.json",
  },
  {
    name: "bench --kernels with an unknown kernel",
    entry: "bench/bench.ts",
    args: () => ["--kernels", "conv9"],
    code: 2,
    message: "--kernels: unknown value 'conv9'",
  },
  // --- bench and kit scripts on the flag layer (issue 15, §5) ---
  {
    name: "bench/calibrate.ts --size -1",
    entry: "bench/calibrate.ts",
    args: () => ["--size", "-1"],
    code: 2,
    message: "--size",
  },
  {
    name: "bench/coarse_to_fine.ts --scales 0",
    entry: "bench/coarse_to_fine.ts",
    args: () => ["--scales", "0"],
    code: 2,
    message: "--scales: expected a positive integer, got '0'",
    lines: 1,
  },
  {
    name: "bench/pool.ts --workers 1,0",
    entry: "bench/pool.ts",
    args: () => ["--workers", "1,0"],
    code: 2,
    message: "--workers: expected positive integers, got '0'",
    lines: 1,
  },
  {
    name: "bench/wasm_route.ts --runs abc",
    entry: "bench/wasm_route.ts",
    args: () => ["--runs", "abc"],
    code: 2,
    message: "--runs: expected a positive integer, got 'abc'",
    lines: 1,
  },
  {
    name: "bench/example_grid.ts without OUT.jpg",
    entry: "bench/example_grid.ts",
    args: (d) => [d],
    code: 2,
    message: "expected EXAMPLES_DIR and OUT.jpg, got 1 argument(s)",
    lines: 1,
  },
  {
    name: "bench/optimizers.ts --adam-steps 0",
    entry: "bench/optimizers.ts",
    args: () => ["--adam-steps", "0"],
    code: 2,
    message: "--adam-steps: expected a positive integer, got '0'",
    lines: 1,
  },
  {
    name: "bench/cnn_select.ts --folds 4",
    entry: "bench/cnn_select.ts",
    args: () => ["--folds", "4"],
    code: 2,
    message: "--folds: expected a number in [1, 3], got '4'",
    lines: 1,
  },
  {
    name: "deploy/kit/adapter.ts --bogus",
    entry: "deploy/kit/adapter.ts",
    args: () => ["--bogus"],
    code: 2,
    message: "Unknown option '--bogus'",
    lines: 1,
  },
  {
    name: "deploy/kit/build.ts --xz-level 10",
    entry: "deploy/kit/build.ts",
    args: (d) => ["--out", join(d, "kit"), "--xz-level", "10"],
    code: 2,
    message: "--xz-level: expected a number in [0, 9], got '10'",
    lines: 1,
  },
  {
    name: "bench/readme_flags.ts --bogus",
    entry: "bench/readme_flags.ts",
    args: () => ["--bogus"],
    code: 2,
    message: "Unknown option '--bogus'",
    lines: 1,
  },
  {
    name: "--size 0x20 (was read as 32)",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--size", "0x20"],
    code: 2,
    message: "--size: expected a positive integer, got '0x20'",
  },
  {
    name: "--size 1e1 (was read as 10)",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--size", "1e1"],
    code: 2,
    message: "--size: expected a positive integer, got '1e1'",
  },
  {
    name: "--lr 0x1",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--lr", "0x1"],
    code: 2,
    message: "--lr: expected a positive number, got '0x1'",
  },
  {
    name: "study --preset huge names the preset, not --data",
    entry: STUDY,
    args: () => ["--preset", "huge"],
    code: 2,
    message: "--preset: unknown preset 'huge' (known: full, cpu, quick, smoke)",
  },
  {
    name: "study --iterations 1e1",
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--iterations", "1e1"],
    code: 2,
    message: "--iterations: expected an integer, got '1e1'",
  },
  {
    name: "weights --bogus",
    entry: "src/vgg/download.ts",
    args: () => ["--bogus"],
    code: 2,
    message: "--bogus",
  },
  {
    name: "study --classifier bogus",
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--classifier", "bogus"],
    code: 2,
    message: "--classifier: unknown classifier 'bogus' (known: transfer, cnn, both)",
  },
  {
    name: "study --draws and --subsets together",
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--draws", "2", "--subsets", "2"],
    code: 2,
    message: "--draws and --subsets: give one of them, not both",
  },
  {
    name: "study --backend gpu",
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--backend", "gpu"],
    code: 2,
    message: "--backend: unknown backend 'gpu' (known: auto, webgpu, wasm, cpu)",
  },
  {
    name: "data --dir under /proc is refused before any download",
    entry: "src/study/download.ts",
    args: () => ["--dir", "/proc/nst-data"],
    code: 2,
    message: "--dir: cannot write /proc/nst-data",
  },
  {
    name: "data --bogus",
    entry: "src/study/download.ts",
    args: () => ["--bogus"],
    code: 2,
    message: "Unknown option '--bogus'",
  },
  {
    name: "weights --convert with one argument",
    entry: "src/vgg/download.ts",
    args: (d) => ["--convert", join(d, "w.h5")],
    code: 2,
    message: "--convert: expected two arguments, FILE.h5 and DIR",
  },
  {
    name: "weights --convert of a file that is not HDF5",
    entry: "src/vgg/download.ts",
    setup: (d) => Deno.writeTextFile(join(d, "w.h5"), "not hdf5"),
    args: (d) => ["--convert", join(d, "w.h5"), join(d, "out")],
    code: 2,
    message: /w.h5: not an HDF5 file/,
    lines: 1,
  },
  // --- issue 16, 7: what a probe of about 95 inputs found ---
  {
    name: "weights --convert of an empty file: one line, no HDF5-DIAG",
    entry: "src/vgg/download.ts",
    setup: (d) => Deno.writeFile(join(d, "w.h5"), new Uint8Array()),
    args: (d) => ["--convert", join(d, "w.h5"), join(d, "out")],
    code: 2,
    message: /w.h5: not an HDF5 file/,
    lines: 1,
  },
  {
    name: "weights --convert of a truncated .h5: one line naming the file",
    entry: "src/vgg/download.ts",
    setup: (d) => truncatedH5(join(d, "w.h5"), 0.5),
    args: (d) => ["--convert", join(d, "w.h5"), join(d, "out")],
    code: 2,
    message:
      /weights \S*w\.h5: not a readable HDF5 file \(truncated: only \d+ of its \d+ bytes are there\)/,
    lines: 1,
  },
  ...[2, 3].map((size): Row => ({
    name: `study --image-size ${size} is refused before any work (was a MaxPool crash)`,
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--image-size", String(size)],
    code: 2,
    message: new RegExp(
      `--image-size: ${size} px is too small for the transfer classifier .*use --image-size 4 or more`,
    ),
  })),
  ...(["runs", "repeat"] as const).map((flag): Row => ({
    name: `bench --${flag} 0 (was run as 1)`,
    entry: "bench/bench.ts",
    args: () => [`--${flag}`, "0"],
    code: 2,
    message: `--${flag}: expected a positive integer, got '0'`,
  })),
  {
    name: "study --cache a regular file",
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--cache", join(d, "style.png")],
    code: 2,
    message: /--cache: \S*style\.png is a file, not a directory/,
  },
  {
    name: "stylize --workers 999 is capped at the cores, with one line",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.mkdir(join(d, "in"));
      await Deno.writeFile(join(d, "in", "x.png"), await png(30, 40));
    },
    args: (
      d,
    ) => [
      ...cheap(d),
      "--content",
      join(d, "in"),
      "--out",
      join(d, "out"),
      "--size",
      "16",
      "--workers",
      "999",
    ],
    code: 0,
    message:
      /--workers: 999 is more than the \d+ CPU core\(s\) here; using \d+[\s\S]*wrote 1 image/,
    newFiles: ["out/", "out/x.png"],
  },
  {
    name: "study --workers 999 is capped at the cores, with one line",
    entry: STUDY,
    setup: images,
    args: (d) => [...studyBase(d), "--workers", "999", "--weights", join(d, "nowhere")],
    code: 2,
    message:
      /--workers: 999 is more than the \d+ CPU core\(s\) here; using \d+[\s\S]*error: --weights:/,
  },
  {
    name: "--out and --log in directories that do not exist yet are created",
    entry: STYLIZE,
    setup: images,
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--size",
      "16",
      "--out",
      join(d, "o", "x.png"),
      "--log",
      join(d, "new", "dir", "l.jsonl"),
    ],
    code: 0,
    message: /wrote 1 image\(s\): .*x.png/,
    newFiles: ["o/", "o/x.png", "new/", "new/dir/", "new/dir/l.jsonl"],
  },
  {
    name: "study --stylize-size 4000 is over the wasm heap",
    entry: STUDY,
    setup: images,
    args: (
      d,
    ) => [...studyBase(d), "--backend", "wasm", "--stylize-size", "4000", "--style-size", "4000"],
    code: 2,
    message:
      /--stylize-size: 4000x4000 px needs more memory than wasm has .* the largest that fits is --stylize-size \d+/,
  },
  {
    name: "study --batch 64 at 224 px is over the wasm heap",
    entry: STUDY,
    setup: images,
    args: (d) => [
      ...studyBase(d),
      "--backend",
      "wasm",
      "--stylize-size",
      "224",
      "--style-size",
      "224",
      "--image-size",
      "48",
      "--batch",
      "64",
    ],
    code: 2,
    message:
      /--batch: 64 images of 224x224 px need more memory .* the largest batch that fits is \d+/,
  },
  // --- issue 14: several styles, weights, scales, tiles ---
  {
    name: "--style-blend with a count other than --style's",
    entry: STYLIZE,
    setup: images,
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--style",
      `${join(d, "style.png")},${join(d, "style.png")}`,
      "--style-blend",
      "1,2,3",
    ],
    code: 2,
    message: /--style-blend: 3 weight\(s\) for 2 --style image\(s\)/,
  },
  {
    name: "--style-blend with a negative weight",
    entry: STYLIZE,
    setup: images,
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--style",
      `${join(d, "style.png")},${join(d, "style.png")}`,
      "--style-blend",
      "1,-1",
    ],
    code: 2,
    message: /--style-blend: expected a finite number >= 0, got '-1'/,
  },
  {
    name: "--style-blend with a non-finite weight",
    entry: STYLIZE,
    setup: images,
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--style",
      `${join(d, "style.png")},${join(d, "style.png")}`,
      "--style-blend",
      "Infinity,1",
    ],
    code: 2,
    message: /--style-blend: expected a finite number >= 0, got 'Infinity'/,
  },
  {
    name: "a negative --tv-weight",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--tv-weight=-0.5"],
    code: 2,
    message: /--tv-weight: expected .*got '-0.5'/,
  },
  {
    name: "--min-size above --size",
    entry: STYLIZE,
    setup: images,
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--size",
      "32",
      "--min-size",
      "64",
    ],
    code: 2,
    message: /--min-size: 64 px is above --size 32/,
  },
  {
    name: "--tile smaller than the deepest layer allows",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--tile", "2"],
    code: 2,
    message: /--tile: 2 px is smaller than block3_conv4 allows .* at least 4 px/,
  },
  // --- cases that already worked, kept working ---
  {
    name: "missing --content",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d)],
    code: 2,
    message: "--content: required",
  },
  {
    name: "content file does not exist",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "nope.png")],
    code: 2,
    message: "does not exist",
  },
  {
    name: "a corrupt content PNG",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      await Deno.writeFile(join(d, "bad.png"), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    },
    args: (d) => [...cheap(d), "--content", join(d, "bad.png")],
    code: 2,
    message: "not a decodable JPEG or PNG image",
  },
  {
    name: "a truncated style PNG",
    entry: STYLIZE,
    setup: async (d) => {
      await images(d);
      const b = await Deno.readFile(join(d, "style.png"));
      await Deno.writeFile(join(d, "style.png"), b.slice(0, 40));
    },
    args: (d) => [...cheap(d), "--content", join(d, "content.png")],
    code: 2,
    message: "style.png: not a decodable JPEG or PNG image",
  },
  {
    name: "non-numeric --size",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--size", "abc"],
    code: 2,
    message: "--size: expected a positive integer, got 'abc'",
  },
  {
    name: "unknown stylize flag",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--bogus"],
    code: 2,
    message: "--bogus",
  },
  {
    name: "unknown layer",
    entry: STYLIZE,
    setup: images,
    args: (d) => [...cheap(d), "--content", join(d, "content.png"), "--content-layer", "block9"],
    code: 2,
    message: "unknown VGG19 layer 'block9'",
  },
  {
    name: "missing weights",
    entry: STYLIZE,
    setup: images,
    args: (d) => [
      ...cheap(d),
      "--content",
      join(d, "content.png"),
      "--weights",
      join(d, "nowhere"),
    ],
    code: 2,
    message: "--weights:",
  },
];

async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string) {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) {
        out.set(relative(dir, p) + "/", "dir");
        await walk(p);
      } else if (e.isFile) {
        out.set(
          relative(dir, p),
          createHash("sha256").update(await Deno.readFile(p)).digest("hex"),
        );
      } else out.set(relative(dir, p), "other");
    }
  }
  await walk(dir);
  return out;
}

for (const row of ROWS) {
  Deno.test(`bad input: ${row.name}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "nst-bad-" });
    try {
      await row.setup?.(dir);
      const before = await snapshot(dir);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", join(REPO_ROOT, row.entry), ...row.args(dir)],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { CI: "1", NST_CACHE_DIR: join(dir, ".nst-cache") },
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, row.code, stderr);
      if (row.lines !== undefined) {
        const all = (new TextDecoder().decode(out.stdout) + "\n" + stderr).split("\n");
        assert.ok(all.filter((l) => l.trim()).length <= row.lines, stderr);
      }
      if (typeof row.message === "string") assert.ok(stderr.includes(row.message), stderr);
      else assert.match(stderr, row.message);
      assert.doesNotMatch(stderr, /^\s+at .*:\d+:\d+/m, "a stack trace");
      if (row.code === 2) {
        assert.equal(stderr.split("\n").filter((l) => l.startsWith("error:")).length, 1, stderr);
      }
      const after = await snapshot(dir);
      for (const [p, h] of before) assert.equal(after.get(p), h, `${p} changed`);
      const allowed = new Set(row.newFiles ?? []);
      const added = [...after.keys()].filter((p) => !before.has(p) && !allowed.has(p));
      assert.deepEqual(added, [], "unexpected new files");
    } finally {
      await Deno.chmod(join(dir, "ro"), 0o755).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/** The number of rows, for the closing note of issue 8. */
export const BAD_INPUT_ROWS: number = ROWS.length;
