/**
 * Paired statistics for "configuration vs baseline on the same images", with
 * the training draw as the unit of analysis.
 *
 * Each configuration (style group x static augmentation x classifier) is
 * compared with a baseline run of the same draw, on every endpoint (clean
 * accuracy, texture-shift accuracy, corruption accuracy, shape bias; see
 * `ENDPOINTS` and ./endpoints.ts), on the same images: per draw, both
 * endpoint values and their difference (with, for clean accuracy, the
 * macro-F1 difference) and McNemar's exact test for the accuracy endpoints
 * (supporting detail). Across draws: mean and sample sd of the differences, a
 * t-interval, a two-level bootstrap interval (draws, then evaluation images
 * within each draw, pairing kept), a Wilcoxon signed-rank test (exact for up
 * to 20 non-zero draws), Holm's adjustment across every comparison of the run,
 * and the minimal detectable difference at 80% power of a paired t-test.
 *
 * The distribution functions (Student t quantile and CDF, noncentral t power,
 * normal CDF) are written here rather than imported: the project has no
 * numerics dependency, and these need only the regularized incomplete beta
 * and gamma functions.
 *
 * @example
 * ```ts
 * import { holm, mcnemarExact, wilcoxonSignedRank } from "./stats.ts";
 * console.log(mcnemarExact(1, 9)); // 0.021484375
 * console.log(wilcoxonSignedRank([0.02, 0.01, 0.03, 0.04, 0.05])); // 0.0625
 * console.log(holm([0.01, 0.04])); // [0.02, 0.04]
 * ```
 * @module
 */
import { accuracyAndMacroF1 } from "./metrics.ts";
import { hash32, mulberry32, randomInt } from "../util/random.ts";
import type {
  Baseline,
  Comparison,
  DiffStats,
  DrawDiff,
  Endpoint,
  EvalCondition,
  RunResult,
  StyleGroup,
} from "../report/schema.ts";
import { BASELINES, ENDPOINTS, OPTIMISED_GROUPS, STYLE_GROUPS } from "../report/schema.ts";
import { ENDPOINT_KINDS, validateConditions, validatePredictions } from "./endpoints.ts";
import { UserError } from "../util/errors.ts";

/** `x * 2^e` without intermediate overflow or underflow for |e| up to a few thousand. */
function scalePow2(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

/**
 * McNemar's exact test, two-sided: with b and c the discordant counts,
 * p = min(1, 2 * sum_{i <= min(b,c)} C(b+c, i) / 2^(b+c)), and p = 1 when
 * b + c = 0. Computed with exact integers (BigInt) and rounded once at the
 * end, so small cases give the exact binary fraction.
 *
 * @example
 * ```ts
 * import { mcnemarExact } from "./stats.ts";
 * console.log(mcnemarExact(0, 5)); // 0.0625
 * ```
 */
export function mcnemarExact(b: number, c: number): number {
  for (const [name, v] of [["b", b], ["c", c]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`mcnemarExact: ${name} = ${v}`);
  }
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let term = 1n, sum = 1n;
  for (let i = 0; i < k; i++) {
    term = (term * BigInt(n - i)) / BigInt(i + 1);
    sum += term;
  }
  const twice = 2n * sum;
  // Keep the top 64 bits of the numerator so Number() neither overflows nor loses the exponent.
  const bits = twice.toString(2).length;
  const drop = Math.max(0, bits - 64);
  const p = scalePow2(Number(twice >> BigInt(drop)), drop - n);
  return Math.min(1, p);
}

/**
 * Discordant pairs: b = images the control got right and the config wrong, c = vice versa.
 *
 * @example
 * ```ts
 * import { discordantPairs } from "./stats.ts";
 * console.log(discordantPairs([0, 1, 1], [0, 1, 0], [1, 1, 1])); // { b: 1, c: 1 }
 * ```
 */
export function discordantPairs(
  truth: ArrayLike<number>,
  control: ArrayLike<number>,
  config: ArrayLike<number>,
): { b: number; c: number } {
  if (truth.length !== control.length || truth.length !== config.length) {
    throw new Error(
      `discordantPairs: lengths differ (${truth.length}, ${control.length}, ${config.length})`,
    );
  }
  let b = 0, c = 0;
  for (let i = 0; i < truth.length; i++) {
    const ctl = control[i] === truth[i], cfg = config[i] === truth[i];
    if (ctl && !cfg) b++;
    else if (!ctl && cfg) c++;
  }
  return { b, c };
}

/**
 * The q-quantile (0..1) of ascending `sorted` values, linear interpolation
 * between order statistics (R's type 7, NumPy's default).
 *
 * @example
 * ```ts
 * import { quantileSorted } from "./stats.ts";
 * console.log(quantileSorted([1, 2, 3, 4], 0.5)); // 2.5
 * ```
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new Error("quantileSorted: no values");
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h), hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * True class indices of test images, read from each path's class directory
 * (`.../<class>/image_NNNN.jpg`), since a {@link RunResult} stores paths, not labels.
 *
 * @example
 * ```ts
 * import { labelsFromPaths } from "./stats.ts";
 * console.log(labelsFromPaths(["101_ObjectCategories/crab/image_0001.jpg"], ["butterfly", "crab"])); // [1]
 * ```
 */
export function labelsFromPaths(paths: readonly string[], classes: readonly string[]): number[] {
  return paths.map((p) => {
    const parts = p.split(/[\\/]/);
    const label = classes.indexOf(parts[parts.length - 2]);
    if (label < 0) throw new Error(`test image ${p}: class directory not in [${classes}]`);
    return label;
  });
}

// ---------------------------------------------------------------------------
// Special functions: log-gamma, regularized incomplete beta and gamma.

const LANCZOS = [
  0.99999999999980993,
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Gamma(x) for x > 0 (Lanczos, g = 7, n = 9; relative error about 1e-15). */
function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0];
  const t = x + 7.5;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

const TINY = 1e-300;
const CF_EPS = 1e-15;
const MAX_ITER = 200000;

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const qab = a + b, qap = a + 1, qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITER; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < CF_EPS) return h;
  }
  throw new Error(`incomplete beta: no convergence (x=${x}, a=${a}, b=${b})`);
}

/** Regularized incomplete beta I_x(a, b); `y` = 1 - x, passed separately to keep its precision. */
function regIncBeta(x: number, a: number, b: number, y = 1 - x): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(y);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(y, b, a)) / b;
}

/** Upper regularized incomplete gamma Q(a, x) = 1 - P(a, x), for x >= 0. */
function regGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnFront = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    // Series for P(a, x).
    let ap = a, del = 1 / a, sum = del;
    for (let n = 0; n < MAX_ITER; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * CF_EPS) return 1 - sum * Math.exp(lnFront);
    }
    throw new Error(`incomplete gamma: no convergence (a=${a}, x=${x})`);
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  let b = x + 1 - a, c = 1 / TINY, d = 1 / b, h = d;
  for (let i = 1; i <= MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < CF_EPS) return Math.exp(lnFront) * h;
  }
  throw new Error(`incomplete gamma: no convergence (a=${a}, x=${x})`);
}

function checkDf(name: string, df: number): void {
  if (!(df > 0) || !Number.isFinite(df)) throw new Error(`${name}: df = ${df}`);
}

/**
 * Standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2 through the incomplete
 * gamma function (erfc(z) = Q(1/2, z^2)); accurate in both tails.
 *
 * @example
 * ```ts
 * import { normalCdf } from "./stats.ts";
 * console.log(normalCdf(1.959963984540054).toFixed(6)); // 0.975000
 * ```
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  const half = 0.5 * regGammaQ(0.5, (x * x) / 2);
  return x < 0 ? half : 1 - half;
}

/** P(T > |t|) for Student t with df degrees of freedom: I_{df/(df+t^2)}(df/2, 1/2) / 2. */
function tUpperTail(absT: number, df: number): number {
  if (absT === 0) return 0.5;
  if (absT === Infinity) return 0;
  const r = df / (absT * absT);
  return 0.5 * regIncBeta(r / (1 + r), df / 2, 0.5, 1 / (1 + r));
}

/**
 * Student t CDF P(T <= t) with `df` > 0 degrees of freedom (need not be an
 * integer), from the regularized incomplete beta function.
 *
 * @example
 * ```ts
 * import { tCdf } from "./stats.ts";
 * console.log(tCdf(1, 1)); // 0.75 (Cauchy)
 * ```
 */
export function tCdf(t: number, df: number): number {
  checkDf("tCdf", df);
  if (Number.isNaN(t)) return NaN;
  const tail = tUpperTail(Math.abs(t), df);
  return t < 0 ? tail : 1 - tail;
}

/**
 * Student t quantile: the t with P(T <= t) = p, for 0 < p < 1 and `df` > 0.
 * Solved by bisection on the CDF (bracket by doubling, then halving to full
 * double precision), working with the smaller tail so extreme p keep their
 * precision. Accurate to about 1e-12 relative.
 *
 * @example
 * ```ts
 * import { tQuantile } from "./stats.ts";
 * console.log(tQuantile(0.975, 9).toFixed(6)); // 2.262157
 * ```
 */
export function tQuantile(p: number, df: number): number {
  checkDf("tQuantile", df);
  if (!(p > 0 && p < 1)) throw new Error(`tQuantile: p = ${p} outside (0, 1)`);
  if (p === 0.5) return 0;
  const q = p < 0.5 ? p : 1 - p;
  let lo = 0, hi = 1;
  while (tUpperTail(hi, df) > q) {
    lo = hi;
    hi *= 2;
    if (hi === Infinity) break;
  }
  for (let i = 0; i < 2000 && hi - lo > 1e-15 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid === lo || mid === hi) break;
    if (tUpperTail(mid, df) > q) lo = mid;
    else hi = mid;
  }
  const t = 0.5 * (lo + hi);
  return p < 0.5 ? -t : t;
}

// ---------------------------------------------------------------------------
// Summaries over draws.

/** Mean, sample sd and t-based 95% interval of the mean (see {@link tInterval95}). */
export interface TInterval {
  mean: number;
  /** Sample sd (n - 1 denominator); null when n < 2. */
  sd: number | null;
  /** mean +- t_{0.975, n-1} * sd / sqrt(n); null when n < 2. */
  ci95: [number, number] | null;
}

/**
 * Mean, sample sd, and the 95% t-interval mean +- t_{0.975,n-1} sd / sqrt(n)
 * of `values` (sd and interval null for a single value).
 *
 * @example
 * ```ts
 * import { tInterval95 } from "./stats.ts";
 * const r = tInterval95([1, 2, 3]);
 * console.log(r.mean, r.sd); // 2 1
 * ```
 */
export function tInterval95(values: readonly number[]): TInterval {
  const n = values.length;
  if (n === 0) throw new Error("tInterval95: no values");
  for (const v of values) if (!Number.isFinite(v)) throw new Error(`tInterval95: value ${v}`);
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n < 2) return { mean, sd: null, ci95: null };
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const half = (tQuantile(0.975, n - 1) * sd) / Math.sqrt(n);
  return { mean, sd, ci95: [mean - half, mean + half] };
}

// ---------------------------------------------------------------------------
// Wilcoxon signed-rank test.

/** Details of {@link wilcoxonSignedRankTest}. */
export interface WilcoxonResult {
  /** V: sum of the ranks of the positive differences (R's `V`). */
  statistic: number;
  /** Differences left after dropping zeros. */
  nonzero: number;
  /** True when p is exact (nonzero <= 20), false for the normal approximation. */
  exact: boolean;
  /** Two-sided p. */
  p: number;
}

/** Non-zero counts up to this use the exact sign-flip distribution. */
export const WILCOXON_EXACT_MAX = 20;

/**
 * Wilcoxon signed-rank test of "the differences are symmetric about 0",
 * two-sided, with Wilcoxon's zero handling (zeros dropped, as R's
 * `wilcox.test` and SciPy's default `zero_method="wilcox"`) and average ranks
 * for tied |differences|. With at most {@link WILCOXON_EXACT_MAX} non-zero
 * differences p is exact: the null distribution of V is enumerated over all
 * 2^n sign flips of the actual (possibly tied) ranks; above that, the normal
 * approximation with tie-corrected variance and a continuity correction of
 * 1/2 (R's default). p = min(1, 2 min(P(V <= v), P(V >= v))); p = 1 when every
 * difference is 0.
 *
 * Differences within 1e-10 x max|d| of each other count as tied, and within
 * that of 0 as zero, so accuracy differences such as 0.06 - 0.02 and
 * 0.10 - 0.06, equal on paper but not in floating point, tie as they should.
 *
 * @example
 * ```ts
 * import { wilcoxonSignedRankTest } from "./stats.ts";
 * console.log(wilcoxonSignedRankTest([1, 2, 3, 4, 5])); // { statistic: 15, nonzero: 5, exact: true, p: 0.0625 }
 * ```
 */
export function wilcoxonSignedRankTest(diffs: readonly number[]): WilcoxonResult {
  let maxAbs = 0;
  for (const d of diffs) {
    if (!Number.isFinite(d)) throw new Error(`wilcoxonSignedRank: difference ${d}`);
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  if (maxAbs === 0) return { statistic: 0, nonzero: 0, exact: true, p: 1 };
  const eps = 1e-10 * maxAbs;
  const nz = diffs.filter((d) => Math.abs(d) > eps).sort((a, b) => Math.abs(a) - Math.abs(b));
  const n = nz.length;
  // Doubled average ranks (integers): a tie group at 1-based positions i..i+t-1 has rank i + (t-1)/2.
  const rank2 = new Array<number>(n);
  const tieSizes: number[] = [];
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && Math.abs(nz[j]) - Math.abs(nz[i]) <= eps) j++;
    const t = j - i;
    for (let k = i; k < j; k++) rank2[k] = 2 * (i + 1) + t - 1;
    tieSizes.push(t);
    i = j;
  }
  let v2 = 0;
  for (let k = 0; k < n; k++) if (nz[k] > 0) v2 += rank2[k];
  const statistic = v2 / 2;
  if (n <= WILCOXON_EXACT_MAX) {
    // counts[s] = number of sign patterns whose doubled positive-rank sum is s (exact up to 2^53).
    const total2 = n * (n + 1);
    const counts = new Float64Array(total2 + 1);
    counts[0] = 1;
    let reach = 0;
    for (const r of rank2) {
      for (let s = reach; s >= 0; s--) if (counts[s]) counts[s + r] += counts[s];
      reach += r;
    }
    let lower = 0, upper = 0;
    for (let s = 0; s <= total2; s++) {
      if (s <= v2) lower += counts[s];
      if (s >= v2) upper += counts[s];
    }
    const p = Math.min(1, (2 * Math.min(lower, upper)) / 2 ** n);
    return { statistic, nonzero: n, exact: true, p };
  }
  const mu = (n * (n + 1)) / 4;
  let tieTerm = 0;
  for (const t of tieSizes) tieTerm += t * t * t - t;
  const sd = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48);
  const lower = normalCdf((statistic - mu + 0.5) / sd);
  const upper = normalCdf((mu - statistic + 0.5) / sd);
  return { statistic, nonzero: n, exact: false, p: Math.min(1, 2 * Math.min(lower, upper)) };
}

/**
 * Two-sided p of the Wilcoxon signed-rank test over per-draw differences;
 * see {@link wilcoxonSignedRankTest} for the method.
 *
 * @example
 * ```ts
 * import { wilcoxonSignedRank } from "./stats.ts";
 * console.log(wilcoxonSignedRank([0.02, -0.01, 0.03, 0.04])); // 0.25
 * ```
 */
export function wilcoxonSignedRank(diffs: readonly number[]): number {
  return wilcoxonSignedRankTest(diffs).p;
}

/**
 * Holm's step-down adjusted p-values, in input order: sorted ascending,
 * p_(i) becomes max over j <= i of min(1, (m - j + 1) p_(j)), so the
 * adjusted values are monotone in the raw ones and capped at 1.
 *
 * @example
 * ```ts
 * import { holm } from "./stats.ts";
 * console.log(holm([0.01, 0.04, 0.03, 0.005])); // [0.03, 0.06, 0.06, 0.02]
 * ```
 */
export function holm(ps: readonly number[]): number[] {
  for (const p of ps) if (!(p >= 0 && p <= 1)) throw new Error(`holm: p = ${p} outside [0, 1]`);
  const m = ps.length;
  const order = ps.map((_, i) => i).sort((a, b) => ps[a] - ps[b] || a - b);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach((i, k) => {
    running = Math.max(running, Math.min(1, (m - k) * ps[i]));
    out[i] = running;
  });
  return out;
}

// ---------------------------------------------------------------------------
// Power: minimal detectable difference of a paired t-test.

const QUAD_INTERVALS = 2000;

/**
 * Power of the two-sided one-sample t-test: P(|T'| > tc) for T' noncentral t
 * with `df` degrees of freedom and noncentrality `lambda`. With S = sqrt(V/df),
 * V ~ chi^2_df: P(T' > tc) = E[Phi(lambda - tc S)] and P(T' < -tc) =
 * E[Phi(-tc S - lambda)], integrated over S's density by composite Simpson on
 * mean +- 14 sd of S (weights renormalized by the quadrature's own integral of
 * the density, which cancels most of its error).
 */
function tTestPower(lambda: number, df: number, tc: number): number {
  const sdS = Math.sqrt(1 / (2 * df)) + (df < 4 ? 0.5 : 0);
  const lo = Math.max(0, 1 - 14 * sdS), hi = 1 + 14 * sdS;
  const h = (hi - lo) / QUAD_INTERVALS;
  const lnConst = Math.log(2) + (df / 2) * Math.log(df) - (df / 2) * Math.log(2) -
    lnGamma(df / 2);
  let mass = 0, power = 0;
  for (let i = 0; i <= QUAD_INTERVALS; i++) {
    const s = lo + i * h;
    let dens: number;
    if (s === 0) dens = df === 1 ? Math.exp(lnConst) : 0;
    else dens = Math.exp(lnConst + (df - 1) * Math.log(s) - (df * s * s) / 2);
    const w = (i === 0 || i === QUAD_INTERVALS ? 1 : i % 2 === 1 ? 4 : 2) * dens;
    mass += w;
    power += w * (normalCdf(lambda - tc * s) + normalCdf(-tc * s - lambda));
  }
  return power / mass;
}

/**
 * Minimal detectable effect at 80% power: the smallest true mean difference
 * that a two-sided paired (one-sample) t-test at level `alpha` over `n` draws
 * detects with probability 0.8, given the sd of the per-draw differences.
 * Exact under normality: power P(|T'| > t_{1-alpha/2,n-1}) with T' noncentral
 * t (noncentrality delta sqrt(n) / sd), computed by integrating over the chi
 * distribution, and solved for delta by bisection (as R's `power.t.test(...,
 * type = "one.sample", strict = TRUE)`). Null when n < 2 (no sd, no test);
 * 0 when sd is 0 (the limit: with no spread any difference is detected).
 *
 * @example
 * ```ts
 * import { mde80 } from "./stats.ts";
 * console.log(mde80(1, 10)?.toFixed(4)); // 0.9960
 * ```
 */
export function mde80(sd: number, n: number, alpha = 0.05): number | null {
  if (!(sd >= 0) || !Number.isFinite(sd)) throw new Error(`mde80: sd = ${sd}`);
  if (!Number.isInteger(n) || n < 0) throw new Error(`mde80: n = ${n}`);
  if (!(alpha > 0 && alpha < 0.8)) throw new Error(`mde80: alpha = ${alpha} outside (0, 0.8)`);
  if (n < 2) return null;
  if (sd === 0) return 0;
  const df = n - 1;
  const tc = tQuantile(1 - alpha / 2, df);
  let lo = 0, hi = 1;
  while (tTestPower(hi, df, tc) < 0.8) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (tTestPower(mid, df, tc) < 0.8) lo = mid;
    else hi = mid;
  }
  return (0.5 * (lo + hi) * sd) / Math.sqrt(n);
}

// ---------------------------------------------------------------------------
// Two-level bootstrap.

/** One draw's test images: true classes and both classifiers' predictions, same order. */
export interface PairedDraw {
  truth: ArrayLike<number>;
  baseline: ArrayLike<number>;
  config: ArrayLike<number>;
}

/** Settings of {@link twoLevelBootstrap}. */
export interface BootstrapOptions {
  numClasses: number;
  /** Resamples; default 10000. */
  iterations?: number;
  /** PRNG seed; default 0. */
  seed?: number;
  /**
   * Resample draws (the first level); default true. False keeps every draw
   * once and resamples only test images within draws: the within-draw
   * bootstrap, with the same image stream for a given seed.
   */
  resampleDraws?: boolean;
}

/** Point estimates (mean over draws of config minus baseline) and their 95% percentile intervals. */
export interface BootstrapResult {
  accuracy_diff: number;
  macro_f1_diff: number;
  accuracy_ci95: [number, number];
  macro_f1_ci95: [number, number];
}

function drawDiff(
  d: PairedDraw,
  numClasses: number,
  index?: ArrayLike<number>,
): [number, number] {
  const a = accuracyAndMacroF1(d.truth, d.config, numClasses, index);
  const b = accuracyAndMacroF1(d.truth, d.baseline, numClasses, index);
  return [a.accuracy - b.accuracy, a.macro_f1 - b.macro_f1];
}

/**
 * Two-level bootstrap 95% percentile intervals of the mean over draws of the
 * per-draw accuracy and macro-F1 differences (config minus baseline). Each
 * resample picks n draws with replacement, then resamples the test images of
 * each picked draw with replacement, with the same indices for config and
 * baseline so the pairing is kept; a draw picked twice gets two independent
 * image resamples. Draw-to-draw variation (different training sets) and
 * test-set sampling both reach the interval. Draw picks and image indices come
 * from two mulberry32 streams seeded with hash32(`${seed}:draws`) and
 * hash32(`${seed}:images`).
 *
 * @example
 * ```ts
 * import { twoLevelBootstrap } from "./stats.ts";
 * const d = { truth: [0, 1, 0, 1], baseline: [0, 0, 0, 1], config: [0, 1, 0, 1] };
 * const r = twoLevelBootstrap([d, d], { numClasses: 2, iterations: 200, seed: 1 });
 * console.log(r.accuracy_diff); // 0.25
 * ```
 */
export function twoLevelBootstrap(
  draws: readonly PairedDraw[],
  options: BootstrapOptions,
): BootstrapResult {
  const { numClasses, iterations = 10000, seed = 0, resampleDraws = true } = options;
  const n = draws.length;
  if (n === 0) throw new Error("twoLevelBootstrap: no draws");
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`twoLevelBootstrap: iterations = ${iterations}`);
  }
  draws.forEach((d, k) => {
    const len = d.truth.length;
    if (len === 0 || d.baseline.length !== len || d.config.length !== len) {
      throw new Error(
        `twoLevelBootstrap: draw ${k} has ${len} labels, ${d.baseline.length} baseline and ` +
          `${d.config.length} config predictions`,
      );
    }
  });
  let acc = 0, f1 = 0;
  for (const d of draws) {
    const [a, f] = drawDiff(d, numClasses);
    acc += a;
    f1 += f;
  }
  const drawRand = mulberry32(hash32(`${seed}:draws`));
  const imageRand = mulberry32(hash32(`${seed}:images`));
  const maxLen = Math.max(...draws.map((d) => d.truth.length));
  const buffers = draws.map(() => new Uint32Array(maxLen));
  const accs = new Float64Array(iterations), f1s = new Float64Array(iterations);
  for (let it = 0; it < iterations; it++) {
    let sa = 0, sf = 0;
    for (let k = 0; k < n; k++) {
      const d = draws[resampleDraws ? randomInt(drawRand, n) : k];
      const len = d.truth.length;
      const idx = buffers[k].subarray(0, len);
      for (let j = 0; j < len; j++) idx[j] = randomInt(imageRand, len);
      const [a, f] = drawDiff(d, numClasses, idx);
      sa += a;
      sf += f;
    }
    accs[it] = sa / n;
    f1s[it] = sf / n;
  }
  accs.sort();
  f1s.sort();
  return {
    accuracy_diff: acc / n,
    macro_f1_diff: f1 / n,
    accuracy_ci95: [quantileSorted(accs, 0.025), quantileSorted(accs, 0.975)],
    macro_f1_ci95: [quantileSorted(f1s, 0.025), quantileSorted(f1s, 0.975)],
  };
}

/** One draw of {@link twoLevelBootstrapSums}: per resampling unit, the counts its statistic needs. */
export interface SumsDraw {
  /** One row of counts per unit (every row the same width), e.g. [images, config right, baseline right]. */
  units: readonly (readonly number[])[];
}

/** Settings of {@link twoLevelBootstrapSums}. */
export interface SumsBootstrapOptions {
  /** Resamples; default 10000. */
  iterations?: number;
  /** PRNG seed; default 0. */
  seed?: number;
  /** Resample draws (the first level); default true (see {@link BootstrapOptions}). */
  resampleDraws?: boolean;
}

/** Point estimate (mean over draws of the statistic) and its 95% percentile interval. */
export interface SumsBootstrapResult {
  estimate: number;
  ci95: [number, number];
  /** Resamples that gave a value (those where the statistic was null for every picked draw are left out). */
  resamples: number;
}

/**
 * The two-level bootstrap of {@link twoLevelBootstrap}, for any per-draw
 * statistic that is a function of counts summed over resampling units: each
 * resample picks n draws with replacement, then as many units of each picked
 * draw as it has, with replacement; `statistic` maps a draw's summed unit
 * rows to its value (a config-minus-baseline difference), or null when it is
 * undefined on that resample. The resample's value is the mean over the picked
 * draws with a value (a null draw's contribution is skipped); a resample with
 * no value at all is left out. The point estimate is the mean over draws of
 * the statistic on all units, which must be defined for every draw (callers
 * drop draws where it is not). The random streams are those of
 * {@link twoLevelBootstrap} (same seed, same draw picks and unit indices):
 * with one unit `[1, config right, baseline right]` per test image and the
 * statistic `s[1] / s[0] - s[2] / s[0]`, the accuracy interval is exactly
 * twoLevelBootstrap's.
 *
 * @example
 * ```ts
 * import { twoLevelBootstrapSums } from "./stats.ts";
 * const units = [[1, 1, 0], [1, 1, 1], [1, 0, 0], [1, 1, 1]]; // [image, config right, baseline right]
 * const r = twoLevelBootstrapSums([{ units }, { units }], (s) => (s[1] - s[2]) / s[0], {
 *   iterations: 200,
 *   seed: 1,
 * });
 * console.log(r.estimate); // 0.25
 * ```
 */
export function twoLevelBootstrapSums(
  draws: readonly SumsDraw[],
  statistic: (sums: Float64Array) => number | null,
  options: SumsBootstrapOptions = {},
): SumsBootstrapResult {
  const { iterations = 10000, seed = 0, resampleDraws = true } = options;
  const n = draws.length;
  if (n === 0) throw new Error("twoLevelBootstrapSums: no draws");
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(`twoLevelBootstrapSums: iterations = ${iterations}`);
  }
  const width = draws[0].units[0]?.length ?? 0;
  const sums = new Float64Array(width);
  let total = 0;
  draws.forEach((d, k) => {
    if (d.units.length === 0) throw new Error(`twoLevelBootstrapSums: draw ${k} has no units`);
    sums.fill(0);
    for (const u of d.units) {
      if (u.length !== width) {
        throw new Error(
          `twoLevelBootstrapSums: draw ${k} has a unit of ${u.length} counts, not ${width}`,
        );
      }
      for (let c = 0; c < width; c++) sums[c] += u[c];
    }
    const v = statistic(sums);
    if (v === null || !Number.isFinite(v)) {
      throw new Error(`twoLevelBootstrapSums: statistic ${v} on all of draw ${k}'s units`);
    }
    total += v;
  });
  const drawRand = mulberry32(hash32(`${seed}:draws`));
  const imageRand = mulberry32(hash32(`${seed}:images`));
  const values = new Float64Array(iterations);
  let kept = 0;
  for (let it = 0; it < iterations; it++) {
    let s = 0, count = 0;
    for (let k = 0; k < n; k++) {
      const units = draws[resampleDraws ? randomInt(drawRand, n) : k].units;
      const len = units.length;
      sums.fill(0);
      for (let j = 0; j < len; j++) {
        const u = units[randomInt(imageRand, len)];
        for (let c = 0; c < width; c++) sums[c] += u[c];
      }
      const v = statistic(sums);
      if (v !== null) {
        s += v;
        count++;
      }
    }
    if (count > 0) values[kept++] = s / count;
  }
  if (kept === 0) {
    throw new Error("twoLevelBootstrapSums: the statistic was undefined on every resample");
  }
  const sorted = values.subarray(0, kept).sort();
  return {
    estimate: total / n,
    ci95: [quantileSorted(sorted, 0.025), quantileSorted(sorted, 0.975)],
    resamples: kept,
  };
}

// ---------------------------------------------------------------------------
// Comparisons of a study's runs.

/** Options for {@link compareConfigurations}. */
export interface CompareOptions {
  /** Bootstrap resamples per comparison; default 10000. */
  iterations?: number;
  /** Base seed; each comparison derives its own from it and its key. */
  seed?: number;
}

interface Coordinates {
  classifier: string;
  style: string;
  static_augmentation: boolean;
}

function configKey(r: Coordinates): string {
  return `${r.classifier}|${r.style}|${r.static_augmentation}`;
}

function describe(r: Coordinates): string {
  return `${r.classifier} style=${r.style} static_augmentation=${r.static_augmentation}`;
}

/**
 * The resampling unit of an evaluation image: its name up to the first `#`
 * (the pool image it was made from), so the variants of one pool image (its
 * styles, corruptions and severities) are resampled together.
 */
function sourceOf(image: string): string {
  const i = image.indexOf("#");
  return i < 0 ? image : image.slice(0, i);
}

/** One non-clean endpoint's material: the pooled conditions of its kind, and their images grouped into resampling units. */
interface PooledEndpoint {
  endpoint: Exclude<Endpoint, "clean_accuracy">;
  conditions: EvalCondition[];
  labels: number[];
  textureLabels: number[] | null;
  /** Indices into the pooled images, one list per source image, in order of first appearance. */
  units: number[][];
}

function poolEndpoints(conditions: readonly EvalCondition[]): PooledEndpoint[] {
  const out: PooledEndpoint[] = [];
  for (const endpoint of ENDPOINTS) {
    if (endpoint === "clean_accuracy") continue;
    const pooled = conditions.filter((c) => c.kind === ENDPOINT_KINDS[endpoint]);
    if (pooled.length === 0) continue;
    const images = pooled.flatMap((c) => c.images);
    const bySource = new Map<string, number[]>();
    images.forEach((name, i) => {
      const key = sourceOf(name);
      const list = bySource.get(key) ?? [];
      list.push(i);
      bySource.set(key, list);
    });
    out.push({
      endpoint,
      conditions: pooled,
      labels: pooled.flatMap((c) => c.labels),
      textureLabels: endpoint === "shape_bias" ? pooled.flatMap((c) => c.texture_labels!) : null,
      units: [...bySource.values()],
    });
  }
  return out;
}

function pooledPredictions(run: RunResult, pool: PooledEndpoint): number[] {
  return pool.conditions.flatMap((c) => run.evaluation.predictions[c.name]);
}

function shapeBiasOf(shape: number, texture: number): number | null {
  return shape + texture > 0 ? shape / (shape + texture) : null;
}

/**
 * Compare every configuration of every classifier with its baselines, draw by
 * draw, on the draws where the configuration ran, on every endpoint:
 *
 * - vs `none`: every (style, static augmentation) that ran, against the run
 *   with style none and no static augmentation of the same draw (the control
 *   itself is not compared with itself);
 * - vs `copy`: styles light, medium, heavy and bank, against the copy run with
 *   the same static augmentation setting of the same draw; skipped for a
 *   classifier with no copy runs at all.
 *
 * Endpoints ({@link ENDPOINTS}): `clean_accuracy` always (from the runs' test
 * predictions); the others when `conditions` has a condition of their kind
 * (see {@link ENDPOINT_KINDS}), from the runs' `evaluation.predictions`:
 * texture-shift and corruption accuracy pooled over their conditions' images,
 * shape bias shape / (shape + texture) on the cue-conflict images. A draw where
 * either run's shape bias is undefined (no shape or texture decision) is left
 * out of that shape-bias comparison, which is skipped when no draw is left.
 *
 * Per draw: both runs' endpoint values and their difference; for clean
 * accuracy also the macro-F1 difference; for the accuracy endpoints McNemar's
 * b, c and exact p on the endpoint's (pooled) images; null for shape bias.
 * Over draws: mean, sample sd, t-interval, {@link wilcoxonSignedRank} p and
 * {@link mde80}, and a two-level bootstrap interval seeded with hash32 of
 * `${seed}:${key}`, key = `classifier|style|static_augmentation|vs:baseline`
 * for clean accuracy (today's key, so its intervals are unchanged) and the
 * same plus `|endpoint` for the others. Clean accuracy (and macro-F1) use
 * {@link twoLevelBootstrap}, a test image being the resampling unit; the other
 * endpoints {@link twoLevelBootstrapSums}, the unit being the pool image an
 * evaluation image was made from (its name up to `#`), so its texture-shift
 * variants, or its corruption variants, are resampled together (they are not
 * independent observations), with the same unit indices for config and
 * baseline. Shape bias is recomputed on each resample from the resampled
 * cue-conflict images' shape and texture decisions; in a resample where
 * either run of a draw has no shape or texture decision, that draw's
 * contribution is skipped (the resample's value is the mean over the other
 * picked draws; a resample with none is left out).
 *
 * Finally {@link holm}: one family over every comparison returned (all
 * endpoints, both baselines), and clean macro-F1 as a separate family.
 * Order: classifier as first seen in `runs`, then baseline (none, copy),
 * style group order, static augmentation off/on, endpoint order.
 *
 * A missing baseline run for a draw, a baseline with different test images or
 * classes, classes that differ between draws, two results for one
 * configuration and draw, inconsistent `conditions`, or a run whose
 * evaluation predictions do not match the conditions' image counts are
 * {@link UserError}s (mismatched runs were merged).
 *
 * @example
 * ```ts
 * import { compareConfigurations } from "./stats.ts";
 * const comparisons = compareConfigurations([], [], { iterations: 1000, seed: 1 });
 * console.log(comparisons.length); // 0
 * ```
 */
export function compareConfigurations(
  runs: readonly RunResult[],
  conditions: readonly EvalCondition[],
  options: CompareOptions = {},
): Comparison[] {
  const { iterations = 10000, seed = 0 } = options;
  if (runs.length > 0) {
    try {
      validateConditions(conditions, runs[0].classes.length);
    } catch (e) {
      throw new UserError(`evaluation conditions: ${(e as Error).message}`);
    }
  }
  const byKey = new Map<string, Map<number, RunResult>>();
  for (const r of runs) {
    const key = configKey(r);
    const m = byKey.get(key) ?? new Map<number, RunResult>();
    if (m.has(r.draw)) throw new UserError(`two results for ${describe(r)} draw ${r.draw}`);
    m.set(r.draw, r);
    byKey.set(key, m);
    try {
      validatePredictions(
        conditions,
        r.evaluation?.predictions,
        r.classes.length,
        `${describe(r)} draw ${r.draw}`,
      );
    } catch (e) {
      throw new UserError((e as Error).message);
    }
  }
  const pools = poolEndpoints(conditions);
  const classifiers = [...new Set(runs.map((r) => r.classifier))];
  const out: Comparison[] = [];
  for (const classifier of classifiers) {
    const hasCopy = runs.some((r) => r.classifier === classifier && r.style === "copy");
    for (const baseline of BASELINES) {
      if (baseline === "copy" && !hasCopy) continue;
      const styles: readonly StyleGroup[] = baseline === "none" ? STYLE_GROUPS : OPTIMISED_GROUPS;
      for (const style of styles) {
        for (const static_augmentation of [false, true]) {
          if (baseline === "none" && style === "none" && !static_augmentation) continue;
          const cfg = { classifier, style, static_augmentation };
          const configs = byKey.get(configKey(cfg));
          if (!configs) continue;
          const base = {
            classifier,
            style: baseline,
            static_augmentation: baseline === "none" ? false : static_augmentation,
          };
          const key = `${configKey(cfg)}|vs:${baseline}`;
          const pairs = pairRuns(cfg, base, baseline, configs, byKey.get(configKey(base)));
          const header = {
            style,
            static_augmentation,
            classifier,
            baseline,
            baseline_style: base.style,
            baseline_static_augmentation: base.static_augmentation,
          };
          out.push(compareClean(header, pairs, { iterations, seed: hash32(`${seed}:${key}`) }));
          for (const pool of pools) {
            const boot = { iterations, seed: hash32(`${seed}:${key}|${pool.endpoint}`) };
            const c = compareEndpoint(header, pairs, pool, boot);
            if (c) out.push(c);
          }
        }
      }
    }
  }
  const p = holm(out.map((c) => c.p_wilcoxon));
  out.forEach((c, i) => (c.p_holm = p[i]));
  const f1 = out.filter((c) => c.macro_f1 !== null).map((c) => c.macro_f1!);
  const pF1 = holm(f1.map((s) => s.p_wilcoxon));
  f1.forEach((s, i) => (s.p_holm = pF1[i]));
  return out;
}

/** The coordinates a comparison shares over its endpoints. */
type Header = Pick<
  Comparison,
  | "style"
  | "static_augmentation"
  | "classifier"
  | "baseline"
  | "baseline_style"
  | "baseline_static_augmentation"
>;

/** One draw's configuration and baseline runs, checked to be comparable. */
interface RunPair {
  draw: number;
  run: RunResult;
  ref: RunResult;
}

function pairRuns(
  cfg: Coordinates,
  base: Coordinates,
  baseline: Baseline,
  configs: Map<number, RunResult>,
  baselines: Map<number, RunResult> | undefined,
): RunPair[] {
  const name = `${describe(cfg)} vs ${baseline}`;
  const out: RunPair[] = [];
  let classes: string[] | undefined;
  for (const draw of [...configs.keys()].sort((a, b) => a - b)) {
    const run = configs.get(draw)!;
    const ref = baselines?.get(draw);
    if (!ref) throw new UserError(`${name}: no baseline run (${describe(base)}) for draw ${draw}`);
    if (ref.classes.join("\n") !== run.classes.join("\n")) {
      throw new UserError(`${name} draw ${draw}: classes differ from the baseline's`);
    }
    if (classes && classes.join("\n") !== run.classes.join("\n")) {
      throw new UserError(`${name}: classes differ between draws`);
    }
    classes = run.classes;
    if (ref.test_images.join("\n") !== run.test_images.join("\n")) {
      throw new UserError(`${name} draw ${draw}: test images differ from the baseline's`);
    }
    for (const r of [run, ref]) {
      if (r.predictions.length !== r.test_images.length) {
        throw new UserError(
          `${describe(r)} draw ${draw}: ${r.predictions.length} predictions for ` +
            `${r.test_images.length} test images`,
        );
      }
    }
    out.push({ draw, run, ref });
  }
  return out;
}

function diffStats(diffs: readonly number[], ci95_bootstrap: [number, number]): DiffStats {
  const t = tInterval95(diffs);
  const p_wilcoxon = wilcoxonSignedRank(diffs);
  return {
    mean_diff: t.mean,
    sd_diff: t.sd,
    ci95_draws: t.ci95,
    ci95_bootstrap,
    p_wilcoxon,
    p_holm: p_wilcoxon, // replaced by the Holm-adjusted value in compareConfigurations
    mde80: t.sd === null ? null : mde80(t.sd, diffs.length),
  };
}

function mcnemar(truth: readonly number[], ref: readonly number[], run: readonly number[]) {
  const { b, c } = discordantPairs(truth, ref, run);
  return { mcnemar_b: b, mcnemar_c: c, mcnemar_p: mcnemarExact(b, c) };
}

function compareClean(
  header: Header,
  pairs: readonly RunPair[],
  boot: { iterations: number; seed: number },
): Comparison {
  const paired: PairedDraw[] = [];
  const per_draw: DrawDiff[] = [];
  const numClasses = pairs[0].run.classes.length;
  for (const { draw, run, ref } of pairs) {
    const truth = labelsFromPaths(run.test_images, run.classes);
    const a = accuracyAndMacroF1(truth, run.predictions, numClasses);
    const b = accuracyAndMacroF1(truth, ref.predictions, numClasses);
    per_draw.push({
      draw,
      config_value: a.accuracy,
      baseline_value: b.accuracy,
      diff: a.accuracy - b.accuracy,
      macro_f1_diff: a.macro_f1 - b.macro_f1,
      ...mcnemar(truth, ref.predictions, run.predictions),
    });
    paired.push({ truth, baseline: ref.predictions, config: run.predictions });
  }
  const r = twoLevelBootstrap(paired, { numClasses, ...boot });
  return {
    endpoint: "clean_accuracy",
    ...header,
    per_draw,
    draws: per_draw.length,
    ...diffStats(per_draw.map((d) => d.diff), r.accuracy_ci95),
    macro_f1: diffStats(per_draw.map((d) => d.macro_f1_diff!), r.macro_f1_ci95),
  };
}

function compareEndpoint(
  header: Header,
  pairs: readonly RunPair[],
  pool: PooledEndpoint,
  boot: { iterations: number; seed: number },
): Comparison | null {
  const shape = pool.endpoint === "shape_bias";
  const per_draw: DrawDiff[] = [];
  const draws: SumsDraw[] = [];
  for (const { draw, run, ref } of pairs) {
    const cfgPred = pooledPredictions(run, pool), refPred = pooledPredictions(ref, pool);
    // Per image: accuracy [1, config right, baseline right]; shape bias
    // [config shape, config texture, baseline shape, baseline texture].
    const row = (i: number): number[] => {
      const t = pool.labels[i];
      if (!shape) return [1, cfgPred[i] === t ? 1 : 0, refPred[i] === t ? 1 : 0];
      const x = pool.textureLabels![i];
      return [
        cfgPred[i] === t ? 1 : 0,
        cfgPred[i] === x ? 1 : 0,
        refPred[i] === t ? 1 : 0,
        refPred[i] === x ? 1 : 0,
      ];
    };
    const units = pool.units.map((idx) => {
      const sum = shape ? [0, 0, 0, 0] : [0, 0, 0];
      for (const i of idx) row(i).forEach((v, c) => (sum[c] += v));
      return sum;
    });
    const total = units.reduce((s, u) => s.map((v, c) => v + u[c]));
    let config_value: number | null, baseline_value: number | null;
    if (shape) {
      config_value = shapeBiasOf(total[0], total[1]);
      baseline_value = shapeBiasOf(total[2], total[3]);
      if (config_value === null || baseline_value === null) continue;
    } else {
      config_value = total[1] / total[0];
      baseline_value = total[2] / total[0];
    }
    per_draw.push({
      draw,
      config_value,
      baseline_value,
      diff: config_value - baseline_value,
      macro_f1_diff: null,
      ...(shape
        ? { mcnemar_b: null, mcnemar_c: null, mcnemar_p: null }
        : mcnemar(pool.labels, refPred, cfgPred)),
    });
    draws.push({ units });
  }
  if (per_draw.length === 0) return null;
  const statistic = shape
    ? (s: Float64Array) => {
      const a = shapeBiasOf(s[0], s[1]), b = shapeBiasOf(s[2], s[3]);
      return a === null || b === null ? null : a - b;
    }
    : (s: Float64Array) => s[1] / s[0] - s[2] / s[0];
  const r = twoLevelBootstrapSums(draws, statistic, boot);
  return {
    endpoint: pool.endpoint,
    ...header,
    per_draw,
    draws: per_draw.length,
    ...diffStats(per_draw.map((d) => d.diff), r.ci95),
    macro_f1: null,
  };
}
