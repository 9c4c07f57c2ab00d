// Copyright 2026 the @seed/event authors. MIT license.
/**
 * What `bench:kv` and `bench:pg` share: waiting for a handle's reads to
 * settle and for its watcher's polls, percentiles, and a latency row.
 *
 * @module
 */
import type { Watcher } from "../kv/watcher.ts";

export const sleep = (ms: number): Promise<unknown> =>
  new Promise((r) => setTimeout(r, ms));

/** Until the reads counted by `reads` stop: none for 300 ms. */
export async function readsSettled(reads: () => number): Promise<void> {
  for (let last = -1; last !== reads();) {
    last = reads();
    await sleep(300);
  }
}

/** Until `n` more polls of `watcher` have read (bounded: 5 s). */
export async function polled(watcher: Watcher, n: number): Promise<void> {
  const from = watcher.polls;
  for (let t = 0; t < 100 && watcher.polls < from + n; t++) await sleep(50);
}

/** The `p` quantile of `values` (0 to 1). */
export function percentile(values: number[], p: number): number {
  const sorted = values.toSorted((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Prints a Markdown row of wake latencies, with the ratio to `floor`'s p50. */
export function latencyRow(
  what: string,
  samples: number[],
  floor?: number[],
): void {
  const ratio = floor === undefined
    ? ""
    : ` (${
      (percentile(samples, 0.5) / percentile(floor, 0.5)).toFixed(2)
    }x the floor)`;
  console.log(
    `| ${what} | ${percentile(samples, 0.5).toFixed(1)} ms${ratio} | ${
      percentile(samples, 0.99).toFixed(1)
    } ms | ${samples.length} |`,
  );
}
