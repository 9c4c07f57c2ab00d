// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Model-based test: random sequences of every operation, run on `Event` and
 * on a trivially correct model, compared after every step.
 *
 * A failure prints fast-check's seed and path; rerun exactly that case with
 * `FC_SEED=<seed> FC_PATH=<path> deno task test tests/model_test.ts`.
 * `FC_NUM_RUNS` sets the number of runs (`deno task test:deep` runs many).
 */
import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import { stub } from "@std/testing/mock";
// Inline, not in deno.json: `deno task` fetches every npm import listed there
// first, and `deno task demo` must run with no npm registry.
// deno-lint-ignore no-import-prefix
import fc from "npm:fast-check@^4.10.2";
import { Event, EventStateError, type WaitOptions } from "../mod.ts";
import { FakeMonotonicTime } from "./_helpers.ts";

const CONTROLLERS = 3;

/** What a signal's addEventListener does before it adds the listener. */
type Hostile = "throw" | Nested;
/** Operations a hostile addEventListener may run: all synchronous. */
type Nested =
  | { op: "abort"; controller: number; withReason: boolean }
  | { op: "send" }
  | { op: "sendException" }
  | { op: "reset" }
  | { op: "waitSent" };

type Op =
  | {
    op: "wait";
    controller: number | undefined;
    timeout: number | undefined;
    /** Run by the signal's addEventListener, if the event calls it. */
    hostile: Hostile | undefined;
    /** setTimeout throws during this wait() call. */
    noTimers: boolean;
  }
  | { op: "abort"; controller: number; withReason: boolean }
  | { op: "advance"; ms: number }
  | { op: "send" }
  | { op: "sendException" }
  | { op: "reset" }
  | { op: "poll" }
  | { op: "waitSent" }
  /** Several wait() calls in one turn: their deadlines share a clock. */
  | { op: "turn"; waits: Extract<Op, { op: "wait" }>[] }
  | {
    /** Event.first() or a whole Event.iterate() loop over the event. */
    op: "first" | "iterate";
    controller: number | undefined;
    timeout: number | undefined;
  };

const abortArb = fc.record({
  op: fc.constant("abort" as const),
  controller: fc.nat(CONTROLLERS - 1),
  withReason: fc.boolean(),
});

const nestedArb: fc.Arbitrary<Nested> = fc.oneof(
  abortArb,
  fc.constant({ op: "send" as const }),
  fc.constant({ op: "sendException" as const }),
  fc.constant({ op: "reset" as const }),
  fc.constant({ op: "waitSent" as const }),
);

const waitArb = fc.record({
  op: fc.constant("wait" as const),
  controller: fc.option(fc.nat(CONTROLLERS - 1), { nil: undefined }),
  timeout: fc.option(fc.constantFrom(0, 1, 5, 10, 50, Infinity), {
    nil: undefined,
  }),
  hostile: fc.option(
    fc.oneof(fc.constant("throw" as const), nestedArb),
    { nil: undefined, freq: 3 },
  ),
  noTimers: fc.constantFrom(false, false, false, true),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: waitArb },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("turn" as const),
      waits: fc.array(waitArb, { minLength: 2, maxLength: 4 }),
    }),
  },
  { weight: 2, arbitrary: abortArb },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      ms: fc.constantFrom(0, 1, 4, 5, 10, 60),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: "send" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "sendException" as const }) },
  { weight: 2, arbitrary: fc.constant({ op: "reset" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "poll" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "waitSent" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom("first" as const, "iterate" as const),
      controller: fc.option(fc.nat(CONTROLLERS - 1), { nil: undefined }),
      timeout: fc.option(fc.constantFrom(0, 5, 10, Infinity), {
        nil: undefined,
      }),
    }),
  },
);

/** How a waiter ended, as the model predicts it or as it happened. */
type Outcome =
  | { kind: "value"; value: unknown }
  | { kind: "error"; error: unknown }
  | { kind: "timeout" };

interface ModelWaiter {
  id: number;
  controller: number | undefined;
  deadline: number;
  /** A first() or iterate() call: it resumes after the event's waiters. */
  selects?: boolean;
  /** The timer of the waiters with a deadline that came in its turn. */
  clock?: ModelClock;
}

/** One turn's timer: armed at or before its waiters' earliest deadline. */
interface ModelClock {
  timerAt: number;
  live: number;
}

/** The reference: plain arrays and a clock, obviously right. */
class Model {
  state: "fresh" | "value" | "exception" = "fresh";
  result: unknown = undefined;
  now = 0;
  pending: ModelWaiter[] = [];
  /** Outcomes in the order waiters must resume. */
  settled: [number, Outcome][] = [];
  /** The clock of the current turn: every step is a turn of its own. */
  turnClock: ModelClock | undefined = undefined;

  settle(waiter: ModelWaiter, outcome: Outcome): void {
    this.pending = this.pending.filter((w) => w !== waiter);
    const clock = waiter.clock;
    if (clock !== undefined && --clock.live === 0) clock.timerAt = Infinity;
    this.settled.push([waiter.id, outcome]);
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await null;
}

/** Runs one sequence on Event and on the model, comparing every step. */
async function run(ops: Op[]): Promise<void> {
  using time = new FakeMonotonicTime(0);
  const evt = new Event<unknown>();
  const model = new Model();
  const controllers = Array.from({ length: CONTROLLERS }, () => {
    const controller = new AbortController();
    const signal = controller.signal;
    // Track this signal's listeners, to prove none is left behind.
    const live = new Set<unknown>();
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    const entry = {
      controller,
      listeners: () => signal.aborted ? 0 : live.size,
      adds: 0,
      /** Runs inside the next addEventListener call, before the real add. */
      hook: undefined as (() => void) | undefined,
    };
    signal.addEventListener = (...args: Parameters<typeof add>) => {
      entry.adds++;
      const hook = entry.hook;
      entry.hook = undefined;
      hook?.();
      live.add(args[1]);
      add(...args);
    };
    signal.removeEventListener = (...args: Parameters<typeof remove>) => {
      live.delete(args[1]);
      remove(...args);
    };
    return entry;
  });
  const resumed: [number, Outcome][] = [];
  /** Ids of first() and iterate() calls. */
  const selecting = new Set<number>();
  /** The never-sent second events of first() calls. */
  const others: Event[] = [];
  const times = new Map<number, number>();
  let nextId = 0;
  let nextValue = 0;

  function watch(id: number, promise: Promise<unknown>): void {
    const done = (outcome: Outcome) => {
      times.set(id, (times.get(id) ?? 0) + 1);
      resumed.push([id, outcome]);
    };
    promise.then(
      (value) => done({ kind: "value", value }),
      (error) =>
        done(
          error instanceof DOMException && error.name === "TimeoutError"
            ? { kind: "timeout" }
            : { kind: "error", error },
        ),
    );
  }

  function expectMisuse(fn: () => void, message: string): void {
    let thrown: unknown;
    try {
      fn();
    } catch (error) {
      thrown = error;
    }
    assert(thrown instanceof EventStateError, `expected ${message}`);
    assertEquals(thrown.message, message);
  }

  function wait(step: Extract<Op, { op: "wait" }>): void {
    const id = nextId++;
    const options: WaitOptions = {};
    const entry = step.controller === undefined
      ? undefined
      : controllers[step.controller]!;
    if (entry !== undefined) options.signal = entry.controller.signal;
    if (step.timeout !== undefined) options.timeout = step.timeout;
    const waiter: ModelWaiter = {
      id,
      controller: step.controller,
      deadline: model.now + (step.timeout ?? Infinity),
    };
    const signal = options.signal;
    const aborted = signal?.aborted === true;
    const state = model.state;
    // The event adds a listener only for a signal none of its waiters uses.
    const listens = signal !== undefined && !aborted && state === "fresh" &&
      !model.pending.some((w) =>
        !w.selects && w.controller === step.controller
      );
    const hostileError = new Error("hostile addEventListener");
    const timerError = new Error("no timers here");
    /** Queues the waiter, as the event does before it calls out. */
    const commit = () => {
      model.pending.push(waiter);
      if (waiter.deadline === Infinity) return;
      const clock = model.turnClock ??= { timerAt: Infinity, live: 0 };
      clock.live++;
      waiter.clock = clock;
    };
    if (listens) {
      entry!.hook = () => {
        commit();
        if (step.hostile === "throw") throw hostileError;
        if (step.hostile !== undefined) apply(step.hostile);
      };
    }
    const adds = entry?.adds ?? 0;
    let promise: Promise<unknown>;
    {
      using _ = step.noTimers
        ? stub(globalThis, "setTimeout", () => {
          throw timerError;
        })
        : undefined;
      try {
        promise = step.controller === undefined && step.timeout === undefined
          ? evt.wait()
          : evt.wait(options);
      } finally {
        if (entry !== undefined) entry.hook = undefined;
      }
    }
    if (entry !== undefined) {
      assertEquals(
        entry.adds - adds,
        listens ? 1 : 0,
        "addEventListener calls",
      );
    }
    watch(id, promise);

    // Replay the call on the model.
    if (aborted) {
      model.settled.push([id, { kind: "error", error: signal!.reason }]);
      return;
    }
    if (state !== "fresh") {
      model.settled.push([
        id,
        state === "value"
          ? { kind: "value", value: model.result }
          : { kind: "error", error: model.result },
      ]);
      return;
    }
    if (!listens) commit();
    if (listens && step.hostile === "throw") {
      model.settle(waiter, { kind: "error", error: hostileError });
      return;
    }
    // Gone already if the hook's operation settled it.
    if (!model.pending.includes(waiter)) return;
    const clock = waiter.clock;
    if (clock !== undefined && waiter.deadline < clock.timerAt) {
      if (step.noTimers) {
        model.settle(waiter, { kind: "error", error: timerError });
      } else {
        clock.timerAt = waiter.deadline;
      }
    }
  }

  /** Event.first() or a for-await loop over Event.iterate(), replayed. */
  function select(step: Extract<Op, { op: "first" | "iterate" }>): void {
    const id = nextId++;
    const options: WaitOptions = {};
    const signal = step.controller === undefined
      ? undefined
      : controllers[step.controller]!.controller.signal;
    if (signal !== undefined) options.signal = signal;
    if (step.timeout !== undefined) options.timeout = step.timeout;
    selecting.add(id);
    const other = new Event(); // never sent
    if (step.op === "first") {
      watch(id, Event.first([evt, other], options));
    } else {
      watch(
        id,
        (async () => {
          const given = [];
          for await (const e of Event.iterate([evt], options)) given.push(e);
          assertEquals(given.length, 1, "iterate() gives each event once");
          return given[0];
        })(),
      );
    }
    others.push(other);
    if (signal?.aborted) {
      model.settled.push([id, { kind: "error", error: signal.reason }]);
    } else if (model.state !== "fresh") {
      model.settled.push([id, { kind: "value", value: evt }]);
    } else {
      model.pending.push({
        id,
        controller: step.controller,
        deadline: model.now + (step.timeout ?? Infinity),
        selects: true,
      });
    }
  }

  function apply(step: Op): void {
    switch (step.op) {
      case "wait":
        return wait(step);
      case "turn":
        for (const one of step.waits) wait(one);
        return;
      case "first":
      case "iterate":
        return select(step);
      case "waitSent": {
        // A plain wait() that is dropped: must not disturb anything.
        const id = nextId++;
        watch(id, evt.wait());
        const waiter = { id, controller: undefined, deadline: Infinity };
        if (model.state === "fresh") model.pending.push(waiter);
        else {
          model.settled.push([
            id,
            model.state === "value"
              ? { kind: "value", value: model.result }
              : { kind: "error", error: model.result },
          ]);
        }
        return;
      }
      case "abort": {
        const { controller } = controllers[step.controller]!;
        if (controller.signal.aborted) return;
        controller.abort(step.withReason ? new Error("reason") : undefined);
        for (const waiter of [...model.pending]) {
          if (waiter.controller === step.controller) {
            model.settle(waiter, {
              kind: "error",
              error: controller.signal.reason,
            });
          }
        }
        return;
      }
      case "advance": {
        time.tick(step.ms);
        model.now += step.ms;
        const expired = model.pending
          .filter((w) => w.deadline <= model.now)
          .sort((a, b) => a.deadline - b.deadline || a.id - b.id);
        for (const waiter of expired) {
          model.settle(waiter, { kind: "timeout" });
        }
        return;
      }
      case "send":
      case "sendException": {
        const ok = step.op === "send";
        const result = ok ? { value: nextValue++ } : new Error("sent");
        if (model.state !== "fresh") {
          expectMisuse(
            () => ok ? evt.send(result) : evt.sendException(result),
            "Trying to re-send() an already-triggered event.",
          );
          return;
        }
        if (ok) evt.send(result);
        else evt.sendException(result);
        model.state = ok ? "value" : "exception";
        model.result = result;
        for (const waiter of [...model.pending]) {
          if (waiter.selects) continue;
          model.settle(
            waiter,
            ok
              ? { kind: "value", value: result }
              : { kind: "error", error: result },
          );
        }
        // first() and iterate() come after, with the event, not its result.
        for (const waiter of [...model.pending]) {
          model.settle(waiter, { kind: "value", value: evt });
        }
        return;
      }
      case "reset": {
        if (model.state === "fresh") {
          expectMisuse(
            () => evt.reset(),
            "Trying to re-reset() a fresh event.",
          );
          return;
        }
        evt.reset();
        model.state = "fresh";
        model.result = undefined;
        return;
      }
      case "poll": {
        const notReady = Symbol("not ready");
        if (model.state === "exception") {
          let thrown: unknown;
          try {
            evt.poll(notReady);
          } catch (error) {
            thrown = error;
          }
          assertStrictEquals(thrown, model.result);
        } else {
          assertStrictEquals(
            evt.poll(notReady),
            model.state === "value" ? model.result : notReady,
          );
        }
        assertStrictEquals(
          evt.pollResult(notReady),
          model.state === "value" ? model.result : notReady,
        );
        assertStrictEquals(
          evt.pollException(notReady),
          model.state === "exception" ? model.result : notReady,
        );
        return;
      }
    }
  }

  for (const step of ops) {
    model.turnClock = undefined; // each step runs in a turn of its own
    apply(step);
    await flush();

    // Every waiter settled exactly once, in the model's order, as predicted.
    // first() and iterate() have their own listeners and timers: their
    // order against the event's waiters on an abort or a timeout is the
    // platform's, so only their outcome is compared.
    assertEquals(resumed.length, model.settled.length, "settled count");
    const inOrder = (list: [number, Outcome][]) =>
      list.filter(([id]) => !selecting.has(id));
    const byId = new Map(resumed);
    for (const [id, outcome] of model.settled) {
      if (selecting.has(id)) {
        const actual = byId.get(id);
        assert(actual !== undefined, `select ${id} did not settle`);
        assertEquals(actual.kind, outcome.kind, `outcome of select ${id}`);
        if (outcome.kind === "value" && actual.kind === "value") {
          assertStrictEquals(actual.value, outcome.value);
        } else if (outcome.kind === "error" && actual.kind === "error") {
          assertStrictEquals(actual.error, outcome.error);
        }
      }
    }
    const expected = inOrder(model.settled);
    const got = inOrder(resumed);
    for (const [i, [id, outcome]] of expected.entries()) {
      const [actualId, actual] = got[i]!;
      assertEquals(actualId, id, `waiter resumed out of order at ${i}`);
      assertEquals(actual.kind, outcome.kind, `outcome of waiter ${id}`);
      if (outcome.kind === "value" && actual.kind === "value") {
        assertStrictEquals(actual.value, outcome.value);
      } else if (outcome.kind === "error" && actual.kind === "error") {
        assertStrictEquals(actual.error, outcome.error);
      }
    }
    for (const count of times.values()) assertEquals(count, 1);
    assertEquals(evt.waiting, model.pending.length, "waiting");
    assertEquals(evt.ready(), model.state !== "fresh", "ready()");
    assertEquals(evt.hasResult(), model.state === "value", "hasResult()");
    assertEquals(
      evt.hasException(),
      model.state === "exception",
      "hasException()",
    );
    if (model.pending.length === 0) {
      // Nothing left: no abort listener, no timer.
      for (const [i, c] of controllers.entries()) {
        assertEquals(c.listeners(), 0, `listener left on signal ${i}`);
      }
      assert(!time.next(), "a timer was left behind");
      for (const other of others) assertEquals(other.waiting, 0);
    }
  }
}

function numRuns(fallback: number): number {
  const runs = Deno.env.get("FC_NUM_RUNS");
  return runs === undefined ? fallback : Number(runs);
}

Deno.test("Event matches its model under random operation sequences", async () => {
  const seed = Deno.env.get("FC_SEED");
  const path = Deno.env.get("FC_PATH");
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), run),
    {
      numRuns: numRuns(2_000),
      ...(seed === undefined ? {} : { seed: Number(seed) }),
      ...(path === undefined ? {} : { path }),
    },
  );
});
