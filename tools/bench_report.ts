// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Runs the cases of `event_bench.ts` interleaved, round after round, so that
 * every case of a group sees the same machine load, and prints the median
 * time of each and its ratio to the group's baseline as a Markdown table:
 *
 *     deno task bench:report [rounds] [group name part]
 *
 * @module
 */
import { type BenchCase, CASES } from "../event_bench.ts";

const rounds = Number(Deno.args[0] ?? "21");
const only = Deno.args[1]; // run only the groups whose name includes this

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The last note each case made (a count beside its time), by case. */
const notes = new Map<BenchCase, string>();

async function time(benchCase: BenchCase): Promise<number> {
  let started = 0;
  let elapsed = 0;
  await benchCase.fn({
    start: () => started = performance.now(),
    end: () => elapsed = performance.now() - started,
    note: (text) => notes.set(benchCase, text),
  });
  return elapsed;
}

const groups = Map.groupBy(CASES, (c) => c.group);
console.log(
  `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} cores; median of ${rounds} interleaved rounds\n`,
);
console.log("| group | case | median | ratio to baseline |");
console.log("| --- | --- | ---: | ---: |");
for (const [group, cases] of groups) {
  if (only !== undefined && !group.includes(only)) continue;
  const samples = cases.map(() => [] as number[]);
  // Warm up until the JIT has settled. No gc() between samples: a forced
  // full GC flushes compiled code and would measure the JIT, not the case.
  for (let i = 0; i < 5; i++) for (const c of cases) await time(c);
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no case always runs first or last.
    for (let k = 0; k < cases.length; k++) {
      const i = (k + round) % cases.length;
      samples[i]!.push(await time(cases[i]!));
    }
  }
  const medians = samples.map(median);
  const base = medians[cases.findIndex((c) => c.baseline)]!;
  for (const [i, c] of cases.entries()) {
    const ms = medians[i]!;
    const shown = ms < 1
      ? `${(ms * 1000).toFixed(0)} µs`
      : `${ms.toFixed(2)} ms`;
    const note = notes.has(c) ? `, ${notes.get(c)}` : "";
    console.log(
      `| ${group} | ${c.name}${
        c.baseline ? " (baseline)" : ""
      }${note} | ${shown} | ${(ms / base).toFixed(2)}x |`,
    );
  }
}
