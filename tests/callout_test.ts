// Copyright 2026 the @seed/event authors. MIT license.
/**
 * wait() against the code it calls out to: a signal's `addEventListener`,
 * `aborted` and `reason`, and the host's `setTimeout`, each of which may
 * throw or re-enter the event. Whatever they do, wait() returns a promise,
 * every waiter settles once, and no waiter, timer or listener is left.
 */
import {
  assertEquals,
  assertFalse,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { FakeTime } from "@std/testing/time";
import { Event } from "../mod.ts";
import { settledUnderFakeTime } from "./_settled.ts";

/** A real signal that counts the listeners added and not removed. */
function countedSignal(controller = new AbortController()) {
  const signal = controller.signal;
  const live = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    live.add(args[1]);
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    live.delete(args[1]);
    remove(...args);
  };
  return {
    controller,
    signal,
    listeners: () => live.size,
  };
}

/** Replaces `globalThis.setTimeout` until disposed. */
function replaceSetTimeout(fake: (...args: unknown[]) => unknown): Disposable {
  const real = globalThis.setTimeout;
  globalThis.setTimeout = fake as typeof setTimeout;
  return { [Symbol.dispose]: () => globalThis.setTimeout = real };
}

Deno.test("Event.wait() when addEventListener re-enters send()", async () => {
  using time = new FakeTime();
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
  assertFalse(await settledUnderFakeTime(time, later));
  await time.tickAsync(59_980);
  const error = await assertRejects(() => later, DOMException);
  assertEquals(error.name, "TimeoutError");
});

Deno.test("Event.wait() when addEventListener re-enters abort()", async (t) => {
  for (const when of ["before", "after"] as const) {
    await t.step(`${when} adding the listener`, async () => {
      using time = new FakeTime();
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
      assertStrictEquals(await waiting.catch((e) => e), reason);
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
  assertStrictEquals(await waiting.catch((e) => e), boom);
  assertEquals(evt.waiting, 1);

  // No group without a listener is left: the next wait() on the same signal
  // adds its listener, and the signal reaches it.
  signal.addEventListener = add;
  const next = evt.wait({ signal });
  assertEquals(listeners(), 1);
  controller.abort("stop");
  assertEquals(await next.catch((e) => e), "stop");
  evt.send("plain");
  assertEquals(await plain, "plain");
});

Deno.test("Event.wait() when setTimeout throws", async (t) => {
  await t.step("the waiter rejects with the host's error", async () => {
    using time = new FakeTime();
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
      assertStrictEquals(await waiting.catch((e) => e), boom);
    }
    assertEquals(evt.waiting, 1);
    assertEquals(listeners(), 0, "an abort listener was left on the signal");
    // The earlier waiter keeps its timer; a later one is armed as usual.
    const later = evt.wait({ timeout: 20 });
    await time.tickAsync(20);
    assertEquals((await later.catch((e) => e)).name, "TimeoutError");
    assertFalse(await settledUnderFakeTime(time, early));
    await time.tickAsync(30);
    assertEquals((await early.catch((e) => e)).name, "TimeoutError");
    assertFalse(time.next(), "a timer was left behind");
  });
  await t.step(
    "a phantom deadline does not hold back later waiters",
    async () => {
      using time = new FakeTime();
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
      assertEquals((await later.catch((e) => e)).name, "TimeoutError");
    },
  );
  await t.step("re-arming after an expiry fails", async () => {
    using time = new FakeTime();
    const evt = new Event<string>();
    const first = evt.wait({ timeout: 10 });
    const second = evt.wait({ timeout: 20 });
    const plain = evt.wait();
    const boom = new Error("timers gone");
    // Both waiters are queued and armed: only the re-arm fails.
    using _ = replaceSetTimeout(() => {
      throw boom;
    });
    await time.tickAsync(10);
    assertEquals((await first.catch((e) => e)).name, "TimeoutError");
    // It can no longer be timed: it fails loudly instead of hanging.
    assertStrictEquals(await second.catch((e) => e), boom);
    assertEquals(evt.waiting, 1);
    evt.send("plain");
    assertEquals(await plain, "plain");
  });
});

Deno.test("Event.wait() when setTimeout re-enters send()", async () => {
  using time = new FakeTime();
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

Deno.test("Event.wait() leaves no timer when a failed call out empties the heap", async () => {
  using time = new FakeTime();
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
      await evt.wait({ signal, timeout: 10 }).catch((e) => e),
      boom,
    );
  }
  assertEquals(await timed.catch((e) => e), "other");
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
  globalThis.setTimeout = ((callback: () => void, delay?: number) => {
    const owner = current;
    const timer = real(() => {
      owners.delete(timer);
      current = owner;
      try {
        callback();
      } finally {
        current = "global";
      }
    }, delay);
    owners.set(timer, owner);
    return timer;
  }) as typeof setTimeout;
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
    [Symbol.dispose]: () => globalThis.setTimeout = real,
  };
}

Deno.test("Event.wait() times out a waiter whatever request armed the timer", async (t) => {
  await t.step("the earlier request times out and ends first", async () => {
    using time = new FakeTime();
    using requests = requestScopedTimers();
    const shared = new Event();
    const a = requests.in("a", () => shared.wait({ timeout: 20 }));
    await null; // a's turn ends: b comes in a turn, and a request, of its own
    const b = requests.in("b", () => shared.wait({ timeout: 200 }));
    await time.tickAsync(20);
    assertEquals((await a.catch((e) => e)).name, "TimeoutError");
    requests.end("a");
    await time.tickAsync(180);
    assertEquals((await b.catch((e) => e)).name, "TimeoutError");
  });
  await t.step(
    "the earlier request ends early, its waiter still pending",
    async () => {
      using time = new FakeTime();
      using requests = requestScopedTimers();
      const shared = new Event();
      const a = requests.in("a", () => shared.wait({ timeout: 50 }));
      await null;
      const b = requests.in("b", () => shared.wait({ timeout: 100 }));
      requests.end("a"); // its client went away without a signal
      await time.tickAsync(100);
      assertEquals((await b.catch((e) => e)).name, "TimeoutError");
      // a's own timer was cancelled with its request; it goes with b's.
      assertEquals((await a.catch((e) => e)).name, "TimeoutError");
    },
  );
});

Deno.test("Event.wait() shares one timer among the waiters of one turn", async () => {
  using time = new FakeTime();
  const evt = new Event();
  let armed = 0;
  const fake = globalThis.setTimeout;
  using _ = replaceSetTimeout((...args) => {
    armed++;
    return fake(...args as Parameters<typeof setTimeout>);
  });
  const waiters = [500, 900, 100, 700].map((timeout) =>
    evt.wait({ timeout }).catch((e) => e.name)
  );
  assertEquals(armed, 2); // for 500, then for 100
  await null;
  const later = evt.wait({ timeout: 1000 }).catch((e) => e.name);
  assertEquals(armed, 3); // a turn of its own, a timer of its own
  await time.tickAsync(1000);
  assertEquals(await Promise.all([...waiters, later]), [
    "TimeoutError",
    "TimeoutError",
    "TimeoutError",
    "TimeoutError",
    "TimeoutError",
  ]);
  assertFalse(time.next(), "a timer was left behind");
});
