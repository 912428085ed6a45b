import assert from "node:assert/strict";
import { join } from "node:path";
import { preflightWritable, realTarget, userPathError } from "../../src/util/fs.ts";
import { UserError } from "../../src/util/errors.ts";

Deno.test("realTarget resolves links in the existing prefix and keeps the rest", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.writeTextFile(join(dir, "a"), "x");
    await Deno.symlink(join(dir, "a"), join(dir, "l"));
    await Deno.mkdir(join(dir, "real"));
    await Deno.symlink(join(dir, "real"), join(dir, "ldir"));
    assert.equal(await realTarget(join(dir, "l")), join(dir, "a"));
    assert.equal(await realTarget(join(dir, "ldir", "new", "x.png")), join(dir, "real/new/x.png"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("preflightWritable: fine for a new path, refuses a directory or a path under a file, leaves nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await preflightWritable(join(dir, "new", "deeper", "x.png"), "--out");
    await Deno.writeTextFile(join(dir, "f"), "x");
    await Deno.mkdir(join(dir, "d.png"));
    await assert.rejects(
      () => preflightWritable(join(dir, "d.png"), "--out"),
      (e: Error) => e instanceof UserError && e.message.includes("is a directory"),
    );
    await assert.rejects(
      () => preflightWritable(join(dir, "f", "x.png"), "--log"),
      (e: Error) => e instanceof UserError && /^--log: .*f is not a directory/.test(e.message),
    );
    await assert.rejects(
      () => preflightWritable("/proc/nst-probe.png", "--out"),
      (e: Error) => e instanceof UserError && e.message.startsWith("--out: cannot write"),
    );
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left.sort(), ["d.png", "f"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("userPathError turns OS errors into a UserError naming flag and path, nothing else", () => {
  const e = userPathError(
    new Deno.errors.PermissionDenied("Permission denied (os error 13)"),
    "--out",
    "/x.png",
  );
  assert.ok(e instanceof UserError);
  assert.equal(e.message, "--out: cannot write /x.png (Permission denied (os error 13))");
  const bug = new TypeError("x is undefined");
  assert.equal(userPathError(bug, "--out", "/x.png"), bug);
});
