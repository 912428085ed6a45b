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

/** Decimal integers only: no hex, no exponent, no fraction, no blanks. */
const INT_RE = /^[+-]?\d+$/;
/** Decimal numbers: digits with an optional fraction and exponent (no hex, Infinity or blanks). */
const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parse a flag's text strictly as a decimal integer (`integer: true`: `10`,
 * not `1e1`, `0x20` or `10.0`) or a decimal number (`5`, `0.5`, `1e-3`),
 * then check `ok`; otherwise a UserError `--flag: expected WHAT, got 'RAW'`.
 *
 * @example
 * ```ts
 * import { strictNumber } from "./cli.ts";
 * console.log(strictNumber("size", "64", true, (n) => n > 0, "a positive integer")); // 64
 * strictNumber("size", "0x20", true, (n) => n > 0, "a positive integer"); // throws
 * ```
 */
export function strictNumber(
  flag: string,
  raw: string,
  integer: boolean,
  ok: (n: number) => boolean,
  what: string,
): number {
  const n = Number(raw);
  if (
    !(integer ? INT_RE : NUMBER_RE).test(raw) || !Number.isFinite(n) ||
    (integer && !Number.isSafeInteger(n)) || !ok(n)
  ) {
    throw new UserError(`--${flag}: expected ${what}, got '${raw}'`);
  }
  return n;
}

/** Parse `args` strictly (no positionals, no unknown flags); mistakes are a UserError. */
export function parseFlags(
  args: string[],
  options: Record<string, { type: "string" | "boolean"; default?: string; short?: string }>,
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
