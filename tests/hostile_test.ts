// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Hostile input and misuse from inside callbacks: every public method given
 * odd values, and send()/reset()/wait() called from a waiter's continuation,
 * from an abort listener and from a thenable's `then` getter.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { Event, EventStateError, type WaitOptions } from "../mod.ts";
import { FakeMonotonicTime, settled } from "./_helpers.ts";

Deno.test("Event.send() and sendException() accept any value, including odd ones", async () => {
  const odd = [
    undefined,
    null,
    0,
    -0,
    NaN,
    "",
    Symbol("s"),
    10n,
    () => {},
    Object.create(null),
    new Proxy({}, {}),
  ];
  for (const value of odd) {
    const evt = new Event<unknown>();
    const waiting = evt.wait();
    evt.send(value);
    assertStrictEquals(await waiting, value);
    assertStrictEquals(evt.poll(), value);

    const failing = new Event();
    const rejected = failing.wait();
    failing.sendException(value);
    assertStrictEquals(await assertRejects(() => rejected), value);
    assertStrictEquals(failing.pollException(), value);
  }
});

Deno.test("Event.send() of a promise: waiters adopt it, poll() returns it as sent", async () => {
  const evt = new Event<unknown>();
  const inner = Promise.resolve("inner");
  const waiting = evt.wait();
  evt.send(inner);
  assertEquals(await waiting, "inner");
  assertStrictEquals(evt.poll(), inner);
  assert(evt.hasResult());
});

Deno.test("Event.send() of a rejected promise rejects the waiters, still hasResult()", async () => {
  const evt = new Event<unknown>();
  const boom = new Error("inner rejection");
  const inner = Promise.reject(boom);
  const waiting = evt.wait();
  evt.send(inner);
  assertStrictEquals(await assertRejects(() => waiting), boom);
  assert(evt.hasResult());
  assertStrictEquals(await assertRejects(() => evt.wait()), boom);
});

Deno.test("Event.send() of a thenable whose then getter throws rejects waiters, never send()", async () => {
  const evt = new Event<unknown>();
  const boom = new Error("hostile then");
  const hostile = {
    get then(): never {
      throw boom;
    },
  };
  const waiting = evt.wait();
  evt.send(hostile); // must not throw
  assertStrictEquals(await assertRejects(() => waiting), boom);
  assertStrictEquals(evt.poll(), hostile);
});

Deno.test("Event.send() stays consistent when a thenable's then getter re-enters it", async () => {
  const evt = new Event<unknown>();
  const log: string[] = [];
  let reentered = false;
  const thenable = {
    get then() {
      if (!reentered) {
        reentered = true;
        // Runs inside send(): the event is already sent and detached.
        assertThrows(() => evt.send("again"), EventStateError);
        evt.reset();
        evt.send("second");
      }
      return undefined; // not a thenable after all: delivered as is
    },
  };
  const first = evt.wait().then((value) => {
    log.push("first");
    return value;
  });
  evt.send(thenable);
  assertStrictEquals(await first, thenable);
  assertEquals(evt.poll(), "second");
  assertEquals(await evt.wait(), "second");
  assertEquals(log, ["first"]);
});

Deno.test("Event.wait() with odd timeouts", async (t) => {
  await t.step(
    "Number.MAX_VALUE waits, re-arming one timer at a time",
    async () => {
      using time = new FakeMonotonicTime();
      const evt = new Event<number>();
      const waiting = evt.wait({ timeout: Number.MAX_VALUE });
      for (let i = 0; i < 5; i++) time.tick(2 ** 31 - 1);
      assert(!(await settled(waiting)));
      evt.send(1);
      assertEquals(await waiting, 1);
      assert(!time.next(), "a timer was left behind");
    },
  );
  await t.step("Infinity arms no timer", async () => {
    using time = new FakeMonotonicTime();
    const evt = new Event<number>();
    const waiting = evt.wait({ timeout: Infinity });
    assert(!time.next(), "a timer was armed");
    evt.send(2);
    assertEquals(await waiting, 2);
  });
  await t.step("a fractional timeout", async () => {
    using time = new FakeMonotonicTime();
    const evt = new Event();
    const waiting = evt.wait({ timeout: 1.5 });
    time.tick(1);
    assert(!(await settled(waiting)));
    time.tick(1);
    const error = await assertRejects(() => waiting, DOMException);
    assertEquals(error.name, "TimeoutError");
  });
  await t.step("a Number object is not a number", async () => {
    const evt = new Event();
    await assertRejects(
      () => evt.wait({ timeout: new Number(5) } as unknown as WaitOptions),
      TypeError,
      "timeout must be a number",
    );
  });
});

Deno.test("Event.wait() with objects posing as signals", async (t) => {
  const posers: [string, unknown][] = [
    ["a plain object", { aborted: false, addEventListener() {} }],
    ["an EventTarget", new EventTarget()],
    ["an AbortController", new AbortController()],
    [
      "an object inheriting from AbortSignal.prototype",
      Object.create(AbortSignal.prototype),
    ],
  ];
  for (const [name, signal] of posers) {
    await t.step(name, async () => {
      const evt = new Event();
      const waiting = evt.wait({ signal } as WaitOptions);
      // An object inheriting the prototype passes instanceof but is not a
      // real signal: its getters throw, and that is reported, not thrown.
      const error = await assertRejects(() => waiting);
      assertInstanceOf(error, TypeError);
      assertEquals(evt.waiting, 0);
    });
  }
});

Deno.test("Event.wait() with hostile options objects", async (t) => {
  await t.step("a timeout getter that throws", async () => {
    const boom = new Error("timeout getter");
    const options = {
      get timeout(): number {
        throw boom;
      },
    };
    const evt = new Event();
    assertStrictEquals(await assertRejects(() => evt.wait(options)), boom);
    assertEquals(evt.waiting, 0);
  });
  await t.step("a proxy whose every trap throws", async () => {
    const boom = new Error("trap");
    const options = new Proxy({}, {
      get() {
        throw boom;
      },
    });
    const evt = new Event();
    assertStrictEquals(await assertRejects(() => evt.wait(options)), boom);
  });
  await t.step("getters are read once", async () => {
    let reads = 0;
    const options = {
      get timeout(): number {
        reads++;
        return 60_000;
      },
    };
    const evt = new Event<number>();
    const waiting = evt.wait(options);
    evt.send(1);
    assertEquals(await waiting, 1);
    assertEquals(reads, 1);
  });
});

Deno.test("Event.poll*() and reset() ignore odd arguments", () => {
  const evt = new Event<number>();
  for (const notReady of [undefined, null, NaN, Symbol("x"), {}]) {
    assertStrictEquals(evt.poll(notReady), notReady);
    assertStrictEquals(evt.pollResult(notReady), notReady);
    assertStrictEquals(evt.pollException(notReady), notReady);
  }
  evt.send(1);
  // deno-lint-ignore no-explicit-any
  (evt.reset as any)("ignored", 1, 2);
  assertEquals(evt.ready(), false);
});

Deno.test("Event methods called from a waiter's continuation", async (t) => {
  await t.step(
    "reset() and send() again: later waiters see the new value",
    async () => {
      const evt = new Event<string>();
      const log: string[] = [];
      const first = (async () => {
        log.push(`first got ${await evt.wait()}`);
        evt.reset();
        evt.send("second");
      })();
      const second = (async () => {
        log.push(`second got ${await evt.wait()}`);
      })();
      evt.send("first");
      await Promise.all([first, second]);
      assertEquals(log, ["first got first", "second got first"]);
      assertEquals(await evt.wait(), "second");
    },
  );
  await t.step("send() again throws inside the continuation only", async () => {
    const evt = new Event<string>();
    const waiting = (async () => {
      await evt.wait();
      return assertThrows(() => evt.send("again"), EventStateError);
    })();
    evt.send("once");
    assertEquals(
      (await waiting).message,
      "Trying to re-send() an already-triggered event.",
    );
    assertEquals(evt.poll(), "once");
  });
  await t.step("wait() on the event just sent resolves at once", async () => {
    const evt = new Event<number>();
    const waiting = (async () => {
      const value = await evt.wait();
      return value + await evt.wait({ timeout: 0 });
    })();
    evt.send(21);
    assertEquals(await waiting, 42);
  });
  await t.step(
    "aborting another waiter's signal from a wake-up changes nothing",
    async () => {
      const evt = new Event<number>();
      const controller = new AbortController();
      const first = (async () => {
        const value = await evt.wait();
        controller.abort(); // the second waiter was already woken with 5
        return value;
      })();
      const second = evt.wait({ signal: controller.signal });
      evt.send(5);
      assertEquals(await Promise.all([first, second]), [5, 5]);
    },
  );
  await t.step(
    "aborting a later waiter's signal from a timeout wake-up",
    async () => {
      using time = new FakeMonotonicTime();
      const evt = new Event<number>();
      const controller = new AbortController();
      const reason = new Error("from a wake-up");
      const first = evt.wait({ timeout: 10 }).catch(() =>
        controller.abort(reason)
      );
      const second = evt.wait({ signal: controller.signal });
      const plain = evt.wait();
      await time.tickAsync(10);
      await first;
      assertStrictEquals(await assertRejects(() => second), reason);
      evt.send(1);
      assertEquals(await plain, 1);
    },
  );
});

Deno.test("Event methods called from an abort listener", async (t) => {
  await t.step(
    "send() from a listener that runs before the event's",
    async () => {
      const evt = new Event<string>();
      const controller = new AbortController();
      controller.signal.addEventListener(
        "abort",
        () => evt.send("sent in abort"),
      );
      const waiting = evt.wait({ signal: controller.signal });
      controller.abort();
      // The send came first and removed the event's listener: no rejection.
      assertEquals(await waiting, "sent in abort");
    },
  );
  await t.step(
    "send() from a listener that runs after the event's",
    async () => {
      const evt = new Event<string>();
      const controller = new AbortController();
      const aborted = evt.wait({ signal: controller.signal });
      const plain = evt.wait();
      controller.signal.addEventListener("abort", () => evt.send("after"));
      controller.abort(new Error("first"));
      const error = await assertRejects(() => aborted, Error);
      assertEquals(error.message, "first");
      assertEquals(await plain, "after");
    },
  );
  await t.step(
    "reset() on a fresh event throws inside the listener only",
    async () => {
      const evt = new Event<number>();
      const controller = new AbortController();
      let thrown: unknown;
      controller.signal.addEventListener("abort", () => {
        try {
          evt.reset();
        } catch (error) {
          thrown = error;
        }
      });
      const waiting = evt.wait({ signal: controller.signal });
      const plain = evt.wait();
      controller.abort();
      await waiting.catch(() => {});
      assertInstanceOf(thrown, EventStateError);
      evt.send(3);
      assertEquals(await plain, 3);
    },
  );
  await t.step(
    "wait() with the aborting signal from its own listener rejects at once",
    async () => {
      const evt = new Event();
      const controller = new AbortController();
      let inner: Promise<void> | undefined;
      controller.signal.addEventListener("abort", () => {
        inner = evt.wait({ signal: controller.signal });
      });
      controller.abort("reason");
      assertEquals(await assertRejects(() => inner!), "reason");
      assertEquals(evt.waiting, 0);
    },
  );
});

Deno.test("Event.wait() accepts an AbortSignal polyfill or one from another realm", async (t) => {
  /** What a polyfill (or another realm's signal) looks like: no instanceof. */
  class PolyfillSignal extends EventTarget {
    aborted = false;
    reason: unknown = undefined;
    abort(reason: unknown): void {
      this.aborted = true;
      this.reason = reason;
      this.dispatchEvent(new globalThis.Event("abort"));
    }
  }
  await t.step("its abort rejects the waiter with its reason", async () => {
    const evt = new Event();
    const signal = new PolyfillSignal();
    assert(!(signal instanceof AbortSignal));
    const waiting = evt.wait({ signal: signal as unknown as AbortSignal });
    signal.abort("polyfill reason");
    assertEquals(await assertRejects(() => waiting), "polyfill reason");
    assertEquals(evt.waiting, 0);
  });
  await t.step("already aborted, it rejects at once", async () => {
    const evt = new Event<number>();
    const signal = new PolyfillSignal();
    signal.abort("early");
    evt.send(1);
    const waiting = evt.wait({ signal: signal as unknown as AbortSignal });
    assertEquals(await assertRejects(() => waiting), "early");
  });
  await t.step("a send takes its listener back", async () => {
    const evt = new Event<number>();
    const signal = new PolyfillSignal();
    let live = 0;
    signal.addEventListener = () => live++;
    signal.removeEventListener = () => live--;
    const waiting = evt.wait({ signal: signal as unknown as AbortSignal });
    assertEquals(live, 1);
    evt.send(2);
    assertEquals(await waiting, 2);
    assertEquals(live, 0);
  });
});
