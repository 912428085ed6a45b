import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, sharedPath } from "../_env.ts";
import { layersUpTo, VGG19_CONV_LAYERS } from "../../src/vgg/layers.ts";
import { WEIGHTS_TABLE } from "../../src/vgg/table.ts";
import {
  loadStylizeWeights,
  RANDOM_WEIGHTS_MARK,
  randomVggWeights,
} from "../../src/vgg/random_weights.ts";

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

Deno.test("random weights: every layer has the Keras table's shapes", () => {
  const w = randomVggWeights(VGG19_CONV_LAYERS);
  assert.equal(w.format, "random");
  assert.equal(w.layers.size, WEIGHTS_TABLE.layers.length);
  for (const e of WEIGHTS_TABLE.layers) {
    const l = w.layers.get(e.name);
    assert.ok(l, e.name);
    assert.equal(l.kernel.length, prod(e.kernel), `${e.name} kernel`);
    assert.equal(l.bias.length, prod(e.bias), `${e.name} bias`);
  }
});

Deno.test("random weights: deterministic by seed, He variance, zero bias", () => {
  const specs = layersUpTo(["block2_conv1"]);
  const a = randomVggWeights(specs, 3), b = randomVggWeights(specs, 3);
  const c = randomVggWeights(specs, 4);
  for (const s of specs) {
    assert.deepEqual(a.layers.get(s.name)!.kernel, b.layers.get(s.name)!.kernel);
    assert.notDeepEqual(a.layers.get(s.name)!.kernel, c.layers.get(s.name)!.kernel);
    assert.ok(a.layers.get(s.name)!.bias.every((x) => x === 0));
  }
  const k = a.layers.get("block2_conv1")!.kernel; // fan-in 3*3*64
  const variance = k.reduce((acc, x) => acc + x * x, 0) / k.length;
  assert.ok(Math.abs(variance / (2 / 576) - 1) < 0.05, `variance ${variance}`);
  assert.notEqual(a.identity, c.identity);
});

Deno.test("loadStylizeWeights: anything but `random` is a path", async () => {
  await assert.rejects(
    () => loadStylizeWeights("no/such/weights", layersUpTo(["block1_conv1"])),
    /--weights: no\/such\/weights does not exist/,
  );
});

Deno.test("stylize --weights random: runs the paper profile and marks stderr and the log", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "x.png"), log = join(dir, "log.jsonl");
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        join(REPO_ROOT, "src/style/cli.ts"),
        "--content",
        sharedPath("data/caltech101/crab/image_0001.jpg"),
        "--style",
        sharedPath("data/styles/composition_vii.jpg"),
        "--weights",
        "random",
        "--backend",
        "wasm",
        "--size",
        "32",
        "--iterations",
        "1",
        "--out",
        out,
        "--log",
        log,
      ],
      cwd: REPO_ROOT,
      env: { CI: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, stderr);
    assert.match(stderr, /weights: random \(timing only\)/);
    assert.match(stderr, /content block5_conv2/);
    const all = (await Deno.readTextFile(log)).trim().split("\n").map((l) => JSON.parse(l));
    // The first line is the settings header; then one line per iteration and image.
    assert.ok(all[0].header, "the log starts with its header");
    const lines = all.slice(1);
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => l.weights === RANDOM_WEIGHTS_MARK));
    assert.ok((await Deno.stat(out)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
