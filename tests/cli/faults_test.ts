/**
 * Faults of the machine rather than of the input (issue 16, 4): a full disk
 * (a small tmpfs) as `--out` and `--cache` for stylize and the study, and a
 * read-only output for an unprivileged user (`nobody`). Each expects one
 * `error:` line naming the path, exit 2, no partial or temporary file, and
 * inputs intact. Rows that need root (mount, setpriv) skip with a printed
 * reason where that is not possible.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { REPO_ROOT, SHARED_WEIGHTS, tinyStudyArgs } from "../_env.ts";
import { encodePng } from "../../src/images/io.ts";

const dec = new TextDecoder();
const STYLIZE = join(REPO_ROOT, "src/style/cli.ts"), STUDY = join(REPO_ROOT, "src/study/cli.ts");

/** Noise, so the PNG does not compress: about 3 bytes per pixel. */
async function noisePng(width: number, height: number): Promise<Uint8Array> {
  const data = new Float32Array(width * height * 3);
  let s = 7;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return await encodePng({ width, height, data });
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    stdout: "piped",
    stderr: "piped",
    env: { CI: "1", ...opts.env },
  }).output();
  return { code: out.code, stderr: dec.decode(out.stderr) };
}

const deno = (entry: string, args: string[], cwd?: string) =>
  run(Deno.execPath(), ["run", "-A", "--quiet", entry, ...args], { cwd });

/** Every file under `dir` (relative path -> sha256). */
async function tree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string, rel: string) {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name), r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p, r);
      else out.set(r, createHash("sha256").update(await Deno.readFile(p)).digest("hex"));
    }
  }
  await walk(dir, "");
  return out;
}

/** The one-line failure: exit 2, one `error:` line matching `message`, no stack trace. */
function assertOneLine(r: { code: number; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], message);
  assert.doesNotMatch(r.stderr, /^\s+at .*:\d+:\d+/m, "a stack trace");
}

/**
 * A 1 MiB tmpfs with `free` bytes left (a filler file takes the rest), or null with the
 * reason printed when mounting is not permitted here.
 */
async function fullDisk(
  free: number,
): Promise<{ dir: string; unmount: () => Promise<void> } | null> {
  const dir = await Deno.makeTempDir({ prefix: "nst-full-" });
  const m = await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]).catch((e) => ({
    code: -1,
    stderr: String(e),
  }));
  if (m.code !== 0) {
    await Deno.remove(dir);
    console.log(`skipped: cannot mount a tmpfs (${m.stderr.trim() || "not permitted"})`);
    return null;
  }
  const filler = await Deno.open(join(dir, "filler"), { write: true, create: true });
  const chunk = new Uint8Array(4096).fill(120);
  try {
    while (true) await filler.write(chunk);
  } catch (e) {
    if (!(e instanceof Error && /os error 28/.test(e.message))) throw e;
  }
  const size = (await filler.stat()).size;
  await filler.truncate(Math.max(0, size - free));
  filler.close();
  return {
    dir,
    unmount: async () => {
      await run("umount", [dir]);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Files on the tmpfs other than the filler: must be none after a refused run. */
async function leftovers(dir: string): Promise<string[]> {
  return [...(await tree(dir)).keys()].filter((p) => p !== "filler");
}

const stylizeArgs = (work: string, content: string, out: string) => [
  "--content",
  content,
  "--style",
  join(work, "style.png"),
  "--weights",
  SHARED_WEIGHTS,
  "--profile",
  "offline",
  "--backend",
  "wasm",
  "--iterations",
  "0",
  "--out",
  out,
];

/** A work dir with content.png (noise, `side` px) and style.png; returns it and its hashes. */
async function inputs(side: number): Promise<{ work: string; before: Map<string, string> }> {
  const work = await Deno.makeTempDir({ prefix: "nst-fault-in-" });
  await Deno.writeFile(join(work, "content.png"), await noisePng(side, side));
  await Deno.writeFile(join(work, "style.png"), await noisePng(40, 30));
  return { work, before: await tree(work) };
}

Deno.test("full disk: stylize --out on a full tmpfs is refused before any work", async () => {
  const disk = await fullDisk(0);
  if (!disk) return;
  const { work, before } = await inputs(30);
  try {
    const out = join(disk.dir, "o.png");
    const r = await deno(STYLIZE, stylizeArgs(work, join(work, "content.png"), out), work);
    assertOneLine(r, /--out: cannot write \S*o\.png \(.*No space left on device/);
    assert.deepEqual(await leftovers(disk.dir), []);
    assert.deepEqual(await tree(work), before, "inputs changed");
  } finally {
    await disk.unmount();
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("full disk: stylize --out with room for the check but not the image", async () => {
  // One page free: the one-byte probe fits, a 200x200 PNG does not.
  const disk = await fullDisk(4096);
  if (!disk) return;
  const { work, before } = await inputs(200);
  try {
    const out = join(disk.dir, "o.png");
    const r = await deno(
      STYLIZE,
      [...stylizeArgs(work, join(work, "content.png"), out), "--size", "200"],
      work,
    );
    assertOneLine(r, /--out: cannot write \S*o\.png \(No space left on device \(os error 28\)\)/);
    assert.deepEqual(await leftovers(disk.dir), [], "a partial or temporary file was left");
    assert.deepEqual(await tree(work), before, "inputs changed");
  } finally {
    await disk.unmount();
    await Deno.remove(work, { recursive: true });
  }
});

/** A small study: 1 subset of 2 images per class, groups none and light, no evaluation pool. */
const studyArgs = (out: string, cache: string) => [
  ...tinyStudyArgs("none,light"),
  "--out",
  out,
  "--cache",
  cache,
];

for (const flag of ["--out", "--cache"] as const) {
  Deno.test(`full disk: study ${flag} on a full tmpfs is refused before any work`, async () => {
    const disk = await fullDisk(0);
    if (!disk) return;
    const work = await Deno.makeTempDir({ prefix: "nst-fault-" });
    try {
      const on = join(disk.dir, "x");
      const r = await deno(
        STUDY,
        studyArgs(
          flag === "--out" ? on : join(work, "out"),
          flag === "--cache" ? on : join(work, "cache"),
        ),
        work,
      );
      assertOneLine(r, new RegExp(`${flag}: cannot write \\S*x/results.json .*No space left`));
      assert.doesNotMatch(r.stderr, /stylization:/, "work started");
      assert.deepEqual(await leftovers(disk.dir), []);
    } finally {
      await disk.unmount();
      await Deno.remove(work, { recursive: true });
    }
  });
}

Deno.test("full disk: study --cache filling up mid-run: one line, no temp file, every entry whole", async () => {
  // 40 KiB free: a few 32 px entries (PNG and sidecar, about 4.5 KB each) fit, not all 6.
  const disk = await fullDisk(40960);
  if (!disk) return;
  const work = await Deno.makeTempDir({ prefix: "nst-fault-" });
  try {
    const cache = join(disk.dir, "cache");
    const r = await deno(STUDY, studyArgs(join(work, "out"), cache), work);
    assertOneLine(
      r,
      /--cache: cannot write \S*cache\/.*\(No space left on device \(os error 28\)\)/,
    );
    const files = await leftovers(disk.dir);
    assert.deepEqual(files.filter((f) => f.endsWith(".tmp")), [], "temporary files left");
    // Every committed entry (sidecar) names a complete PNG of its recorded hash.
    const all = await tree(disk.dir);
    for (const f of files.filter((f) => f.endsWith(".json"))) {
      const side = JSON.parse(await Deno.readTextFile(join(disk.dir, f)));
      const png = f.replace(/[^/]+$/, side.png);
      assert.equal(all.get(png), side.png_sha256, `${f} names a missing or partial PNG`);
    }
    await Deno.stat(join(work, "out")).then(
      () => assert.fail("--out was created by a run that failed in stylization"),
      () => {},
    );
  } finally {
    await disk.unmount();
    await Deno.remove(work, { recursive: true });
  }
});

/**
 * Run `deno` as nobody, or null with the reason printed: the repo must be readable by nobody,
 * and the deno binary is copied where nobody can execute it (it often lives under /root).
 */
async function asNobody(): Promise<
  { run: (args: string[], cwd: string) => Promise<{ code: number; stderr: string }> } | null
> {
  if (Deno.uid() !== 0) {
    console.log("skipped: needs root to switch to nobody (as a non-root user, see bad_input_test)");
    return null;
  }
  const probe = await run("setpriv", [
    "--reuid=nobody",
    "--regid=nogroup",
    "--clear-groups",
    "test",
    "-r",
    STYLIZE,
  ]).catch((e) => ({ code: -1, stderr: String(e) }));
  if (probe.code !== 0) {
    console.log(
      `skipped: setpriv to nobody failed or the repo is not readable by nobody (${probe.stderr.trim()})`,
    );
    return null;
  }
  const home = await Deno.makeTempDir({ prefix: "nst-nobody-" });
  await Deno.chmod(home, 0o755);
  const bin = join(home, "deno");
  await Deno.copyFile(Deno.execPath(), bin);
  await Deno.chmod(bin, 0o755);
  const denoDir = join(home, "deno-dir");
  await Deno.mkdir(denoDir);
  await Deno.chown(denoDir, 65534, 65534);
  return {
    run: (args, cwd) =>
      run("setpriv", [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "env",
        `HOME=${denoDir}`,
        `DENO_DIR=${denoDir}`,
        `NST_CACHE_DIR=${join(denoDir, "nst")}`,
        bin,
        "run",
        "-A",
        "--quiet",
        ...args,
      ], { cwd }),
  };
}

Deno.test("read-only output as nobody: stylize --out and study --out/--cache are refused", async () => {
  const nobody = await asNobody();
  if (!nobody) return;
  const { work, before } = await inputs(30);
  try {
    await Deno.chmod(work, 0o755);
    for (const f of before.keys()) await Deno.chmod(join(work, f), 0o644);
    const ro = join(work, "ro");
    await Deno.mkdir(ro);
    await Deno.chmod(ro, 0o555);
    const a = await nobody.run(
      [STYLIZE, ...stylizeArgs(work, join(work, "content.png"), join(ro, "x.png"))],
      work,
    );
    assertOneLine(a, /--out: cannot write \S*ro\/x\.png \(.*Permission denied/);
    for (const flag of ["--out", "--cache"]) {
      const args = studyArgs(join(work, "o"), join(work, "c"));
      args[args.indexOf(flag) + 1] = join(ro, "s");
      // nobody cannot create o/ or c/ in work either: the first flag checked is named.
      await Deno.chmod(work, 0o777);
      const b = await nobody.run([STUDY, ...args], work);
      await Deno.chmod(work, 0o755);
      assertOneLine(
        b,
        new RegExp(`${flag}: cannot write \\S*ro/s/results.json .*Permission denied`),
      );
    }
    assert.deepEqual([...Deno.readDirSync(ro)], []);
    const after = await tree(work);
    for (const [p, h] of before) assert.equal(after.get(p), h, `${p} changed`);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
