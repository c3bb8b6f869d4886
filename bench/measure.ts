/** One benchmark number, with its budget when the issue sets one (lower is better). */
export interface BenchResult {
  name: string;
  value: number;
  unit: "ms" | "µs" | "MiB" | "×" | "%";
  budget?: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}
