import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, SHARED_WEIGHTS } from "../_env.ts";
import { encodePng, loadImage } from "../../src/images/io.ts";

async function png(width: number, height: number): Promise<Uint8Array> {
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 53) % 256;
  return await encodePng({ width, height, data });
}

/** Start stylize in `dir`; resolves once it has started optimising (its log has a line). */
async function start(dir: string, args: string[], log: string) {
  await Deno.writeFile(join(dir, "style.png"), await png(40, 30));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      join(REPO_ROOT, "src/style/cli.ts"),
      "--style",
      join(dir, "style.png"),
      "--weights",
      SHARED_WEIGHTS,
      "--profile",
      "offline",
      "--backend",
      "wasm",
      "--size",
      "24",
      "--iterations",
      "100000",
      "--log",
      log,
      ...args,
    ],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
    env: { CI: "1" },
  }).spawn();
  const chunks: Uint8Array[] = [];
  const reading = (async () => {
    for await (const c of child.stderr) chunks.push(c);
  })();
  const stderr = () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  // The log is written to a hidden temp file beside --log: wait for its first bytes.
  for (let i = 0; i < 600; i++) {
    const tmp = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".tmp"));
    if (tmp && Deno.statSync(join(dir, tmp.name)).size > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  return { child, reading, stderr };
}

const tmpFiles = (dir: string) =>
  [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp")).map((e) => e.name);

Deno.test("SIGINT: exit 130, the best image and the log so far written and marked partial, no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(join(dir, "c.png"), await png(30, 40));
    const log = join(dir, "l.jsonl");
    const r = await start(dir, ["--content", join(dir, "c.png"), "--out", join(dir, "o.png")], log);
    r.child.kill("SIGINT");
    const status = await r.child.status;
    await r.reading;
    assert.equal(status.code, 130, r.stderr());
    assert.match(
      r.stderr(),
      /stopped by SIGINT: wrote 1 image\(s\).*PARTIAL \(best so far, stopped at iteration \d+ of 100000\)/,
    );
    const img = await loadImage(join(dir, "o.png"));
    assert.equal(Math.max(img.width, img.height), 24);
    const lines = (await Deno.readTextFile(log)).trim().split("\n").map((l) => JSON.parse(l))
      .filter((r) => !r.header); // the first line is the settings header
    assert.deepEqual(lines.at(-1), { partial: true, signal: "SIGINT" });
    assert.ok(lines.length >= 2 && lines[0].iteration === 0);
    assert.deepEqual(tmpFiles(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGTERM in directory mode: exit 143, started batches written, the rest listed as not started", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "in"));
    for (const n of ["a", "b", "c"]) {
      await Deno.writeFile(join(dir, "in", `${n}.png`), await png(30, 40));
    }
    const log = join(dir, "l.jsonl");
    const r = await start(dir, [
      "--content",
      join(dir, "in"),
      "--out",
      join(dir, "out"),
      "--workers",
      "1",
    ], log);
    r.child.kill("SIGTERM");
    const status = await r.child.status;
    await r.reading;
    assert.equal(status.code, 143, r.stderr());
    assert.match(
      r.stderr(),
      /stopped by SIGTERM: wrote 1 image\(s\).*PARTIAL.*not started: 2 image\(s\)/,
    );
    assert.deepEqual([...Deno.readDirSync(join(dir, "out"))].map((e) => e.name), ["a.png"]);
    assert.deepEqual(tmpFiles(dir), []);
    assert.deepEqual(tmpFiles(join(dir, "out")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("directory mode: a second SIGINT exits at once with 130 and leaves no temp file", async () => {
  // On the pool the main thread only waits, so it sees each signal at once (one file runs its
  // steps on the main thread, which sees signals between steps: both then count as one).
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "in"));
    await Deno.writeFile(join(dir, "in", "c.png"), await png(30, 40));
    const log = join(dir, "l.jsonl");
    // 256 px: one step takes longer than the 50 ms between the two signals.
    const r = await start(dir, [
      "--content",
      join(dir, "in"),
      "--out",
      join(dir, "out"),
      "--size",
      "256",
      "--workers",
      "1",
    ], log);
    r.child.kill("SIGINT");
    await new Promise((res) => setTimeout(res, 50));
    r.child.kill("SIGINT");
    const status = await r.child.status;
    await r.reading;
    assert.equal(status.code, 130, r.stderr());
    assert.match(r.stderr(), /SIGINT again: exiting now/);
    assert.deepEqual(tmpFiles(dir), []);
    assert.equal(await Deno.stat(log).catch(() => null), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("directory mode, 2 workers: a second SIGTERM soon after the first leaves no unmarked partial image", async () => {
  // The second signal may land while the stopped batches' best images are being written: those
  // already written are removed with the temp files, so what stays is either nothing (exit at
  // once) or the full summary that marks every image PARTIAL. Several delays cover both.
  for (const delay of [0, 40, 70, 100]) {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.mkdir(join(dir, "in"));
      for (const n of ["a", "b", "c"]) {
        await Deno.writeFile(join(dir, "in", `${n}.png`), await png(30, 40));
      }
      const r = await start(dir, [
        "--content",
        join(dir, "in"),
        "--out",
        join(dir, "out"),
        "--workers",
        "2",
      ], join(dir, "l.jsonl"));
      r.child.kill("SIGTERM");
      await new Promise((res) => setTimeout(res, delay));
      try {
        r.child.kill("SIGTERM");
      } catch {
        // the stop already ended it
      }
      const status = await r.child.status;
      await r.reading;
      const stderr = r.stderr();
      assert.equal(status.code, 143, stderr);
      const written = await Array.fromAsync(Deno.readDir(join(dir, "out")))
        .catch(() => [] as Deno.DirEntry[]);
      const images = written.map((e) => e.name).filter((n) => n.endsWith(".png"));
      console.log(`delay ${delay} ms: ${stderr.trim().split("\n").at(-1)}`);
      if (/SIGTERM again: exiting now/.test(stderr)) {
        assert.match(stderr, /no partial output/);
        assert.deepEqual(images, [], `delay ${delay}: ${stderr}`);
      } else {
        // The stop finished first: every image written is named in the PARTIAL list.
        const partial = /PARTIAL \([^)]*\): ([^;\n]*)/.exec(stderr)?.[1] ?? "";
        for (const n of images) assert.ok(partial.includes(n), `delay ${delay}: ${n}: ${stderr}`);
      }
      assert.deepEqual(tmpFiles(dir), []);
      assert.deepEqual(written.filter((e) => e.name.endsWith(".tmp")), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
