/**
 * The declarative command-line layer: one table row per flag with its kind
 * (int, number, enum, list, path, string, boolean), default, bounds and help.
 * Parsing, validation, `--help` and the README's flag tables all come from
 * the table. Numbers are strict decimals (no hex; no exponent for integers).
 *
 * @example
 * ```ts
 * import { type FlagTable, flagHelp, parseFlagTable } from "./flags.ts";
 * const table: FlagTable = {
 *   size: { kind: "int", min: 1, value: "N", help: "long side" },
 *   backend: { kind: "enum", choices: ["wasm", "cpu"], default: "wasm", help: "backend" },
 * };
 * const v = parseFlagTable(["--size", "64"], table);
 * console.log(v.size, v.backend); // 64 wasm
 * console.log(flagHelp("demo [options]", table));
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { UserError } from "./errors.ts";
import { optionsTable, strictNumber } from "./cli.ts";

/**
 * One flag: how to parse it, its default and bounds, and its help.
 *
 * @example
 * ```ts
 * import type { FlagSpec } from "./flags.ts";
 * const lr: FlagSpec = { kind: "number", exclusiveMin: 0, default: 5, value: "X", help: "Adam learning rate" };
 * ```
 */
export interface FlagSpec {
  kind: "int" | "number" | "enum" | "list" | "path" | "string" | "boolean";
  /** The value's name in help (`N`, `FILE`); default from the kind. */
  value?: string;
  /** The value when the flag is absent (already parsed: a number for int/number). */
  default?: string | number | boolean | string[];
  /** Shown instead of the default in help and the README when it is computed elsewhere. */
  defaultText?: string;
  min?: number;
  max?: number;
  /** A lower bound the value must exceed. */
  exclusiveMin?: number;
  /** A bound the value must stay below. */
  exclusiveMax?: number;
  /** Allowed values (enum; for list, every item). */
  choices?: readonly string[];
  /** The noun of the error for an unknown enum value (`unknown backend 'x'`); default "value". */
  noun?: string;
  short?: string;
  help: string;
}

/**
 * Flags by name (without `--`), in help order.
 *
 * @example
 * ```ts
 * import type { FlagTable } from "./flags.ts";
 * const t: FlagTable = { help: { kind: "boolean", help: "print this table" } };
 * ```
 */
export type FlagTable = Record<string, FlagSpec>;

/**
 * Parsed values: number for int/number, string for enum/path/string, string[] for list.
 *
 * @example
 * ```ts
 * import type { FlagValues } from "./flags.ts";
 * const v: FlagValues = { size: 64, layers: ["a"], help: undefined };
 * ```
 */
export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

/**
 * What a numeric flag expects, in words (`a positive integer`, `a number in [0, 1)`).
 *
 * @example
 * ```ts
 * import { expectation } from "./flags.ts";
 * console.log(expectation({ kind: "int", min: 1, help: "" })); // a positive integer
 * ```
 */
export function expectation(f: FlagSpec): string {
  const noun = f.kind === "int" ? "integer" : "number";
  if (f.min === 1 && f.kind === "int" && f.max === undefined) return "a positive integer";
  if (f.exclusiveMin === 0 && f.max === undefined && f.exclusiveMax === undefined) {
    return `a positive ${noun}`;
  }
  const lo = f.min ?? f.exclusiveMin, hi = f.max ?? f.exclusiveMax;
  if (lo !== undefined && hi !== undefined) {
    return `a number in ${f.min !== undefined ? "[" : "("}${lo}, ${hi}${
      f.max !== undefined ? "]" : ")"
    }`;
  }
  if (lo !== undefined) return `an ${noun} ${f.min !== undefined ? ">=" : ">"} ${lo}`;
  if (hi !== undefined) return `an ${noun} ${f.max !== undefined ? "<=" : "<"} ${hi}`;
  return noun === "integer" ? "an integer" : "a number";
}

function inBounds(f: FlagSpec, n: number): boolean {
  return (f.min === undefined || n >= f.min) && (f.max === undefined || n <= f.max) &&
    (f.exclusiveMin === undefined || n > f.exclusiveMin) &&
    (f.exclusiveMax === undefined || n < f.exclusiveMax);
}

/**
 * Parse one flag's text by its row; a UserError names the flag.
 *
 * @example
 * ```ts
 * import { parseFlagValue } from "./flags.ts";
 * console.log(parseFlagValue("batch", { kind: "int", min: 1, help: "" }, "4")); // 4
 * ```
 */
export function parseFlagValue(name: string, f: FlagSpec, raw: string): string | number | string[] {
  switch (f.kind) {
    case "int":
    case "number":
      return strictNumber(name, raw, f.kind === "int", (n) => inBounds(f, n), expectation(f));
    case "enum":
      if (!f.choices!.includes(raw)) {
        throw new UserError(
          `--${name}: unknown ${f.noun ?? "value"} '${raw}' (known: ${f.choices!.join(", ")})`,
        );
      }
      return raw;
    case "list": {
      const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
      if (items.length === 0) {
        throw new UserError(`--${name}: expected a comma-separated list, got '${raw}'`);
      }
      for (const it of items) {
        if (f.choices && !f.choices.includes(it)) {
          throw new UserError(
            `--${name}: unknown ${f.noun ?? "value"} '${it}' (known: ${f.choices.join(", ")})`,
          );
        }
      }
      return items;
    }
    case "path":
      if (raw === "") throw new UserError(`--${name}: expected a path, got ''`);
      return raw;
    default:
      return raw;
  }
}

/**
 * Parse `args` by `table`: strict (no unknown flags; positionals only when
 * allowed), every value parsed and checked, defaults filled in.
 *
 * @example
 * ```ts
 * import { parseFlagTable } from "./flags.ts";
 * const v = parseFlagTable(["--n", "3"], { n: { kind: "int", min: 0, help: "count" } });
 * console.log(v.n); // 3
 * ```
 */
export function parseFlagTable(
  args: string[],
  table: FlagTable,
  opts: { positionals?: string[] } = {},
): FlagValues {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(table).map(([k, f]) => [
          k,
          {
            type: f.kind === "boolean" ? "boolean" as const : "string" as const,
            ...(f.short ? { short: f.short } : {}),
          },
        ]),
      ),
      strict: true,
      allowPositionals: opts.positionals !== undefined,
    });
  } catch (e) {
    throw new UserError(`${(e as Error).message} (see --help)`);
  }
  if (opts.positionals) opts.positionals.push(...parsed.positionals);
  const out: FlagValues = {};
  for (const [k, f] of Object.entries(table)) {
    const raw = (parsed.values as Record<string, string | boolean | undefined>)[k];
    if (raw === undefined) out[k] = f.default;
    else if (typeof raw === "boolean") out[k] = raw;
    else out[k] = parseFlagValue(k, f, raw);
  }
  return out;
}

function shownDefault(f: FlagSpec): string | undefined {
  if (f.defaultText !== undefined) return f.defaultText;
  if (f.default === undefined || f.kind === "boolean") return undefined;
  return Array.isArray(f.default) ? f.default.join(",") : String(f.default);
}

function valueName(f: FlagSpec): string {
  if (f.kind === "boolean") return "";
  if (f.value) return f.value;
  if (f.kind === "enum") return f.choices!.join("|");
  return { int: "N", number: "X", list: "A,B,..", path: "PATH", string: "TEXT" }[f.kind]!;
}

/**
 * `--help` text: the usage line and one aligned row per flag with its default.
 *
 * @example
 * ```ts
 * import { flagHelp } from "./flags.ts";
 * console.log(flagHelp("x [options]", { n: { kind: "int", default: 1, help: "count" } }));
 * ```
 */
export function flagHelp(usage: string, table: FlagTable): string {
  return optionsTable(
    usage,
    Object.entries(table).map(([k, f]) => {
      const v = valueName(f), d = shownDefault(f);
      return [`--${k}${v ? " " + v : ""}`, f.help + (d !== undefined ? ` [default: ${d}]` : "")];
    }),
  );
}

/**
 * The README's flag table (Markdown) for `table`.
 *
 * @example
 * ```ts
 * import { flagMarkdown } from "./flags.ts";
 * console.log(flagMarkdown({ n: { kind: "int", default: 1, help: "count" } }));
 * ```
 */
export function flagMarkdown(table: FlagTable): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const rows = Object.entries(table).filter(([k]) => k !== "help").map(([k, f]) => {
    const v = valueName(f);
    return [`\`--${k}${v ? " " + esc(v) : ""}\``, esc(shownDefault(f) ?? ""), esc(f.help)];
  });
  return [
    "| flag | default | meaning |",
    "| --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ]
    .join("\n");
}
