import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../_env.ts";
import { readmeSections, tableCells, withFlagTables } from "../../bench/readme_flags.ts";

Deno.test("the README's flag tables are the entry points' flag tables (deno task flags-doc)", async () => {
  const readme = await Deno.readTextFile(join(REPO_ROOT, "README.md"));
  for (const [name, table] of Object.entries(readmeSections())) {
    const m = new RegExp(`<!-- flags:${name} -->([\\s\\S]*?)<!-- /flags:${name} -->`).exec(readme);
    assert.ok(m, `README has no flags:${name} section`);
    assert.deepEqual(tableCells(m[1]), tableCells(table), `flags:${name} is stale`);
  }
});

Deno.test("withFlagTables replaces only the marked sections", () => {
  const out = withFlagTables("a\n<!-- flags:data -->\nold\n<!-- /flags:data -->\nb");
  assert.ok(out.startsWith("a\n<!-- flags:data -->\n\n| flag | default | meaning |"));
  assert.ok(out.endsWith("\n\n<!-- /flags:data -->\nb"));
  assert.ok(!out.includes("old"));
  assert.deepEqual(tableCells("| a \\| b  | c |\n| --- | - |"), [["a \\| b", "c"]]);
});
