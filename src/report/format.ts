/**
 * Number and label formatting shared by the report's tables and text.
 *
 * @example
 * ```ts
 * import { endpointLabel, fmt, signed } from "./format.ts";
 * console.log(fmt(2 / 3), signed(0.1), endpointLabel("shape_bias")); // 0.667 +0.100 shape bias
 * ```
 * @module
 */
import type { Endpoint } from "./schema.ts";
import type { MeanStd } from "./summary.ts";

/** The phrase used wherever the decision rule is not met. */
export const NO_EVIDENCE =
  "no evidence of an effect at this sample size (not evidence of no effect)";

/**
 * A number with 3 decimals; "n/a" for NaN.
 *
 * @example
 * ```ts
 * import { fmt } from "./format.ts";
 * console.log(fmt(2 / 3)); // "0.667"
 * ```
 */
export function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/**
 * A signed number with 3 decimals ("+0.033", "-0.100", "0.000"); a non-zero
 * value that would round to zero keeps two significant digits ("-0.00042"),
 * so an interval bound never reads as 0 when it is not.
 *
 * @example
 * ```ts
 * import { signed } from "./format.ts";
 * console.log(signed(0.1)); // "+0.100"
 * ```
 */
export function signed(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return "n/a";
  if (x === 0) return (0).toFixed(digits);
  const fixed = x.toFixed(digits);
  const s = Number(fixed) === 0 ? x.toPrecision(2) : fixed;
  return x > 0 ? `+${s}` : s;
}

/**
 * "mean ± sd" (just the mean with one value; "n/a" with none).
 *
 * @example
 * ```ts
 * import { meanSd } from "./format.ts";
 * console.log(meanSd({ mean: 0.5, std: 0.1, n: 3 })); // "0.500 ± 0.100"
 * ```
 */
export function meanSd(m: MeanStd, f: (x: number) => string = (x) => fmt(x)): string {
  if (m.n === 0 || !Number.isFinite(m.mean)) return "n/a";
  return m.n < 2 ? f(m.mean) : `${f(m.mean)} ± ${f(m.std)}`;
}

/**
 * An interval "[lo, hi]" with signed bounds; "n/a (< 2 draws)" for null.
 *
 * @example
 * ```ts
 * import { ci } from "./format.ts";
 * console.log(ci([-0.01, 0.02])); // "[-0.010, +0.020]"
 * ```
 */
export function ci(pair: [number, number] | null): string {
  return pair ? `[${signed(pair[0])}, ${signed(pair[1])}]` : "n/a (< 2 draws)";
}

/**
 * A p-value with 3 decimals, "<0.001" below that.
 *
 * @example
 * ```ts
 * import { pValue } from "./format.ts";
 * console.log(pValue(0.0001)); // "<0.001"
 * ```
 */
export function pValue(p: number): string {
  if (!Number.isFinite(p)) return "n/a";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

const ENDPOINT_LABELS: Record<Endpoint, string> = {
  clean_accuracy: "clean accuracy",
  texture_shift_accuracy: "texture-shift accuracy",
  corruption_accuracy: "corruption accuracy",
  shape_bias: "shape bias",
};

/**
 * The endpoint's name in prose ("texture-shift accuracy").
 *
 * @example
 * ```ts
 * import { endpointLabel } from "./format.ts";
 * console.log(endpointLabel("clean_accuracy")); // "clean accuracy"
 * ```
 */
export function endpointLabel(e: Endpoint): string {
  return ENDPOINT_LABELS[e];
}

const ENDPOINT_DEFINITIONS: Record<Endpoint, string> = {
  clean_accuracy: "accuracy on the draw's own test images",
  texture_shift_accuracy:
    "accuracy on the evaluation pool stylized with held-out paintings, pooled over those paintings",
  corruption_accuracy:
    "accuracy on the evaluation pool under every corruption and severity, pooled (the mean over corruptions)",
  shape_bias:
    "on cue-conflict images (shape of one class, texture of another), shape decisions / (shape + texture decisions); Geirhos et al. 2019",
};

/**
 * One sentence defining the endpoint.
 *
 * @example
 * ```ts
 * import { endpointDefinition } from "./format.ts";
 * console.log(endpointDefinition("clean_accuracy"));
 * ```
 */
export function endpointDefinition(e: Endpoint): string {
  return ENDPOINT_DEFINITIONS[e];
}
