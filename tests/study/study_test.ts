import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, SHARED_WEIGHTS, sharedPath } from "../_env.ts";

const DATA = sharedPath("data/caltech101");
const STYLE = sharedPath("data/styles/composition_vii.jpg");
const COMMON = ["--data", DATA, "--style", STYLE, "--weights", SHARED_WEIGHTS, "--backend", "wasm"];
const GROUPS = 6;
/**
 * A study small enough to run several times in a test: 1 subset, 2 images per class, 3 iterations,
 * an evaluation pool of 1 per class. 39 cache entries: 6 originals x copy/light/medium/heavy/bank,
 * and the 3 pool images x (2 test styles + 1 cue conflict).
 */
const JOBS = 39;
const TINY = [
  "--eval-pool",
  "1",
  "--preset",
  "smoke",
  "--subsets",
  "1",
  "--train-per-class",
  "2",
  "--iterations",
  "3",
  "--image-size",
  "32",
  "--augment-count",
  "1",
  "--bootstrap",
  "200",
];

function studyCommand(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", join(REPO_ROOT, "src/study/cli.ts"), ...COMMON, ...args],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { CI: "1" },
  });
}

async function study(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await studyCommand(args).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function countSidecars(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const sub of Deno.readDir(dir)) {
      if (!sub.isDirectory) continue;
      for await (const e of Deno.readDir(join(dir, sub.name))) if (e.name.endsWith(".json")) n++;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return n;
}

Deno.test("--preset smoke on the shared data: results.json schema 3, groups, the evaluation pool, endpoints and both baselines", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "out");
  const r = await study(["--preset", "smoke", "--out", out, "--cache", join(dir, "cache")]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
  assert.equal(res.schema_version, 3);
  assert.equal(res.config.preset, "smoke");
  assert.equal(res.config.primaryEndpoint, "texture_shift_accuracy");
  for (const k of ["backend", "deno", "tfjs", "cpu_model"]) {
    assert.ok(res.environment[k], `environment.${k}`);
  }
  assert.equal(res.sampling.mode, "draws");
  const draws = res.sampling.count, perClass = res.config.trainPerClass;
  assert.equal(res.draws.length, draws);
  assert.equal(res.runs.length, draws * GROUPS * 2, "6 groups x 2 augmentation settings per draw");
  const classes = ["butterfly", "crab", "scorpion"];
  // The evaluation pool: reserved per class, never in any draw's training set.
  const pool: Record<string, string[]> = res.evaluation.pool;
  const poolImages = new Set(Object.values(pool).flat());
  assert.equal(poolImages.size, 3 * res.config.evalPool);
  for (const d of res.draws) {
    for (const img of Object.values(d.train as Record<string, string[]>).flat()) {
      assert.ok(!poolImages.has(img), `pool image ${img} is in draw ${d.draw}'s training set`);
    }
  }
  const conditions = res.evaluation.conditions as Array<
    { name: string; kind: string; images: string[]; labels: number[]; texture_labels?: number[] }
  >;
  assert.deepEqual(
    conditions.map((c) => c.name),
    [
      "texture:the_scream",
      "texture:great_wave",
      "cue_conflict",
      ...res.config.corruptions.flatMap((c: string) =>
        [1, 2, 3].map((s) => `corruption:${c}:${s}`)
      ),
    ],
  );
  for (const c of conditions) {
    assert.equal(c.images.length, poolImages.size, c.name);
    for (const img of c.images) assert.ok(poolImages.has(img.split("#")[0]), img);
  }
  const cue = conditions.find((c) => c.kind === "cue_conflict")!;
  cue.labels.forEach((l, i) => assert.notEqual(l, cue.texture_labels![i]));
  const seen = new Set<string>();
  for (const run of res.runs) {
    seen.add(`${run.draw}|${run.style}|${run.static_augmentation}|${run.classifier}`);
    assert.deepEqual(run.classes, classes);
    const n = run.confusion.flat().reduce((a: number, b: number) => a + b, 0);
    assert.equal(n, run.test_images.length);
    const originals = run.train_images.filter((p: string) => !p.includes("@"));
    assert.equal(originals.length, 3 * perClass);
    for (const p of run.train_images) {
      assert.ok(!poolImages.has(p.split("@")[0]), `pool image ${p} trained on`);
    }
    // Every added group (copy included) adds exactly one image per original.
    assert.equal(run.train_images.length, run.style === "none" ? 3 * perClass : 6 * perClass);
    for (const p of run.train_images.filter((p: string) => p.includes("@"))) {
      assert.ok(originals.includes(p.split("@")[0]), `${p} is not a copy of a training original`);
      assert.equal(p.split("@")[1], run.style);
    }
    // Test set = the draw's complement within each class (the pool included).
    const draw = res.draws[run.draw];
    for (const cls of classes) {
      assert.deepEqual(
        run.train_images.filter((p: string) => !p.includes("@") && p.startsWith(`${cls}/`)),
        draw.train[cls],
      );
    }
    for (const p of run.test_images) {
      assert.ok(!originals.includes(p), `test image ${p} is in the training set`);
    }
    for (const p of poolImages) assert.ok(run.test_images.includes(p), `${p} not tested`);
    // Every condition scored, every endpoint present.
    for (const c of conditions) {
      assert.equal(run.evaluation.predictions[c.name].length, c.images.length, c.name);
    }
    assert.equal(run.evaluation.endpoints.clean_accuracy, run.accuracy);
    for (const e of ["texture_shift_accuracy", "corruption_accuracy"]) {
      const v = run.evaluation.endpoints[e];
      assert.ok(v >= 0 && v <= 1, `${e} = ${v}`);
    }
    const sb = run.evaluation.shape_bias.overall;
    assert.equal(sb.shape + sb.texture + sb.other, cue.images.length);
  }
  assert.equal(seen.size, draws * GROUPS * 2);
  // Per endpoint: vs none, 11 configurations; vs copy, light/medium/heavy/bank x 2.
  const endpoints = [
    "clean_accuracy",
    "texture_shift_accuracy",
    "corruption_accuracy",
    "shape_bias",
  ];
  for (const e of endpoints) {
    const of = (b: string) =>
      res.comparisons.filter((c: { baseline: string; endpoint: string }) =>
        c.baseline === b && c.endpoint === e
      );
    assert.equal(of("none").length, 11, `${e} vs none`);
    assert.equal(of("copy").length, 8, `${e} vs copy`);
  }
  for (const c of res.comparisons) {
    assert.ok(c.per_draw.length <= draws && c.per_draw.length >= 1);
    for (const k of ["ci95_bootstrap", "p_wilcoxon", "p_holm", "mean_diff", "endpoint"]) {
      assert.ok(c[k] !== undefined, `comparison.${k}`);
    }
    assert.ok(c.p_holm >= c.p_wilcoxon);
    assert.equal(c.macro_f1 !== null, c.endpoint === "clean_accuracy");
  }
  // Every added image is characterised; copies are the originals' exact pixels, stylized ones never step 0.
  const unique = new Set(
    res.draws.flatMap((d: { train: Record<string, string[]> }) => Object.values(d.train).flat()),
  );
  assert.equal(res.stylized.length, unique.size * (GROUPS - 1));
  for (const s of res.stylized) {
    if (s.style === "copy") {
      assert.equal(s.identical, true, `${s.image} copy differs from its original`);
      assert.equal(s.mean_abs_change, 0);
      assert.equal(s.ssim, 1);
      assert.equal(s.steps, 0);
    } else {
      assert.ok(s.best_step >= 1, `${s.image} ${s.style}: best step ${s.best_step}`);
      assert.equal(s.identical, false);
      assert.ok(s.mean_abs_change > 0);
      assert.ok(s.style_loss_ratio < 1, `${s.image} ${s.style}: style loss did not fall`);
      assert.ok(s.style_file, `${s.image} ${s.style}: no style file recorded`);
    }
    if (s.style === "bank") {
      assert.match(s.style_file, /(composition_vii|starry_night|shipwreck)\.jpg$/);
      assert.ok(s.ratio >= res.config.ratios.heavy && s.ratio <= res.config.ratios.light);
    }
  }
  const mean = (g: string) => {
    const xs = res.stylized.filter((s: { style: string }) => s.style === g);
    return xs.reduce((a: number, s: { mean_abs_change: number }) => a + s.mean_abs_change, 0) /
      xs.length;
  };
  assert.ok(mean("light") < mean("medium") && mean("medium") < mean("heavy"));
  assert.equal(res.classifier_settings.transfer.steps, res.config.transferSteps);
  assert.match(res.classifier_settings.stopping_rule, /fixed number/);
  assert.equal(res.static_augmentation.transforms.length, res.config.augmentCount);
  assert.equal(res.stylization.optimizer, res.config.optimizer);
  const transfer = res.runs.filter((r: { classifier: string }) => r.classifier === "transfer");
  const meanAcc = transfer.reduce((a: number, r: { accuracy: number }) => a + r.accuracy, 0) /
    transfer.length;
  assert.ok(meanAcc > 1 / 3 + 0.05, `transfer mean accuracy ${meanAcc} is not above chance`);
  const csv = (await Deno.readTextFile(join(out, "results.csv"))).trim().split("\n");
  assert.equal(csv.length, 1 + draws * GROUPS * 2 * 3);
  for (const f of ["report.md", "report.html"]) {
    assert.ok((await Deno.stat(join(out, f))).size > 1000);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("one worker and two workers give the same study results", async () => {
  const dir = await Deno.makeTempDir();
  const runs: Record<string, Array<{ accuracy: number; predictions: number[] }>> = {};
  for (const w of ["1", "2"]) {
    const r = await study([
      ...TINY,
      "--workers",
      w,
      "--out",
      join(dir, `o${w}`),
      "--cache",
      join(dir, `c${w}`),
    ]);
    assert.equal(r.code, 0, r.stderr);
    runs[w] = JSON.parse(await Deno.readTextFile(join(dir, `o${w}`, "results.json"))).runs;
  }
  assert.deepEqual(runs["1"].map((r) => r.predictions), runs["2"].map((r) => r.predictions));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a study killed with SIGKILL continues where it stopped, reusing finished work", async () => {
  const dir = await Deno.makeTempDir();
  const cache = join(dir, "cache"), out = join(dir, "out");
  const args = [...TINY, "--out", out, "--cache", cache];
  const child = studyCommand(args).spawn();
  // Wait until some but not all stylizations are in the cache, then kill -9.
  const deadline = Date.now() + 120_000;
  // The 6 copies are written first, at once; wait for 2 stylizations beyond them.
  while ((await countSidecars(cache)) < 8 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  const killed = await child.output();
  assert.notEqual(killed.code, 0, "the study finished before it could be killed");
  const before = await countSidecars(cache);
  assert.ok(before >= 8 && before < JOBS, `cache entries at kill: ${before}`);
  const second = await study(args);
  assert.equal(second.code, 0, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(`stylization: ${JOBS} jobs, ${before} cached, ${JOBS - before} to run`),
  );
  const third = await study(args);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, new RegExp(`stylization: ${JOBS} jobs, ${JOBS} cached, 0 to run`));
  assert.match(third.stderr, new RegExp(`reused ${GROUPS * 2} finished classifier run`));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--shard K/N parts fill one shared cache; the final run trains from it alone", async () => {
  const dir = await Deno.makeTempDir();
  const cache = join(dir, "cache");
  const runs = [1, 2, 3].map((k) =>
    study([...TINY, "--shard", `${k}/3`, "--cache", cache, "--out", join(dir, `o${k}`)])
  );
  let total = 0;
  for (const r of await Promise.all(runs)) {
    assert.equal(r.code, 0, r.stderr);
    const m = r.stderr.match(new RegExp(`shard \\d/3: (\\d+) of ${JOBS} jobs; stylized (\\d+)`));
    assert.ok(m, r.stderr);
    assert.equal(m[1], m[2]);
    total += Number(m[1]);
  }
  assert.equal(total, JOBS);
  assert.equal(await countSidecars(cache), JOBS);
  const final = await study([...TINY, "--cache", cache, "--out", join(dir, "final")]);
  assert.equal(final.code, 0, final.stderr);
  assert.match(final.stderr, new RegExp(`${JOBS} cached, 0 to run`));
  await Deno.stat(join(dir, "final", "results.json"));
  await Deno.remove(dir, { recursive: true });
});

const badCases: Array<[string, string[], RegExp]> = [
  ["unknown class", ["--classes", "butterfly,unicorn"], /class 'unicorn' not found/],
  [
    "too few images",
    ["--train-per-class", "80"],
    /class 'crab' has 73 images; --eval-pool 1 \(reserved from training\) and 1 disjoint subsets of 80 training images plus one test image need 82/,
  ],
  [
    "missing weights",
    ["--weights", "/nonexistent/w.h5"],
    /--weights: \/nonexistent\/w\.h5 does not exist/,
  ],
  [
    "unwritable --out",
    ["--out", "/etc/passwd/study"],
    /--out: cannot write \/etc\/passwd\/study.*is not a directory/,
  ],
  [
    "full preset on blocks 1-3 weights",
    ["--preset", "full"],
    /--preset full needs VGG19 up to block5_conv2.*block4_conv1/,
  ],
  ["bad --shard", ["--shard", "3/2"], /--shard/],
  [
    "one class",
    ["--classes", "crab"],
    /--classes: a classifier needs at least 2 classes, got 1 \(crab\)/,
  ],
  [
    "draws a class cannot satisfy",
    ["--draws", "4", "--train-per-class", "84"],
    /class 'crab' has 73 images; --eval-pool 1 \(reserved from training\) and 4 draws of 84 training images plus one test image need 86/,
  ],
  [
    "subsets a class cannot satisfy",
    ["--subsets", "8", "--train-per-class", "10"],
    /class 'crab' has 73 images; --eval-pool 1 \(reserved from training\) and 8 disjoint subsets of 10 training images plus one test image need 82/,
  ],
  [
    "--draws and --subsets together",
    ["--draws", "3", "--subsets", "2"],
    /--draws and --subsets: give one of them/,
  ],
  [
    "unknown optimizer",
    ["--optimizer", "sgd"],
    /--optimizer: unknown optimizer 'sgd' \(known: adam, lbfgs\)/,
  ],
  [
    "style smaller than content",
    ["--style-size", "16"],
    /--style-size: 16 is below --stylize-size 32/,
  ],
];
for (const [name, extra, pattern] of badCases) {
  Deno.test(`study bad input: ${name} is one clear error line and exit 2`, async () => {
    const dir = await Deno.makeTempDir();
    // TINY samples with --subsets 1; a row about --draws replaces that.
    const base = extra.includes("--draws")
      ? TINY.filter((a, i) => a !== "--subsets" && TINY[i - 1] !== "--subsets")
      : TINY;
    const r = await study([...base, "--cache", join(dir, "c"), "--out", join(dir, "o"), ...extra]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
    assert.equal(await countSidecars(join(dir, "c")), 0, "refused only after some stylization");
    await Deno.remove(dir, { recursive: true });
  });
}
