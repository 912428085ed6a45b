import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, SHARED_WEIGHTS, sharedPath } from "../_env.ts";
import { loadImage } from "../../src/images/io.ts";

const CONTENT = sharedPath("data/caltech101/crab/image_0001.jpg");
const STYLE = sharedPath("data/styles/composition_vii.jpg");
const BASE = [
  "--style",
  STYLE,
  "--weights",
  SHARED_WEIGHTS,
  "--profile",
  "offline",
  "--backend",
  "wasm",
  "--size",
  "24",
];

async function stylize(args: string[]): Promise<{ code: number; stderr: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", join(REPO_ROOT, "src/style/cli.ts"), ...args],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { CI: "1" },
  });
  const out = await cmd.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("--iterations 0 logs iteration 0 and writes a PNG of the requested size", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "crab.png"), log = join(dir, "log.jsonl");
  const r = await stylize([
    "--content",
    CONTENT,
    ...BASE,
    "--iterations",
    "0",
    "--out",
    out,
    "--log",
    log,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    (await Deno.readTextFile(log)).split("\n")[0],
    /^{"header":{"profile":"offline".*"style_scale":1,"pooling":"max"/,
  );
  const lines = (await Deno.readTextFile(log)).trim().split("\n").map((l) => JSON.parse(l))
    .filter((r) => !r.header); // the first line is the settings header
  assert.equal(lines.length, 1);
  assert.equal(lines[0].iteration, 0);
  for (const k of ["content_loss", "style_loss", "total_loss"]) {
    assert.equal(typeof lines[0][k], "number");
  }
  // --init content: content loss at iteration 0 is ~0, total = ratio * content + style.
  assert.ok(lines[0].content_loss < 1e-3);
  assert.ok(
    Math.abs(lines[0].total_loss - (1e3 * lines[0].content_loss + lines[0].style_loss)) <=
      1e-3 * lines[0].total_loss,
  );
  const bytes = await Deno.readFile(out);
  assert.deepEqual(Array.from(bytes.slice(1, 4)), [0x50, 0x4e, 0x47]); // "PNG"
  const img = await loadImage(out);
  assert.equal(Math.max(img.width, img.height), 24);
  assert.deepEqual(await listDir(dir), ["crab.png", "log.jsonl"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a directory is stylized in batches and every log line names its image", async () => {
  const dir = await Deno.makeTempDir();
  const src = join(dir, "in");
  await Deno.mkdir(src);
  for (const n of ["image_0002.jpg", "image_0003.jpg", "image_0004.jpg"]) {
    await Deno.copyFile(sharedPath(`data/caltech101/crab/${n}`), join(src, n));
  }
  const out = join(dir, "out"), log = join(dir, "log.jsonl");
  const r = await stylize([
    "--content",
    src,
    ...BASE,
    "--iterations",
    "2",
    "--batch",
    "2",
    "--out",
    out,
    "--log",
    log,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await listDir(out), ["image_0002.png", "image_0003.png", "image_0004.png"]);
  const lines = (await Deno.readTextFile(log)).trim().split("\n").map((l) => JSON.parse(l))
    .filter((r) => !r.header); // the first line is the settings header
  assert.equal(lines.length, 3 * 3);
  assert.deepEqual([...new Set(lines.map((l) => l.iteration))].sort(), [0, 1, 2]);
  assert.equal(new Set(lines.map((l) => l.image)).size, 3);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a directory on 2 workers writes the same PNGs as on 1, snapshots included", async () => {
  const dir = await Deno.makeTempDir();
  const src = join(dir, "in");
  await Deno.mkdir(src);
  for (const n of ["image_0002.jpg", "image_0003.jpg", "image_0004.jpg"]) {
    await Deno.copyFile(sharedPath(`data/caltech101/crab/${n}`), join(src, n));
  }
  const outs: Record<number, Record<string, Uint8Array>> = {};
  for (const workers of [1, 2]) {
    const out = join(dir, `out${workers}`), log = join(dir, `log${workers}.jsonl`);
    const r = await stylize([
      "--content",
      src,
      ...BASE,
      "--iterations",
      "2",
      "--save-every",
      "1",
      "--workers",
      String(workers),
      "--out",
      out,
      "--log",
      log,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`stylize pool: ${workers} worker\\(s\\), each backend wasm`));
    assert.match(
      r.stderr,
      /wrote 3 image\(s\): .*image_0002\.png, .*image_0003\.png, .*image_0004\.png/,
    );
    const names = await listDir(out);
    assert.deepEqual(names, [
      "image_0002.png",
      "image_0002_iter0001.png",
      "image_0003.png",
      "image_0003_iter0001.png",
      "image_0004.png",
      "image_0004_iter0001.png",
    ]);
    outs[workers] = {};
    for (const n of names) outs[workers][n] = await Deno.readFile(join(out, n));
    const lines = (await Deno.readTextFile(log)).trim().split("\n").map((l) => JSON.parse(l))
      .filter((r) => !r.header); // the first line is the settings header
    assert.equal(lines.length, 3 * 3);
    assert.equal(new Set(lines.map((l) => `${l.image}:${l.iteration}`)).size, 9);
  }
  assert.deepEqual(outs[2], outs[1]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a directory whose loss is not finite fails on the pool with one line naming the image", async () => {
  const dir = await Deno.makeTempDir();
  const src = join(dir, "in");
  await Deno.mkdir(src);
  await Deno.copyFile(CONTENT, join(src, "a.jpg"));
  await Deno.copyFile(CONTENT, join(src, "b.jpg"));
  const out = join(dir, "out"), log = join(dir, "log.jsonl");
  const r = await stylize([
    "--content",
    src,
    ...BASE,
    "--ratio",
    "1e300",
    "--iterations",
    "3",
    "--workers",
    "2",
    "--out",
    out,
    "--log",
    log,
  ]);
  assert.equal(r.code, 2, r.stderr);
  const errLines = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
  assert.equal(errLines.length, 1, r.stderr);
  assert.match(
    errLines[0],
    /in\/[ab]\.jpg: loss is not finite at iteration 0 .*; lower --lr or change --ratio$/,
  );
  assert.deepEqual(await listDir(dir), ["in"]); // no PNG, no log, no temp file
  await Deno.remove(dir, { recursive: true });
});

const errorCases: Array<[string, (dir: string) => Promise<string[]>, RegExp]> = [
  [
    "missing content image",
    (d) => Promise.resolve(["--content", join(d, "nope.jpg")]),
    /--content: .*nope\.jpg does not exist/,
  ],
  ["corrupt content image", async (d) => {
    await Deno.writeTextFile(join(d, "bad.jpg"), "not a jpeg");
    return ["--content", join(d, "bad.jpg")];
  }, /bad\.jpg: not a decodable JPEG or PNG/],
  ["directory without images", async (d) => {
    await Deno.mkdir(join(d, "empty"));
    return ["--content", join(d, "empty")];
  }, /contains no \.jpg/],
  ["a directory into one file", async (d) => {
    await Deno.mkdir(join(d, "in"));
    await Deno.copyFile(CONTENT, join(d, "in", "a.jpg"));
    return ["--content", join(d, "in")]; // the runner adds --out result.png
  }, /--out: .*result\.png must be a directory when --content is a directory/],
  [
    "unknown layer",
    () => Promise.resolve(["--content", CONTENT, "--style-layers", "block1_conv9"]),
    /--style-layers: unknown VGG19 layer 'block1_conv9'/,
  ],
  [
    "a layer the weights lack",
    () => Promise.resolve(["--content", CONTENT, "--profile", "paper", "--size", "48"]),
    /block4_conv1 needs .*group9-shard1of2, which is missing/,
  ],
  ["unreadable weights", async (d) => {
    await Deno.writeTextFile(join(d, "w.h5"), "garbage");
    return ["--content", CONTENT, "--weights", join(d, "w.h5")];
  }, /w\.h5: not an HDF5 file/],
  [
    "bad number",
    () => Promise.resolve(["--content", CONTENT, "--size", "abc"]),
    /--size: expected a positive integer, got 'abc'/,
  ],
  [
    "bad worker count",
    () => Promise.resolve(["--content", CONTENT, "--workers", "0"]),
    /--workers: expected a positive integer, got '0'/,
  ],
  [
    "non-finite loss",
    () => Promise.resolve(["--content", CONTENT, "--ratio", "1e300", "--iterations", "3"]),
    /loss is not finite at iteration 0/,
  ],
];

for (const [name, setup, pattern] of errorCases) {
  Deno.test(`bad input: ${name} gives one clear line, exit 2, and no output file`, async () => {
    const dir = await Deno.makeTempDir();
    const args = await setup(dir);
    const out = join(dir, "result.png"), log = join(dir, "log.jsonl");
    // Later flags win, so the case's own --profile / --weights override BASE.
    const r = await stylize([
      ...BASE,
      ...args,
      "--iterations",
      args.includes("--iterations") ? args[args.indexOf("--iterations") + 1] : "1",
      "--out",
      out,
      "--log",
      log,
    ]);
    assert.equal(r.code, 2, r.stderr);
    const errLines = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
    assert.equal(errLines.length, 1, r.stderr);
    assert.match(errLines[0], pattern);
    const left = (await listDir(dir)).filter((n) =>
      n.endsWith(".png") || n.includes("log") || n.endsWith(".tmp")
    );
    assert.deepEqual(left, [], `left behind: ${left}`);
    await Deno.remove(dir, { recursive: true });
  });
}
