// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Speed of `Event` against native promises (the floor, `baseline: true` in
 * each group) and npm peers. `deno task bench` runs these with `deno bench`;
 * `deno task bench:report` runs the same cases interleaved and prints the
 * medians and ratios that the README's Performance table shows.
 *
 * Each case measures only what its group names (`start()` to `end()`); the
 * waiters it needs are set up before.
 *
 * @module
 */
// Inline, not in deno.json: `deno task` fetches every npm import listed there
// first, and `deno task demo` must run with no npm registry.
// deno-lint-ignore no-import-prefix
import { AsyncManualResetEvent } from "npm:@esfx/async-manualresetevent@^1.0.0";
// deno-lint-ignore no-import-prefix
import { DeferredPromise } from "npm:@open-draft/deferred-promise@^3.0.0";
// deno-lint-ignore no-import-prefix
import pDefer from "npm:p-defer@^4.0.1";
import { Event } from "./mod.ts";

/** Marks the measured part of a case, like `Deno.BenchContext`. */
export interface BenchTimer {
  /** Starts measuring. */
  start(): void;
  /** Stops measuring. */
  end(): void;
  /** What the run counted beside its time, for the report to show. */
  note?(text: string): void;
}

/** One benchmark: a group, a name, and a run that times itself. */
export interface BenchCase {
  /** Cases in one group are compared with each other. */
  group: string;
  /** What is measured. */
  name: string;
  /** The floor that the others in the group are compared with. */
  baseline?: boolean;
  /** One run; calls `start()` and `end()` around the part measured. */
  fn(timer: BenchTimer): Promise<void>;
}

/** Waiters in the fan-out groups; `BENCH_SCALE=0.01` for a quick smoke. */
const SCALE = Number(Deno.env.get("BENCH_SCALE") ?? "1");
const size = (n: number) => Math.max(1, Math.round(n * SCALE));

const ROUND_TRIPS = size(10_000);
const LONG = 3_600_000; // a timeout that never fires during a run

/** Starts `n` coroutines that each await `wait()`; settles when all resumed. */
function coroutines(
  n: number,
  wait: () => PromiseLike<unknown>,
): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  let left = n;
  for (let i = 0; i < n; i++) {
    (async () => {
      await wait();
      if (--left === 0) resolve();
    })();
  }
  return promise;
}

function roundTrip(
  name: string,
  baseline: boolean,
  once: (i: number) => Promise<unknown>,
  group = `round trip (x${ROUND_TRIPS})`,
): BenchCase {
  return {
    group,
    name,
    baseline,
    async fn(timer) {
      timer.start();
      for (let i = 0; i < ROUND_TRIPS; i++) await once(i);
      timer.end();
    },
  };
}

/** Fan-out: `send()` until `n` awaiting coroutines have resumed. */
function fanOut(
  group: string,
  name: string,
  baseline: boolean,
  n: number,
  prepare: () => { wait: () => PromiseLike<unknown>; send: () => void },
): BenchCase {
  return {
    group,
    name,
    baseline,
    async fn(timer) {
      const { wait, send } = prepare();
      const done = coroutines(n, wait);
      timer.start();
      send();
      await done;
      timer.end();
    },
  };
}

function fanOuts(n: number): BenchCase[] {
  const group = `fan-out (${n.toLocaleString("en")} waiters)`;
  return [
    fanOut(group, "native shared promise", true, n, () => {
      const { promise, resolve } = Promise.withResolvers<number>();
      return { wait: () => promise, send: () => resolve(1) };
    }),
    fanOut(group, "Event", false, n, () => {
      const evt = new Event<number>();
      return { wait: () => evt.wait(), send: () => evt.send(1) };
    }),
    fanOut(group, "@esfx/async-manualresetevent", false, n, () => {
      const event = new AsyncManualResetEvent();
      return { wait: () => event.wait(), send: () => event.set() };
    }),
    fanOut(group, "p-defer", false, n, () => {
      const deferred = pDefer<number>();
      return { wait: () => deferred.promise, send: () => deferred.resolve(1) };
    }),
    fanOut(group, "@open-draft/deferred-promise", false, n, () => {
      const deferred = new DeferredPromise<number>();
      // Its then() is looser than PromiseLike's; awaiting it works the same.
      const awaitable = deferred as unknown as Promise<number>;
      return { wait: () => awaitable, send: () => deferred.resolve(1) };
    }),
  ];
}

const TIMED = size(100_000);
const timedGroup = `timed fan-out (${TIMED.toLocaleString("en")} waiters)`;

/** Signal set-up: `n` waiters passing one `AbortSignal`, set-up timed. */
function signalSetUp(
  n: number,
  name: string,
  baseline: boolean,
  prepare: (signal: AbortSignal) => {
    wait: () => Promise<unknown>;
    send: () => void;
  },
): BenchCase {
  return {
    group: `shared-signal set-up (${n.toLocaleString("en")} waiters)`,
    name,
    baseline,
    async fn(timer) {
      const controller = new AbortController();
      const { wait, send } = prepare(controller.signal);
      timer.start();
      const done = coroutines(n, wait);
      timer.end();
      send();
      await done;
    },
  };
}

/** One listener per waiter: what a naive implementation does. */
function perWaiterListener(signal: AbortSignal) {
  const { promise, resolve } = Promise.withResolvers<number>();
  return {
    wait: () =>
      new Promise((res, rej) => {
        signal.addEventListener("abort", () => rej(signal.reason), {
          once: true,
        });
        promise.then(res);
      }),
    send: () => resolve(1),
  };
}

const FIRSTS = size(10_000);

/**
 * First of `n` events: `FIRSTS` times, make `n` fresh events, wait for the
 * first, send one of them, await. `Promise.race()` of their `wait()`s is
 * the floor, but it leaks when one event outlives many races.
 */
function firstOf(
  n: number,
  name: string,
  baseline: boolean,
  first: (events: Event<number>[]) => Promise<unknown>,
): BenchCase {
  return {
    group: `first of ${n} events (x${FIRSTS})`,
    name,
    baseline,
    async fn(timer) {
      timer.start();
      for (let i = 0; i < FIRSTS; i++) {
        const events = Array.from({ length: n }, () => new Event<number>());
        const done = first(events);
        events[i % n]!.send(i);
        await done;
      }
      timer.end();
    },
  };
}

/**
 * Draining `Event.iterate()` over `n` events all sent before the first
 * `next()`, against `for await` over the same array (the floor of async
 * iteration). Equal ratios at 10,000 and 400,000 events mean linear.
 */
function iterateSent(n: number, name: string, baseline: boolean): BenchCase {
  return {
    group: `iterate ${n.toLocaleString("en")} sent events`,
    name,
    baseline,
    async fn(timer) {
      const events = Array.from({ length: n }, () => new Event<number>());
      for (const evt of events) evt.send(1);
      let given = 0;
      timer.start();
      const source = baseline ? events : Event.iterate(events);
      for await (const _ of source) given++;
      timer.end();
      if (given !== n) throw new Error(`gave ${given} of ${n} events`);
    },
  };
}

const SPREAD_TURNS = 1_000;

/**
 * Timed waiters spread over turns, two a turn, a near deadline and a far
 * one, so that each turn's own deadlines interleave with other turns':
 * runs until every one timed out, and notes how many `setTimeout` calls the
 * run made. The time is mostly the deadlines themselves; the count is the
 * figure (linear: at most two a waiter).
 */
function spreadTurns(
  name: string,
  baseline: boolean,
  wait: (timeout: number) => Promise<unknown>,
): BenchCase {
  return {
    group: `timeouts spread over ${SPREAD_TURNS.toLocaleString("en")} turns (${
      (2 * SPREAD_TURNS).toLocaleString("en")
    } waiters)`,
    name,
    baseline,
    async fn(timer) {
      const realSetTimeout = globalThis.setTimeout;
      let calls = 0;
      globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
        calls++;
        return realSetTimeout(...args);
      }) as typeof setTimeout;
      try {
        const timedOut: Promise<unknown>[] = [];
        timer.start();
        for (let turn = 0; turn < SPREAD_TURNS; turn++) {
          timedOut.push(wait(1 + turn % 100).catch(() => {}));
          timedOut.push(wait(150).catch(() => {}));
          await Promise.resolve(); // the next turn
        }
        await Promise.all(timedOut);
        timer.end();
      } finally {
        globalThis.setTimeout = realSetTimeout;
      }
      timer.note?.(`${calls.toLocaleString("en")} setTimeout calls`);
    },
  };
}

/** Every case, in report order. */
export const CASES: BenchCase[] = [
  roundTrip("Promise.withResolvers()", true, (i) => {
    const { promise, resolve } = Promise.withResolvers<number>();
    const resumed = (async () => await promise)();
    resolve(i);
    return resumed;
  }),
  roundTrip("Event", false, (i) => {
    const evt = new Event<number>();
    const resumed = (async () => await evt.wait())();
    evt.send(i);
    return resumed;
  }),
  roundTrip("@esfx/async-manualresetevent", false, () => {
    const event = new AsyncManualResetEvent();
    const resumed = (async () => await event.wait())();
    event.set();
    return resumed;
  }),
  roundTrip("p-defer", false, (i) => {
    const deferred = pDefer<number>();
    const resumed = (async () => await deferred.promise)();
    deferred.resolve(i);
    return resumed;
  }),
  roundTrip("@open-draft/deferred-promise", false, (i) => {
    const deferred = new DeferredPromise<number>();
    const resumed = (async () => await deferred)();
    deferred.resolve(i);
    return resumed;
  }),
  roundTrip("Promise.withResolvers()", true, (i) => {
    const { promise, resolve } = Promise.withResolvers<{ i: number }>();
    const resumed = (async () => await promise)();
    resolve({ i });
    return resumed;
  }, `round trip sending an object (x${ROUND_TRIPS})`),
  roundTrip("Event", false, (i) => {
    const evt = new Event<{ i: number }>();
    const resumed = (async () => await evt.wait())();
    evt.send({ i });
    return resumed;
  }, `round trip sending an object (x${ROUND_TRIPS})`),
  ...fanOuts(size(1_000)),
  ...fanOuts(size(100_000)),
  fanOut(timedGroup, "native shared promise", true, TIMED, () => {
    const { promise, resolve } = Promise.withResolvers<number>();
    return { wait: () => promise, send: () => resolve(1) };
  }),
  fanOut(timedGroup, "Event, plain wait()", false, TIMED, () => {
    const evt = new Event<number>();
    return { wait: () => evt.wait(), send: () => evt.send(1) };
  }),
  fanOut(timedGroup, "Event, wait({ timeout })", false, TIMED, () => {
    const evt = new Event<number>();
    return { wait: () => evt.wait({ timeout: LONG }), send: () => evt.send(1) };
  }),
  fanOut(timedGroup, "a setTimeout() per waiter", false, TIMED, () => {
    const waiters: [
      (value: number) => void,
      ReturnType<typeof setTimeout>,
    ][] = [];
    return {
      wait: () =>
        new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("timeout")), LONG);
          waiters.push([resolve, timer]);
        }),
      send: () => {
        for (const [resolve, timer] of waiters) {
          clearTimeout(timer);
          resolve(1);
        }
      },
    };
  }),
  spreadTurns(
    "a setTimeout() per waiter",
    true,
    (timeout) =>
      new Promise((_, reject) => {
        setTimeout(() => reject(new Error("timeout")), timeout);
      }),
  ),
  (() => {
    const evt = new Event<void>();
    return spreadTurns(
      "Event, wait({ timeout })",
      false,
      (timeout) => evt.wait({ timeout }),
    );
  })(),
  ...[2, 100].flatMap((n) => [
    firstOf(
      n,
      "Promise.race() of wait()s (leaks)",
      true,
      (events) => Promise.race(events.map((evt) => evt.wait())),
    ),
    firstOf(n, "Event.first()", false, (events) => Event.first(events)),
  ]),
  ...[size(10_000), size(400_000)].flatMap((n) => [
    iterateSent(n, "for await over the array", true),
    iterateSent(n, "Event.iterate()", false),
  ]),
  ...[size(5_000), size(50_000)].flatMap((n) => [
    signalSetUp(n, "native shared promise, no signal", true, () => {
      const { promise, resolve } = Promise.withResolvers<number>();
      return { wait: () => promise, send: () => resolve(1) };
    }),
    signalSetUp(n, "Event, wait({ signal })", false, (signal) => {
      const evt = new Event<number>();
      return { wait: () => evt.wait({ signal }), send: () => evt.send(1) };
    }),
    // Quadratic: measured at the smaller size only.
    ...(n === size(5_000)
      ? [signalSetUp(n, "a listener per waiter", false, perWaiterListener)]
      : []),
  ]),
];

for (const { group, name, baseline, fn } of CASES) {
  Deno.bench({
    name,
    group,
    baseline: baseline ?? false,
    // deno bench awaits only functions declared async.
    async fn(b) {
      await fn(b);
    },
  });
}
