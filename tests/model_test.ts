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
import { FakeMonotonicTime, steppedWallClock } from "./_helpers.ts";

const CONTROLLERS = 3;

/** What a signal's addEventListener does before it adds the listener. */
type Hostile = "throw" | Nested;
/**
 * Operations a hostile addEventListener or a sent object's `then` getter
 * may run: all synchronous.
 */
type Nested =
  | { op: "abort"; controller: number; withReason: boolean }
  | { op: "send"; promise?: "resolved" }
  | { op: "sendException" }
  | { op: "reset" }
  | { op: "waitSent" }
  | Aside;

/**
 * Sends another event of the run, which has a plain waiter, something its
 * own adoption handles: a resolved promise, a plain object, or an object
 * whose `then` getter throws. Its waiter must get that, and nothing of the
 * event being sent around it.
 */
type Aside = { op: "aside"; what: "promise" | "object" | "throwing" };

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
  /** The wall clock steps, as NTP does: it must change nothing. */
  | { op: "clockStep"; ms: number }
  /** A plain value, or a promise of one: settled, or settled by a later op. */
  | { op: "send"; promise?: "resolved" | "rejected" | "pending" }
  /**
   * An object that is no thenable, whose `then` getter runs operations the
   * first time it is read (re-entering this event, or sending another).
   */
  | { op: "sendGetter"; getter: Nested[] }
  | Aside
  /** Settles the oldest promise sent and still pending. */
  | { op: "settleSent" }
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
    /** The iterable the events come in; "proxy" passes a Proxy of one. */
    form: Form;
  };

/** Iterables that for...of takes, and one event that only looks like one. */
type Form = "array" | "set" | "generator" | "static" | "proxy";

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
  fc.record({
    op: fc.constant("aside" as const),
    what: fc.constantFrom(
      "promise" as const,
      "object" as const,
      "throwing" as const,
    ),
  }),
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
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("send" as const),
      promise: fc.constantFrom(
        "resolved" as const,
        "rejected" as const,
        "pending" as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "settleSent" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("sendGetter" as const),
      // A promise sent from a getter after a reset is adopted as the step
      // ends; from an addEventListener, a later wait of the turn would
      // join it while the model counts it sent, so only here.
      getter: fc.array(
        fc.oneof(
          nestedArb,
          fc.constant({ op: "send" as const, promise: "resolved" as const }),
        ),
        { minLength: 1, maxLength: 2 },
      ),
    }),
  },
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
      form: fc.constantFrom<Form>(
        "array",
        "array",
        "set",
        "generator",
        "static",
        "proxy",
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("clockStep" as const),
      ms: fc.constantFrom(-3_600_000, -50, 50, 3_600_000),
    }),
  },
);

/** Stands for "a TypeError" in a predicted outcome. */
const TYPE_ERROR = new TypeError("any TypeError");

/** The events of a first() or iterate() call, in the given form. */
function iterableOf(
  events: Event<unknown>[],
  form: Form,
): Iterable<Event<unknown>> {
  switch (form) {
    case "array":
      return events;
    case "set":
      return new Set(events);
    case "generator":
      return (function* () {
        yield* events;
      })();
    case "static":
      return class {
        static *[Symbol.iterator]() {
          yield* events;
        }
      };
    case "proxy":
      return [...events, new Proxy(events[0]!, {})];
  }
}

/** How a waiter ended, as the model predicts it or as it happened. */
type Outcome =
  | { kind: "value"; value: unknown }
  | { kind: "error"; error: unknown }
  | { kind: "timeout" };

/**
 * What one send gives its waiters. A fresh event has a generation with no
 * outcome; reset() starts a new one. A promise sent and still pending keeps
 * its generation open to waiters until it settles.
 */
interface Generation {
  outcome: Outcome | undefined;
  /** Settles the promise sent, if it is still pending. */
  settle: (() => Outcome) | undefined;
  /** The clock of the current turn's waiters with a deadline. */
  turnClock: ModelClock | undefined;
}

interface ModelWaiter {
  id: number;
  generation: Generation;
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

function newGeneration(): Generation {
  return { outcome: undefined, settle: undefined, turnClock: undefined };
}

/** The reference: plain arrays and a clock, obviously right. */
class Model {
  state: "fresh" | "value" | "exception" = "fresh";
  result: unknown = undefined;
  now = 0;
  pending: ModelWaiter[] = [];
  /** Outcomes in the order waiters must resume. */
  settled: [number, Outcome][] = [];
  generation: Generation = newGeneration();
  /** Every generation made, to start each step's turn in all of them. */
  generations: Generation[] = [this.generation];
  /** The generation each waiter belongs to, by id. */
  generationOf = new Map<number, Generation>();

  reset(): void {
    this.generation = newGeneration();
    this.generations.push(this.generation);
  }

  /** Settles every pending waiter of a generation, in wait() order. */
  deliver(generation: Generation, outcome: Outcome): void {
    generation.outcome = outcome;
    for (const waiter of [...this.pending]) {
      if (!waiter.selects && waiter.generation === generation) {
        this.settle(waiter, outcome);
      }
    }
  }

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
  // The wall clock, stepped by clockStep ops; time.tick() leaves it alone.
  using wall = steppedWallClock();
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
  const others: Event<unknown>[] = [];
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
    const generation = model.generation;
    const waiter: ModelWaiter = {
      id,
      generation,
      controller: step.controller,
      deadline: model.now + (step.timeout ?? Infinity),
    };
    model.generationOf.set(id, generation);
    const signal = options.signal;
    const aborted = signal?.aborted === true;
    // Its generation takes waiters while fresh or adopting a promise.
    const open = generation.outcome === undefined;
    // The event adds a listener only for a signal none of the generation's
    // waiters uses.
    const listens = signal !== undefined && !aborted && open &&
      !model.pending.some((w) =>
        !w.selects && w.controller === step.controller &&
        w.generation === generation
      );
    const hostileError = new Error("hostile addEventListener");
    const timerError = new Error("no timers here");
    /** Queues the waiter, as the event does before it calls out. */
    const commit = () => {
      model.pending.push(waiter);
      if (waiter.deadline === Infinity) return;
      const clock = generation.turnClock ??= { timerAt: Infinity, live: 0 };
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
    if (!open) {
      model.settled.push([id, generation.outcome!]);
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
    const other = new Event<unknown>(); // never sent
    if (step.op === "first") {
      watch(id, Event.first(iterableOf([evt, other], step.form), options));
    } else {
      watch(
        id,
        (async () => {
          const given = [];
          const events = iterableOf([evt], step.form);
          for await (const e of Event.iterate(events, options)) given.push(e);
          assertEquals(given.length, 1, "iterate() gives each event once");
          return given[0];
        })(),
      );
    }
    others.push(other);
    model.generationOf.set(id, model.generation);
    if (step.form === "proxy") {
      model.settled.push([id, { kind: "error", error: TYPE_ERROR }]);
    } else if (signal?.aborted) {
      model.settled.push([id, { kind: "error", error: signal.reason }]);
    } else if (model.state !== "fresh") {
      model.settled.push([id, { kind: "value", value: evt }]);
    } else {
      model.pending.push({
        id,
        generation: model.generation,
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
        const generation = model.generation;
        model.generationOf.set(id, generation);
        const waiter = {
          id,
          generation,
          controller: undefined,
          deadline: Infinity,
        };
        if (generation.outcome === undefined) model.pending.push(waiter);
        else model.settled.push([id, generation.outcome]);
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
      case "clockStep":
        wall.step += step.ms;
        return;
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
        const value = { value: nextValue++ };
        const error = new Error("sent");
        if (model.state !== "fresh") {
          expectMisuse(
            () => ok ? evt.send(value) : evt.sendException(error),
            "Trying to re-send() an already-triggered event.",
          );
          return;
        }
        let result: unknown = ok ? value : error;
        let outcome: Outcome | undefined = ok
          ? { kind: "value", value }
          : { kind: "error", error };
        let settle: (() => Outcome) | undefined;
        const promised = step.op === "send" ? step.promise : undefined;
        if (promised === "resolved") {
          result = Promise.resolve(value);
        } else if (promised === "rejected") {
          result = Promise.reject(error);
          outcome = { kind: "error", error };
        } else if (promised === "pending") {
          const { promise, resolve } = Promise.withResolvers<unknown>();
          result = promise;
          outcome = undefined;
          settle = () => {
            resolve(value);
            return { kind: "value", value };
          };
        }
        if (ok) evt.send(result);
        else evt.sendException(result);
        model.state = ok ? "value" : "exception";
        model.result = result;
        const generation = model.generation;
        if (outcome !== undefined) model.deliver(generation, outcome);
        else generation.settle = settle;
        // first() and iterate() come after, with the event, not its result.
        for (const waiter of [...model.pending]) {
          if (waiter.selects) {
            model.settle(waiter, { kind: "value", value: evt });
          }
        }
        return;
      }
      case "sendGetter": {
        const value = {
          value: nextValue++,
          reads: 0,
          get then() {
            // Read again by every promise resolved with it: it acts once.
            if (this.reads++ === 0) { for (const op of step.getter) apply(op); }
            return undefined;
          },
        };
        if (model.state !== "fresh") {
          expectMisuse(
            () => evt.send(value),
            "Trying to re-send() an already-triggered event.",
          );
          return;
        }
        // The state is sent before `then` is read: what the getter sees.
        const generation = model.generation;
        model.state = "value";
        model.result = value;
        // first() and iterate() are told before `then` is read.
        for (const waiter of [...model.pending]) {
          if (waiter.selects && waiter.generation === generation) {
            model.settle(waiter, { kind: "value", value: evt });
          }
        }
        evt.send(value);
        model.deliver(generation, { kind: "value", value });
        return;
      }
      case "aside": {
        const aside = new Event<unknown>();
        others.push(aside);
        const id = nextId++;
        watch(id, aside.wait());
        const generation = newGeneration();
        model.generations.push(generation);
        model.generationOf.set(id, generation);
        const value = { aside: nextValue++ };
        const error = new Error("then getter of an aside");
        if (step.what === "promise") aside.send(Promise.resolve(value));
        else if (step.what === "object") aside.send(value);
        else {
          aside.send({
            get then() {
              throw error;
            },
          });
        }
        model.settled.push([
          id,
          step.what === "throwing"
            ? { kind: "error", error }
            : { kind: "value", value },
        ]);
        return;
      }
      case "settleSent": {
        const generation = model.generations.find((g) =>
          g.settle !== undefined
        );
        if (generation === undefined) return;
        const outcome = generation.settle!();
        generation.settle = undefined;
        model.deliver(generation, outcome);
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
        model.reset();
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
    // Each step runs in a turn of its own.
    for (const generation of model.generations) {
      generation.turnClock = undefined;
    }
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
          if (outcome.error === TYPE_ERROR) {
            assert(actual.error instanceof TypeError, `select ${id}`);
          } else {
            assertStrictEquals(actual.error, outcome.error);
          }
        }
      }
    }
    // Order is promised within one generation (one send's waiters); timers
    // of two generations fire in the host's order.
    for (const generation of model.generations) {
      const ofIt = (list: [number, Outcome][]) =>
        inOrder(list).filter(([id]) =>
          model.generationOf.get(id) === generation
        );
      const expected = ofIt(model.settled);
      const got = ofIt(resumed);
      assertEquals(got.length, expected.length, "settled count");
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
    }
    for (const count of times.values()) assertEquals(count, 1);
    assertEquals(
      evt.waiting,
      model.pending.filter((w) => w.generation === model.generation).length,
      "waiting",
    );
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
