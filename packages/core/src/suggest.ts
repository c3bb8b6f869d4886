import { distance } from "fastest-levenshtein";

/**
 * The candidate closest to `input` by edit distance ("did you mean"), or undefined when none is within
 * `maxDistance`. `normalize` maps both sides first (e.g. to compare `max_parallelism` with `maxParallelism`).
 */
export function closestMatch(
  input: string,
  candidates: readonly string[],
  options: { maxDistance?: number; normalize?: (value: string) => string } = {},
): string | undefined {
  const normalize = options.normalize ?? ((value: string) => value);
  const target = normalize(input);
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const d = distance(target, normalize(candidate));
    if (!best || d < best.distance) best = { candidate, distance: d };
  }
  return best && best.distance <= (options.maxDistance ?? Number.POSITIVE_INFINITY) ? best.candidate : undefined;
}
