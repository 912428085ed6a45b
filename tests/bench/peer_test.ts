/**
 * bench/peer/gatys_torch.py, the PyTorch peer of the bench, as far as a
 * machine without torch allows: it compiles with python3, and its numpy
 * reader of the tfjs shards gives the same kernels and biases as
 * src/vgg/weights.ts (run with a stub `torch` module). Skipped without python3
 * (and the second test without numpy or the shared weights).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, SHARED_WEIGHTS } from "../_env.ts";
import { loadVggWeights } from "../../src/vgg/weights.ts";
import { layersUpTo } from "../../src/vgg/layers.ts";

const SCRIPT = join(REPO_ROOT, "bench/peer/gatys_torch.py");

async function python(code: string, args: string[] = []): Promise<string | null> {
  try {
    const out = await new Deno.Command("python3", {
      args: ["-B", "-c", code, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    if (!out.success) {
      if (/No module named 'numpy'/.test(err)) return null;
      throw new Error(err);
    }
    return new TextDecoder().decode(out.stdout);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

Deno.test("gatys_torch.py compiles", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const ok = await python(
      "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)",
      [SCRIPT, join(tmp, "peer.pyc")],
    );
    if (ok === null) console.warn("python3 not found: gatys_torch.py not compiled");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("gatys_torch.py reads the tfjs shards as src/vgg/weights.ts does", async () => {
  try {
    await Deno.stat(join(SHARED_WEIGHTS, "model.json"));
  } catch {
    console.warn(`no weights at ${SHARED_WEIGHTS}: peer weight reader not compared`);
    return;
  }
  const stubbed = `
import importlib.util, json, sys, types
torch = types.ModuleType("torch"); nn = types.ModuleType("torch.nn")
fn = types.ModuleType("torch.nn.functional"); torch.nn = nn; nn.functional = fn
sys.modules.update({"torch": torch, "torch.nn": nn, "torch.nn.functional": fn})
spec = importlib.util.spec_from_file_location("peer", sys.argv[1])
peer = importlib.util.module_from_spec(spec); spec.loader.exec_module(peer)
w = peer.load_tfjs(sys.argv[2])
print(json.dumps({n: {"shape": list(k.shape), "k": k.reshape(-1)[:5].tolist(),
  "kLast": float(k.reshape(-1)[-1]), "b": b[:3].tolist()} for n, (k, b) in w.items()}))
`;
  const text = await python(stubbed, [SCRIPT, SHARED_WEIGHTS]);
  if (text === null) {
    console.warn("python3 with numpy not found: peer weight reader not compared");
    return;
  }
  const peer = JSON.parse(text) as Record<
    string,
    { shape: number[]; k: number[]; kLast: number; b: number[] }
  >;
  const specs = layersUpTo(["block3_conv4"]);
  const ours = await loadVggWeights(SHARED_WEIGHTS, specs);
  assert.deepEqual(Object.keys(peer).sort(), specs.map((s) => s.name).sort());
  for (const s of specs) {
    const p = peer[s.name];
    const { kernel, bias } = ours.layers.get(s.name)!;
    assert.deepEqual(p.shape, [3, 3, s.cIn, s.cOut], s.name);
    assert.deepEqual(p.k, [...kernel.slice(0, 5)], `${s.name} kernel`);
    assert.equal(p.kLast, kernel[kernel.length - 1], `${s.name} last kernel value`);
    assert.deepEqual(p.b, [...bias.slice(0, 3)], `${s.name} bias`);
  }
});
