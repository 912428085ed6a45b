/**
 * The module-graph check (`tests/_graph.ts`): the real tree passes, and a
 * temp copy of `src/` with one import added reports exactly the cycle or the
 * outward import it makes, while the same import in a comment, a JSDoc
 * `@example` or a string is not an import.
 */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkGraph, importSpecifiers } from "./_graph.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/** The problems of a temp copy of `src/` after appending `extra` to `src/<file>`. */
async function problemsWith(file: string, extra: string): Promise<string[]> {
  const root = await Deno.makeTempDir({ prefix: "nst-graph-" });
  try {
    await cp(join(REPO, "src"), join(root, "src"), { recursive: true });
    await Deno.writeTextFile(join(root, "src", file), `\n${extra}\n`, { append: true });
    return await checkGraph(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("the real tree: src folders form a DAG and src/ imports nothing from bench/, tests/, deploy/", async () => {
  assert.deepEqual(await checkGraph(REPO), []);
});

Deno.test("a copy of src/ passes unchanged (the tests below differ from it by one import)", async () => {
  assert.deepEqual(await problemsWith("report/format.ts", "// nothing"), []);
});

Deno.test("report importing study closes the study -> report edge: exactly that cycle, with both files", async () => {
  const problems = await problemsWith("report/format.ts", 'import "../study/run.ts";');
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(
    problems[0],
    /^cycle: report -> study -> report \(src\/report\/format\.ts imports src\/study\/run\.ts; src\/study\/\w+\.ts imports src\/report\/\w+\.ts\)$/,
  );
});

Deno.test("a dynamic import counts: util loading ops closes ops -> tf.ts -> util", async () => {
  const problems = await problemsWith(
    "util/fs.ts",
    'export const graphTestLate = () => import("../ops/active.ts");',
  );
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(
    problems[0],
    /^cycle: ops -> tf\.ts -> util -> ops \(src\/ops\/\w+\.ts imports src\/tf\.ts; src\/tf\.ts imports src\/util\/\w+\.ts; src\/util\/fs\.ts imports src\/ops\/active\.ts\)$/,
  );
});

for (const target of ["bench/bench.ts", "tests/_env.ts", "deploy/kit/build.ts"]) {
  Deno.test(`an import from src/ into ${target.split("/")[0]}/ is reported`, async () => {
    const problems = await problemsWith(
      "style/cli.ts",
      `import { x } from "../../${target}";`,
    );
    assert.deepEqual(problems, [
      `outward import: src/style/cli.ts imports ${target} (src/ never imports ${
        target.split("/")[0]
      }/)`,
    ]);
  });
}

Deno.test("an import in a comment, a JSDoc @example or a string is not an import", async () => {
  const extra = [
    "/**",
    " * @example",
    " * ```ts",
    ' * import { runStudy } from "../study/run.ts";',
    ' * await import("../study/run.ts");',
    " * ```",
    " */",
    'export const graphTestNote = "import \\"../study/run.ts\\"";',
    '// import "../study/run.ts";',
    'export const graphTestLater = `import("../study/run.ts") ${graphTestNote}`;',
  ].join("\n");
  assert.deepEqual(await problemsWith("report/format.ts", extra), []);
});

Deno.test("importSpecifiers: every import form, none from comments, strings, templates or regexes", () => {
  const source = [
    'import { a } from "./a.ts";',
    'import type {\n  B,\n  C,\n} from "./b.ts";',
    'import "./side.ts";',
    'export * from "./star.ts";',
    'export { d } from "./d.ts";',
    'import data from "./data.json" with { type: "json" };',
    'type T = import("./typed.ts").T;',
    'const re = /\\/\\/"/; // a regex with a quote and slashes',
    'const div = 4 / 2 / 1; // import "./comment.ts"',
    'const t = `${a}` + `x ${`import("./nested.ts")`} y`;',
    "/* import('./block.ts') */",
    "export async function load() {\n  return await import('./lazy.ts');\n}",
  ].join("\n");
  assert.deepEqual(importSpecifiers(source), [
    "./a.ts",
    "./b.ts",
    "./side.ts",
    "./star.ts",
    "./d.ts",
    "./data.json",
    "./typed.ts",
    "./lazy.ts",
  ]);
});
