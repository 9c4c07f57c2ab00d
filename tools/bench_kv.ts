// Copyright 2026 the @seed/event authors. MIT license.
/**
 * KvEvent on a real KV file: `deno task bench:kv`. Prints, as Markdown:
 *
 * - wake latency, send() to the waiter resuming, p50 and p99: two handles in
 *   one process (woken by watch()), and a waiter in another process (woken
 *   by the poll, at `pollInterval` 10 ms);
 * - 1,000 waiters on one key in one instance (one watch stream) against
 *   1,000 instances (a stream each): time from send() to the last wake.
 *
 * Lone times on a shared machine: compare rows of one run. `BENCH_SCALE`
 * shrinks the round counts for a smoke run.
 *
 * @module
 */
import { KvEvent } from "../kv.ts";
import { unlocked } from "../examples/single_flight_kv.ts";
import { kvProcess } from "../tests/kv_process.ts";

const scale = Number(Deno.env.get("BENCH_SCALE") ?? "1");
const rounds = Math.max(3, Math.round(60 * scale));
const waiters = Math.max(10, Math.round(1_000 * scale));

const dir = await Deno.makeTempDir({ prefix: "bench_kv_" });
const path = `${dir}/kv.sqlite3`;
const [a, b] = [await Deno.openKv(path), await Deno.openKv(path)];
const now = () => performance.timeOrigin + performance.now();

function percentile(values: number[], p: number): number {
  const sorted = values.toSorted((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function row(what: string, samples: number[]): void {
  console.log(
    `| ${what} | ${percentile(samples, 0.5).toFixed(1)} ms | ${
      percentile(samples, 0.99).toFixed(1)
    } ms | ${samples.length} |`,
  );
}

console.log(
  `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores\n`,
);
console.log("| wake latency, send() to the waiter | p50 | p99 | rounds |");
console.log("| --- | ---: | ---: | ---: |");

{ // One process, two handles: watch() wakes the waiter.
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await using waiter = new KvEvent<number>(a, ["latency", i], {
      pollInterval: Infinity,
    });
    await using sender = new KvEvent<number>(b, ["latency", i]);
    const woken = waiter.wait().then(now);
    await new Promise((resolve) => setTimeout(resolve, 5)); // watching
    const sent = now();
    await sender.send(i);
    samples.push(await woken - sent);
  }
  row("one process, two handles (watch)", samples);
}

{ // Another process: the poll wakes it (watch() misses other processes).
  const samples: number[] = [];
  const child = kvProcess("latency", path, String(rounds)).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (let i = 0; i < rounds; i++) {
    // Until the other process waits (bounded: 10 s).
    for (let tries = 0; tries < 5_000; tries++) {
      const ready = await unlocked(() => a.get(["cross", i, "ready"]));
      if (ready.value === true) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await using sender = new KvEvent<number>(a, ["cross", i]);
    const sent = now();
    await sender.send(i);
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
  row("another process, pollInterval 10 ms (poll)", samples);
}

console.log(
  `\n| ${
    waiters.toLocaleString("en")
  } waiters on one key | send() to the last wake | kv.watch() calls |`,
);
console.log("| --- | ---: | ---: |");
for (const perWaiter of [false, true]) {
  let watches = 0;
  const watch = a.watch.bind(a);
  a.watch = ((...args: Parameters<typeof watch>) => {
    watches++;
    return watch(...args);
  }) as typeof watch;
  const key = ["fan", String(perWaiter)];
  const events = Array.from(
    { length: perWaiter ? waiters : 1 },
    () => new KvEvent<number>(a, key, { pollInterval: Infinity }),
  );
  const woken = Array.from(
    { length: waiters },
    (_, i) => events[perWaiter ? i : 0]!.wait(),
  );
  // Until every instance watches (bounded: 10 s).
  const expected = events.length;
  for (let i = 0; i < 1_000 && watches < expected; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await using sender = new KvEvent<number>(b, key);
  const sent = now();
  await sender.send(1);
  await Promise.all(woken);
  const last = now() - sent;
  for (const evt of events) await evt[Symbol.asyncDispose]();
  a.watch = watch;
  console.log(
    `| ${
      perWaiter
        ? "an instance (a stream) per waiter"
        : "one instance (one stream)"
    } | ${last.toFixed(1)} ms | ${watches} |`,
  );
}

a.close();
b.close();
await Deno.remove(dir, { recursive: true });
