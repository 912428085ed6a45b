/**
 * Shared command-line plumbing for the entry points: parseArgs with its
 * errors turned into one-line user errors, and the aligned options table
 * `--help` prints.
 *
 * @example
 * ```ts
 * import { optionsTable, parseFlags } from "./cli.ts";
 * const v = parseFlags(["--size", "64"], { size: { type: "string" } });
 * console.log(v.size, optionsTable("demo", [["--size N", "long side"]]));
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { UserError } from "./errors.ts";

/** Parse `args` strictly (no positionals, no unknown flags); mistakes are a UserError. */
export function parseFlags(
  args: string[],
  options: Record<string, { type: "string" | "boolean"; default?: string }>,
): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UserError(`${(e as Error).message} (see --help)`);
  }
}

/** `usage` followed by one aligned line per `[flag, help]` row. */
export function optionsTable(usage: string, rows: Array<[string, string]>): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return `${usage}\n\n` + rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join("\n");
}
