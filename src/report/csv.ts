/**
 * `results.csv`: one row per (draw, style, static_augmentation, classifier,
 * class), with that class's precision, recall, F1 and support, and the run's
 * accuracy, macro-F1 and endpoints (clean, texture-shift and corruption
 * accuracy, shape bias; empty where the run has none) repeated on each of
 * its rows so every row stands alone. Precision is left empty where it is undefined (the class was never
 * predicted) and `precision_defined` says so; writing 0 there would look
 * like a measured value.
 *
 * @example
 * ```ts
 * import { resultsCsv, CSV_COLUMNS } from "./csv.ts";
 * console.log(resultsCsv([]).trim() === CSV_COLUMNS.join(",")); // true
 * ```
 * @module
 */
import { ENDPOINTS, type RunResult } from "./schema.ts";
import { configOrder, endpointValue } from "./summary.ts";

/** Column names of results.csv, in order. */
export const CSV_COLUMNS: readonly string[] = [
  "draw",
  "style",
  "static_augmentation",
  "classifier",
  "class",
  "precision",
  "recall",
  "f1",
  "precision_defined",
  "support",
  "accuracy",
  "macro_f1",
  ...ENDPOINTS,
];

/**
 * One CSV field: quoted when it holds a comma, quote or line break.
 *
 * @example
 * ```ts
 * import { csvField } from "./csv.ts";
 * console.log(csvField('a,"b"')); // "a,""b"""
 * ```
 */
export function csvField(v: string | number | boolean): string {
  const s = typeof v === "number" ? formatNumber(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return "";
  // Six decimals hold any ratio of counts below a million exactly enough; trailing zeros go.
  return String(Number(v.toFixed(6)));
}

/**
 * The whole CSV text (header plus rows, LF line ends), rows in report order:
 * draw, classifier, style group, augmentation, then class order.
 *
 * @example
 * ```ts
 * import { resultsCsv } from "./csv.ts";
 * import type { RunResult } from "./schema.ts";
 * declare const runs: RunResult[];
 * await Deno.writeTextFile("results.csv", resultsCsv(runs));
 * ```
 */
export function resultsCsv(runs: readonly RunResult[]): string {
  const sorted = [...runs].sort((a, b) =>
    a.draw - b.draw ||
    configOrder(a.classifier, a.style, a.static_augmentation) -
      configOrder(b.classifier, b.style, b.static_augmentation)
  );
  const lines = [CSV_COLUMNS.join(",")];
  for (const r of sorted) {
    r.classes.forEach((cls, i) => {
      const m = r.per_class[cls];
      if (!m) throw new Error(`run draw ${r.draw} ${r.style}: no metrics for class ${cls}`);
      const support = r.confusion[i]?.reduce((a, b) => a + b, 0) ?? NaN;
      lines.push(
        [
          r.draw,
          r.style,
          r.static_augmentation,
          r.classifier,
          cls,
          m.precision_defined ? m.precision : NaN,
          m.recall,
          m.f1,
          m.precision_defined,
          support,
          r.accuracy,
          r.macro_f1,
          ...ENDPOINTS.map((e) => endpointValue(r, e) ?? NaN),
        ].map(csvField).join(","),
      );
    });
  }
  return lines.join("\n") + "\n";
}
