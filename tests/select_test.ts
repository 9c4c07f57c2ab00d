// Copyright 2026 the @seed/event authors. MIT license.
/** Event.first() and Event.iterate(): waiting on several events at once. */
import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { assertSpyCalls, spy, stub } from "@std/testing/mock";
import { Event, type EventIterator, WAITABLE, type Waitable } from "../mod.ts";
import {
  assertTimesOut,
  assertType,
  countedSignal,
  type Exact,
  FakeMonotonicTime,
  settled,
  steppedWallClock,
  tickKeepingStubs,
} from "./_helpers.ts";

async function collect<E>(iterator: AsyncIterable<E>): Promise<E[]> {
  const items: E[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

Deno.test("Event.first() resolves with the first event sent", async (t) => {
  await t.step("one sent later", async () => {
    const [a, b] = [new Event<number>(), new Event<number>()];
    const first = Event.first([a, b]);
    assertEquals([a.waiting, b.waiting], [1, 1]);
    b.send(2);
    assertStrictEquals(await first, b);
    assertEquals([a.waiting, b.waiting], [0, 0]);
  });
  await t.step("two sent in one turn: the first sent wins", async () => {
    const [a, b] = [new Event(), new Event()];
    const first = Event.first([a, b]);
    b.send();
    a.send();
    assertStrictEquals(await first, b);
  });
  await t.step("sent an exception: resolves, never rejects", async () => {
    const [a, b] = [new Event(), new Event()];
    const first = Event.first([a, b]);
    const boom = new Error("boom");
    a.sendException(boom);
    assertStrictEquals(await first, a);
    assertStrictEquals(a.pollException(), boom);
  });
  await t.step(
    "sent a thenable: ready at once, not when it settles",
    async () => {
      const [a, b] = [new Event<Promise<number>>(), new Event<number>()];
      const first = Event.first<Event<Promise<number>> | Event<number>>([a, b]);
      a.send(new Promise(() => {}));
      b.send(1);
      assertStrictEquals(await first, a);
    },
  );
});

Deno.test("Event.first() prefers events already ready, in argument order", async () => {
  const [a, b, c] = [new Event<string>(), new Event<string>(), new Event()];
  c.send();
  b.send("b");
  a.send("a");
  assertStrictEquals(await Event.first([c, b, a]), c);
  assertStrictEquals(await Event.first([b, c, a]), b);
  const fresh = new Event();
  assertStrictEquals(await Event.first([fresh, a, b]), a);
  assertEquals(fresh.waiting, 0);
});

Deno.test("Event.first() takes the same event twice", async () => {
  const [a, b] = [new Event(), new Event()];
  const first = Event.first([a, a, b, a]);
  assertEquals(a.waiting, 1);
  a.send();
  assertStrictEquals(await first, a);
  assertEquals([a.waiting, b.waiting], [0, 0]);
});

Deno.test("Event.first() takes any iterable of events", async () => {
  const [a, b] = [new Event(), new Event()];
  function* events() {
    yield a;
    yield b;
  }
  const first = Event.first(events());
  b.send();
  assertStrictEquals(await first, b);
  assertStrictEquals(await Event.first(new Set([a, b])), b);
});

Deno.test("Event.first() leaves other waiters of the events alone", async () => {
  const [a, b] = [new Event<number>(), new Event<number>()];
  const plain = a.wait();
  const first = Event.first([a, b]);
  b.send(2);
  assertStrictEquals(await first, b);
  assertEquals(a.waiting, 1);
  a.send(1);
  assertEquals(await plain, 1);
});

Deno.test("Event.first() resumes after the event's own waiters", async () => {
  const evt = new Event();
  const log: string[] = [];
  const first = Event.first([evt]).then(() => log.push("first"));
  const waiting = evt.wait().then(() => log.push("wait"));
  evt.send();
  await Promise.all([first, waiting]);
  assertEquals(log, ["wait", "first"]);
});

Deno.test("Event.first() signal and timeout bound the whole call", async (t) => {
  await t.step("aborted while waiting: the signal's reason", async () => {
    const [a, b] = [new Event(), new Event()];
    const { controller, signal, listeners } = countedSignal();
    const first = Event.first([a, b], { signal });
    assertEquals(listeners(), 1);
    const reason = new Error("stop");
    controller.abort(reason);
    assertStrictEquals(await assertRejects(() => first), reason);
    assertEquals([a.waiting, b.waiting], [0, 0]);
  });
  await t.step(
    "already aborted: rejects even if an event is ready",
    async () => {
      const a = new Event();
      a.send();
      const controller = new AbortController();
      controller.abort("early");
      const first = Event.first([a], { signal: controller.signal });
      assertEquals(await assertRejects(() => first), "early");
    },
  );
  await t.step(
    "sent first: the listener and the timer are removed",
    async () => {
      using time = new FakeMonotonicTime();
      const [a, b] = [new Event(), new Event()];
      const { signal, listeners } = countedSignal();
      const first = Event.first([a, b], { signal, timeout: 100 });
      a.send();
      assertStrictEquals(await first, a);
      assertEquals(listeners(), 0);
      assertFalse(time.next(), "a timer was left behind");
      assertEquals(b.waiting, 0);
    },
  );
  await t.step("timed out: a TimeoutError that names the timeout", async () => {
    using time = new FakeMonotonicTime();
    const [a, b] = [new Event(), new Event()];
    const first = Event.first([a, b], { timeout: 100 });
    await time.tickAsync(99);
    assertFalse(await settled(first));
    await time.tickAsync(1);
    const error = await assertTimesOut(first);
    assertEquals(
      error.message,
      "Event.first() on 2 events timed out after 100 ms",
    );
    assertEquals([a.waiting, b.waiting], [0, 0]);
    assertEquals([a.ready(), b.ready()], [false, false]);
  });
  await t.step(
    "a timeout above setTimeout's limit waits the full time",
    async () => {
      using time = new FakeMonotonicTime();
      const a = new Event();
      const first = Event.first([a], { timeout: 2 ** 31 + 5 });
      await time.tickAsync(2 ** 31 + 4);
      assertFalse(await settled(first));
      await time.tickAsync(1);
      await assertTimesOut(first);
    },
  );
});

Deno.test("Event.first() and Event.iterate() name the call and its events when they time out", async (t) => {
  const named = (name: string) => new Event({ name });
  const cases: [string, Event[], string][] = [
    ["first", [new Event()], "Event.first() on 1 event"],
    [
      "first",
      [named("a"), new Event(), named("b")],
      'Event.first() on 3 events ("a", "b" and 1 unnamed)',
    ],
    [
      "first",
      ["a", "b", "c"].map(named),
      'Event.first() on 3 events ("a", "b" and "c")',
    ],
    [
      "first",
      ["a", "b", "c", "d", "e"].map(named),
      'Event.first() on 5 events ("a", "b", "c" and 2 more named)',
    ],
    ["iterate", [named("job")], 'Event.iterate() on 1 event ("job")'],
  ];
  for (const [method, events, what] of cases) {
    await t.step(what, async () => {
      using time = new FakeMonotonicTime();
      const waiting = method === "first"
        ? Event.first(events, { timeout: 10 })
        : Event.iterate(events, { timeout: 10 }).next();
      await time.tickAsync(10);
      const error = await assertTimesOut(waiting);
      assertEquals(error.message, `${what} timed out after 10 ms`);
    });
  }
});

Deno.test("Event.send() tells nothing to a selection another one's call out stopped", async () => {
  const a = new Event();
  const iterationAbort = new AbortController();
  const { signal } = new AbortController();
  // When first() stops, taking its listener back aborts the iteration.
  const remove = signal.removeEventListener.bind(signal);
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    remove(...args);
    iterationAbort.abort("stopped by a call out");
  };
  const winner = Event.first([a], { signal });
  const iteration = Event.iterate([a, new Event()], {
    signal: iterationAbort.signal,
  });
  const pending = iteration.next();
  a.send(); // must not throw
  assertStrictEquals(await winner, a);
  assertEquals(await assertRejects(() => pending), "stopped by a call out");
  assertEquals(await iteration.next(), { value: undefined, done: true });
});

Deno.test("Event.first() and Event.iterate() reject what only looks like an event", async (t) => {
  const a = new Event<string>();
  const cases: [string, unknown][] = [
    ["a Proxy of an event", new Proxy(a, {})],
    ["an object made from Event.prototype", Object.create(Event.prototype)],
  ];
  for (const [name, lookalike] of cases) {
    await t.step(name, async () => {
      const message = "needs events, got an object ([object Event]) at " +
        "index 1, which is not an Event itself (a Proxy of one, or an " +
        "object made from Event.prototype): pass the event";
      // Neither throws: first() rejects, iterate() rejects its first next().
      const first = Event.first([a, lookalike as Event<string>]);
      const iteration = Event.iterate([a, lookalike as Event<string>]);
      const error = await assertRejects(() => first, TypeError);
      assertEquals(error.message, `Event.first() ${message}`);
      const next = await assertRejects(() => iteration.next(), TypeError);
      assertEquals(next.message, `Event.iterate() ${message}`);
      assertEquals(a.waiting, 0);
    });
  }
});

Deno.test("Event.first() and Event.iterate() take any iterable for...of takes", async () => {
  const [a, b] = [new Event<number>(), new Event<number>()];
  class Pair {
    static *[Symbol.iterator](): Generator<Event<number>> {
      yield a;
      yield b;
    }
  }
  b.send(2);
  assertStrictEquals(await Event.first(Pair), b);
  const given: Event<number>[] = [];
  setTimeout(() => a.send(1), 0);
  for await (const evt of Event.iterate(Pair)) given.push(evt);
  assertEquals(given, [b, a]);
});

Deno.test("Event.first() rejects bad input without throwing and leaves nothing", async (t) => {
  const a = new Event();
  const iterable = "Event.first() needs an iterable of events, got";
  const events = "Event.first() needs events, got";
  const trapped = new Proxy({}, {
    getPrototypeOf() {
      throw new Error("getPrototypeOf trap");
    },
  });
  const cases: [string, unknown, unknown, ErrorConstructor, string][] = [
    ["a number", 5, undefined, TypeError, `${iterable} 5`],
    ["undefined", undefined, undefined, TypeError, `${iterable} undefined`],
    ["null", null, undefined, TypeError, `${iterable} null`],
    [
      "a plain object",
      {},
      undefined,
      TypeError,
      `${iterable} an object ([object Object])`,
    ],
    // Iterable, as for...of has it: its items are not events.
    ["a string", "ab", undefined, TypeError, `${events} "a" at index 0`],
    [
      "no events",
      [],
      undefined,
      RangeError,
      "Event.first() needs at least one event, got none",
    ],
    ["a number entry", [a, 5], undefined, TypeError, `${events} 5 at index 1`],
    [
      "a null entry",
      [a, null],
      undefined,
      TypeError,
      `${events} null at index 1`,
    ],
    [
      "a promise entry",
      [a, Promise.resolve(a)],
      undefined,
      TypeError,
      `${events} an object ([object Promise]) at index 1`,
    ],
    [
      "a Proxy whose getPrototypeOf throws",
      [trapped],
      undefined,
      TypeError,
      `${events} an object ([object Object]) at index 0`,
    ],
    [
      "bad options",
      [a],
      { timeout: -1 },
      RangeError,
      "Cannot wait: timeout must be a non-negative number of milliseconds, got -1",
    ],
    [
      "bad signal",
      [a],
      { signal: {} },
      TypeError,
      "Cannot wait: signal must be an AbortSignal, got an object ([object Object])",
    ],
  ];
  for (const [name, given, options, ErrorClass, message] of cases) {
    await t.step(name, async () => {
      const first = Event.first(given as Event[], options as undefined);
      const error = await assertRejects(() => first, ErrorClass);
      assertEquals(error.message, message);
      assertEquals(a.waiting, 0);
    });
  }
  await t.step("an iterable that throws", async () => {
    const boom = new Error("iterator");
    const events = {
      *[Symbol.iterator]() {
        yield a;
        throw boom;
      },
    };
    assertStrictEquals(await assertRejects(() => Event.first(events)), boom);
    assertEquals(a.waiting, 0);
  });
});

Deno.test("Event.first() when the signal or the host's timers throw", async (t) => {
  await t.step("addEventListener throws", async () => {
    const a = new Event();
    const boom = new Error("addEventListener");
    const signal = new AbortController().signal;
    signal.addEventListener = () => {
      throw boom;
    };
    assertStrictEquals(
      await assertRejects(() => Event.first([a], { signal })),
      boom,
    );
    assertEquals(a.waiting, 0);
  });
  await t.step("addEventListener sends one of the events", async () => {
    const [a, b] = [new Event(), new Event()];
    const { signal, listeners } = countedSignal();
    const add = signal.addEventListener;
    signal.addEventListener = (...args: Parameters<typeof add>) => {
      b.send();
      add(...args);
    };
    assertStrictEquals(await Event.first([a, b], { signal }), b);
    assertEquals(listeners(), 0);
    assertEquals(a.waiting, 0);
  });
  await t.step("setTimeout throws", async () => {
    const a = new Event();
    const boom = new Error("no timers here");
    let first: Promise<unknown>;
    {
      using _ = stub(globalThis, "setTimeout", () => {
        throw boom;
      });
      first = Event.first([a], { timeout: 10 });
    }
    assertStrictEquals(await assertRejects(() => first), boom);
    assertEquals(a.waiting, 0);
  });
});

Deno.test("Event.first() types the event it resolves with", async () => {
  const numbers = new Event<number>();
  const strings = new Event<string>();
  const first = () => Event.first([numbers, strings]);
  assertType<
    Exact<ReturnType<typeof first>, Promise<Event<number> | Event<string>>>
  >();
  numbers.send(1);
  const evt = await Event.first([numbers, strings]);
  // Narrowing by identity gives the event its own type back.
  assert(evt === numbers);
  const n: number | undefined = evt.poll();
  assertEquals(n, 1);
  // @ts-expect-error only events
  const _notEvents = () => Event.first([numbers, 5]);
});

Deno.test("Event.iterate() types a finished result and return() exactly", async () => {
  const strings = new Event<string>();
  strings.send("s");
  const iteration = Event.iterate([strings]);
  assertType<Exact<typeof iteration, EventIterator<Event<string>>>>();
  const next = () => iteration.next();
  assertType<
    Exact<
      ReturnType<typeof next>,
      Promise<IteratorResult<Event<string>, undefined>>
    >
  >();
  // return() is always there, and says it is done.
  const stop = () => iteration.return();
  assertType<
    Exact<ReturnType<typeof stop>, Promise<IteratorReturnResult<undefined>>>
  >();
  assertStrictEquals((await iteration.next()).value, strings);
  const done = await iteration.next();
  assert(done.done);
  // @ts-expect-error a finished result holds no event, nor anything else
  const _value: Event<string> = done.value;
  assertStrictEquals(done.value, undefined);
  assertEquals(await iteration.return(), { done: true, value: undefined });
});

Deno.test("Event.iterate() yields ready events first, then in send order", async () => {
  const [a, b, c, d] = [new Event(), new Event(), new Event(), new Event()];
  d.send();
  b.send();
  const iterating = collect(Event.iterate([a, b, c, d]));
  assertEquals([a.waiting, b.waiting, c.waiting, d.waiting], [1, 0, 1, 0]);
  c.send();
  a.sendException(new Error("readiness is the point"));
  assertEquals(await iterating, [b, d, c, a]);
  assertEquals([a.waiting, c.waiting], [0, 0]);
});

Deno.test("Event.iterate() yields each event once", async () => {
  const [a, b] = [new Event(), new Event()];
  a.send();
  const iterating = collect(Event.iterate([a, b, a, b]));
  b.send();
  assertEquals(await iterating, [a, b]);
});

Deno.test("Event.iterate() queues events sent while nobody pulls", async () => {
  const [a, b, c] = [new Event(), new Event(), new Event()];
  const iterator = Event.iterate([a, b, c]);
  c.send();
  a.send();
  assertEquals(await iterator.next(), { value: c, done: false });
  const pulls = [iterator.next(), iterator.next(), iterator.next()];
  b.send();
  assertEquals(await Promise.all(pulls), [
    { value: a, done: false },
    { value: b, done: false },
    { value: undefined, done: true },
  ]);
  assertEquals(await iterator.next(), { value: undefined, done: true });
});

Deno.test("Event.iterate() leaves nothing once every event was given", async () => {
  using time = new FakeMonotonicTime();
  const [a, b] = [new Event(), new Event()];
  const { signal, listeners } = countedSignal();
  const iterating = collect(Event.iterate([a, b], { signal, timeout: 100 }));
  a.send();
  b.send();
  assertEquals(await iterating, [a, b]);
  assertEquals(listeners(), 0);
  assertFalse(time.next(), "a timer was left behind");
});

Deno.test("Event.iterate() leaves nothing when the loop breaks", async () => {
  using time = new FakeMonotonicTime();
  const [a, b, c] = [new Event(), new Event(), new Event()];
  const { signal, listeners } = countedSignal();
  const iterator = Event.iterate([a, b, c], { signal, timeout: 100 });
  assertEquals(listeners(), 1);
  a.send();
  for await (const evt of iterator) {
    assertStrictEquals(evt, a);
    break;
  }
  assertEquals([b.waiting, c.waiting], [0, 0]);
  assertEquals(listeners(), 0);
  assertFalse(time.next(), "a timer was left behind");
  assertEquals(await iterator.next(), { value: undefined, done: true });
});

Deno.test("Event.iterate() signal and timeout bound the whole iteration", async (t) => {
  await t.step("aborted: ready events first, then the reason", async () => {
    const [a, b, c] = [new Event(), new Event(), new Event()];
    const { controller, signal, listeners } = countedSignal();
    const iterator = Event.iterate([a, b, c], { signal });
    a.send();
    controller.abort("stop");
    assertEquals([b.waiting, c.waiting], [0, 0]);
    assertEquals(listeners(), 0);
    assertEquals(await iterator.next(), { value: a, done: false });
    assertEquals(await assertRejects(() => iterator.next()), "stop");
    assertEquals(await iterator.next(), { value: undefined, done: true });
  });
  await t.step("aborted while a next() waits", async () => {
    const a = new Event();
    const controller = new AbortController();
    const iterator = Event.iterate([a], { signal: controller.signal });
    const pending = iterator.next();
    controller.abort("stop");
    assertEquals(await assertRejects(() => pending), "stop");
  });
  await t.step("timed out", async () => {
    using time = new FakeMonotonicTime();
    const [a, b] = [new Event(), new Event()];
    const iterating = collect(Event.iterate([a, b], { timeout: 50 }));
    a.send();
    await time.tickAsync(50);
    const error = await assertRejects(() => iterating, DOMException);
    assertEquals(error.name, "TimeoutError");
    assertEquals(b.waiting, 0);
  });
  await t.step("already aborted", async () => {
    const a = new Event();
    const controller = new AbortController();
    controller.abort("early");
    const iterator = Event.iterate([a], { signal: controller.signal });
    assertEquals(await assertRejects(() => iterator.next()), "early");
    assertEquals(a.waiting, 0);
  });
});

Deno.test("Event.iterate() rejects bad input on the first next(), never throws", async () => {
  const a = new Event();
  for (const events of [5, null, [], [a, "b"]]) {
    const iterator = Event.iterate(events as Event[]);
    const error = await assertRejects(() => iterator.next());
    assert(error instanceof TypeError || error instanceof RangeError);
    assertEquals(await iterator.next(), { value: undefined, done: true });
  }
  const bad = Event.iterate([a], { timeout: NaN });
  assertInstanceOf(await assertRejects(() => bad.next()), RangeError);
  assertEquals(a.waiting, 0);
});

Deno.test("Event.first() when the signal aborts inside addEventListener", async () => {
  const a = new Event();
  const controller = new AbortController();
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    controller.abort("in addEventListener");
    add(...args);
  };
  const first = Event.first([a], { signal });
  assertEquals(await assertRejects(() => first), "in addEventListener");
  assertEquals(a.waiting, 0);
});

Deno.test("Event.first() with an infinite timeout arms no timer", async () => {
  const a = new Event();
  using armed = spy(globalThis, "setTimeout");
  const first = Event.first([a], { timeout: Infinity });
  a.send();
  assertStrictEquals(await first, a);
  assertSpyCalls(armed, 0);
});

Deno.test("Event.first() and Event.iterate() without a timeout arm no timer", async () => {
  for (const method of ["first", "iterate"] as const) {
    const [a, b] = [new Event<number>(), new Event<number>()];
    using armed = spy(globalThis, "setTimeout");
    const controller = new AbortController();
    const waiting = method === "first"
      ? Event.first([a, b], { signal: controller.signal })
      : Event.iterate([a, b]).next().then((result) => result.value);
    assertSpyCalls(armed, 0);
    b.send(2);
    assertStrictEquals(await waiting, b, method);
    assertSpyCalls(armed, 0);
  }
});

Deno.test("Event.first() times out when its timer fires, though performance.now() lags", async () => {
  using time = new FakeMonotonicTime();
  const a = new Event();
  const first = Event.first([a], { timeout: 100 });
  time.performanceLag = 50;
  await time.tickAsync(100);
  await assertTimesOut(first);
});

Deno.test("Event.first() and Event.iterate() measure their timeout on a monotonic clock", async (t) => {
  for (const method of ["first", "iterate"] as const) {
    for (const hour of [1, -1]) {
      await t.step(`${method}(), the wall clock steps ${hour}h`, async () => {
        using time = new FakeMonotonicTime();
        const a = new Event();
        // Above setTimeout's limit: the timer fires once early and re-arms.
        const timeout = 2 ** 31 + 5;
        const waiting = (method === "first"
          ? Event.first([a], { timeout })
          : Event.iterate([a], { timeout }).next()).catch((e) =>
            e.name
          );
        using wall = steppedWallClock();
        wall.step = hour * 3_600_000;
        await tickKeepingStubs(time, 2 ** 31 - 1);
        await tickKeepingStubs(time, 5);
        assertFalse(await settled(waiting), "timed out early");
        await tickKeepingStubs(time, 1);
        assert(await settled(waiting), "timed out late");
        assertEquals(await waiting, "TimeoutError");
        assertFalse(time.next(), "a timer was left behind");
      });
    }
  }
});

Deno.test("Event.first() ignores a timer it could not clear", async () => {
  using time = new FakeMonotonicTime();
  const a = new Event();
  const first = Event.first([a], { timeout: 2 ** 31 + 5 });
  {
    using _ = stub(globalThis, "clearTimeout", () => {
      throw new Error("clearTimeout");
    });
    a.send();
  }
  assertStrictEquals(await first, a);
  await time.tickAsync(2 ** 31 - 1); // the stale timer fires: no re-arm
  assertFalse(time.next(), "a timer was re-armed");
});

Deno.test("Event.iterate() ignores an abort it could not stop listening to", async () => {
  const a = new Event();
  const controller = new AbortController();
  const signal = controller.signal;
  signal.removeEventListener = () => {
    throw new Error("removeEventListener");
  };
  const iterator = Event.iterate([a], { signal });
  a.send();
  assertEquals(await iterator.next(), { value: a, done: false });
  controller.abort("late");
  assertEquals(await iterator.next(), { value: undefined, done: true });
});

Deno.test("Event.iterate() stopped while an event is being sent", async () => {
  const a = new Event<unknown>();
  const iterator = Event.iterate([a, new Event()]);
  const plain = a.wait();
  // Resolving the waiter reads the value's then: user code, mid-send.
  const value = {
    get then() {
      iterator.return!();
      return undefined;
    },
  };
  a.send(value);
  assertStrictEquals(await plain, value);
  assertEquals(await iterator.next(), { value: undefined, done: true });
});

Deno.test("Event.iterate() return() drops what was ready and any failure", async (t) => {
  await t.step("ready events", async () => {
    const [a, b] = [new Event(), new Event()];
    a.send();
    b.send();
    const iterator = Event.iterate([a, b]);
    assertEquals(await iterator.return!(), { value: undefined, done: true });
    assertEquals(await iterator.next(), { value: undefined, done: true });
  });
  await t.step("a failure", async () => {
    const a = new Event();
    const controller = new AbortController();
    const iterator = Event.iterate([a], { signal: controller.signal });
    controller.abort("stop");
    await iterator.return!();
    assertEquals(await iterator.next(), { value: undefined, done: true });
  });
});

Deno.test("Event.iterate() settles waiting next() calls: the first with the failure", async () => {
  const a = new Event();
  const controller = new AbortController();
  const iterator = Event.iterate([a], { signal: controller.signal });
  const pulls = [iterator.next(), iterator.next()].map((p) =>
    p.catch((e) => `rejected: ${e}`)
  );
  controller.abort("stop");
  assertEquals(await Promise.all(pulls), [
    "rejected: stop",
    { value: undefined, done: true },
  ]);
});

Deno.test("Event.first() and iterate() name the method and the bad value", async () => {
  const a = new Event();
  const messages = await Promise.all([
    Event.first(5 as unknown as Event[]).catch((e) => e.message),
    Event.first([]).catch((e) => e.message),
    Event.first([a, "b"] as unknown as Event[]).catch((e) => e.message),
    Event.iterate(null as unknown as Event[]).next().catch((e) => e.message),
    Event.iterate([]).next().catch((e) => e.message),
  ]);
  assertEquals(messages, [
    "Event.first() needs an iterable of events, got 5",
    "Event.first() needs at least one event, got none",
    'Event.first() needs events, got "b" at index 1',
    "Event.iterate() needs an iterable of events, got null",
    "Event.iterate() needs at least one event, got none",
  ]);
});

Deno.test("Event.first() when the signal's reason getter throws", async () => {
  const a = new Event();
  const controller = new AbortController();
  const first = Event.first([a], { signal: controller.signal });
  const boom = new Error("reason getter");
  Object.defineProperty(controller.signal, "reason", {
    get() {
      throw boom;
    },
  });
  controller.abort();
  assertStrictEquals(await assertRejects(() => first), boom);
  assertEquals(a.waiting, 0);
});

Deno.test("Event.first() when re-arming a long timeout fails", async () => {
  using time = new FakeMonotonicTime();
  const a = new Event();
  const first = Event.first([a], { timeout: 2 ** 31 + 5 });
  const boom = new Error("no timers any more");
  {
    using _ = stub(globalThis, "setTimeout", () => {
      throw boom;
    });
    // The first timer fires and re-arms.
    await tickKeepingStubs(time, 2 ** 31 - 1);
  }
  assertStrictEquals(await assertRejects(() => first), boom);
  assertEquals(a.waiting, 0);
});

Deno.test("Event.first() leaves no timer when setTimeout re-enters send()", async () => {
  using time = new FakeMonotonicTime();
  const a = new Event();
  const fake = globalThis.setTimeout;
  let first: Promise<Event>;
  {
    using _ = stub(globalThis, "setTimeout", (...args) => {
      a.send(); // stops the selection while its timer is being set
      return fake(...args);
    });
    first = Event.first([a], { timeout: 50 });
  }
  assertStrictEquals(await first, a);
  assertFalse(time.next(), "a timer was left behind");
});

Deno.test("Event.first() and Event.iterate() keep the Waitable contract", async (t) => {
  /** A hand-made Waitable: records its release, and can be sent or failed. */
  function waitable(name?: () => unknown) {
    const calls = {
      sent: () => {},
      failed: (_: unknown) => {},
      watched: 0,
      released: 0,
    };
    const w: Waitable = {
      get name() {
        return name?.() as string;
      },
      [WAITABLE](sent, failed, signal) {
        calls.watched++;
        calls.sent = sent;
        calls.failed = failed;
        signal.addEventListener("abort", () => calls.released++);
      },
    };
    return { w, calls };
  }
  await t.step("one that is sent wins as passed, and is released", async () => {
    const { w, calls } = waitable();
    const first = Event.first([new Event(), w]);
    calls.sent();
    assertStrictEquals(await first, w);
    assertEquals(calls.released, 1);
  });
  await t.step("one that fails rejects with its error", async () => {
    const { w, calls } = waitable();
    const first = Event.first([w]);
    const error = new Error("storage gone");
    calls.failed(error);
    assertStrictEquals(await assertRejects(() => first), error);
    assertEquals(calls.released, 1);
  });
  await t.step("a name that is no string, or throws, is no name", async () => {
    const named = waitable(() => "k").w;
    const numbered = waitable(() => 42).w;
    const throwing = waitable(() => {
      throw new Error("name getter");
    }).w;
    const error = await assertTimesOut(
      Event.first([named, numbered, throwing], { timeout: 5 }),
    );
    assertEquals(
      error.message,
      'Event.first() on 3 events ("k" and 2 unnamed) timed out after 5 ms',
    );
  });
  await t.step("its key is the registry's, so every copy agrees", () => {
    assertStrictEquals(WAITABLE, Symbol.for("@seed/event.waitable"));
  });
  await t.step("a Proxy whose get trap throws is no waitable", async () => {
    const hostile = new Proxy({}, {
      get() {
        throw new Error("trap");
      },
    });
    const error = await assertRejects(
      () => Event.first([hostile as never]),
      TypeError,
    );
    assertEquals(
      error.message,
      "Event.first() needs events, got an object at index 0",
    );
  });
  await t.step(
    "one that calls sent() at once wins, and no later one is watched",
    async () => {
      let watched = 0;
      const eager: Waitable = {
        [WAITABLE](sent) {
          watched++;
          sent(); // against the contract, but handled
        },
      };
      const later = waitable();
      assertStrictEquals(await Event.first([eager, later.w]), eager);
      assertEquals(watched, 1);
      assertEquals(later.calls.watched, 0, "never watched");
    },
  );
  await t.step(
    "iterate() gives them as sent, and releases the rest",
    async () => {
      const one = waitable();
      const two = waitable();
      const iterator = Event.iterate([one.w, two.w]);
      two.calls.sent();
      assertStrictEquals((await iterator.next()).value, two.w);
      await iterator.return();
      assertEquals([one.calls.released, two.calls.released], [1, 1]);
    },
  );
});
