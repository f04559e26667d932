/** Percentiles by nearest rank over a copy of `values`. */
export function percentiles(values: number[]): { p50: number; p95: number; p99: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), n: sorted.length };
}

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

export const ratio = (a: number, b: number): number => round(a / b);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
