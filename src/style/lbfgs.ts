/**
 * Limited-memory BFGS on the rows of a `[B, N]` tensor, each row its own
 * independent problem: the pixels of one batch image, as Gatys et al. and
 * jcjohnson/neural-style optimise them. Adam needs a hand-tuned learning rate
 * and hundreds of steps; L-BFGS builds a curvature model from the last few
 * steps and usually takes its full (quasi-Newton) step, so it tends to need far
 * fewer VGG passes for the same loss.
 *
 * Everything is written with tfjs ops, so it runs on cpu, wasm and webgpu; the
 * only readbacks are per-row scalars (losses, dot products), never the rows.
 *
 * The algorithm, per row:
 *
 * - **Direction**: the two-loop recursion over the last `history` curvature
 *   pairs (s = x' - x, y = g' - g), with the initial inverse Hessian
 *   gamma = s·y / y·y of the newest accepted pair (1 before any). A pair is
 *   skipped (stored as zeros, a no-op in the recursion) when
 *   s·y <= curvatureEps · |s| |y|: it would break positive definiteness.
 * - **Box constraint** (optional `lo <= x <= hi`): a projected L-BFGS, a light
 *   version of L-BFGS-B. Components sitting on a bound whose gradient points
 *   outwards are *active*: their gradient is zeroed before the recursion and
 *   their direction component is zeroed after it. Trial points are projected
 *   onto the box, and the line search judges the projected point.
 * - **Line search**: projected backtracking Armijo. The trial is
 *   x(t) = P(x + t d), accepted when f(x(t)) <= f(x) + c1 · g·(x(t) - x);
 *   otherwise t *= backtrackFactor, at most `maxBacktracks` times. The first
 *   trial is t = learningRate, except for a row without curvature pairs (the
 *   first iteration, or after a reset), which uses torch.optim's
 *   min(1, 1/|g|_1) · learningRate because -g then has no natural scale. A row
 *   whose search fails stays where it was and forgets its history (the next
 *   step is a scaled steepest descent); a row whose direction is not a descent
 *   direction is reset the same way before its search. Non-finite trial losses
 *   count as failed trials.
 *
 * Every trial costs one objective evaluation (value and gradient: the gradient
 * at the accepted point is then already there for the next iteration), so one
 * iteration takes 1 + (backtracks) evaluations; {@link Lbfgs.evaluations}
 * counts them for fair comparisons with one-evaluation-per-step optimisers.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { Lbfgs } from "./lbfgs.ts";
 * // f(x) = sum((x - 3)^2) per row
 * const fn = async (x: tf.Tensor2D) => {
 *   const [values, grad] = tf.tidy(() => {
 *     const d = tf.sub(x, 3);
 *     return [tf.sum(tf.square(d), 1), tf.mul(d, 2) as tf.Tensor2D] as const;
 *   });
 *   const v = Array.from(await values.data(), Number);
 *   values.dispose();
 *   return { values: v, grad };
 * };
 * const opt = await Lbfgs.start(fn, tf.zeros([2, 4]), { history: 5 });
 * for (let i = 0; i < 5; i++) await opt.iterate();
 * console.log(opt.values); // ~[0, 0]
 * opt.dispose();
 * ```
 * @module
 */
import { tf } from "../tf.ts";

/** L-BFGS knobs; see the module header for what each does. */
export interface LbfgsConfig {
  /** Curvature pairs kept per row (memory: 2 · history · B · N floats). */
  history: number;
  /** Most step halvings in one line search before the row gives up for this iteration. */
  maxBacktracks: number;
  /** Armijo sufficient-decrease constant. */
  c1: number;
  /** Initial trial step (1 is the quasi-Newton step). */
  learningRate: number;
  /** Factor applied to the step on every backtrack, in (0, 1). */
  backtrackFactor: number;
  /** A pair is skipped when s·y <= curvatureEps · |s| |y|. */
  curvatureEps: number;
}

/**
 * The defaults of this module (src/style/options.ts re-exports them as
 * `DEFAULT_LBFGS`). History 10: the usual choice (scipy's L-BFGS-B maxcor,
 * Nocedal & Wright's 3-20); jcjohnson/neural-style keeps torch optim's 100,
 * but that is 2 · 100 full-image copies per batch image, and the extra pairs
 * cost memory and bandwidth on every step for little gain on this
 * objective (see docs/optimizers.json).
 *
 * @example
 * ```ts
 * import { LBFGS_DEFAULTS } from "./lbfgs.ts";
 * console.log(LBFGS_DEFAULTS.history); // 10
 * ```
 */
export const LBFGS_DEFAULTS: Readonly<LbfgsConfig> = Object.freeze({
  history: 10,
  maxBacktracks: 10,
  c1: 1e-4,
  learningRate: 1,
  backtrackFactor: 0.5,
  curvatureEps: 1e-8,
});

/**
 * An objective over the rows of `x` `[B, N]`: each row's value (read back)
 * and the gradient `[B, N]` (the optimiser takes ownership and disposes it).
 * `x` is owned by the optimiser: the objective must not dispose it.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import type { RowObjective } from "./lbfgs.ts";
 * const sphere: RowObjective = async (x) => {
 *   const v = tf.sum(tf.square(x), 1);
 *   const values = Array.from(await v.data());
 *   v.dispose();
 *   return { values, grad: tf.mul(x, 2) as tf.Tensor2D };
 * };
 * ```
 */
export type RowObjective = (x: tf.Tensor2D) => Promise<{ values: number[]; grad: tf.Tensor2D }>;

/** Box bounds broadcastable to `[B, N]` (e.g. `[N]` or `[1, N]`). */
export interface Box {
  lo: tf.Tensor;
  hi: tf.Tensor;
}

/** A line search's accepted point per row: x, its gradient and values, and how each row fared. */
interface Trial {
  x: tf.Tensor2D;
  g: tf.Tensor2D;
  values: number[];
  /** Rows whose search failed (they stay put). */
  failed: boolean[];
  /** Backtracks per row (-1: the search failed). */
  backtracks: number[];
}

/**
 * Row-wise projected L-BFGS with a backtracking Armijo line search.
 *
 * @example
 * ```ts
 * import { tf } from "../tf.ts";
 * import { Lbfgs, type RowObjective } from "./lbfgs.ts";
 * declare const fn: RowObjective;
 * const opt = await Lbfgs.start(fn, tf.zeros([1, 10]));
 * const { evaluations } = await opt.iterate();
 * const x = opt.current(); // caller disposes
 * opt.dispose();
 * ```
 */
export class Lbfgs {
  private s: tf.Tensor2D[] = [];
  private y: tf.Tensor2D[] = [];
  private rho: tf.Tensor2D[] = [];
  private gamma: number[];
  /** Valid curvature pairs per row since its last reset. */
  private pairs: number[];
  /** Objective evaluations so far (the one at the start included). */
  evaluations = 1;
  /** Iterations taken. */
  iteration = 0;
  /** Per row: the number of backtracks of the last iteration (-1: the search failed). */
  lastBacktracks: number[];

  private constructor(
    private readonly fn: RowObjective,
    private x: tf.Tensor2D,
    private g: tf.Tensor2D,
    private f: number[],
    private readonly config: LbfgsConfig,
    private readonly box: Box | null,
  ) {
    const b = x.shape[0];
    this.gamma = new Array(b).fill(1);
    this.pairs = new Array(b).fill(0);
    this.lastBacktracks = new Array(b).fill(0);
  }

  /**
   * Evaluate `fn` at `x0` (copied; the caller keeps `x0`) and set up. With a
   * box, `x0` is projected onto it first.
   *
   * @example
   * ```ts
   * import { tf } from "../tf.ts";
   * import { Lbfgs, type RowObjective } from "./lbfgs.ts";
   * declare const fn: RowObjective;
   * const opt = await Lbfgs.start(fn, tf.zeros([1, 3]), { history: 5 }, {
   *   lo: tf.zeros([3]), hi: tf.ones([3]),
   * });
   * ```
   */
  static async start(
    fn: RowObjective,
    x0: tf.Tensor2D,
    config: Partial<LbfgsConfig> = {},
    box?: Box,
  ): Promise<Lbfgs> {
    const c = { ...LBFGS_DEFAULTS, ...config };
    if (!(Number.isInteger(c.history) && c.history >= 1)) throw new Error("history must be >= 1");
    if (!(Number.isInteger(c.maxBacktracks) && c.maxBacktracks >= 0)) {
      throw new Error("maxBacktracks must be an integer >= 0");
    }
    if (!(c.backtrackFactor > 0 && c.backtrackFactor < 1)) {
      throw new Error("backtrackFactor must be in (0, 1)");
    }
    const x = box ? project(x0, box) : tf.clone(x0);
    let res;
    try {
      res = await fn(x);
    } catch (e) {
      x.dispose();
      throw e;
    }
    return new Lbfgs(fn, x, res.grad, [...res.values], c, box ?? null);
  }

  /** Per-row objective values at the current point. */
  get values(): number[] {
    return [...this.f];
  }

  /** A copy of the current point `[B, N]`; caller disposes. */
  current(): tf.Tensor2D {
    return tf.clone(this.x);
  }

  /**
   * One iteration on every row: direction, line search, curvature update.
   * Returns the per-row values at the new point and the evaluations it took.
   *
   * @example
   * ```ts
   * import type { Lbfgs } from "./lbfgs.ts";
   * declare const opt: Lbfgs;
   * const { values, evaluations } = await opt.iterate();
   * ```
   */
  async iterate(): Promise<{ values: number[]; evaluations: number }> {
    const startEvals = this.evaluations;
    const { d, t } = await this.direction();
    let trial: Trial | null = null;
    try {
      trial = await this.lineSearch(d, t);
      await this.pushPair(trial.x, trial.g, trial.failed);
      if (trial.failed.some(Boolean)) this.forget(trial.failed);
      tf.dispose([this.x, this.g]);
      this.x = trial.x;
      this.g = trial.g;
      const ft = trial.values;
      this.f = [...ft];
      this.iteration++;
      this.lastBacktracks = trial.backtracks;
      trial = null;
      return { values: [...ft], evaluations: this.evaluations - startEvals };
    } finally {
      d.dispose();
      if (trial) tf.dispose([trial.x, trial.g]);
    }
  }

  /**
   * The search direction from the two-loop recursion on the free (non-active)
   * gradient, and each row's first trial step. Rows where it is not a descent
   * direction fall back to steepest descent and forget their history.
   */
  private async direction(): Promise<{ d: tf.Tensor2D; t: number[] }> {
    const c = this.config;
    const b = this.x.shape[0];
    const [free, gp, d0] = tf.tidy(() => {
      const free = this.box ? freeMask(this.x, this.g, this.box) : tf.onesLike(this.g);
      const gp = tf.mul(this.g, free) as tf.Tensor2D;
      return [free, gp, tf.mul(this.twoLoop(gp), free) as tf.Tensor2D];
    });
    let d = d0;
    const stats = tf.tidy(() => tf.stack([rowDot(gp, d), tf.sum(tf.abs(gp), 1)], 1));
    const st = await stats.data();
    stats.dispose();
    const reset: boolean[] = [];
    for (let i = 0; i < b; i++) {
      // Not a descent direction (or NaN): fall back to steepest descent for this row.
      reset.push(this.pairs[i] > 0 && !(st[2 * i] < 0));
    }
    if (reset.some(Boolean)) {
      const prev = d;
      d = tf.tidy(() => tf.where(rowMask(reset, this.g.shape), tf.neg(gp), prev) as tf.Tensor2D);
      prev.dispose();
      this.forget(reset);
    }
    tf.dispose([free, gp]);
    const t = this.f.map((_, i) => {
      if (this.pairs[i] > 0) return c.learningRate;
      const l1 = st[2 * i + 1];
      return (l1 > 0 ? Math.min(1, 1 / l1) : 1) * c.learningRate;
    });
    return { d, t };
  }

  /** The trial point P(x + t d), each row with its own step. */
  private trialPoint(d: tf.Tensor2D, t: number[]): tf.Tensor2D {
    return tf.tidy(() => {
      const raw = tf.add(this.x, tf.mul(d, tf.tensor2d(t, [t.length, 1]))) as tf.Tensor2D;
      return this.box ? project(raw, this.box) : raw;
    });
  }

  /**
   * Projected backtracking Armijo, each row with its own step `t` (updated in
   * place). Failed rows stay put (step 0, backtracks -1), and the point is then
   * re-evaluated so that values and gradient belong to it. The caller owns the
   * returned tensors.
   */
  private async lineSearch(d: tf.Tensor2D, t: number[]): Promise<Trial> {
    const c = this.config;
    const b = this.x.shape[0];
    const accepted = new Array(b).fill(false);
    const backtracks = new Array(b).fill(0);
    let xt: tf.Tensor2D | null = null;
    let gt: tf.Tensor2D | null = null;
    let ft: number[] = [];
    try {
      for (let k = 0; k <= c.maxBacktracks; k++) {
        tf.dispose([xt, gt].filter((v): v is tf.Tensor2D => v !== null));
        xt = this.trialPoint(d, t);
        gt = null;
        const res = await this.fn(xt);
        this.evaluations++;
        gt = res.grad;
        ft = res.values;
        const dec = tf.tidy(() => rowDot(this.g, tf.sub(xt!, this.x)));
        const decrease = await dec.data();
        dec.dispose();
        for (let i = 0; i < b; i++) {
          if (accepted[i]) continue;
          if (Number.isFinite(ft[i]) && ft[i] <= this.f[i] + c.c1 * decrease[i]) accepted[i] = true;
          else if (k < c.maxBacktracks) {
            t[i] *= c.backtrackFactor;
            backtracks[i]++;
          }
        }
        if (accepted.every(Boolean)) break;
      }
      const failed = accepted.map((a) => !a);
      if (failed.some(Boolean)) {
        failed.forEach((f, i) => {
          if (f) {
            t[i] = 0;
            backtracks[i] = -1;
          }
        });
        tf.dispose([xt!, gt!]);
        gt = null;
        xt = this.trialPoint(d, t);
        const res = await this.fn(xt);
        this.evaluations++;
        gt = res.grad;
        ft = res.values;
      }
      const trial = { x: xt!, g: gt!, values: ft, failed, backtracks };
      xt = gt = null;
      return trial;
    } finally {
      tf.dispose([xt, gt].filter((v): v is tf.Tensor2D => v !== null));
    }
  }

  /** Store the curvature pair of the step to `xt`, per row only when s·y is clearly positive. */
  private async pushPair(xt: tf.Tensor2D, gt: tf.Tensor2D, failed: boolean[]): Promise<void> {
    const c = this.config;
    const b = this.x.shape[0];
    const [s, y, pairStats] = tf.tidy(() => {
      const s = tf.sub(xt, this.x) as tf.Tensor2D;
      const y = tf.sub(gt, this.g) as tf.Tensor2D;
      return [s, y, tf.stack([rowDot(s, y), rowDot(s, s), rowDot(y, y)], 1)] as const;
    });
    const ps = await pairStats.data();
    pairStats.dispose();
    const valid: boolean[] = [];
    const rho: number[] = [];
    for (let i = 0; i < b; i++) {
      const [sy, ss, yy] = [ps[3 * i], ps[3 * i + 1], ps[3 * i + 2]];
      const ok = !failed[i] && Number.isFinite(sy) && yy > 0 &&
        sy > c.curvatureEps * Math.sqrt(ss * yy);
      valid.push(ok);
      rho.push(ok ? 1 / sy : 0);
      if (ok) {
        this.gamma[i] = sy / yy;
        this.pairs[i]++;
      }
    }
    const mask = rowMask(valid, s.shape);
    this.s.push(tf.tidy(() => tf.where(mask, s, tf.zerosLike(s)) as tf.Tensor2D));
    this.y.push(tf.tidy(() => tf.where(mask, y, tf.zerosLike(y)) as tf.Tensor2D));
    this.rho.push(tf.tensor2d(rho, [b, 1]));
    tf.dispose([s, y, mask]);
    if (this.s.length > c.history) {
      tf.dispose([this.s.shift()!, this.y.shift()!, this.rho.shift()!]);
    }
  }

  /** Two-loop recursion: an approximation of H^-1 q, per row. */
  private twoLoop(q0: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let q: tf.Tensor2D = q0;
      const m = this.s.length;
      const alpha: tf.Tensor[] = new Array(m);
      for (let i = m - 1; i >= 0; i--) {
        alpha[i] = tf.mul(this.rho[i], rowDot(this.s[i], q, true));
        q = tf.sub(q, tf.mul(alpha[i], this.y[i])) as tf.Tensor2D;
      }
      let r = tf.mul(q, tf.tensor2d(this.gamma, [this.gamma.length, 1])) as tf.Tensor2D;
      for (let i = 0; i < m; i++) {
        const beta = tf.mul(this.rho[i], rowDot(this.y[i], r, true));
        r = tf.add(r, tf.mul(this.s[i], tf.sub(alpha[i], beta))) as tf.Tensor2D;
      }
      return tf.neg(r) as tf.Tensor2D;
    });
  }

  /** Drop the history of the flagged rows (zero their pairs, gamma back to 1). */
  private forget(rows: boolean[]): void {
    const keep = tf.tensor2d(rows.map((r) => (r ? 0 : 1)), [rows.length, 1]);
    const scale = (list: tf.Tensor2D[]) =>
      list.map((t) => {
        const n = tf.mul(t, keep) as tf.Tensor2D;
        t.dispose();
        return n;
      });
    this.s = scale(this.s);
    this.y = scale(this.y);
    this.rho = scale(this.rho);
    keep.dispose();
    rows.forEach((r, i) => {
      if (r) {
        this.gamma[i] = 1;
        this.pairs[i] = 0;
      }
    });
  }

  /** Release every tensor held (not the objective's own). */
  dispose(): void {
    tf.dispose([this.x, this.g, ...this.s, ...this.y, ...this.rho]);
    this.s = [];
    this.y = [];
    this.rho = [];
  }
}

/** Row-wise dot products: `[B]`, or `[B, 1]` with keepDims. */
function rowDot(a: tf.Tensor2D, b: tf.Tensor2D, keepDims = false): tf.Tensor {
  return tf.sum(tf.mul(a, b), 1, keepDims);
}

/** A bool `[B, N]` mask that is true on the flagged rows. */
function rowMask(rows: boolean[], shape: number[]): tf.Tensor {
  return tf.tidy(() => tf.tile(tf.tensor2d(rows, [rows.length, 1], "bool"), [1, shape[1]]));
}

/** Clip onto the box. */
function project(x: tf.Tensor2D, box: Box): tf.Tensor2D {
  return tf.tidy(() => tf.minimum(tf.maximum(x, box.lo), box.hi) as tf.Tensor2D);
}

/** 1 where a component is free, 0 where it sits on a bound and the gradient pushes it out. */
function freeMask(x: tf.Tensor2D, g: tf.Tensor2D, box: Box): tf.Tensor2D {
  return tf.tidy(() => {
    const atLo = tf.logicalAnd(tf.lessEqual(x, box.lo), tf.greater(g, 0));
    const atHi = tf.logicalAnd(tf.greaterEqual(x, box.hi), tf.less(g, 0));
    return tf.cast(tf.logicalNot(tf.logicalOr(atLo, atHi)), "float32") as tf.Tensor2D;
  });
}
