/**
 * The README's flag tables, generated from the declarative flag tables of
 * every entry point: each sits between `<!-- flags:NAME -->` and
 * `<!-- /flags:NAME -->`. `deno task flags-doc` rewrites them (then
 * `deno fmt README.md` aligns the columns); `tests/util/readme_flags_test.ts`
 * fails when the README and the tables drift apart.
 *
 * @example
 * ```ts
 * import { readmeSections } from "./readme_flags.ts";
 * console.log(Object.keys(readmeSections())); // stylize, study, bench, data, weights
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";
import { flagHelp, flagMarkdown, type FlagTable, parseFlagTable } from "../src/util/flags.ts";
import { STYLIZE_OPTIONS } from "../src/style/cli.ts";
import { STUDY_CLI_FLAGS } from "../src/study/cli.ts";
import { BENCH_FLAGS } from "./bench.ts";
import { DATA_FLAGS } from "../src/study/download.ts";
import { WEIGHTS_FLAGS } from "../src/vgg/download.ts";
import { writeTextAtomic } from "../src/util/fs.ts";
import { runMain } from "../src/util/errors.ts";

/**
 * Each generated section's Markdown by name.
 *
 * @example
 * ```ts
 * import { readmeSections } from "./readme_flags.ts";
 * console.log(readmeSections().stylize.split("\n")[0]); // | flag | default | meaning |
 * ```
 */
export function readmeSections(): Record<string, string> {
  return {
    stylize: flagMarkdown(STYLIZE_OPTIONS),
    study: flagMarkdown(STUDY_CLI_FLAGS),
    bench: flagMarkdown(BENCH_FLAGS),
    data: flagMarkdown(DATA_FLAGS),
    weights: flagMarkdown(WEIGHTS_FLAGS),
  };
}

/**
 * `readme` with every marked section replaced by its generated table.
 *
 * @example
 * ```ts
 * import { withFlagTables } from "./readme_flags.ts";
 * console.log(withFlagTables("<!-- flags:data -->\nold\n<!-- /flags:data -->"));
 * ```
 */
export function withFlagTables(readme: string): string {
  let out = readme;
  for (const [name, table] of Object.entries(readmeSections())) {
    const re = new RegExp(`(<!-- flags:${name} -->)[\\s\\S]*?(<!-- /flags:${name} -->)`);
    out = out.replace(re, (_, a, b) => `${a}\n\n${table}\n\n${b}`);
  }
  return out;
}

/**
 * The table rows of a Markdown text with cells trimmed and the rule rows
 * dropped, for comparing tables whatever their column alignment.
 *
 * @example
 * ```ts
 * import { tableCells } from "./readme_flags.ts";
 * console.log(tableCells("| a  | b |\n| -- | - |")); // [["a", "b"]]
 * ```
 */
export function tableCells(md: string): string[][] {
  return md.split("\n").filter((l) => l.trim().startsWith("|"))
    .map((l) => l.trim().slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()))
    .filter((cells) => !cells.every((c) => /^-+$/.test(c)));
}

/** The flags (none but --help). */
const FLAGS: FlagTable = { help: { kind: "boolean", help: "print this table" } };

/** Entry point: rewrite the README's flag tables. */
async function main(): Promise<void> {
  const values = parseFlagTable(Deno.args, FLAGS);
  if (values.help) {
    console.log(flagHelp("deno task flags-doc", FLAGS));
    return;
  }
  const path = fileURLToPath(new URL("../README.md", import.meta.url));
  await writeTextAtomic(path, withFlagTables(await Deno.readTextFile(path)));
  console.log(`rewrote the flag tables of ${path}; run deno fmt README.md`);
}

if (import.meta.main) await runMain(main);
