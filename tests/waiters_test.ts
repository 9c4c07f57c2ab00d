// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The engine's room on its own: `Waiters` driven directly, its invariants
 * (event/waiters.ts, the list at the top of `Waiters`) checked after every
 * step, and the host helpers' policies. The public behaviour is tested
 * through `Event` everywhere else; this holds what only the room can show:
 * the tombstones it keeps, its heaps' order and the calls it makes.
 *
 * A failure prints fast-check's seed and path (FC_SEED, FC_PATH rerun it).
 */
import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import { stub } from "@std/testing/mock";
// Inline, as in model_test.ts: `deno task demo` must run with no npm registry.
// deno-lint-ignore no-import-prefix
import fc from "npm:fast-check@^4.10.2";
import { Waiters } from "../event/waiters.ts";
import { Alarm, backoff, LOCKED, READ_AGAIN, REOPEN } from "../event/host.ts";
import type { SignalLike } from "../event.ts";
import { FakeMonotonicTime } from "./_helpers.ts";

// What the room keeps, as the test reads it (the fields are the room's own).
interface Entry {
  resolve?: unknown;
  reject?: unknown;
  deadline?: number;
  order?: number;
  turn?: Turn;
  group?: Group;
}
interface Turn {
  heap: Entry[];
  live: number;
  dead: number;
}
interface Group {
  signal: SignalLike;
  waiters: Entry[];
  live: number;
}
interface Room {
  queue: Entry[];
  dead: number;
  heap: Entry[];
  heapDead: number;
  groups: Map<SignalLike, Group>;
  departed: number;
  current: boolean;
}

/** A signal the test fires itself, which may keep listeners it was asked to drop. */
class Switch implements SignalLike {
  aborted = false;
  reason: unknown = undefined;
  listeners: (() => void)[] = [];
  refuse: unknown = undefined;
  keepRemoved = false;
  addEventListener(_type: "abort", listener: () => void): void {
    if (this.refuse !== undefined) throw this.refuse;
    this.listeners.push(listener);
  }
  removeEventListener(_type: "abort", listener: () => void): void {
    if (!this.keepRemoved) {
      this.listeners = this.listeners.filter((l) => l !== listener);
    }
  }
  fire(reason: unknown): void {
    this.aborted = true;
    this.reason = reason;
    for (const listener of this.listeners.slice()) listener();
  }
}

const isHeap = (heap: Entry[]) =>
  heap.every((entry, i) => {
    if (i === 0) return true;
    const parent = heap[(i - 1) >> 1]!;
    return parent.deadline! < entry.deadline! ||
      (parent.deadline === entry.deadline && parent.order! < entry.order!);
  });

/** Every invariant the room states, and the bounds on what it keeps. */
function checkRoom(room: Room, turns: Set<Turn>, plain: Set<unknown>): void {
  const waiters = room.queue.filter((e) => !plain.has(e));
  for (const entry of waiters) {
    assertEquals(typeof entry.order, "number", "a queue entry is a waiter");
  }
  assertEquals(
    room.queue.filter((e) => e.resolve === undefined).length,
    room.dead,
    "queue tombstones counted",
  );
  assert(room.dead <= 32 || room.dead * 2 <= room.queue.length, "queue bound");
  // The send's heap: waiters with a deadline only, by (deadline, order).
  assert(
    room.heap.every((e) => Number.isFinite(e.deadline)),
    "heap: deadlines",
  );
  assert(isHeap(room.heap), "heap order");
  const heapDead = room.heap.filter((e) => e.resolve === undefined).length;
  assertEquals(heapDead, room.heapDead, "heap tombstones counted");
  assert(
    heapDead < room.heap.length || room.heap.length === 0,
    "dead heap kept",
  );
  assert(heapDead <= 32 || heapDead * 2 <= room.heap.length, "heap bound");
  // Each turn's heap, while the room is current.
  for (const turn of turns) {
    assert(isHeap(turn.heap), "turn heap order");
    const dead = turn.heap.filter((e) => e.resolve === undefined).length;
    assertEquals(dead, turn.dead, "turn tombstones counted");
    assertEquals(turn.heap.length - dead, turn.live, "turn live counted");
    assert(dead <= 32 || dead * 2 <= turn.heap.length, "turn heap bound");
    if (turn.live === 0) assertEquals(turn.heap.length, 0, "empty turn kept");
  }
  // Signal groups: only live ones, bounded.
  for (const [signal, group] of room.groups) {
    assertStrictEquals(group.signal, signal);
    assert(group.waiters.every((w) => w.group === group), "group members");
    const live = group.waiters.filter((w) => w.resolve !== undefined).length;
    assertEquals(live, group.live, "group live counted");
    assert(live > 0, "an empty group kept");
    assert(group.waiters.length <= 2 * live + 32, "group bound");
  }
  // Live waiters hold their turn; tombstones none.
  for (const entry of waiters) {
    if (entry.resolve === undefined) {
      assertStrictEquals(entry.turn, undefined, "a tombstone keeps its turn");
    } else if (Number.isFinite(entry.deadline)) {
      assert(room.heap.includes(entry), "a live timed waiter in the heap");
      assert(entry.turn!.heap.includes(entry), "and in its turn's heap");
    } else {
      assertStrictEquals(entry.turn, undefined);
    }
  }
}

interface Model {
  kind: "plain" | "waiter";
  signal: number | undefined;
  timeout: number;
  deadline: number;
  /** What it should settle with, once known; "" while it waits. */
  expected: string;
}

type Op =
  | { op: "wait"; signal: number | undefined; timeout: number }
  | { op: "plain" }
  | { op: "abort"; signal: number }
  | { op: "tick"; ms: number }
  | { op: "turn" }
  | { op: "refuse" };

const TIMEOUTS = [0, 5, 10, 10, 40, 2 ** 31 + 5];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("wait" as const),
      signal: fc.option(fc.nat(2), { nil: undefined }),
      timeout: fc.oneof(
        fc.constantFrom(...TIMEOUTS),
        fc.constant(Infinity),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "plain" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("abort" as const),
      signal: fc.nat(2),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("tick" as const),
      ms: fc.constantFrom(0, 1, 5, 10, 30, 2 ** 31),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: "turn" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "refuse" as const }) },
);

Deno.test("Waiters keeps its invariants and settles each waiter by its own rule, in order", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { maxLength: 120 }),
      fc.boolean(),
      async (ops, ok) => {
        using time = new FakeMonotonicTime(1_000);
        const waiters = new Waiters<string>(undefined, "wait() on Event");
        const room = waiters as unknown as Room;
        const signals = [new Switch(), new Switch(), new Switch()];
        const turns = new Set<Turn>();
        const plain = new Set<unknown>();
        const models: Model[] = [];
        // The order settlements happened in, and the order the model wants.
        const settled: [number, string][] = [];
        const expected: number[] = [];
        let shared: PromiseWithResolvers<string> | undefined;
        let refused = 0;
        const follow = (promise: Promise<string>, index: number) =>
          promise.then(
            (value) => settled.push([index, `value ${value}`]),
            (error) =>
              settled.push([
                index,
                error instanceof DOMException
                  ? `${error.name}: ${error.message}`
                  : String(error),
              ]),
          );
        const settle = (indices: number[], outcome: (m: Model) => string) => {
          for (const index of indices) {
            models[index]!.expected = outcome(models[index]!);
            expected.push(index);
          }
        };
        const pending = (when: (m: Model) => boolean) =>
          models.flatMap((m, i) =>
            m.kind === "waiter" && m.expected === "" && when(m) ? [i] : []
          );
        const added = (timeout: number, signal: number | undefined) => {
          models.push({
            kind: "waiter",
            signal,
            timeout,
            deadline: performance.now() + timeout,
            expected: "",
          });
          shared = undefined;
          const entry = room.queue.at(-1)!;
          if (entry.turn !== undefined) turns.add(entry.turn);
        };
        for (const step of ops) {
          if (step.op === "wait") {
            if (step.signal === undefined && step.timeout === Infinity) {
              continue;
            }
            const index = models.length;
            const signal = step.signal === undefined
              ? undefined
              : signals[step.signal]!;
            follow(waiters.add(signal, step.timeout), index);
            added(step.timeout, step.signal);
          } else if (step.op === "plain") {
            if (shared === undefined) {
              shared = Promise.withResolvers<string>();
              plain.add(shared);
              waiters.queue.push(shared);
            }
            follow(shared.promise, models.length);
            models.push({
              kind: "plain",
              signal: undefined,
              timeout: Infinity,
              deadline: Infinity,
              expected: "",
            });
          } else if (step.op === "abort") {
            const signal = signals[step.signal]!;
            signals[step.signal] = new Switch();
            signal.fire(`abort ${step.signal}`);
            settle(
              pending((m) => m.signal === step.signal),
              () => `abort ${step.signal}`,
            );
          } else if (step.op === "tick") {
            time.tick(step.ms);
            const due = pending((m) => m.deadline <= time.now);
            due.sort((a, b) =>
              models[a]!.deadline - models[b]!.deadline || a - b
            );
            settle(
              due,
              (m) =>
                `TimeoutError: wait() on Event timed out after ${m.timeout} ms`,
            );
          } else if (step.op === "turn") {
            await null;
          } else {
            // A signal that refuses its listener: that waiter alone fails.
            const signal = new Switch();
            const error = new Error(`refused ${refused++}`);
            signal.refuse = error;
            const index = models.length;
            follow(waiters.add(signal, 10), index);
            added(10, -1);
            settle([index], () => String(error));
          }
          checkRoom(room, turns, plain);
          const gone = models.filter((m) => m.kind === "waiter" && m.expected);
          assertEquals(room.departed, gone.length, "departed");
        }
        const rest = models.flatMap((m, i) => m.expected === "" ? [i] : []);
        waiters.wake(ok, "sent");
        settle(rest, () => ok ? "value sent" : "sent");
        assertStrictEquals(room.current, false);
        const departed = room.departed;
        // A signal that keeps a listener it was told to drop fires it after
        // the wake, and the timers' moments pass: stale, they do nothing.
        for (const signal of signals) {
          signal.keepRemoved = true;
          signal.fire("late");
        }
        time.tick(2 ** 32);
        assertEquals(
          room.departed,
          departed,
          "a stale listener or timer acted",
        );
        await null;
        await null;
        assertEquals(
          settled,
          expected.map((i) => [i, models[i]!.expected] as [number, string]),
        );
      },
    ),
    { numRuns: Number(Deno.env.get("FC_NUM_RUNS") ?? 300) },
  );
});

/** Adds `count` waiters in one turn, each with a signal of its own. */
function crowd(
  waiters: Waiters<string>,
  count: number,
  timeout: (i: number) => number,
) {
  const signals = Array.from({ length: count }, () => new Switch());
  const outcomes: string[] = [];
  for (const [i, signal] of signals.entries()) {
    waiters.add(signal, timeout(i)).then(
      (value) => outcomes.push(`${i} ${value}`),
      (error) => outcomes.push(`${i} ${error?.name ?? error}`),
    );
  }
  return { signals, outcomes };
}

Deno.test("Waiters compacts its queue, heaps and groups as most of a crowd leaves", async () => {
  using time = new FakeMonotonicTime(0);
  const waiters = new Waiters<string>(undefined, "wait() on Event");
  const room = waiters as unknown as Room;
  const { signals, outcomes } = crowd(waiters, 100, (i) => 100 + (i * 13) % 50);
  const turns = new Set([room.queue[0]!.turn!]);
  // Leaves in an order unlike the heap's: every third, then the rest.
  const leaving = [...signals.keys()].filter((i) => i % 3 !== 2)
    .sort((a, b) => (a * 7919) % 101 - (b * 7919) % 101);
  assertEquals(leaving.length, 67);
  const heaps = new Set<unknown>();
  for (const i of leaving) {
    signals[i]!.fire(`gone ${i}`);
    heaps.add(room.heap);
    checkRoom(room, turns, new Set());
  }
  assert(heaps.size > 1, "the heap was never compacted");
  assertEquals(room.heap.length - room.heapDead, 33);
  time.tick(200);
  checkRoom(room, turns, new Set());
  await null;
  assertEquals(outcomes.length, 100);
  const timedOut = outcomes.filter((o) => o.endsWith("TimeoutError"))
    .map((o) => Number(o.split(" ")[0]));
  assertEquals(
    timedOut,
    [...signals.keys()].filter((i) => i % 3 === 2)
      .sort((a, b) => (a * 13) % 50 - (b * 13) % 50 || a - b),
  );
  assertEquals(room.heap, []);
  assertEquals(room.groups.size, 0);
});

Deno.test("Waiters keeps its heap bound when a small crowd loses more than half", async () => {
  // 60 timed waiters, 40 leave: the 33rd leaves with more than half of the
  // heap dead, so only the "more than half" rule compacts it there.
  using time = new FakeMonotonicTime(0);
  const waiters = new Waiters<string>(undefined, "wait() on Event");
  const room = waiters as unknown as Room;
  const { signals, outcomes } = crowd(waiters, 60, (i) => 100 + i);
  const turns = new Set([room.queue[0]!.turn!]);
  for (const i of signals.keys()) {
    if (i % 3 === 2) continue;
    signals[i]!.fire(`gone ${i}`);
    checkRoom(room, turns, new Set());
  }
  assertEquals(room.heap.length - room.heapDead, 20);
  assert(room.heap.length < 60, "the heap was never compacted");
  time.tick(200);
  await null;
  assertEquals(
    outcomes.filter((o) => o.endsWith("TimeoutError")).length,
    20,
  );
});

Deno.test("Waiters fails the waiters of a turn whose re-arm throws, and only those", async () => {
  using time = new FakeMonotonicTime(0);
  const waiters = new Waiters<string>(undefined, "wait() on Event");
  const room = waiters as unknown as Room;
  // One turn: due at 10, 40 and 30; the one due at 40 leaves (a tombstone
  // below the top of the turn's heap once the first is popped).
  const { signals, outcomes } = crowd(waiters, 3, (i) => [10, 40, 30][i]!);
  const turns = new Set([room.queue[0]!.turn!]);
  signals[1]!.fire("gone");
  await null;
  const refusal = new Error("no timers");
  using _ = stub(globalThis, "setTimeout", () => {
    throw refusal;
  });
  time.tick(10);
  checkRoom(room, turns, new Set());
  await null;
  assertEquals(outcomes, ["1 gone", "0 TimeoutError", "2 Error"]);
  assertEquals(room.departed, 3);
});

Deno.test("Waiters leaves woken waiters alone when a re-arm re-enters with a wake and throws", async () => {
  using time = new FakeMonotonicTime(0);
  const waiters = new Waiters<string>(undefined, "wait() on Event");
  const room = waiters as unknown as Room;
  const { outcomes } = crowd(waiters, 2, (i) => [10, 30][i]!);
  await null;
  using _ = stub(globalThis, "setTimeout", () => {
    waiters.wake(true, "sent");
    throw new Error("no timers");
  });
  time.tick(10);
  assertEquals(room.departed, 1, "a woken waiter counted as left");
  await null;
  // Woken inside the re-arm, before the timeout is delivered.
  assertEquals(outcomes, ["1 sent", "0 TimeoutError"]);
});

Deno.test("Waiters ends each turn with one microtask and reads no clock for a waiter without a deadline", async () => {
  using _time = new FakeMonotonicTime(0);
  const waiters = new Waiters<string>(undefined, "wait() on Event");
  const room = waiters as unknown as Room;
  {
    using microtasks = stub(globalThis, "queueMicrotask");
    crowd(waiters, 10, () => 50);
    assertEquals(microtasks.calls.length, 1);
  }
  await null;
  const clock = stub(performance, "now", () => 0);
  try {
    crowd(waiters, 3, () => Infinity);
    assertEquals(clock.calls.length, 0);
  } finally {
    clock.restore();
  }
  assertEquals(room.heap.length, 10);
  waiters.wake(true, "sent");
});

Deno.test("backoff doubles from each policy's least pause to its most", () => {
  const pauses = (policy: typeof LOCKED) =>
    [0, 1, 2, 3, 20].map((tries) => backoff(tries, policy));
  assertEquals(pauses(LOCKED), [1, 2, 4, 8, 50]);
  assertEquals(pauses(READ_AGAIN), [10, 20, 40, 80, 1_000]);
  assertEquals(pauses(REOPEN), [10, 20, 40, 80, 5_000]);
});

Deno.test("Alarm rings once, for its latest deadline, when a timer it replaced fires anyway", () => {
  using time = new FakeMonotonicTime(0);
  // A host whose clearTimeout does nothing: replaced timers still fire.
  using _ = stub(globalThis, "clearTimeout");
  const rang: number[] = [];
  const alarm = new Alarm((now) => rang.push(now), () => true);
  alarm.set(100);
  alarm.set(50);
  time.tick(200);
  assertEquals(rang, [50]);
});
