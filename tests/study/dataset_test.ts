import assert from "node:assert/strict";
import { join } from "node:path";
import { availableClasses, classRoot, listClasses } from "../../src/study/dataset.ts";
import { UserError } from "../../src/util/errors.ts";
import { sharedPath } from "../_env.ts";

const REAL = sharedPath("data/caltech101");
const NEED = { trainPerClass: 10, mode: "subsets" as const, count: 3 };

Deno.test("real data: <root>/<class>/ layout, counts and relative sorted paths", async () => {
  assert.equal(await classRoot(REAL), "");
  assert.deepEqual(await availableClasses(REAL), ["butterfly", "crab", "scorpion"]);
  const images = await listClasses(REAL, ["scorpion", "butterfly", "crab"], NEED);
  assert.deepEqual(Object.keys(images), ["scorpion", "butterfly", "crab"]);
  assert.equal(images.butterfly.length, 91);
  assert.equal(images.crab.length, 73);
  assert.equal(images.scorpion.length, 84);
  assert.equal(images.crab[0], "crab/image_0001.jpg");
  assert.equal(images.crab[72], "crab/image_0073.jpg");
  assert.deepEqual(images.butterfly, [...images.butterfly].sort());
  const st = await Deno.stat(join(REAL, images.scorpion[83]));
  assert.ok(st.isFile);
});

async function fakeTree(withSubdir: boolean, counts: Record<string, number>): Promise<string> {
  const dir = await Deno.makeTempDir();
  const root = withSubdir ? join(dir, "101_ObjectCategories") : dir;
  for (const [name, n] of Object.entries(counts)) {
    await Deno.mkdir(join(root, name), { recursive: true });
    for (let i = n; i >= 1; i--) {
      await Deno.writeTextFile(join(root, name, `image_${String(i).padStart(4, "0")}.jpg`), "x");
    }
    await Deno.writeTextFile(join(root, name, ".DS_Store"), "");
    await Deno.writeTextFile(join(root, name, "notes.txt"), "");
  }
  await Deno.mkdir(join(root, ".hidden"));
  return dir;
}

Deno.test("101_ObjectCategories layout is detected; paths stay relative to --data", async () => {
  const dir = await fakeTree(true, { crab: 31, ant: 5 });
  try {
    assert.equal(await classRoot(dir), "101_ObjectCategories");
    assert.deepEqual(await availableClasses(dir), ["ant", "crab"]);
    const images = await listClasses(dir, ["crab"], NEED);
    assert.equal(images.crab.length, 31);
    assert.equal(images.crab[0], "101_ObjectCategories/crab/image_0001.jpg");
    assert.ok((await Deno.stat(join(dir, images.crab[30]))).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unknown class: UserError naming it and the available ones", async () => {
  const dir = await fakeTree(false, { crab: 31, ant: 5 });
  try {
    await assert.rejects(listClasses(dir, ["crab", "moth"]), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /'moth'/);
      assert.match(e.message, /available: ant, crab/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("too few images: UserError naming class, count and need", async () => {
  const dir = await fakeTree(false, { crab: 31, ant: 30 });
  try {
    await assert.rejects(listClasses(dir, ["crab", "ant"], NEED), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /'ant' has 30 images/);
      assert.match(e.message, /need 31/);
      return true;
    });
    // Without a requirement one image is enough.
    assert.equal((await listClasses(dir, ["ant"])).ant.length, 30);
    await assert.rejects(listClasses(dir, ["ant", "ant"]), /listed twice/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("missing --data directory is a UserError", async () => {
  await assert.rejects(listClasses("/nonexistent/nst-data", ["crab"]), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /--data/);
    return true;
  });
});
