// Copyright 2026 the @seed/event authors. MIT license.
/**
 * KvEvent on a real KV file: `deno task bench:kv`. Prints, as Markdown:
 *
 * - what waiting events cost in one process on one handle, at 1, 100, 1,000
 *   and 10,000 events: `kv.watch()` streams, the reads that start the waits,
 *   reads per poll and a minute, and heap per waiting event (after a full
 *   GC, the instance included), with the defaults, `pollInterval: 1_000`
 *   (several local processes) and `pollInterval: Infinity` (Deploy);
 * - churn: the streams in use after 90% of 1,000 waiting events leave (the
 *   watcher repacks them, 10 keys a stream within its slack), and the
 *   streams (re)opened for that;
 * - wake latency, p50 and p99, by watch (two handles of one process) and by
 *   poll (another process, `pollInterval` 10 ms), each beside its floor
 *   measured in the same run: a bare `kv.watch()` woken by a bare `set()`,
 *   and a bare `get()` every 10 ms.
 *
 * Reads are counted by the wrapper of `tests/kv_faults.ts` with no fault.
 * Lone times on a shared machine: compare rows of one run. `BENCH_SCALE`
 * shrinks the counts for a smoke run.
 *
 * @module
 */
import { KvEvent } from "../kv.ts";
import { Watcher } from "../kv/watcher.ts";
import { latencyRow as row, polled, readsSettled, sleep } from "./_kv_bench.ts";
import { unlocked } from "../examples/single_flight_kv.ts";
import { kvProcess } from "../tests/kv_process.ts";
import { faulty } from "../tests/kv_faults.ts";

const scale = Number(Deno.env.get("BENCH_SCALE") ?? "1");
const rounds = Math.max(5, Math.round(100 * scale));
const sizes = [1, 100, 1_000, 10_000].map((n) =>
  Math.max(1, Math.round(n * scale))
);

const dir = await Deno.makeTempDir({ prefix: "bench_kv_" });
const path = `${dir}/kv.sqlite3`;
const [a, b] = [await Deno.openKv(path), await Deno.openKv(path)];
const now = () => performance.timeOrigin + performance.now();
const gc = (globalThis as { gc?: () => void }).gc;

console.log(
  `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`,
);

console.log(
  "| waiting events, one handle | options | streams | reads to start | reads per poll | reads a minute, steady | heap per waiting event |",
);
console.log("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
const settings = [
  ['defaults (`"auto"`)', {}, 1],
  ["`pollInterval: 1_000`", { pollInterval: 1_000 }, 60],
  ["`pollInterval: Infinity`", { pollInterval: Infinity }, 0],
] as const;
// Warm up: the code a wait runs is compiled here, not inside a measured row
// (it was a third of the 100-event row's heap).
{
  const kv = await Deno.openKv(path);
  const events = Array.from(
    { length: Math.max(1, Math.round(1_000 * scale)) },
    (_, i) => new KvEvent<number>(kv, ["warm-up", i]),
  );
  // Bounded waits are the caller's own: handled before disposal rejects them.
  const waits = events.map((evt) =>
    evt.wait({ timeout: 60_000 }).catch(() => {})
  );
  await sleep(500);
  for (const evt of events) await evt[Symbol.asyncDispose]();
  await Promise.all(waits);
  kv.close();
}
for (const [name, options, pollsAMinute] of settings) {
  for (const size of sizes) {
    // Counts the calls; watch() streams are Deno's own, as a user's are.
    using counted = faulty(await Deno.openKv(path), { call: () => undefined });
    const { kv, faults: { counts } } = counted;
    const reads = () => counts.get + counts.getMany;
    gc?.();
    const heapBefore = Deno.memoryUsage().heapUsed;
    const events = Array.from(
      { length: size },
      (_, i) => new KvEvent<number>(kv, ["cost", size, i], options),
    );
    const waits = events.map((evt) => evt.wait());
    await readsSettled(reads); // the first reads done
    const watcher = Watcher.of(kv);
    // What started the waits: all reads so far, less any poll among them.
    const [settled, early] = [reads(), watcher.polls];
    // The first poll, then the heap between two polls (if it polls).
    if (pollsAMinute > 0) await polled(watcher, 1);
    // Every stream's first frame in: with no poll to wait for, at 10,000
    // events the frames of 1,000 streams were still arriving 100 ms after
    // the last read.
    await sleep(pollsAMinute === 0 ? 1_000 : 100);
    gc?.();
    const heap = (Deno.memoryUsage().heapUsed - heapBefore) / size;
    const streams = watcher.streams;
    const [polls, before] = [watcher.polls, reads()];
    if (pollsAMinute > 0) await polled(watcher, 1);
    const perPoll = watcher.polls > polls ? reads() - before : 0;
    const start = settled - early * perPoll;
    for (const evt of events) await evt[Symbol.asyncDispose]();
    await Promise.allSettled(waits);
    kv.close();
    console.log(
      `| ${size.toLocaleString("en")} | ${name} | ${streams} | ${
        start.toLocaleString("en")
      } | ${perPoll.toLocaleString("en")} | ${
        (perPoll * pollsAMinute).toLocaleString("en")
      } | ${
        // One event's heap is the noise of code compiled meanwhile.
        !gc
          ? "(needs gc)"
          : size < 100
          ? "-"
          : `${(heap / 1024).toFixed(2)} KiB`} |`,
    );
  }
}
{
  // Churn: 1,000 wait, then 9 of every 10 leave, spread over every stream.
  const size = Math.max(10, Math.round(1_000 * scale));
  using counted = faulty(await Deno.openKv(path), { call: () => undefined });
  const { kv, faults: { counts } } = counted;
  const events = Array.from(
    { length: size },
    (_, i) => new KvEvent<number>(kv, ["churn", i], { pollInterval: Infinity }),
  );
  const leaving = new AbortController();
  const waits = events.map((evt, i) =>
    evt.wait(i % 10 === 0 ? undefined : { signal: leaving.signal })
      .catch(() => {})
  );
  await sleep(500);
  const [before, opened] = [Watcher.of(kv).streams, counts.watch];
  leaving.abort();
  await sleep(500);
  const after = Watcher.of(kv).streams;
  const reopened = counts.watch - opened;
  for (const evt of events) await evt[Symbol.asyncDispose]();
  await Promise.allSettled(waits);
  kv.close();
  console.log(
    `\nChurn: ${
      size.toLocaleString("en")
    } waiting events on ${before} streams; after ${
      (size - Math.ceil(size / 10)).toLocaleString("en")
    } left, ${
      Math.ceil(size / 10)
    } wait on ${after} streams (${reopened} streams opened again for the repack).`,
  );
}
console.log(
  '\nReads a minute, steady: `"auto"` once it has backed off to one poll a minute (after about two minutes with nothing missed); every second for good once a poll finds a commit `watch()` missed.',
);

console.log("\n| wake latency, send() to the waiter | p50 | p99 | rounds |");
console.log("| --- | ---: | ---: | ---: |");

/** Watch: the floor and KvEvent, interleaved round by round. */
{
  const floor: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < rounds; i++) {
    { // The floor: a bare watch, woken by a bare set().
      const key = ["bare", i];
      const reader = a.watch([key]).getReader();
      await reader.read(); // the first frame: the key is absent
      const woken = reader.read().then(now);
      await sleep(5);
      const sent = now();
      await b.set(key, i);
      floor.push(await woken - sent);
      await reader.cancel();
    }
    {
      await using waiter = new KvEvent<number>(a, ["watched", i], {
        pollInterval: Infinity,
      });
      await using sender = new KvEvent<number>(b, ["watched", i]);
      const woken = waiter.wait().then(now);
      await sleep(5); // watching
      const sent = now();
      await sender.send(i);
      ours.push(await woken - sent);
    }
  }
  row("floor: bare `kv.watch()`, bare `set()`", floor);
  row("two handles of one process (watch)", ours, floor);
}

/** Poll: another process, the floor's rounds first. */
async function crossProcess(floor: boolean): Promise<number[]> {
  const samples: number[] = [];
  const child = kvProcess(
    "latency",
    path,
    String(rounds),
    ...(floor ? ["floor"] : []),
  ).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (let i = 0; i < rounds; i++) {
    const key = ["cross", String(floor), i];
    // Until the other process waits (bounded: 10 s).
    for (let tries = 0; tries < 5_000; tries++) {
      const ready = await unlocked(() => a.get([...key, "ready"]));
      if (ready.value === true) break;
      await sleep(2);
    }
    await sleep(Math.random() * 10); // any phase of its poll
    const sent = now();
    if (floor) {
      await unlocked(() => a.set([...key, "value"], i));
    } else {
      await using sender = new KvEvent<number>(a, key);
      await sender.send(i);
    }
    while (!buffer.includes("\n")) {
      const { done, value } = await lines.read();
      if (done) throw new Error("the waiting process ended early");
      buffer += value;
    }
    const [line, ...rest] = buffer.split("\n");
    buffer = rest.join("\n");
    samples.push(Number(line) - sent);
  }
  await child.status;
  return samples;
}
const pollFloor = await crossProcess(true);
row("floor: bare `get()` every 10 ms, another process", pollFloor);
row(
  "another process, pollInterval 10 ms (poll)",
  await crossProcess(false),
  pollFloor,
);

a.close();
b.close();
await Deno.remove(dir, { recursive: true });
