import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync, zipSync } from "fflate";
import { c as tarCreate, Header, type HeaderData, Pax } from "tar";
import {
  CALTECH_ZIP,
  extractTar,
  installCaltech,
  safeEntryPath,
} from "../../src/study/download.ts";
import { downloadVerified } from "../../src/util/download.ts";
import { UserError } from "../../src/util/errors.ts";
import { exists } from "../../src/util/fs.ts";

const enc = new TextEncoder();

// ---- fixtures, written with the same libraries the code reads them with ----

interface TarItem {
  path: string;
  data?: string;
  type?: HeaderData["type"];
  linkpath?: string;
  /** Put the path in a pax header, as tar does for long or non-ASCII names. */
  pax?: boolean;
}

/**
 * A raw tar, header by header: node-tar's own writer refuses to store `..`,
 * absolute paths and devices as given, and those are what the tests need.
 */
function rawTar(items: TarItem[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const it of items) {
    const data = enc.encode(it.data ?? "");
    const meta: HeaderData = {
      path: it.path,
      type: it.type ?? "File",
      size: data.length,
      mode: it.type === "Directory" ? 0o755 : 0o644,
      mtime: new Date(0),
      linkpath: it.linkpath,
    };
    if (it.pax) parts.push(new Pax({ path: it.path }).encode());
    const header = Buffer.alloc(512);
    new Header({ ...meta, path: it.pax ? "PaxHeaders/short" : it.path }).encode(header, 0);
    parts.push(header);
    const body = new Uint8Array(Math.ceil(data.length / 512) * 512);
    body.set(data);
    parts.push(body);
  }
  parts.push(new Uint8Array(1024));
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Small chunks, so headers and bodies straddle chunk boundaries. */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(ctl) {
      if (off >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.slice(off, off + 700));
      off += 700;
    },
  });
}

async function tmp(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listTree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix + e.name;
    out.push(rel + (e.isDirectory ? "/" : ""));
    if (e.isDirectory) out.push(...await listTree(join(dir, e.name), rel + "/"));
  }
  return out.sort();
}

/** caltech-101.zip's layout: a folder, the annotations, and the images as a tar.gz. */
async function fakeCaltechZip(dir: string, innerTar: Uint8Array): Promise<string> {
  const path = join(dir, "caltech-101.zip");
  await Deno.writeFile(
    path,
    zipSync({
      "caltech-101/Annotations.tar": enc.encode("annotations"),
      // Both zip methods: the real archive deflates, a zip of a .gz often stores.
      "caltech-101/101_ObjectCategories.tar.gz": [gzipSync(innerTar), { level: 6 }],
      "caltech-101/show_annotation.m": [enc.encode("% matlab"), { level: 0 }],
    }),
  );
  return path;
}

/** A real-looking tar of a folder tree, made by node-tar from files on disk. */
async function tarOfTree(files: Record<string, string>): Promise<Uint8Array> {
  const src = await Deno.makeTempDir();
  try {
    for (const [rel, text] of Object.entries(files)) {
      await Deno.mkdir(join(src, rel, ".."), { recursive: true });
      await Deno.writeTextFile(join(src, rel), text);
    }
    const out = join(src, "out.tar");
    await tarCreate({ cwd: src, file: out, portable: true }, ["101_ObjectCategories"]);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(src, { recursive: true });
  }
}

// ---- tests ----

Deno.test("safeEntryPath normalises safe names and refuses escapes", () => {
  assert.equal(safeEntryPath("a/b/c.jpg"), "a/b/c.jpg");
  assert.equal(safeEntryPath("./a//b/"), "a/b");
  assert.equal(safeEntryPath("./"), "");
  assert.equal(safeEntryPath("a/..b/c..d"), "a/..b/c..d");
  for (
    const bad of ["../evil", "a/../../evil", "a/..", "/etc/passwd", "C:evil", "a\\..\\evil", "a\0b"]
  ) {
    assert.throws(() => safeEntryPath(bad), (e: Error) => {
      assert.ok(e instanceof UserError, bad);
      assert.ok(e.message.includes("unsafe archive entry"), e.message);
      return true;
    });
  }
});

Deno.test("extractTar unpacks files, folders, long (pax) names and empty files", async () => {
  await tmp(async (dir) => {
    const long = "d/" + "x".repeat(120) + ".txt";
    const bytes = rawTar([
      { path: "top/", type: "Directory" },
      { path: "top/a.txt", data: "hello" },
      { path: "top/sub/b.txt", data: "x".repeat(1500) },
      { path: long, data: "long", pax: true },
      { path: "top/empty.txt", data: "" },
    ]);
    const s = await extractTar(streamOf(bytes), dir);
    assert.deepEqual(s, { files: 4, directories: 1, bytes: 1509 });
    assert.equal(await Deno.readTextFile(join(dir, "top/a.txt")), "hello");
    assert.equal(await Deno.readTextFile(join(dir, "top/sub/b.txt")), "x".repeat(1500));
    assert.equal(await Deno.readTextFile(join(dir, long)), "long");
    assert.equal(await Deno.readTextFile(join(dir, "top/empty.txt")), "");
  });
});

Deno.test("extractTar refuses ../evil, absolute paths, links and devices; writes nothing outside", async () => {
  await tmp(async (base) => {
    const dest = join(base, "dest");
    const cases: [string, TarItem][] = [
      ["'..'", { path: "../evil", data: "pwned" }],
      ["'..'", { path: "ok/../../evil", data: "pwned" }],
      ["'..'", { path: "../evil", data: "pwned", pax: true }],
      ["absolute", { path: join(base, "evil"), data: "pwned" }],
      ["links", { path: "link", type: "SymbolicLink", linkpath: "../../evil" }],
      ["links", { path: "hard", type: "Link", linkpath: "/etc/passwd" }],
      ["CharacterDevice", { path: "dev", type: "CharacterDevice" }],
      ["FIFO", { path: "fifo", type: "FIFO" }],
    ];
    for (const [why, item] of cases) {
      const bytes = rawTar([
        { path: "fine.txt", data: "ok" },
        item,
        { path: "after.txt", data: "not reached" },
      ]);
      await assert.rejects(extractTar(streamOf(bytes), dest), (e: Error) => {
        assert.ok(e instanceof UserError, e.message);
        // Our own refusal, not node-tar's milder strip-or-skip warning.
        assert.match(e.message, /^(unsafe|unsupported) archive entry/);
        assert.ok(e.message.includes(why), `${e.message} should mention ${why}`);
        return true;
      });
    }
    assert.equal(await exists(join(base, "evil")), false);
    assert.deepEqual(await listTree(base), ["dest/", "dest/fine.txt"]);
  });
});

Deno.test("extractTar: corrupt and truncated archives are a UserError", async () => {
  await tmp(async (dir) => {
    const bytes = rawTar([{ path: "a.txt", data: "x".repeat(2000) }]);
    const corrupt = bytes.slice();
    corrupt[3] ^= 1;
    for (const bad of [corrupt, bytes.slice(0, 1200), enc.encode("not a tar".repeat(100))]) {
      await assert.rejects(extractTar(streamOf(bad), dir), (e: Error) => {
        assert.ok(e instanceof UserError, e.message);
        assert.match(e.message, /archive is corrupt/);
        return true;
      });
    }
  });
});

Deno.test("installCaltech unpacks 101_ObjectCategories from a zip holding a tar.gz", async () => {
  await tmp(async (dir) => {
    const inner = await tarOfTree({
      "101_ObjectCategories/crab/image_0001.jpg": "crab1",
      "101_ObjectCategories/crab/image_0002.jpg": "crab2",
      ["101_ObjectCategories/ant/" + "a".repeat(110) + ".jpg"]: "ant1",
    });
    const zipPath = await fakeCaltechZip(dir, inner);
    const target = await installCaltech(zipPath, join(dir, "caltech101"), { quiet: true });
    assert.equal(target, join(dir, "caltech101", "101_ObjectCategories"));
    assert.deepEqual(await listTree(join(dir, "caltech101")), [
      "101_ObjectCategories/",
      "101_ObjectCategories/ant/",
      "101_ObjectCategories/ant/" + "a".repeat(110) + ".jpg",
      "101_ObjectCategories/crab/",
      "101_ObjectCategories/crab/image_0001.jpg",
      "101_ObjectCategories/crab/image_0002.jpg",
    ]);
    assert.equal(await Deno.readTextFile(join(target, "crab/image_0002.jpg")), "crab2");
    // Already there: kept, the zip is not even read.
    await Deno.remove(zipPath);
    assert.equal(await installCaltech(zipPath, join(dir, "caltech101"), { quiet: true }), target);
  });
});

Deno.test("installCaltech leaves nothing behind when the inner archive is unsafe", async () => {
  await tmp(async (dir) => {
    const zipPath = await fakeCaltechZip(
      dir,
      rawTar([
        { path: "101_ObjectCategories/crab/image_0001.jpg", data: "crab1" },
        { path: "101_ObjectCategories/../../../evil", data: "pwned" },
      ]),
    );
    await assert.rejects(
      installCaltech(zipPath, join(dir, "caltech101"), { quiet: true }),
      (e: Error) => e instanceof UserError && /unsafe/.test(e.message),
    );
    assert.deepEqual(await listTree(join(dir, "caltech101")), []);
    assert.equal(await exists(join(dir, "evil")), false);
  });
});

Deno.test("installCaltech: no member, a corrupt gzip or not a zip → UserError, no leftovers", async () => {
  await tmp(async (dir) => {
    const caltechDir = join(dir, "caltech101");
    const noMember = join(dir, "no-member.zip");
    await Deno.writeFile(noMember, zipSync({ "caltech-101/README": enc.encode("hi") }));
    const gz = gzipSync(rawTar([{ path: "101_ObjectCategories/a/b.jpg", data: "x".repeat(5000) }]));
    const badGz = join(dir, "bad-gz.zip");
    await Deno.writeFile(
      badGz,
      zipSync({ [`caltech-101/${CALTECH_ZIP.member}`]: gz.slice(0, gz.length - 12) }),
    );
    const notZip = join(dir, "not.zip");
    await Deno.writeFile(notZip, enc.encode("<html>not a zip</html>"));
    for (const [path, why] of [[noMember, "no 101_"], [badGz, "corrupt"], [notZip, "no 101_"]]) {
      await assert.rejects(installCaltech(path, caltechDir, { quiet: true }), (e: Error) => {
        assert.ok(e instanceof UserError, e.message);
        assert.ok(e.message.includes(why), `${e.message} should mention ${why}`);
        return true;
      });
      assert.deepEqual(await listTree(caltechDir), []);
    }
  });
});

Deno.test("a caltech zip whose md5 mismatches is refused and leaves no file", async () => {
  await tmp(async (dir) => {
    const zipPath = await fakeCaltechZip(dir, rawTar([{ path: "101_ObjectCategories/x" }]));
    const actual = createHash("md5").update(await Deno.readFile(zipPath)).digest("hex");
    const url = pathToFileURL(zipPath).href;
    const downloads = join(dir, "downloads");
    await assert.rejects(
      downloadVerified(url, join(downloads, CALTECH_ZIP.file), { md5: CALTECH_ZIP.md5 }, {
        quiet: true,
      }),
      (e: Error) => {
        assert.ok(e instanceof UserError);
        for (const part of [url, CALTECH_ZIP.md5, actual]) {
          assert.ok(e.message.includes(part), `${e.message} should mention ${part}`);
        }
        return true;
      },
    );
    assert.deepEqual(await listTree(downloads), []);
  });
});
