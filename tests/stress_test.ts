// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Stress and leak tests. The default sizes keep `deno task test` fast;
 * `deno task test:deep` (STRESS=deep) runs the full sizes: a million plain
 * waiters, a million churn cycles.
 *
 * The heap checks need `--v8-flags=--expose-gc`, which the test task passes.
 */
import { assert, assertEquals, assertLess } from "@std/assert";
import { Event } from "../mod.ts";
import { FakeMonotonicTime } from "./_helpers.ts";

const DEEP = Deno.env.get("STRESS") === "deep";
const size = (normal: number, deep: number) => DEEP ? deep : normal;

const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  assert(gc, "run with --v8-flags=--expose-gc");
  gc();
  gc();
  return Deno.memoryUsage().heapUsed;
}

/** Lets WeakRef targets of the current job go, then collects. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  heapUsed();
  return ref.deref() === undefined;
}

Deno.test("Event.send() wakes a very large number of plain waiters", async () => {
  const n = size(200_000, 1_000_000);
  const evt = new Event<number>();
  let resumed = 0;
  const waiters = [];
  for (let i = 0; i < n; i++) {
    waiters.push((async () => {
      assertEquals(await evt.wait(), 7);
      resumed++;
    })());
  }
  assertEquals(evt.waiting, n);
  evt.send(7);
  await Promise.all(waiters);
  assertEquals(resumed, n);
  assertEquals(evt.waiting, 0);
});

Deno.test("Event.iterate() drains 400,000 events sent before the first next()", async () => {
  const n = size(400_000, 1_000_000);
  const events = Array.from({ length: n }, () => new Event<number>());
  for (const [i, evt] of events.entries()) evt.send(i);
  let expected = 0;
  for await (const evt of Event.iterate(events)) {
    assertEquals(evt.poll(), expected++, "in argument order");
  }
  assertEquals(expected, n);
});

Deno.test("Event.iterate() gives 100,000 events to next() calls made first", async () => {
  const n = 100_000;
  const events = Array.from({ length: n }, () => new Event<number>());
  const iteration = Event.iterate(events);
  const pulls = events.map(() => iteration.next());
  for (const [i, evt] of events.entries()) evt.send(i);
  for (const [i, pull] of pulls.entries()) {
    assertEquals((await pull).value?.poll(), i, "in send order");
  }
  assertEquals((await iteration.next()).done, true);
  assertEquals(events[0]!.waiting, 0);
});

Deno.test("Event.wait() times out 100,000 waiters with one timer", async () => {
  using time = new FakeMonotonicTime();
  const n = 100_000;
  const evt = new Event();
  let timedOut = 0;
  const waiters = [];
  for (let i = 0; i < n; i++) {
    waiters.push(
      evt.wait({ timeout: 1 + (i % 100) }).catch((error: DOMException) => {
        if (error.name === "TimeoutError") timedOut++;
      }),
    );
  }
  await time.tickAsync(50);
  assertEquals(evt.waiting, n / 2);
  await time.tickAsync(50);
  await Promise.all(waiters);
  assertEquals(timedOut, n);
  assertEquals(evt.waiting, 0);
  assert(!time.next(), "a timer was left behind");
});

Deno.test("Event.wait() rejects 100,000 waiters sharing one signal at once", async () => {
  const n = 100_000;
  const evt = new Event();
  const controller = new AbortController();
  const reason = new Error("all at once");
  let aborted = 0;
  const waiters = [];
  for (let i = 0; i < n; i++) {
    waiters.push(
      evt.wait({ signal: controller.signal }).catch((error) => {
        if (error === reason) aborted++;
      }),
    );
  }
  const plain = evt.wait();
  controller.abort(reason);
  await Promise.all(waiters);
  assertEquals(aborted, n);
  assertEquals(evt.waiting, 1);
  evt.send();
  await plain;
});

Deno.test("Event keeps a flat heap through wait-then-abort and wait-then-timeout churn", async (t) => {
  const cycles = size(50_000, 1_000_000);
  const evt = new Event<number>();
  const keeper = evt.wait(); // a long-lived event with a waiter throughout
  // Bytes the heap may grow by over all cycles: far less than one byte each.
  const slack = 512 * 1024;

  /** Runs `cycle` `cycles` times and asserts the heap did not grow. */
  const assertFlatHeap = async (cycle: () => Promise<unknown>) => {
    for (let i = 0; i < 1_000; i++) await cycle(); // warm up
    const before = heapUsed();
    for (let i = 0; i < cycles; i++) await cycle();
    assertLess(heapUsed() - before, slack);
    assertEquals(evt.waiting, 1);
  };

  await t.step("wait-then-abort", async () => {
    await assertFlatHeap(() => {
      const controller = new AbortController();
      const waiting = evt.wait({ signal: controller.signal, timeout: 1e9 });
      controller.abort();
      return waiting.catch(() => {});
    });
  });

  await t.step("wait-then-timeout", async () => {
    using time = new FakeMonotonicTime();
    const signal = new AbortController().signal;
    await assertFlatHeap(() => {
      const waiting = evt.wait({ timeout: 1, signal });
      time.tick(1);
      return waiting.catch(() => {});
    });
    assert(!time.next(), "a timer was left behind");
  });

  evt.send(1);
  assertEquals(await keeper, 1);
});

Deno.test("Event keeps no finished waiter and no value after reset()", async () => {
  const evt = new Event<object>();
  let value: object | undefined = { payload: new Uint8Array(1 << 20) };
  const valueRef = new WeakRef(value);
  let waiting: Promise<object> | undefined = evt.wait({ timeout: 1e9 });
  const waiterRef = new WeakRef(waiting);
  evt.send(value);
  assertEquals(await waiting, value);
  value = waiting = undefined;
  assert(await collected(waiterRef), "a settled waiter's promise was kept");
  assert(!(await collected(valueRef)), "the sent value is kept until reset()");
  evt.reset();
  assert(await collected(valueRef), "the value was kept after reset()");
});

Deno.test("Event keeps no departed waiter of a live event", async () => {
  const evt = new Event();
  const controller = new AbortController();
  let waiting: Promise<void> | undefined = evt.wait({
    signal: controller.signal,
  });
  const ref = new WeakRef(waiting);
  controller.abort();
  await waiting.catch(() => {});
  waiting = undefined;
  assert(await collected(ref), "an aborted waiter was kept by the event");
  assertEquals(evt.waiting, 0);
});

Deno.test("Event keeps nothing of waiters aborted together on a live event", async () => {
  const n = 20_000;
  const run = async (evt: Event) => {
    const controller = new AbortController();
    const waiters = [];
    for (let i = 0; i < n; i++) {
      waiters.push(
        evt.wait({ signal: controller.signal, timeout: 1e9 }).catch(() => {}),
      );
    }
    controller.abort();
    await Promise.all(waiters);
  };
  await run(new Event()); // warm up on another event
  const evt = new Event();
  const keeper = evt.wait();
  const before = heapUsed();
  await run(evt);
  assertLess((heapUsed() - before) / n, 16, "bytes kept per aborted waiter");
  assertEquals(evt.waiting, 1);
  evt.send();
  await keeper;
});

Deno.test("Event.first() against a long-lived stop event leaks nothing", async () => {
  // The loop that leaks with Promise.race([stop.wait(), w.wait()]): every
  // race leaves a reaction on stop's promise (bench:memory shows it grow).
  const n = 100_000;
  const stop = new Event();
  const loop = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const w = new Event<number>();
      const p = Event.first([stop, w]);
      w.send(i);
      await p;
    }
  };
  await loop(1_000); // warm up
  const before = heapUsed();
  await loop(n);
  assertLess((heapUsed() - before) / n, 16, "bytes kept per iteration");
  assertEquals(stop.waiting, 0);
});

Deno.test("Event keeps a long-lived signal's group small as its waiters time out", async () => {
  using time = new FakeMonotonicTime();
  const n = 100_000;
  const evt = new Event();
  const signal = new AbortController().signal;
  const keeper = evt.wait({ signal }); // keeps the group alive throughout
  // Many at a time, then one at a time: the group is compacted either way.
  for (const batch of [1_000, 1]) {
    const churn = async (count: number) => {
      for (let i = 0; i < count; i++) {
        evt.wait({ signal, timeout: 1 }).catch(() => {});
        if (i % batch === batch - 1) time.tick(1);
        if (i % 1_000 === 999) await time.runMicrotasks();
      }
      await time.tickAsync(1);
    };
    const cycles = batch === 1 ? n / 4 : n;
    await churn(2_000); // warm up
    const before = heapUsed();
    await churn(cycles);
    assertLess(
      (heapUsed() - before) / cycles,
      16,
      `bytes kept per timed-out waiter, ${batch} at a time`,
    );
  }
  assertEquals(evt.waiting, 1);
  evt.send();
  await keeper;
});
