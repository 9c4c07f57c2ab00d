// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Heap bytes per pending waiter, for plain, timed and signal waits, next to
 * native promises, and a check that nothing is retained once the event is
 * sent and its waiters have resumed (exit code 1 if something is):
 *
 *     deno task bench:memory            # 1,000,000 waiters per case
 *     BENCH_SCALE=0.01 deno task bench:memory
 *
 * Needs `--v8-flags=--expose-gc` (the task passes it).
 *
 * @module
 */
import { Event } from "../mod.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("run with --v8-flags=--expose-gc");
  Deno.exit(2);
}
const SCALE = Number(Deno.env.get("BENCH_SCALE") ?? "1");
const N = Math.max(1_000, Math.round(1_000_000 * SCALE));
const LONG = 3_600_000;

function heapUsed(): number {
  gc!();
  gc!();
  return Deno.memoryUsage().heapUsed;
}

interface Subject {
  wait(): Promise<unknown>;
  finish(): void;
}

let failed = false;
const rows: string[] = [];

async function measure(
  make: () => Subject,
  n = N,
): Promise<{ pending: number; retained: number }> {
  const keep: Promise<unknown>[] = new Array(n).fill(undefined);
  const subject = make();
  const before = heapUsed();
  for (let i = 0; i < n; i++) keep[i] = subject.wait();
  const pending = (heapUsed() - before) / n;
  // Handle every outcome before it happens, as awaiting callers do.
  const settled = Promise.allSettled(keep).then(() => {}); // drop the results
  subject.finish();
  await settled;
  keep.fill(undefined as unknown as Promise<unknown>);
  return { pending, retained: (heapUsed() - before) / n };
}

async function report(name: string, make: () => Subject): Promise<void> {
  await measure(make, Math.ceil(N / 100)); // warm up the code paths
  const { pending, retained } = await measure(make);
  // A kept record costs 80 bytes or more per waiter. Allow less than one
  // byte per waiter, or 1 MiB in all at small sizes, where GC noise is
  // larger than that. The native rows are references, never judged.
  const ok = !name.startsWith("Event") || retained < Math.max(1, 2 ** 20 / N);
  failed ||= !ok;
  rows.push(
    `| ${name} | ${pending.toFixed(1)} | ${retained.toFixed(2)}${
      ok ? "" : " (RETAINED)"
    } |`,
  );
}

await report("native: one shared promise", () => {
  const { promise, resolve } = Promise.withResolvers<number>();
  return { wait: () => promise, finish: () => resolve(1) };
});
await report("native: a promise per waiter", () => {
  const resolvers: ((value: number) => void)[] = [];
  return {
    wait: () => {
      const { promise, resolve } = Promise.withResolvers<number>();
      resolvers.push(resolve);
      return promise;
    },
    finish: () => {
      for (const resolve of resolvers) resolve(1);
      resolvers.length = 0;
    },
  };
});
await report("Event: wait()", () => {
  const evt = new Event<number>();
  return { wait: () => evt.wait(), finish: () => evt.send(1) };
});
await report("Event: wait({ timeout })", () => {
  const evt = new Event<number>();
  return { wait: () => evt.wait({ timeout: LONG }), finish: () => evt.send(1) };
});
await report("Event: wait({ signal }), one shared signal", () => {
  const evt = new Event<number>();
  const { signal } = new AbortController();
  return { wait: () => evt.wait({ signal }), finish: () => evt.send(1) };
});
await report("Event: wait({ signal }), aborted instead of sent", () => {
  const evt = new Event<number>();
  const controller = new AbortController();
  return {
    wait: () => evt.wait({ signal: controller.signal }),
    finish: () => controller.abort(),
  };
});

/**
 * Heap kept per iteration of a loop that races a fresh event against one
 * long-lived stop event, with `Promise.race()` or with `Event.first()`.
 */
async function raceLoop(
  name: string,
  first: (stop: Event, w: Event<number>) => Promise<unknown>,
): Promise<void> {
  const n = Math.max(1_000, Math.round(100_000 * SCALE));
  const stop = new Event();
  const loop = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const w = new Event<number>();
      const p = first(stop, w);
      w.send(i);
      await p;
    }
  };
  await loop(1_000); // warm up
  const before = heapUsed();
  await loop(n);
  const kept = (heapUsed() - before) / n;
  const ok = !name.startsWith("Event") || kept < 16;
  failed ||= !ok;
  raceRows.push(
    `| ${name} | ${kept.toFixed(1)}${ok ? "" : " (LEAK)"} | ${stop.waiting} |`,
  );
  stop.send();
}

const raceRows: string[] = [];
await raceLoop(
  "native: Promise.race([stop.wait(), w.wait()])",
  (stop, w) => Promise.race([stop.wait(), w.wait()]),
);
await raceLoop(
  "Event: Event.first([stop, w])",
  (stop, w) => Event.first([stop, w]),
);

console.log(
  `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}; ${
    N.toLocaleString("en")
  } pending waiters per case\n`,
);
console.log(
  "| case | bytes per pending waiter | bytes per waiter retained after it settled |",
);
console.log("| --- | ---: | ---: |");
for (const row of rows) console.log(row);
console.log(
  "\n| loop against one stop event | bytes kept per iteration | stop.waiting after |",
);
console.log("| --- | ---: | ---: |");
for (const row of raceRows) console.log(row);
if (failed) {
  console.error("\nsomething was retained after the waiters settled");
  Deno.exit(1);
}
