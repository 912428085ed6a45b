import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { downloadVerified, fileDigest, isVerified } from "../../src/util/download.ts";
import { UserError } from "../../src/util/errors.ts";

const enc = new TextEncoder();
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const DATA = enc.encode("weights ".repeat(50_000));

async function tmp(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

/**
 * A loopback server for the duration of `fn`: `/good` sends DATA with a
 * length, `/chunked` without one, `/html` a 200 HTML page, anything else 404.
 * `hits` counts requests, so a test can tell a skipped download from a fetched one.
 */
async function withServer(fn: (base: string, hits: string[]) => Promise<void>) {
  const hits: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    hits.push(path);
    if (path === "/good") {
      return new Response(DATA, { headers: { "content-length": String(DATA.length) } });
    }
    if (path === "/chunked") {
      return new Response(ReadableStream.from([DATA.subarray(0, 10), DATA.subarray(10)]));
    }
    if (path === "/html") {
      return new Response("<html>log in</html>", { headers: { "content-type": "text/html" } });
    }
    return new Response("not found", { status: 404 });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, hits);
  } finally {
    await server.shutdown();
  }
}

Deno.test("downloadVerified over http: md5 and sha256, with and without a length", async () => {
  await withServer(async (base) => {
    await tmp(async (dir) => {
      const a = join(dir, "out", "a.bin");
      assert.equal(
        await downloadVerified(`${base}/good`, a, { md5: md5(DATA) }, { quiet: true }),
        a,
      );
      assert.deepEqual(await Deno.readFile(a), DATA);
      const b = join(dir, "out", "b.bin");
      await downloadVerified([`${base}/chunked`], b, { sha256: sha256(DATA).toUpperCase() }, {
        quiet: true,
      });
      assert.equal(await fileDigest(b, "sha256"), sha256(DATA));
      assert.deepEqual(await listDir(join(dir, "out")), ["a.bin", "b.bin"]);
    });
  });
});

Deno.test("downloadVerified over http: a mismatch names URL, expected and actual; no file left", async () => {
  await withServer(async (base) => {
    await tmp(async (dir) => {
      const dest = join(dir, "out", "a.bin");
      const wrong = "0".repeat(32);
      for (const [path, extra] of [["/good", ""], ["/html", "HTML page"]]) {
        await assert.rejects(
          downloadVerified(`${base}${path}`, dest, { md5: wrong }, { quiet: true }),
          (e: Error) => {
            assert.ok(e instanceof UserError, e.message);
            assert.ok(e.message.includes(`${base}${path}`), e.message);
            assert.ok(e.message.includes(wrong), e.message);
            if (path === "/good") assert.ok(e.message.includes(md5(DATA)), e.message);
            assert.ok(e.message.includes(extra), e.message);
            return true;
          },
        );
      }
      assert.deepEqual(await listDir(join(dir, "out")), []);
    });
  });
});

Deno.test("downloadVerified: the first URL failing, the second succeeding", async () => {
  await withServer(async (base, hits) => {
    await tmp(async (dir) => {
      const dest = join(dir, "a.bin");
      const missingFile = pathToFileURL(join(dir, "nope.bin")).href;
      await downloadVerified(
        [`${base}/missing`, missingFile, `${base}/good`],
        dest,
        { sha256: sha256(DATA) },
        { quiet: true },
      );
      assert.deepEqual(hits, ["/missing", "/good"]);
      assert.deepEqual(await Deno.readFile(dest), DATA);
      // Every URL failing: each is listed with its reason, and nothing is written.
      const dest2 = join(dir, "b.bin");
      await assert.rejects(
        downloadVerified([`${base}/missing`, missingFile], dest2, { md5: md5(DATA) }, {
          quiet: true,
        }),
        (e: Error) => {
          assert.ok(e instanceof UserError);
          assert.match(e.message, /HTTP 404/);
          assert.ok(e.message.includes(missingFile), e.message);
          return true;
        },
      );
      assert.deepEqual(await listDir(dir), ["a.bin"]);
    });
  });
});

Deno.test("downloadVerified: a verified dest is kept without a request; a wrong one is replaced", async () => {
  await withServer(async (base, hits) => {
    await tmp(async (dir) => {
      const dest = join(dir, "a.bin");
      await Deno.writeFile(dest, DATA);
      await downloadVerified(`${base}/good`, dest, { md5: md5(DATA) }, { quiet: true });
      assert.deepEqual(hits, []);
      await Deno.writeFile(dest, enc.encode("stale"));
      assert.equal(await isVerified(dest, { md5: md5(DATA) }), false);
      await downloadVerified(`${base}/good`, dest, { md5: md5(DATA) }, { quiet: true });
      assert.deepEqual(hits, ["/good"]);
      assert.equal(await isVerified(dest, { md5: md5(DATA) }), true);
    });
  });
});

Deno.test("downloadVerified over file: URLs: success, skip, mismatch without a file", async () => {
  await tmp(async (dir) => {
    const src = join(dir, "src.bin");
    await Deno.writeFile(src, DATA);
    const url = pathToFileURL(src).href;
    const dest = join(dir, "out", "a.bin");
    await downloadVerified(url, dest, { sha256: sha256(DATA) }, { quiet: true });
    assert.deepEqual(await Deno.readFile(dest), DATA);
    // Verified already: the source may be gone.
    await Deno.remove(src);
    await downloadVerified(url, dest, { sha256: sha256(DATA) }, { quiet: true });
    await Deno.writeFile(src, enc.encode("tampered"));
    const dest2 = join(dir, "out", "b.bin");
    await assert.rejects(
      downloadVerified(url, dest2, { md5: md5(DATA) }, { quiet: true }),
      (e: Error) => {
        assert.ok(e instanceof UserError);
        assert.ok(e.message.includes(url), e.message);
        assert.ok(e.message.includes(md5(DATA)), e.message);
        assert.ok(e.message.includes(md5(enc.encode("tampered"))), e.message);
        return true;
      },
    );
    assert.deepEqual(await listDir(join(dir, "out")), ["a.bin"]);
  });
});

Deno.test("downloadVerified: a malformed checksum or no URL is a programming error", async () => {
  await assert.rejects(downloadVerified("file:///x", "/tmp/x", { md5: "abc" }), TypeError);
  await assert.rejects(downloadVerified([], "/tmp/x", { sha256: "0".repeat(64) }), TypeError);
});
