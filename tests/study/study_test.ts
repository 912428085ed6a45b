import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, SHARED_WEIGHTS, sharedPath } from "../_env.ts";

const DATA = sharedPath("data/caltech101");
const STYLE = sharedPath("data/styles/composition_vii.jpg");
const COMMON = ["--data", DATA, "--style", STYLE, "--weights", SHARED_WEIGHTS, "--backend", "wasm"];
/** A study small enough to run several times in a test: 1 subset, 2 images per class, 3 iterations. */
const TINY = [
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

Deno.test("--preset smoke on the shared data: results.json has the documented structure and transfer beats chance", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "out");
  const r = await study(["--preset", "smoke", "--out", out, "--cache", join(dir, "cache")]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
  assert.equal(res.schema_version, 1);
  assert.equal(res.config.preset, "smoke");
  for (const k of ["backend", "deno", "tfjs"]) assert.ok(res.environment[k], `environment.${k}`);
  const subsets = res.config.subsets, perClass = res.config.trainPerClass;
  assert.equal(res.runs.length, subsets * 8);
  const classes = ["butterfly", "crab", "scorpion"];
  const seen = new Set<string>();
  for (const run of res.runs) {
    seen.add(`${run.subset}|${run.style}|${run.static_augmentation}|${run.classifier}`);
    assert.deepEqual(run.classes, classes);
    assert.equal(run.confusion.length, 3);
    const n = run.confusion.flat().reduce((a: number, b: number) => a + b, 0);
    assert.equal(n, run.test_images.length);
    assert.deepEqual(Object.keys(run.per_class).sort(), classes);
    for (const m of Object.values(run.per_class) as Array<Record<string, number>>) {
      for (const k of ["precision", "recall", "f1"]) assert.ok(m[k] >= 0 && m[k] <= 1);
    }
    const originals = run.train_images.filter((p: string) => !p.includes("@"));
    assert.equal(originals.length, 3 * perClass);
    assert.equal(run.train_images.length, run.style === "none" ? 3 * perClass : 6 * perClass);
    for (const p of run.test_images) {
      assert.ok(!originals.includes(p), `test image ${p} is in the training set`);
    }
    // Paths are relative to --data and exist there.
    await Deno.stat(join(DATA, run.test_images[0]));
  }
  assert.equal(seen.size, subsets * 8);
  assert.equal(res.comparisons.length, 7);
  // Every hyper-parameter, stopping rule and seed is recorded.
  assert.equal(res.classifier_settings.transfer.steps, res.config.transferSteps);
  assert.ok(res.classifier_settings.transfer.learningRate > 0);
  assert.match(res.classifier_settings.stopping_rule, /fixed number/);
  assert.equal(res.static_augmentation.transforms.length, res.config.augmentCount);
  assert.equal(typeof res.config.seed, "number");
  assert.equal(res.subsets.length, subsets);
  const transfer = res.runs.filter((r: { classifier: string }) => r.classifier === "transfer");
  const meanAcc = transfer.reduce((a: number, r: { accuracy: number }) => a + r.accuracy, 0) /
    transfer.length;
  assert.ok(meanAcc > 1 / 3 + 0.05, `transfer mean accuracy ${meanAcc} is not above chance`);
  const csv = (await Deno.readTextFile(join(out, "results.csv"))).trim().split("\n");
  assert.equal(csv.length, 1 + subsets * 8 * 3);
  for (const f of ["report.md", "report.html"]) {
    assert.ok((await Deno.stat(join(out, f))).size > 1000);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a study killed with SIGKILL continues where it stopped, reusing finished work", async () => {
  const dir = await Deno.makeTempDir();
  const cache = join(dir, "cache"), out = join(dir, "out");
  const args = [...TINY, "--out", out, "--cache", cache];
  const child = studyCommand(args).spawn();
  // Wait until some but not all stylizations are in the cache, then kill -9.
  const deadline = Date.now() + 120_000;
  while ((await countSidecars(cache)) < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  const killed = await child.output();
  assert.notEqual(killed.code, 0, "the study finished before it could be killed");
  const before = await countSidecars(cache);
  assert.ok(before >= 2 && before < 18, `cache entries at kill: ${before}`);
  const second = await study(args);
  assert.equal(second.code, 0, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(`stylization: 18 jobs, ${before} cached, ${18 - before} to run`),
  );
  const third = await study(args);
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /stylization: 18 jobs, 18 cached, 0 to run/);
  assert.match(third.stderr, /reused 8 finished classifier run/);
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
    const m = r.stderr.match(/shard \d\/3: (\d+) of 18 jobs; stylized (\d+)/);
    assert.ok(m, r.stderr);
    assert.equal(m[1], m[2]);
    total += Number(m[1]);
  }
  assert.equal(total, 18);
  assert.equal(await countSidecars(cache), 18);
  const final = await study([...TINY, "--cache", cache, "--out", join(dir, "final")]);
  assert.equal(final.code, 0, final.stderr);
  assert.match(final.stderr, /18 cached, 0 to run/);
  await Deno.stat(join(dir, "final", "results.json"));
  await Deno.remove(dir, { recursive: true });
});

const badCases: Array<[string, string[], RegExp]> = [
  ["unknown class", ["--classes", "butterfly,unicorn"], /class 'unicorn' not found/],
  [
    "too few images",
    ["--train-per-class", "80"],
    /class 'crab' has 73 images; 1 disjoint subsets of 80 training images plus one test image need 81/,
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
];
for (const [name, extra, pattern] of badCases) {
  Deno.test(`study bad input: ${name} is one clear error line and exit 2`, async () => {
    const dir = await Deno.makeTempDir();
    const r = await study([...TINY, "--cache", join(dir, "c"), "--out", join(dir, "o"), ...extra]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
    await Deno.remove(dir, { recursive: true });
  });
}
