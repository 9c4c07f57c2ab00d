// Copyright 2026 the @seed/event authors. MIT license.
/**
 * wait() against the code it calls out to: a signal's `addEventListener`,
 * `aborted` and `reason`, and the host's `setTimeout`, each of which may
 * throw or re-enter the event. Whatever they do, wait() returns a promise,
 * every waiter settles once, and no waiter, timer or listener is left.
 */
import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { assertSpyCalls, spy, stub } from "@std/testing/mock";
import { Event } from "../mod.ts";
import {
  assertTimesOut,
  countedSignal,
  FakeMonotonicTime,
  settled,
  steppedWallClock,
  tickKeepingStubs,
} from "./_helpers.ts";

/**
 * Replaces `globalThis.setTimeout` until disposed. On top of a `FakeTime`,
 * move time with `tick()` or `tickKeepingStubs()`: `tickAsync()` puts the
 * fake's own `setTimeout` back.
 */
function replaceSetTimeout(
  fake: (
    ...args: Parameters<typeof setTimeout>
  ) => ReturnType<typeof setTimeout>,
): Disposable {
  return stub(globalThis, "setTimeout", fake);
}

Deno.test("Event.wait() when addEventListener re-enters send()", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event<string>();
  const { signal, listeners } = countedSignal();
  const add = signal.addEventListener;
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    evt.send("x");
    add(...args);
  };
  const waiting = evt.wait({ signal, timeout: 20 });
  // As if send() came just before wait(): resolved with the value.
  assertEquals(evt.ready(), true);
  assertEquals(evt.waiting, 0);
  assertEquals(await waiting, "x");
  assertEquals(listeners(), 0, "an abort listener was left on the signal");
  assertFalse(time.next(), "a timer was left behind");

  // No stale deadline: a later timed waiter waits its own full time.
  evt.reset();
  const later = evt.wait({ timeout: 60_000 });
  await time.tickAsync(20);
  assertFalse(await settled(later));
  await time.tickAsync(59_980);
  const error = await assertRejects(() => later, DOMException);
  assertEquals(error.name, "TimeoutError");
});

Deno.test("Event.wait() when addEventListener re-enters abort()", async (t) => {
  for (const when of ["before", "after"] as const) {
    await t.step(`${when} adding the listener`, async () => {
      using time = new FakeMonotonicTime();
      const evt = new Event<string>();
      const { controller, signal, listeners } = countedSignal();
      const add = signal.addEventListener;
      const reason = new Error("aborted in addEventListener");
      signal.addEventListener = (...args: Parameters<typeof add>) => {
        if (when === "before") controller.abort(reason);
        add(...args);
        if (when === "after") controller.abort(reason);
      };
      const plain = evt.wait();
      const waiting = evt.wait({ signal, timeout: 20 });
      assertStrictEquals(await assertRejects(() => waiting), reason);
      assertEquals(evt.waiting, 1);
      assertFalse(time.next(), "a timer was left behind");
      evt.send("plain");
      assertEquals(await plain, "plain");
      assertEquals(listeners(), 0, "an abort listener was left on the signal");
    });
  }
});

Deno.test("Event.wait() when addEventListener throws", async () => {
  const evt = new Event<string>();
  const { controller, signal, listeners } = countedSignal();
  const add = signal.addEventListener;
  const boom = new Error("addEventListener");
  signal.addEventListener = () => {
    throw boom;
  };
  const plain = evt.wait();
  // Never throws: the throw rejects this waiter only.
  const waiting = evt.wait({ signal });
  assertStrictEquals(await assertRejects(() => waiting), boom);
  assertEquals(evt.waiting, 1);

  // No group without a listener is left: the next wait() on the same signal
  // adds its listener, and the signal reaches it.
  signal.addEventListener = add;
  const next = evt.wait({ signal });
  assertEquals(listeners(), 1);
  controller.abort("stop");
  assertEquals(await assertRejects(() => next), "stop");
  evt.send("plain");
  assertEquals(await plain, "plain");
});

Deno.test("Event.wait() when setTimeout throws", async (t) => {
  await t.step("the waiter rejects with the host's error", async () => {
    using time = new FakeMonotonicTime();
    const evt = new Event<string>();
    const { signal, listeners } = countedSignal();
    const early = evt.wait({ timeout: 50 });
    const boom = new TypeError(
      "Disallowed operation called within global scope",
    );
    {
      using _ = replaceSetTimeout(() => {
        throw boom;
      });
      const waiting = evt.wait({ signal, timeout: 10 });
      assertStrictEquals(await assertRejects(() => waiting), boom);
    }
    assertEquals(evt.waiting, 1);
    assertEquals(listeners(), 0, "an abort listener was left on the signal");
    // The earlier waiter keeps its timer; a later one is armed as usual.
    const later = evt.wait({ timeout: 20 });
    await time.tickAsync(20);
    await assertTimesOut(later);
    assertFalse(await settled(early));
    await time.tickAsync(30);
    await assertTimesOut(early);
    assertFalse(time.next(), "a timer was left behind");
  });
  await t.step(
    "a phantom deadline does not hold back later waiters",
    async () => {
      using time = new FakeMonotonicTime();
      const evt = new Event<string>();
      {
        using _ = replaceSetTimeout(() => {
          throw new Error("no timers here");
        });
        await evt.wait({ timeout: 10 }).catch(() => {});
      }
      assertEquals(evt.waiting, 0);
      const later = evt.wait({ timeout: 100 });
      await time.tickAsync(100);
      await assertTimesOut(later);
    },
  );
  await t.step("re-arming after an expiry fails", async () => {
    using time = new FakeMonotonicTime();
    const evt = new Event<string>();
    const first = evt.wait({ timeout: 10 });
    const second = evt.wait({ timeout: 20 });
    const plain = evt.wait();
    const third = evt.wait({ timeout: 30 });
    const fourth = evt.wait({ timeout: 40 });
    const boom = new Error("timers gone");
    // Every waiter is queued and armed: only the re-arm fails.
    using _ = replaceSetTimeout(() => {
      throw boom;
    });
    await tickKeepingStubs(time, 10);
    await assertTimesOut(first);
    // They can no longer be timed: each fails loudly instead of hanging.
    for (const later of [second, third, fourth]) {
      assertStrictEquals(await assertRejects(() => later), boom);
    }
    assertEquals(evt.waiting, 1);
    evt.send("plain");
    assertEquals(await plain, "plain");
  });
});

Deno.test("Event.wait() leaves no timer when a failed call out empties the heap", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  const other = new AbortController();
  const timed = evt.wait({ signal: other.signal, timeout: 50 });
  const { signal } = countedSignal();
  const add = signal.addEventListener;
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    other.abort("other"); // the only other timed waiter leaves
    add(...args);
  };
  const boom = new Error("no timers here");
  {
    using _ = replaceSetTimeout(() => {
      throw boom;
    });
    assertStrictEquals(
      await assertRejects(() => evt.wait({ signal, timeout: 10 })),
      boom,
    );
  }
  assertEquals(await assertRejects(() => timed), "other");
  assertEquals(evt.waiting, 0);
  assertFalse(time.next(), "a timer was left behind");
});

/**
 * Timers as Cloudflare Workers has them: each belongs to the request whose
 * code set it (a timer set in a timer callback belongs to the same request),
 * and ending a request cancels its timers.
 */
function requestScopedTimers() {
  const real = globalThis.setTimeout;
  const owners = new Map<unknown, string>();
  let current = "global";
  const scoped = stub(globalThis, "setTimeout", (callback, delay) => {
    const owner = current;
    const timer = real(() => {
      owners.delete(timer);
      current = owner;
      try {
        (callback as () => void)();
      } finally {
        current = "global";
      }
    }, delay);
    owners.set(timer, owner);
    return timer;
  });
  return {
    /** Runs `fn` as code of `request`. */
    in<R>(request: string, fn: () => R): R {
      current = request;
      try {
        return fn();
      } finally {
        current = "global";
      }
    },
    /** Ends `request`: its timers are cancelled. */
    end(request: string): void {
      for (const [timer, owner] of owners) {
        if (owner === request) {
          clearTimeout(timer as number);
          owners.delete(timer);
        }
      }
    },
    [Symbol.dispose]: () => scoped.restore(),
  };
}

Deno.test("Event.wait() times out a waiter whatever request armed the timer", async (t) => {
  await t.step("the earlier request times out and ends first", async () => {
    using time = new FakeMonotonicTime();
    using requests = requestScopedTimers();
    const shared = new Event();
    const a = requests.in("a", () => shared.wait({ timeout: 20 }));
    await null; // a's turn ends: b comes in a turn, and a request, of its own
    const b = requests.in("b", () => shared.wait({ timeout: 200 }));
    await tickKeepingStubs(time, 20);
    await assertTimesOut(a);
    requests.end("a");
    await tickKeepingStubs(time, 180);
    await assertTimesOut(b);
  });
  await t.step(
    "the earlier request ends early, its waiter still pending",
    async () => {
      using time = new FakeMonotonicTime();
      using requests = requestScopedTimers();
      const shared = new Event();
      const a = requests.in("a", () => shared.wait({ timeout: 50 }));
      await null;
      const b = requests.in("b", () => shared.wait({ timeout: 100 }));
      requests.end("a"); // its client went away without a signal
      await tickKeepingStubs(time, 100);
      await assertTimesOut(b);
      // a's own timer was cancelled with its request; it goes with b's.
      await assertTimesOut(a);
    },
  );
});

Deno.test("Event.wait() shares one timer among the waiters of one turn", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  using armed = spy(globalThis, "setTimeout");
  const waiters = [500, 900, 100, 700].map((timeout) =>
    evt.wait({ timeout }).catch((e) => e.name)
  );
  assertSpyCalls(armed, 2); // for 500, then for 100
  await null;
  const later = evt.wait({ timeout: 1000 }).catch((e) => e.name);
  assertSpyCalls(armed, 3); // a turn of its own, a timer of its own
  await tickKeepingStubs(time, 1000);
  assertEquals(await Promise.all([...waiters, later]), [
    "TimeoutError",
    "TimeoutError",
    "TimeoutError",
    "TimeoutError",
    "TimeoutError",
  ]);
  assertFalse(time.next(), "a timer was left behind");
});

Deno.test("Event.wait() arms no timer for a waiter gone during addEventListener", async (t) => {
  for (const gone of ["sent", "aborted"] as const) {
    await t.step(gone, async () => {
      using _time = new FakeMonotonicTime();
      const evt = new Event<string>();
      const { controller, signal } = countedSignal();
      const add = signal.addEventListener;
      signal.addEventListener = (...args: Parameters<typeof add>) => {
        if (gone === "sent") evt.send("x");
        else controller.abort("gone");
        add(...args);
      };
      using timers = spy(globalThis, "setTimeout");
      const waiting = evt.wait({ signal, timeout: 20 }).catch((e) => e);
      assertSpyCalls(timers, 0);
      assertEquals(await waiting, gone === "sent" ? "x" : "gone");
    });
  }
});

Deno.test("Event.wait() when addEventListener re-enters, then throws", async (t) => {
  await t.step("sent, then throws: resolved, counted once", async () => {
    const evt = new Event<string>();
    const signal = new AbortController().signal;
    signal.addEventListener = () => {
      evt.send("x");
      throw new Error("after send");
    };
    const waiting = evt.wait({ signal });
    assertEquals(evt.waiting, 0);
    assertEquals(await waiting, "x");
    assertEquals(evt.waiting, 0);
  });
  await t.step("added, aborted, then throws: the abort's reason", async () => {
    const evt = new Event<string>();
    const controller = new AbortController();
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    signal.addEventListener = (...args: Parameters<typeof add>) => {
      add(...args);
      controller.abort("first"); // reaches the listener: the waiter is gone
      throw new Error("after abort");
    };
    const waiting = evt.wait({ signal });
    assertEquals(await assertRejects(() => waiting), "first");
    assertEquals(evt.waiting, 0);
  });
});

Deno.test("Event.wait() when the signal's reason getter throws", async () => {
  const evt = new Event();
  const controller = new AbortController();
  const boom = new Error("reason getter");
  const waiting = evt.wait({ signal: controller.signal });
  Object.defineProperty(controller.signal, "reason", {
    get() {
      throw boom;
    },
  });
  controller.abort();
  assertStrictEquals(await assertRejects(() => waiting), boom);
  assertEquals(evt.waiting, 0);
});

Deno.test("Event ignores a listener it could not take back", async () => {
  const evt = new Event<number>();
  const controller = new AbortController();
  const signal = controller.signal;
  signal.removeEventListener = () => {
    throw new Error("removeEventListener");
  };
  const first = evt.wait({ signal });
  evt.send(1); // the listener stays on the signal: it must be inert
  assertEquals(await first, 1);
  evt.reset();
  const second = evt.wait(); // a new generation, no signal
  controller.abort("late"); // reaches the stale listener
  assertEquals(evt.waiting, 1);
  evt.send(2);
  assertEquals(await second, 2);
});

Deno.test("Event ignores a timer it could not clear", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event<number>();
  const first = evt.wait({ timeout: 50 });
  {
    using _ = stub(globalThis, "clearTimeout", () => {
      throw new Error("clearTimeout");
    });
    evt.send(1); // the timer stays armed: it must be inert
  }
  assertEquals(await first, 1);
  evt.reset();
  const second = evt.wait();
  await time.tickAsync(50); // the stale timer fires
  assertEquals(evt.waiting, 1);
  evt.send(2);
  assertEquals(await second, 2);
});

Deno.test("Event.wait() times out when its timer fires, though performance.now() lags", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  const waiting = evt.wait({ timeout: 100 });
  time.performanceLag = 50;
  await time.tickAsync(100);
  // The timer's delay passed: that is enough, whatever the clock says.
  await assertTimesOut(waiting);
});

Deno.test("Event.wait() measures its timeout on a monotonic clock, whatever the wall clock does", async (t) => {
  for (const hour of [1, -1]) {
    await t.step(`the wall clock steps ${hour}h`, async () => {
      using time = new FakeMonotonicTime();
      const evt = new Event();
      // One turn: one timer, re-armed for the long waiter after the short.
      const long = evt.wait({ timeout: 60_000 }).catch((e) => e.name);
      const short = evt.wait({ timeout: 20 }).catch((e) => e.name);
      using wall = steppedWallClock();
      wall.step = hour * 3_600_000;
      await tickKeepingStubs(time, 20);
      assertEquals(await short, "TimeoutError");
      assertFalse(await settled(long), "timed out early");
      await tickKeepingStubs(time, 59_979);
      assertFalse(await settled(long), "timed out early");
      await tickKeepingStubs(time, 1);
      assert(await settled(long), "timed out late");
      assertEquals(await long, "TimeoutError");
      assertFalse(time.next(), "a timer was left behind");
    });
  }
});

Deno.test("Event.wait() with many timed-out waiters on one signal, then an abort", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  const controller = new AbortController();
  const { signal } = controller;
  const live = Array.from(
    { length: 5 },
    () => evt.wait({ signal }).catch((e) => e),
  );
  const timed = Array.from(
    { length: 40 },
    () => evt.wait({ signal, timeout: 1 }).catch((e) => e.name),
  );
  await time.tickAsync(1);
  assertEquals(new Set(await Promise.all(timed)), new Set(["TimeoutError"]));
  assertEquals(evt.waiting, 5);
  controller.abort("stop");
  assertEquals(await Promise.all(live), [
    "stop",
    "stop",
    "stop",
    "stop",
    "stop",
  ]);
  assertEquals(evt.waiting, 0);
});

Deno.test("Event.wait() after the only timed waiter was aborted times out on time", async (t) => {
  for (const turn of ["same", "next"] as const) {
    await t.step(`in the ${turn} turn`, async () => {
      using time = new FakeMonotonicTime();
      const evt = new Event();
      const controller = new AbortController();
      const first = evt.wait({ signal: controller.signal, timeout: 10 });
      controller.abort("gone");
      await first.catch(() => {});
      if (turn === "next") await null;
      const second = evt.wait({ timeout: 50 });
      await time.tickAsync(49);
      assertFalse(await settled(second));
      await time.tickAsync(1);
      await assertTimesOut(second);
      assertFalse(time.next(), "a timer was left behind");
    });
  }
});

Deno.test("Event.wait() keeps every deadline when waiters mid-heap leave", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  const timeouts = [70, 10, 50, 30, 90, 20, 60, 40, 80];
  const controllers = timeouts.map(() => new AbortController());
  const settledAt = new Map<number, number>();
  const waiters = timeouts.map((timeout, i) =>
    evt.wait({ timeout, signal: controllers[i]!.signal }).catch(() => {
      settledAt.set(timeout, Date.now());
    })
  );
  const start = Date.now();
  for (const timeout of [50, 30, 60]) {
    controllers[timeouts.indexOf(timeout)]!.abort();
  }
  await time.tickAsync(0);
  settledAt.clear(); // the aborted ones
  for (let ms = 0; ms < 100; ms++) await time.tickAsync(1);
  await Promise.all(waiters);
  for (const timeout of [10, 20, 40, 70, 80, 90]) {
    assertEquals(settledAt.get(timeout)! - start, timeout, `${timeout} ms`);
  }
  assertEquals(settledAt.size, 6);
});

Deno.test("Event.wait() takes the abort listener back when a send comes", async () => {
  const evt = new Event<number>();
  const { signal, listeners } = countedSignal();
  const waiting = evt.wait({ signal });
  assertEquals(listeners(), 1);
  evt.send(1);
  assertEquals(listeners(), 0);
  assertEquals(await waiting, 1);
});

Deno.test("Event.wait() when queueMicrotask throws", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  let waiting: Promise<unknown>;
  {
    using _ = stub(globalThis, "queueMicrotask", () => {
      throw new Error("no microtasks here");
    });
    waiting = evt.wait({ timeout: 10 }).catch((e) => e.name);
  }
  await time.tickAsync(10);
  assertEquals(await waiting, "TimeoutError");
});

Deno.test("Event.wait() re-arms a turn's timer only while its waiters wait", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  using timers = spy(globalThis, "setTimeout");
  const a = evt.wait({ timeout: 10 }).catch((e) => e.name);
  await null;
  const b = evt.wait({ timeout: 100 }).catch((e) => e.name);
  assertSpyCalls(timers, 2);
  await tickKeepingStubs(time, 10);
  assertEquals(await a, "TimeoutError");
  assertSpyCalls(timers, 2); // a's turn has no waiter left to time
  await tickKeepingStubs(time, 90);
  assertEquals(await b, "TimeoutError");
  assertFalse(time.next(), "a timer was left behind");
});

Deno.test("Event.wait() when setTimeout re-enters", async (t) => {
  await t.step("a send()", async () => {
    using time = new FakeMonotonicTime();
    const evt = new Event<string>();
    const fake = globalThis.setTimeout;
    using _ = replaceSetTimeout((...args) => {
      if (!evt.ready()) evt.send("from setTimeout");
      return fake(...args as Parameters<typeof setTimeout>);
    });
    const waiting = evt.wait({ timeout: 10 });
    assertEquals(evt.waiting, 0);
    assertEquals(await waiting, "from setTimeout");
    assertFalse(time.next(), "a timer was left behind");
  });
  await t.step("an abort of the waiter being armed", async () => {
    using time = new FakeMonotonicTime();
    const evt = new Event();
    const controller = new AbortController();
    const fake = globalThis.setTimeout;
    using _ = replaceSetTimeout((...args) => {
      controller.abort("gone");
      return fake(...args as Parameters<typeof setTimeout>);
    });
    const waiting = evt.wait({ signal: controller.signal, timeout: 10 });
    assertEquals(await assertRejects(() => waiting), "gone");
    assertFalse(time.next(), "a timer was left behind");
  });
  await t.step("a wait() with an earlier deadline", async () => {
    using time = new FakeMonotonicTime();
    const evt = new Event();
    const fake = globalThis.setTimeout;
    let inner: Promise<unknown> | undefined;
    let entered = false;
    using _ = replaceSetTimeout((...args) => {
      if (!entered) {
        entered = true; // once: the inner wait() arms a timer too
        inner = evt.wait({ timeout: 5 }).catch((e) => e.name);
      }
      return fake(...args as Parameters<typeof setTimeout>);
    });
    const outer = evt.wait({ timeout: 50 }).catch((e) => e.name);
    await tickKeepingStubs(time, 5);
    assertEquals(await inner, "TimeoutError");
    await tickKeepingStubs(time, 45);
    assertEquals(await outer, "TimeoutError");
  });
});

Deno.test("Event.wait() leaves no timer for a waiter without a deadline", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  const signal = new AbortController().signal;
  const untimed = evt.wait({ signal });
  const timed = evt.wait({ timeout: 10 }).catch((e) => e.name);
  await time.tickAsync(10);
  assertEquals(await timed, "TimeoutError");
  assertFalse(time.next(), "a timer was armed for no deadline");
  evt.send();
  await untimed;
});

Deno.test("Event.wait() when re-arming after an expiry fails", async (t) => {
  await t.step("only the waiters of that turn fail", async () => {
    using time = new FakeMonotonicTime();
    const evt = new Event();
    const early = evt.wait({ timeout: 10 }).catch((e) => e.name);
    const sameTurn = evt.wait({ timeout: 30 }).catch((e) => e.message);
    await null;
    const otherTurn = evt.wait({ timeout: 20 }).catch((e) => e.name);
    const fake = globalThis.setTimeout;
    let fail = true;
    using _ = replaceSetTimeout((...args) => {
      if (fail) {
        fail = false;
        throw new Error("no timer this once");
      }
      return fake(...args as Parameters<typeof setTimeout>);
    });
    await tickKeepingStubs(time, 10);
    assertEquals(await early, "TimeoutError");
    assertEquals(await sameTurn, "no timer this once");
    await tickKeepingStubs(time, 10);
    assertEquals(await otherTurn, "TimeoutError");
    assertEquals(evt.waiting, 0);
  });
  await t.step("a send made in there wins", async () => {
    using time = new FakeMonotonicTime();
    const evt = new Event<string>();
    const early = evt.wait({ timeout: 10 }).catch((e) => e.name);
    const later = evt.wait({ timeout: 30 });
    using _ = replaceSetTimeout(() => {
      evt.send("sent in setTimeout");
      throw new Error("and then threw");
    });
    await tickKeepingStubs(time, 10);
    assertEquals(await early, "TimeoutError");
    assertEquals(await later, "sent in setTimeout");
    assertEquals(evt.waiting, 0);
  });
});
