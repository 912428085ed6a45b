/**
 * Paired statistics for "configuration vs baseline on the same test images",
 * with the training draw as the unit of analysis.
 *
 * Each configuration (style group x static augmentation x classifier) is
 * compared with a baseline run of the same draw, on the same test images:
 * per draw, accuracy and macro-F1 differences and McNemar's exact test
 * (supporting detail). Across draws: mean and sample sd of the differences, a
 * t-interval, a two-level bootstrap interval (draws, then test images within
 * each draw, pairing kept), a Wilcoxon signed-rank test (exact for up to 20
 * non-zero draws), Holm's adjustment across every comparison of the run, and
 * the minimal detectable difference at 80% power of a paired t-test.
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
  ClassifierKind,
  Comparison,
  DrawDiff,
  RunResult,
  StyleGroup,
} from "./types.ts";
import { STYLE_GROUPS, STYLED_GROUPS } from "./types.ts";
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
 * Compare every configuration of every classifier with its baselines, draw by
 * draw, on the draws where the configuration ran:
 *
 * - vs `none`: every (style, static augmentation) that ran, against the run
 *   with style none and no static augmentation of the same draw (the control
 *   itself is not compared with itself);
 * - vs `copy`: styles light, medium and heavy, against the copy run with the
 *   same static augmentation setting of the same draw; skipped for a
 *   classifier with no copy runs at all.
 *
 * Per draw: accuracy and macro-F1 differences from the predictions and
 * McNemar's b, c and exact p. Over draws: mean, sample sd, t-interval,
 * {@link twoLevelBootstrap} interval (seed hash32 of the base seed and the
 * comparison's key), {@link wilcoxonSignedRank} p and {@link mde80}. Finally
 * {@link holm} across all comparisons returned (accuracy p's as one family,
 * macro-F1 p's as another). Order: classifier as first seen in `runs`, then
 * baseline (none, copy), then style group order, then static augmentation
 * off/on. A missing baseline run for a draw, a baseline with different test
 * images or classes, classes that differ between draws, or two results for one
 * configuration and draw are {@link UserError}s (mismatched runs were merged).
 *
 * @example
 * ```ts
 * import { compareConfigurations } from "./stats.ts";
 * const comparisons = compareConfigurations([], { iterations: 1000, seed: 1 });
 * console.log(comparisons.length); // 0
 * ```
 */
export function compareConfigurations(
  runs: readonly RunResult[],
  options: CompareOptions = {},
): Comparison[] {
  const { iterations = 10000, seed = 0 } = options;
  const byKey = new Map<string, Map<number, RunResult>>();
  for (const r of runs) {
    const key = configKey(r);
    const m = byKey.get(key) ?? new Map<number, RunResult>();
    if (m.has(r.draw)) throw new UserError(`two results for ${describe(r)} draw ${r.draw}`);
    m.set(r.draw, r);
    byKey.set(key, m);
  }
  const classifiers = [...new Set(runs.map((r) => r.classifier))];
  const out: Comparison[] = [];
  for (const classifier of classifiers) {
    const hasCopy = runs.some((r) => r.classifier === classifier && r.style === "copy");
    for (const baseline of ["none", "copy"] as const satisfies readonly Baseline[]) {
      if (baseline === "copy" && !hasCopy) continue;
      const styles: readonly StyleGroup[] = baseline === "none" ? STYLE_GROUPS : STYLED_GROUPS;
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
          out.push(
            compareOne(cfg, base, baseline, configs, byKey.get(configKey(base)), {
              iterations,
              seed: hash32(`${seed}:${key}`),
            }),
          );
        }
      }
    }
  }
  const pAcc = holm(out.map((c) => c.p_wilcoxon));
  const pF1 = holm(out.map((c) => c.p_wilcoxon_macro_f1));
  out.forEach((c, i) => {
    c.p_holm = pAcc[i];
    c.p_holm_macro_f1 = pF1[i];
  });
  return out;
}

function compareOne(
  cfg: { classifier: ClassifierKind; style: StyleGroup; static_augmentation: boolean },
  base: { classifier: ClassifierKind; style: StyleGroup; static_augmentation: boolean },
  baseline: Baseline,
  configs: Map<number, RunResult>,
  baselines: Map<number, RunResult> | undefined,
  boot: { iterations: number; seed: number },
): Comparison {
  const name = `${describe(cfg)} vs ${baseline}`;
  const paired: PairedDraw[] = [];
  const per_draw: DrawDiff[] = [];
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
    const truth = labelsFromPaths(run.test_images, run.classes);
    const pair = { truth, baseline: ref.predictions, config: run.predictions };
    const [accuracy_diff, macro_f1_diff] = drawDiff(pair, run.classes.length);
    const { b, c } = discordantPairs(truth, ref.predictions, run.predictions);
    per_draw.push({
      draw,
      accuracy_diff,
      macro_f1_diff,
      mcnemar_b: b,
      mcnemar_c: c,
      mcnemar_p: mcnemarExact(b, c),
    });
    paired.push(pair);
  }
  const n = per_draw.length;
  const acc = tInterval95(per_draw.map((d) => d.accuracy_diff));
  const f1 = tInterval95(per_draw.map((d) => d.macro_f1_diff));
  const r = twoLevelBootstrap(paired, { numClasses: classes!.length, ...boot });
  const p_wilcoxon = wilcoxonSignedRank(per_draw.map((d) => d.accuracy_diff));
  const p_wilcoxon_macro_f1 = wilcoxonSignedRank(per_draw.map((d) => d.macro_f1_diff));
  return {
    style: cfg.style,
    static_augmentation: cfg.static_augmentation,
    classifier: cfg.classifier,
    baseline,
    baseline_style: base.style,
    baseline_static_augmentation: base.static_augmentation,
    per_draw,
    draws: n,
    mean_accuracy_diff: acc.mean,
    sd_accuracy_diff: acc.sd,
    accuracy_diff_ci95_draws: acc.ci95,
    accuracy_diff_ci95_bootstrap: r.accuracy_ci95,
    p_wilcoxon,
    p_holm: p_wilcoxon, // replaced by the Holm-adjusted value in compareConfigurations
    mde80_accuracy: acc.sd === null ? null : mde80(acc.sd, n),
    mean_macro_f1_diff: f1.mean,
    sd_macro_f1_diff: f1.sd,
    macro_f1_diff_ci95_draws: f1.ci95,
    macro_f1_diff_ci95_bootstrap: r.macro_f1_ci95,
    p_wilcoxon_macro_f1,
    p_holm_macro_f1: p_wilcoxon_macro_f1,
    mde80_macro_f1: f1.sd === null ? null : mde80(f1.sd, n),
  };
}
