// Placeholder until the corruptions module lands (branch `corrupt`).
import type { RgbImage } from "./io.ts";
export const CORRUPTIONS = ["gaussian_noise", "gaussian_blur", "jpeg", "contrast", "pixelate"] as const;
export type CorruptionName = typeof CORRUPTIONS[number];
export const SEVERITIES = [1, 2, 3] as const;
export type Severity = typeof SEVERITIES[number];
export function corrupt(
  _img: RgbImage,
  _name: CorruptionName,
  _severity: Severity,
  _seed: number,
): Promise<RgbImage> {
  throw new Error("not yet");
}
export const CORRUPTION_PARAMS: Readonly<Record<CorruptionName, readonly [number, number, number]>> = {
  gaussian_noise: [0, 0, 0],
  gaussian_blur: [0, 0, 0],
  jpeg: [0, 0, 0],
  contrast: [0, 0, 0],
  pixelate: [0, 0, 0],
};
