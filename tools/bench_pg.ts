// Copyright 2026 the @seed/event authors. MIT license.
/**
 * KvEvent on a real PostgreSQL server (a throwaway one, as the tests start):
 * `deno task bench:pg`. Prints, as Markdown:
 *
 * - what waiting events cost in one process on one store (one postgres.js
 *   client), at 1, 100, 1,000 and 10,000 events: connections the process
 *   holds on the server, listening ones among them, the reads that start
 *   the waits, reads per poll, and heap per waiting event (after a full GC,
 *   the instance included);
 * - wake latency, p50 and p99, from the start of `send()` on one client to
 *   the waiter resumed on another, beside its floor measured in the same
 *   run, round by round: a bare `UPDATE` + `NOTIFY` in one statement, heard
 *   by a `LISTEN` callback that reads the row, both prepared (postgres.js's
 *   tagged templates), as the store's own statements are. Both sends start
 *   after the same 5 ms idle (code runs slower here right after one, and a
 *   waiting event is idle until its send), and the first rounds only warm
 *   both paths up, as a server's earlier traffic would.
 *
 * Reads are counted by the wrapper of `tests/kv_faults.ts` with no fault.
 * Lone times on a shared machine: compare rows of one run. `BENCH_SCALE`
 * shrinks the counts for a smoke run.
 *
 * @module
 */
import { KvEvent } from "../kv.ts";
import { PostgresStore } from "../postgres.ts";
import { Watcher } from "../kv/watcher.ts";
import { latencyRow as row, polled, readsSettled, sleep } from "./_kv_bench.ts";
import { faulty } from "../tests/kv_faults.ts";
import { findPostgres, startPostgres } from "../tests/pg_server.ts";

const found = await findPostgres();
if ("missing" in found) {
  console.error(`bench:pg needs a PostgreSQL server: ${found.missing}`);
  Deno.exit(1);
}
const scale = Number(Deno.env.get("BENCH_SCALE") ?? "1");
const rounds = Math.max(5, Math.round(200 * scale));
/** Rounds run first and not measured. */
const warmRounds = Math.round(rounds / 10);
const sizes = [1, 100, 1_000, 10_000].map((n) =>
  Math.max(1, Math.round(n * scale))
);
const now = () => performance.now();
const gc = (globalThis as { gc?: () => void }).gc;

const db = await startPostgres(found.bin);
const admin = db.client({ max: 1, fetch_types: false });
try {
  const [{ server_version: version }] = await admin.unsafe(
    "SHOW server_version",
  ) as unknown as [{ server_version: string }];
  console.log(
    `Deno ${Deno.version.deno}, PostgreSQL ${version}, ${navigator.hardwareConcurrency} cores\n`,
  );
  /** The server's client backends other than the admin's: [all, listening]. */
  const connections = async (): Promise<[number, number]> => {
    const [row] = await admin.unsafe(
      `SELECT count(*)::int AS all,
          count(*) FILTER (WHERE query ILIKE 'listen%')::int AS listening
        FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    );
    return [row!.all, row!.listening];
  };

  console.log(
    "| waiting events, one store | connections (listening) | reads to start | reads per poll | heap per waiting event |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: |");
  for (const [i, size] of [sizes[0]!, ...sizes].entries()) {
    const warmUp = i === 0; // compiles the code a wait runs, not measured
    const sql = db.client({ fetch_types: false });
    const store = new PostgresStore(sql);
    await store.setup();
    using counted = faulty(store, { call: () => undefined });
    const { kv, faults: { counts } } = counted;
    const reads = () => counts.get + counts.getMany;
    gc?.();
    const heapBefore = Deno.memoryUsage().heapUsed;
    const events = Array.from(
      { length: warmUp ? 1_000 : size },
      (_, n) => new KvEvent<number>(kv, ["cost", i, n]),
    );
    const waits = events.map((evt) => evt.wait());
    await readsSettled(reads); // the first reads done
    const watcher = Watcher.of(kv);
    const [settled, early] = [reads(), watcher.polls];
    await polled(watcher, 1);
    await sleep(100);
    gc?.();
    const heap = (Deno.memoryUsage().heapUsed - heapBefore) / size;
    const [held, listening] = await connections();
    const [polls, before] = [watcher.polls, reads()];
    await polled(watcher, 1);
    const perPoll = watcher.polls > polls ? reads() - before : 0;
    const start = settled - early * perPoll;
    for (const evt of events) await evt[Symbol.asyncDispose]();
    await Promise.allSettled(waits);
    await store.close();
    await sql.end({ timeout: 1 });
    if (warmUp) continue;
    console.log(
      `| ${size.toLocaleString("en")} | ${held} (${listening}) | ${
        start.toLocaleString("en")
      } | ${perPoll.toLocaleString("en")} | ${
        !gc
          ? "(needs gc)"
          : size < 100
          ? "-"
          : `${(heap / 1024).toFixed(2)} KiB`
      } |`,
    );
  }

  console.log(
    "\n| wake latency, start of the send to the waiter resumed | p50 | p99 | rounds |",
  );
  console.log("| --- | ---: | ---: | ---: |");

  // Two clients, as two machines: the waiter's and the sender's.
  const [one, two] = [
    db.client({ fetch_types: false }),
    db.client({ fetch_types: false }),
  ];
  const [waiting, sending] = [new PostgresStore(one), new PostgresStore(two)];
  await Promise.all([waiting.setup(), sending.setup()]);
  await admin.unsafe(
    "CREATE TABLE floor (key int PRIMARY KEY, value int); INSERT INTO floor VALUES (1, 0)",
  ).simple();
  let heard: ((at: number) => void) | undefined;
  // The floor's statements as postgres.js writes them: prepared.
  const listening = await one.listen("floor", async () => {
    await one`SELECT value FROM floor WHERE key = 1`;
    heard?.(now());
  });
  const floor: number[] = [];
  const ours: number[] = [];
  try {
    for (let i = -warmRounds; i < rounds; i++) {
      { // The floor.
        const woken = new Promise<number>((resolve) => heard = resolve);
        await sleep(5); // as idle as ours
        const sent = now();
        await two`WITH u AS (UPDATE floor SET value = ${i}::int WHERE key = 1)
          SELECT pg_notify('floor', ${String(i)}::text)`;
        const took = await woken - sent;
        if (i >= 0) floor.push(took);
      }
      {
        await using waiter = new KvEvent<number>(waiting, ["wake", i], {
          pollInterval: Infinity,
        });
        await using sender = new KvEvent<number>(sending, ["wake", i]);
        const woken = waiter.wait().then(now);
        await waiter.wait({ timeout: 0 }).catch(() => {}); // its read done
        await sleep(5); // listening
        const sent = now();
        await sender.send(i);
        const took = await woken - sent;
        if (i >= 0) ours.push(took);
      }
    }
  } finally {
    await listening.unlisten();
    await waiting.close();
    await sending.close();
    await Promise.all([one.end({ timeout: 1 }), two.end({ timeout: 1 })]);
  }
  row("floor: `UPDATE` + `NOTIFY`, `LISTEN` callback reads the row", floor);
  row("`KvEvent`: `send()` on one client, `wait()` on another", ours, floor);
} finally {
  await admin.end({ timeout: 1 });
  db.stopSync();
}
