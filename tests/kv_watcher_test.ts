// Copyright 2026 the @seed/event authors. MIT license.
/**
 * KvEvent's shared watcher and its waiters under what a careful user does
 * to them (issue 27, "round 5"): streams that flap, reads that fail with
 * odd messages, neighbours with other options, waits started and abandoned
 * by the hundred, events that outlive `expireIn`. On a real Deno KV file,
 * faults injected around the real handle (`tests/kv_faults.ts`). Each test
 * names the item of round 5 it guards against.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { KvEvent } from "../kv.ts";
import { CLOSED_WORDS, faulty, quiet } from "./kv_faults.ts";
import { Watcher } from "../kv/watcher.ts";
import { Pending } from "../kv/protocol.ts";
import { FakeMonotonicTime, kvFile, settles } from "./_helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Until storage dropped the expired state under `key` (bounded: 5 s).
 * Opening a handle on a local file starts a sweep of expired keys; it ends
 * a moment later.
 */
async function swept(
  file: { open(): Promise<Deno.Kv> },
  key: Deno.KvKey,
): Promise<void> {
  const kv = await file.open();
  for (let i = 0; i < 100; i++) {
    if ((await kv.get([...key, "v1"])).versionstamp === null) return;
    await sleep(50);
  }
  throw new Error(`the state of ${String(key)} was never swept`);
}

Deno.test("KvEvent backs off reopening a stream that fails right after its first frame (round 5, item 1)", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  // Every stream gives its first frame (Deno gives one on every open), then
  // fails: it never proves itself.
  using wrapped = faulty(a, quiet(undefined, () => "flap"));
  await using waiter = new KvEvent<string>(wrapped.kv, ["flapping"], {
    pollInterval: Infinity,
  });
  await using sender = new KvEvent<string>(b, ["flapping"]);
  const waiting = waiter.wait();
  await sleep(1_000);
  const { watch, getMany } = wrapped.faults.counts;
  // 10, 20, 40 ... ms apart: about 7 in a second; at once, forever: hundreds.
  assert(watch <= 12, `${watch} opens in a second`);
  assert(getMany <= 12, `${getMany} reads in a second`);
  await sender.send("still woken");
  // A reopening's read finds it (the backoff is at most 5 s).
  assertEquals(await settles(waiting, "the waiter", 8_000), {
    status: "fulfilled",
    value: "still woken",
  });
});

Deno.test("KvEvent takes a read error that says 'closed' for what it is, not a closed handle (round 5, item 2)", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  let failing = true;
  using wrapped = faulty(
    a,
    quiet((name) =>
      failing && (name === "get" || name === "getMany")
        ? { kind: "fail", message: CLOSED_WORDS }
        : undefined
    ),
  );
  await using waiter = new KvEvent<string>(wrapped.kv, ["transient"], {
    pollInterval: 20,
  });
  await using sender = new KvEvent<string>(b, ["transient"]);
  const first = waiter.wait();
  const later = waiter.wait({ timeout: 10_000 });
  await sleep(100); // reads failed, and were tried again
  assertEquals(waiter.waiting, 2, "nobody was told the handle was closed");
  failing = false;
  await sender.send("after the network came back");
  for (const waiting of [first, later]) {
    assertEquals(await settles(waiting, "a waiter"), {
      status: "fulfilled",
      value: "after the network came back",
    });
  }
  // The handle's watcher is alive: a new wait on another event is woken.
  await using other = new KvEvent<string>(wrapped.kv, ["other"]);
  const next = other.wait({ timeout: 5_000 });
  await new KvEvent<string>(b, ["other"]).send("too");
  assertEquals(await next, "too");
});

Deno.test("KvEvent never lets one event's callTimeout cut another's reads (round 5, item 4)", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  // Every poll's read takes 100 ms.
  using wrapped = faulty(
    a,
    quiet((name) =>
      name === "getMany" ? { kind: "delay", ms: 100 } : undefined
    ),
  );
  const options = { watch: false, pollInterval: 50 };
  await using hasty = new KvEvent<string>(wrapped.kv, ["hasty"], {
    ...options,
    callTimeout: 50,
  });
  await using patient = new KvEvent<string>(wrapped.kv, ["patient"], options);
  const neighbour = hasty.wait({ timeout: 5_000 }).catch((error) => error);
  const waiting = patient.wait({ timeout: 5_000 });
  await sleep(300);
  await new KvEvent<string>(b, ["patient"]).send("read in time");
  // A batched read bound by the neighbour's 50 ms never answers in time.
  assertEquals(await settles(waiting, "the patient waiter", 3_000), {
    status: "fulfilled",
    value: "read in time",
  });
  await hasty[Symbol.asyncDispose]();
  assertInstanceOf(await neighbour, DOMException);
});

Deno.test("KvEvent wakes an earlier waiter before a later timeout: 0 one that found the send (round 5, item 5)", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  // Nothing hears the send but the later waiter's own read: no watch, and
  // the first poll a minute away.
  await using evt = new KvEvent<string>(a, ["overtake"], {
    watch: false,
    pollInterval: 60_000,
  });
  const log: string[] = [];
  const earlier = evt.wait({ timeout: 3_000 }).then(
    (value) => log.push(`earlier: ${value}`),
    (error) => log.push(`earlier: ${error.name}`),
  );
  await sleep(50); // its read is done: it waits for generation 0
  await new KvEvent<string>(b, ["overtake"]).send("sent");
  const later = evt.wait({ timeout: 0 }).then(
    (value) => log.push(`later: ${value}`),
    (error) => log.push(`later: ${error.name}`),
  );
  await settles(Promise.all([earlier, later]), "both waiters");
  assertEquals(log, ["earlier: sent", "later: sent"]);
});

Deno.test("KvEvent reads as a fresh event in every call once expireIn passed (round 5, item 6)", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  await using evt = new KvEvent<string>(kv, ["expiring"], { expireIn: 200 });
  await evt.send("old");
  await evt.reset();
  await evt.send("older"); // generation 1, sent: what the instance knows
  await sleep(300);
  await swept(file, ["expiring"]);
  assertEquals(await evt.ready(), false);
  const waiting = evt.wait({ timeout: 5_000 });
  const result = settles(waiting, "a wait after expiry");
  await sleep(50);
  assertEquals(
    Deno.inspect(evt),
    'KvEvent { name: "expiring", generation: 0, ready: false, waiting: 1 }',
  );
  await new KvEvent<string>(kv, ["expiring"]).send("new");
  assertEquals(await result, { status: "fulfilled", value: "new" });
});

Deno.test("KvEvent rejects a plain waiter whose generation expired (round 5, item 7)", async (t) => {
  for (const sentAgain of [false, true]) {
    await t.step(
      sentAgain ? "and the event was sent again" : "swept",
      async () => {
        await using file = await kvFile();
        const kv = await file.open();
        await using evt = new KvEvent<string>(kv, ["lapsed"], {
          expireIn: 200,
          pollInterval: Infinity,
        });
        await evt.send("first");
        await evt.reset(); // generation 1, fresh
        const waiting = evt.wait();
        await sleep(300);
        await swept(file, ["lapsed"]); // the watch sees the head go
        if (sentAgain) {
          await new KvEvent<string>(kv, ["lapsed"]).send("generation 0");
        }
        const result = await settles(waiting, "the plain waiter");
        assert(result.status === "rejected");
        assertEquals(
          result.reason.message,
          "The state of KvEvent lapsed, generation 1, expired before it was read (expireIn)",
        );
      },
    );
  }
});

Deno.test("KvEvent's auto poll stays at one second for the handle's next waiters once watch() missed a commit (round 5, item 8)", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  // Each stream gives its first frame, then holds every later one: watch()
  // misses the commits, as it misses another process's on a local file.
  let frames = 0;
  using wrapped = faulty(
    a,
    quiet((name) => {
      if (name === "watch") frames = 0;
      return undefined;
    }, () => frames++ === 0 ? undefined : "hold"),
  );
  await using evt = new KvEvent<string>(wrapped.kv, ["remembered"]);
  await using sender = new KvEvent<string>(b, ["remembered"]);
  const first = evt.wait();
  await sleep(50);
  await sender.send("found by a poll"); // the watcher learns it misses
  assertEquals(await settles(first, "the first waiter"), {
    status: "fulfilled",
    value: "found by a poll",
  });
  await sender.reset();
  // Every waiter left. The next one is polled every second for good, not
  // at 1, 3, 7 ... s.
  const next = evt.wait();
  await sleep(3_500);
  const sent = performance.now();
  await sender.send("again");
  assertEquals(await settles(next, "the next waiter"), {
    status: "fulfilled",
    value: "again",
  });
  const late = performance.now() - sent;
  // The 4 s poll wakes it; a forgetful one at 7 s: 3.5 s after the send.
  assert(late < 2_500, `woken ${Math.round(late)} ms after the send`);
});

Deno.test("KvEvent refuses a value that cannot be serialized at once, unsent (round 5, item 9)", async () => {
  await using file = await kvFile();
  await using evt = new KvEvent<unknown>(await file.open(), ["getter"]);
  let reads = 0;
  const value = {
    get broken() {
      reads++;
      throw new Error("no access");
    },
  };
  const error = await assertRejects(() => evt.send(value), TypeError);
  assertEquals(
    error.message,
    "Cannot send: the value cannot be serialized: no access; the event stays unsent",
  );
  assert(reads <= 2, `the getter ran ${reads} times`);
  assertEquals(await evt.ready(), false);
  await evt.send("a value that serializes");
  assertEquals(await evt.poll(), "a value that serializes");
});

Deno.test("KvEvent keeps an error met twice one error, and a cycle a cycle (round 5, item 10)", async (t) => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  await using sender = new KvEvent(a, ["shared errors"]);
  await using waiter = new KvEvent(b, ["shared errors"]);
  async function roundTrip(error: unknown): Promise<unknown> {
    const waiting = settles(waiter.wait({ timeout: 10_000 }), "the waiter");
    await sender.sendException(error);
    const result = await waiting;
    await sender.reset();
    assert(result.status === "rejected");
    return result.reason;
  }
  await t.step("Promise.any([p, p]) gives one error twice", async () => {
    class QuotaError extends RangeError {
      override name = "QuotaError";
    }
    const p = Promise.reject(new QuotaError("over"));
    const sent = await Promise.any([p, p]).catch((e) => e);
    const got = await roundTrip(sent) as AggregateError;
    assertInstanceOf(got, AggregateError);
    assertEquals(got.errors.length, 2);
    assertStrictEquals(got.errors[0], got.errors[1]);
    assertInstanceOf(got.errors[0], RangeError);
    assertEquals([got.errors[1].name, got.errors[1].message], [
      "QuotaError",
      "over",
    ]);
  });
  await t.step("a cause cycle comes back a cycle", async () => {
    const sent = new TypeError("loop");
    sent.cause = new Error("inner", { cause: sent });
    const got = await roundTrip(sent) as Error;
    assertInstanceOf(got, TypeError);
    assertStrictEquals((got.cause as Error).cause, got);
  });
  await t.step("an aggregate that holds itself", async () => {
    const sent = new AggregateError([], "self");
    sent.errors.push(sent);
    const got = await roundTrip(sent) as AggregateError;
    assertStrictEquals(got.errors[0], got);
  });
});

Deno.test("KvEvent repacks its streams when most waiting events leave (round 5, item 11)", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  const events = Array.from(
    { length: 100 },
    (_, i) => new KvEvent<number>(a, ["churn", i], { pollInterval: Infinity }),
  );
  const leaving = new AbortController();
  const kept = events.filter((_, i) => i % 10 === 0);
  const waits = events.map((evt, i) =>
    i % 10 === 0
      ? evt.wait({ timeout: 10_000 })
      : evt.wait({ signal: leaving.signal }).catch(() => "left")
  );
  await sleep(50);
  assertEquals(Watcher.of(a).streams, 10);
  leaving.abort(); // 90 of 100 leave: one from each stream... or so
  await sleep(50);
  const streams = Watcher.of(a).streams;
  // 10 keys: one stream, within the slack of one.
  assert(streams <= 2, `${streams} streams for 10 waiting events`);
  // The keys moved are still watched: every kept waiter is woken.
  await Promise.all(
    kept.map((_, i) => new KvEvent<number>(b, ["churn", i * 10]).send(i)),
  );
  assertEquals(
    await Promise.all(waits.filter((_, i) => i % 10 === 0)),
    kept.map((_, i) => i),
  );
  for (const evt of events) await evt[Symbol.asyncDispose]();
  await Promise.allSettled(waits);
});

Deno.test("KvEvent bounds a storage call by a callTimeout past setTimeout's limit, never early", async () => {
  using time = new FakeMonotonicTime(0);
  const pending = new Pending();
  const limit = 2 ** 31 - 1;
  let outcome: string | undefined;
  // A call that never answers, bounded by a callTimeout of limit + 10 s.
  pending.within(() => new Promise<never>(() => {}), limit + 10_000).then(
    () => outcome = "answered",
    (error) => outcome = error.name,
  );
  await time.tickAsync(limit);
  assertEquals(outcome, undefined, "given up early, at setTimeout's limit");
  await time.tickAsync(9_999);
  assertEquals(outcome, undefined);
  await time.tickAsync(1);
  assertEquals(outcome, "TimeoutError");
});
