// Placeholder until branch `stats` lands.
import type { EvalCondition, RunEvaluation } from "./types.ts";
export function scoreEvaluation(
  _conditions: EvalCondition[],
  _predictions: Record<string, number[]>,
  _classes: string[],
  _cleanAccuracy: number,
): RunEvaluation {
  throw new Error("not yet");
}
