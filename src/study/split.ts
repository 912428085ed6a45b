/**
 * Seeded, reproducible training subsets. Each class's images are shuffled once
 * with a PRNG seeded from the study seed and the class name, and cut into
 * `subsets` disjoint training sets of `trainPerClass` images; subset k's test
 * set is every other image of the class. Seeding per class means adding or
 * removing a class never changes another class's subsets.
 *
 * @example
 * ```ts
 * import { makeSubsets } from "./split.ts";
 * const images = { crab: ["c/1.jpg", "c/2.jpg", "c/3.jpg"], moth: ["m/1.jpg", "m/2.jpg"] };
 * const subsets = makeSubsets(images, { trainPerClass: 1, subsets: 1, seed: 42 });
 * console.log(subsets[0].train.crab.length, subsets[0].test.crab.length); // 1 2
 * ```
 * @module
 */
import { UserError } from "../util/errors.ts";
import { hash32, mulberry32, shuffled } from "../util/random.ts";

/** How to cut the subsets. */
export interface SubsetOptions {
  trainPerClass: number;
  subsets: number;
  /** Any integer; the same seed and images always give the same subsets. */
  seed: number;
}

/** One training subset: chosen training images and the complementary test images, per class. */
export interface Subset {
  /** 0-based subset number. */
  index: number;
  /** Class name -> training image ids, in the input's (sorted) order. */
  train: Record<string, string[]>;
  /** Class name -> every image of the class not in `train`, in the input's order. */
  test: Record<string, string[]>;
}

/** Check the sampling numbers (UserErrors name the flags) and make `count` empty samples. */
function emptySamples(trainPerClass: number, count: number, countFlag: string, seed: number) {
  if (!Number.isInteger(trainPerClass) || trainPerClass < 1) {
    throw new UserError(`--train-per-class: expected a positive integer, got ${trainPerClass}`);
  }
  if (!Number.isInteger(count) || count < 1) {
    throw new UserError(`${countFlag}: expected a positive integer, got ${count}`);
  }
  if (!Number.isSafeInteger(seed)) throw new UserError(`--seed: expected an integer, got ${seed}`);
  return Array.from({ length: count }, (_, index): Subset => ({ index, train: {}, test: {} }));
}

/**
 * Cut `subsets` disjoint training subsets of `trainPerClass` images per class.
 * Throws a {@link UserError} when a class cannot give every subset its
 * training images plus at least one test image.
 *
 * @example
 * ```ts
 * import { makeSubsets } from "./split.ts";
 * const images = { a: ["a1", "a2", "a3", "a4", "a5"] };
 * const [s0, s1] = makeSubsets(images, { trainPerClass: 2, subsets: 2, seed: 1 });
 * console.log(s0.train.a.some((x) => s1.train.a.includes(x))); // false
 * ```
 */
export function makeSubsets(
  imagesPerClass: Record<string, readonly string[]>,
  options: SubsetOptions,
): Subset[] {
  const { trainPerClass, subsets, seed } = options;
  const result = emptySamples(trainPerClass, subsets, "--subsets", seed);
  for (const [name, images] of Object.entries(imagesPerClass)) {
    if (new Set(images).size !== images.length) {
      throw new Error(`class ${name}: duplicate image ids`);
    }
    const need = trainPerClass * subsets + 1;
    if (images.length < need) {
      throw new UserError(
        `class ${name} has ${images.length} images; ${subsets} subsets of ${trainPerClass} ` +
          `training images plus one test image need ${need}`,
      );
    }
    const order = shuffled(images, mulberry32(hash32(`${seed}:${name}`)));
    for (let k = 0; k < subsets; k++) {
      const chosen = new Set(order.slice(k * trainPerClass, (k + 1) * trainPerClass));
      // Keep the input order so the recorded lists read naturally and diff cleanly.
      result[k].train[name] = images.filter((x) => chosen.has(x));
      result[k].test[name] = images.filter((x) => !chosen.has(x));
    }
  }
  return result;
}

/** How to draw the training sets. */
export interface DrawOptions {
  trainPerClass: number;
  draws: number;
  seed: number;
}

/**
 * `draws` independent seeded random training draws of `trainPerClass` images
 * per class. Draws may overlap (each is drawn from the whole class); draw d's
 * test set is every image of the class not in draw d's training set. Draw d
 * of class c depends only on the seed, d, c and the class's images, so adding
 * draws or classes never changes an existing draw. Returned in the
 * {@link Subset} shape (index = draw).
 *
 * @example
 * ```ts
 * import { makeDraws } from "./split.ts";
 * const images = { a: ["a1", "a2", "a3", "a4"] };
 * const draws = makeDraws(images, { trainPerClass: 2, draws: 3, seed: 7 });
 * console.log(draws.length, draws[0].train.a.length, draws[0].test.a.length); // 3 2 2
 * ```
 */
export function makeDraws(
  imagesPerClass: Record<string, readonly string[]>,
  options: DrawOptions,
): Subset[] {
  const { trainPerClass, draws, seed } = options;
  const result = emptySamples(trainPerClass, draws, "--draws", seed);
  for (const [name, images] of Object.entries(imagesPerClass)) {
    if (new Set(images).size !== images.length) {
      throw new Error(`class ${name}: duplicate image ids`);
    }
    if (images.length < trainPerClass + 1) {
      throw new UserError(
        `class ${name} has ${images.length} images; a draw of ${trainPerClass} training images ` +
          `plus one test image needs ${trainPerClass + 1}`,
      );
    }
    for (let d = 0; d < draws; d++) {
      const order = shuffled(images, mulberry32(hash32(`${seed}:draw:${d}:${name}`)));
      const chosen = new Set(order.slice(0, trainPerClass));
      result[d].train[name] = images.filter((x) => chosen.has(x));
      result[d].test[name] = images.filter((x) => !chosen.has(x));
    }
  }
  return result;
}

/**
 * Images a sampling needs per class: `trainPerClass + 1` for draws,
 * `trainPerClass * count + 1` for disjoint subsets.
 *
 * @example
 * ```ts
 * import { imagesNeeded } from "./split.ts";
 * console.log(imagesNeeded("subsets", 3, 10), imagesNeeded("draws", 20, 10)); // 31 11
 * ```
 */
export function imagesNeeded(mode: "draws" | "subsets", count: number, trainPerClass: number) {
  return mode === "draws" ? trainPerClass + 1 : trainPerClass * count + 1;
}
