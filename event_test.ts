// Copyright 2026 the @seed/event authors. MIT license.
import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { assertSpyCalls, spy } from "@std/testing/mock";
import type { FakeTime } from "@std/testing/time";
import { inspect as nodeInspect } from "node:util";
import {
  Event,
  type EventOptions,
  EventStateError,
  type WaitOptions,
} from "./mod.ts";
import {
  assertTimesOut,
  assertType,
  type Exact,
  FakeMonotonicTime,
  settled,
} from "./tests/_helpers.ts";

const RESEND = "Trying to re-send() an already-triggered event.";
const RERESET = "Trying to re-reset() a fresh event.";

/** Settles to the outcome of a promise without ever rejecting. */
function outcome<T>(
  promise: Promise<T>,
): Promise<{ value: T } | { error: unknown }> {
  return promise.then((value) => ({ value }), (error) => ({ error }));
}

Deno.test("Event.wait() resolves with the very value sent", async () => {
  const evt = new Event<{ id: symbol }>();
  const value = { id: Symbol("fixture") };
  const waiting = evt.wait();
  evt.send(value);
  assertStrictEquals(await waiting, value);
});

Deno.test("Event.send() never runs a waiter synchronously", async () => {
  const evt = new Event();
  const log: string[] = [];
  const waiters = [
    evt.wait().then(() => log.push("plain")),
    evt.wait({ signal: new AbortController().signal }).then(() =>
      log.push("signal")
    ),
  ];
  evt.send();
  log.push("send returned");
  await Promise.all(waiters);
  assertEquals(log, ["send returned", "plain", "signal"]);
});

Deno.test("Event.send() wakes every waiter before the next timer callback", async () => {
  const evt = new Event();
  const log: string[] = [];
  const waiters = Array.from(
    { length: 3 },
    (_, i) => evt.wait().then(() => log.push(`waiter ${i}`)),
  );
  const timer = new Promise<void>((resolve) =>
    setTimeout(() => {
      log.push("timer");
      resolve();
    }, 0)
  );
  evt.send();
  await Promise.all([...waiters, timer]);
  assertEquals(log, ["waiter 0", "waiter 1", "waiter 2", "timer"]);
});

Deno.test("Event.wait() resumes waiters in the order they called it", async (t) => {
  const kinds: [string, () => WaitOptions | undefined][] = [
    ["plain", () => undefined],
    ["timeout", () => ({ timeout: 60_000 })],
    ["signal", () => ({ signal: new AbortController().signal })],
    ["empty options", () => ({})],
  ];
  for (const ok of [true, false]) {
    await t.step(ok ? "with a value" : "with an exception", async () => {
      const evt = new Event<string>();
      const log: string[] = [];
      const waiters: Promise<unknown>[] = [];
      // Every kind after every kind, so each boundary between them is crossed.
      for (const [first, a] of kinds) {
        for (const [second, b] of kinds) {
          for (const [name, options] of [[first, a], [second, b]] as const) {
            const label = `${waiters.length} ${name}`;
            waiters.push(
              evt.wait(options()).then(
                () => log.push(label),
                () => log.push(label),
              ),
            );
          }
        }
      }
      if (ok) evt.send("x");
      else evt.sendException(new Error("boom"));
      await Promise.all(waiters);
      assertEquals(log.map((line) => parseInt(line)), [...waiters.keys()]);
    });
  }
});

Deno.test("Event.send() throws EventStateError on a sent event and changes nothing", async (t) => {
  const sends: [string, (evt: Event<string>) => void][] = [
    ["send()", (evt) => evt.send("a")],
    ["sendException()", (evt) => evt.sendException(new Error("a"))],
  ];
  for (const [firstName, first] of sends) {
    for (const [againName, again] of sends) {
      await t.step(`${againName} after ${firstName}`, async () => {
        const evt = new Event<string>();
        const waiting = outcome(evt.wait());
        first(evt);
        const before = await outcome(evt.wait());
        const error = assertThrows(() => again(evt), EventStateError);
        assertEquals(error.message, RESEND);
        assertEquals(error.name, "EventStateError");
        assertInstanceOf(error, Error);
        assertEquals(await outcome(evt.wait()), before);
        assertEquals(await waiting, before);
        assertEquals(evt.ready(), true);
      });
    }
  }
});

Deno.test("Event.sendException() rejects every waiter with the very error, stack intact", async () => {
  const evt = new Event<number>();
  const error = new RangeError("boom");
  const stack = error.stack;
  const waiters = [
    evt.wait(),
    evt.wait({ signal: new AbortController().signal }),
    evt.wait(),
  ];
  evt.sendException(error);
  for (const waiting of [...waiters, evt.wait()]) {
    const reason = await assertRejects(() => waiting, RangeError);
    assertStrictEquals(reason, error);
    assertStrictEquals(reason.stack, stack);
  }
});

Deno.test("Event.sendException() accepts a non-Error reason", async () => {
  const evt = new Event();
  const reason = Symbol("reason");
  evt.sendException(reason);
  assertEquals(await outcome(evt.wait()), { error: reason });
});

Deno.test("Event.sendException() is never an unhandled rejection on its own", async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    unhandled.push(event.reason);
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  try {
    const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
    await t.step("the detector sees a bare rejected promise", async () => {
      const control = new Error("control");
      Promise.reject(control);
      await turn();
      assertEquals(unhandled, [control]);
      unhandled.length = 0;
    });
    await t.step("with nobody waiting", async () => {
      new Event().sendException(new Error("nobody waits"));
      await turn();
      assertEquals(unhandled, []);
    });
    await t.step(
      "with a wait() after it that dropped its promise",
      async () => {
        const evt = new Event();
        evt.sendException(new Error("stored"));
        evt.wait();
        evt.wait({ timeout: 10 });
        await turn();
        assertEquals(unhandled, []);
      },
    );
    await t.step("with a plain waiter that dropped its promise", async () => {
      const evt = new Event();
      evt.wait();
      evt.sendException(new Error("dropped"));
      evt.wait();
      await turn();
      assertEquals(unhandled, []);
    });
    await t.step(
      "with a dropped plain waiter beside a timed one",
      async () => {
        const evt = new Event();
        const timed = evt.wait({ timeout: 1_000 }).catch((e) => e);
        evt.wait(); // dropped: a batch after a tracked waiter
        const error = new Error("beside");
        evt.sendException(error);
        assertStrictEquals(await timed, error);
        await turn();
        assertEquals(unhandled, []);
      },
    );
  } finally {
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
});

Deno.test("Event.wait() on a sent event settles at once, with no timer", async () => {
  const evt = new Event<string>();
  evt.send("done");
  using setTimeoutSpy = spy(globalThis, "setTimeout");
  const signal = new AbortController().signal;
  using addSpy = spy(signal, "addEventListener");
  const waiters = [
    evt.wait(),
    evt.wait({ timeout: 0 }),
    evt.wait({ timeout: 10 }),
    evt.wait({ signal }),
  ];
  assertSpyCalls(setTimeoutSpy, 0);
  assertSpyCalls(addSpy, 0);
  assertEquals(await Promise.all(waiters), ["done", "done", "done", "done"]);
});

Deno.test("Event.wait() with a timeout rejects with a TimeoutError and leaves the event unsent", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event<string>();
  const plain = outcome(evt.wait());
  const timed = outcome(evt.wait({ timeout: 100 }));
  await time.tickAsync(99);
  assertEquals(evt.waiting, 2);
  await time.tickAsync(1);
  const { error } = await timed as { error: unknown };
  assertInstanceOf(error, DOMException);
  assertEquals(error.name, "TimeoutError");
  assertEquals(evt.ready(), false);
  assertEquals(evt.waiting, 1);
  evt.send("later");
  assertEquals(await plain, { value: "later" });
  assertFalse(time.next(), "a timer was left behind");
});

Deno.test("Event.wait() times out waiters in deadline order, ties in call order", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  const log: string[] = [];
  const waiters = [
    ["a", 30],
    ["b", 10],
    ["c", 30],
    ["d", 10],
    ["e", 20],
  ].map(([name, timeout]) =>
    evt.wait({ timeout: timeout as number }).catch(() =>
      log.push(name as string)
    )
  );
  await time.tickAsync(30);
  await Promise.all(waiters);
  assertEquals(log, ["b", "d", "e", "a", "c"]);
});

Deno.test("Event.wait() with a timeout above setTimeout's limit waits the full time", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  const timeout = 2 ** 31 + 5;
  const waiting = evt.wait({ timeout });
  await time.tickAsync(2 ** 31 - 1);
  assertFalse(await settled(waiting));
  await time.tickAsync(5);
  assertFalse(await settled(waiting));
  await time.tickAsync(1);
  const error = await assertRejects(() => waiting, DOMException);
  assertEquals(error.name, "TimeoutError");
});

Deno.test("Event.wait() with timeout 0 (or -0) times out a fresh event on the next timer turn", async (t) => {
  for (const timeout of [0, -0]) {
    await t.step(Object.is(timeout, -0) ? "-0" : "0", async () => {
      using time = new FakeMonotonicTime();
      const evt = new Event();
      const waiting = evt.wait({ timeout });
      assertFalse(await settled(waiting));
      await time.tickAsync(0);
      await assertTimesOut(waiting);
    });
  }
});

Deno.test("Event.wait() with timeout 0 resolves when sent in the same turn", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event<number>();
  const waiting = evt.wait({ timeout: 0 });
  evt.send(7);
  assertEquals(await waiting, 7);
  assertFalse(time.next(), "a timer was left behind");
});

Deno.test("Event.wait() signal", async (t) => {
  await t.step("not aborted: resolves with the value", async () => {
    const evt = new Event<number>();
    const controller = new AbortController();
    const waiting = evt.wait({ signal: controller.signal });
    evt.send(1);
    assertEquals(await waiting, 1);
  });

  await t.step(
    "aborted while waiting: rejects this waiter alone with the reason",
    async () => {
      const evt = new Event<number>();
      const controller = new AbortController();
      const other = new AbortController();
      const plain = outcome(evt.wait());
      const aborted = outcome(evt.wait({ signal: controller.signal }));
      const sibling = outcome(evt.wait({ signal: other.signal }));
      const reason = new Error("gave up");
      controller.abort(reason);
      assertStrictEquals(((await aborted) as { error: unknown }).error, reason);
      assertEquals(evt.waiting, 2);
      assertEquals(evt.ready(), false);
      evt.send(2);
      assertEquals(await plain, { value: 2 });
      assertEquals(await sibling, { value: 2 });
    },
  );

  await t.step("aborted with the default reason: an AbortError", async () => {
    const evt = new Event();
    const controller = new AbortController();
    const waiting = evt.wait({ signal: controller.signal });
    controller.abort();
    const error = await assertRejects(() => waiting, DOMException);
    assertEquals(error.name, "AbortError");
    assertStrictEquals(error, controller.signal.reason);
  });

  await t.step("aborted with undefined: the default AbortError", async () => {
    const evt = new Event();
    const controller = new AbortController();
    const waiting = evt.wait({ signal: controller.signal });
    controller.abort(undefined);
    const error = await assertRejects(() => waiting, DOMException);
    assertEquals(error.name, "AbortError");
  });

  await t.step(
    "already aborted: rejects at once, even on a sent event",
    async () => {
      const reason = new Error("already");
      const signal = AbortSignal.abort(reason);
      const fresh = new Event();
      using addSpy = spy(signal, "addEventListener");
      assertStrictEquals(
        await assertRejects(() => fresh.wait({ signal })),
        reason,
      );
      assertEquals(fresh.waiting, 0);
      const sent = new Event<number>();
      sent.send(1);
      assertStrictEquals(
        await assertRejects(() => sent.wait({ signal })),
        reason,
      );
      assertSpyCalls(addSpy, 0);
    },
  );

  await t.step("aborted after settling: no effect", async () => {
    const evt = new Event<number>();
    const controller = new AbortController();
    const waiting = evt.wait({ signal: controller.signal });
    evt.send(3);
    controller.abort();
    assertEquals(await waiting, 3);
  });

  await t.step("aborting every waiter of one signal at once", async () => {
    const evt = new Event();
    const controller = new AbortController();
    const log: number[] = [];
    const waiters = [0, 1, 2].map((i) =>
      evt.wait({ signal: controller.signal }).catch(() => log.push(i))
    );
    controller.abort();
    await Promise.all(waiters);
    assertEquals(log, [0, 1, 2]);
    assertEquals(evt.waiting, 0);
  });
});

Deno.test("Event.wait() removes its abort listener on every way out", async (t) => {
  const ways: [
    string,
    (
      evt: Event<number>,
      controller: AbortController,
      time: FakeTime,
    ) => Promise<void>,
  ][] = [
    ["value", (evt) => Promise.resolve(evt.send(1))],
    ["exception", (evt) => Promise.resolve(evt.sendException(new Error("x")))],
    ["timeout", (_evt, _controller, time) => time.tickAsync(100)],
    ["abort", (_evt, controller) => Promise.resolve(controller.abort())],
  ];
  for (const [name, leave] of ways) {
    await t.step(name, async () => {
      using time = new FakeMonotonicTime();
      const evt = new Event<number>();
      const controller = new AbortController();
      using addSpy = spy(controller.signal, "addEventListener");
      using removeSpy = spy(controller.signal, "removeEventListener");
      const waiters = [
        outcome(evt.wait({ signal: controller.signal, timeout: 100 })),
        outcome(evt.wait({ signal: controller.signal, timeout: 100 })),
      ];
      // One listener per signal per event, however many waiters share it.
      assertSpyCalls(addSpy, 1);
      assertEquals(addSpy.calls[0]!.args[2], { once: true });
      await leave(evt, controller, time);
      await Promise.all(waiters);
      // An abort removes a { once: true } listener by itself.
      assertSpyCalls(removeSpy, name === "abort" ? 0 : 1);
      if (name !== "abort") {
        assertStrictEquals(
          removeSpy.calls[0]!.args[1],
          addSpy.calls[0]!.args[1],
        );
      }
      assertEquals(evt.waiting, 0);
      assertFalse(time.next(), "a timer was left behind");
    });
  }
});

Deno.test("Event.wait() keeps the listener while other waiters still use the signal", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event<number>();
  const controller = new AbortController();
  using removeSpy = spy(controller.signal, "removeEventListener");
  const short = outcome(evt.wait({ signal: controller.signal, timeout: 10 }));
  const long = outcome(evt.wait({ signal: controller.signal }));
  await time.tickAsync(10);
  assertEquals(
    ((await short) as { error: DOMException }).error.name,
    "TimeoutError",
  );
  assertSpyCalls(removeSpy, 0);
  const reason = new Error("stop");
  controller.abort(reason);
  assertStrictEquals(((await long) as { error: unknown }).error, reason);
});

Deno.test("Event.reset() makes a sent event fresh again", async () => {
  const evt = new Event<string>();
  evt.send("a");
  evt.reset();
  assertFalse(evt.ready());
  assertEquals(evt.poll("fresh"), "fresh");
  const waiting = evt.wait();
  assertFalse(await settled(waiting));
  evt.send("b");
  assertEquals(await waiting, "b");
});

Deno.test("Event.reset() throws EventStateError on a fresh event and changes nothing", async () => {
  const evt = new Event<number>();
  const waiting = evt.wait();
  const error = assertThrows(() => evt.reset(), EventStateError);
  assertEquals(error.message, RERESET);
  assertEquals(evt.waiting, 1);
  evt.send(5);
  assertEquals(await waiting, 5);
});

Deno.test("Event.reset() leaves earlier waiters the earlier value", async () => {
  const evt = new Event<string>();
  const plain = evt.wait();
  const timed = evt.wait({ timeout: 60_000 });
  const signalled = evt.wait({ signal: new AbortController().signal });
  evt.send("first");
  evt.reset();
  const next = evt.wait();
  evt.send("second");
  assertEquals(await Promise.all([plain, timed, signalled, next]), [
    "first",
    "first",
    "first",
    "second",
  ]);
});

Deno.test("Event.reset() never delivers a stale exception", async () => {
  const evt = new Event<string>();
  const early = outcome(evt.wait());
  const boom = new Error("stale");
  evt.sendException(boom);
  await assertRejects(() => evt.wait());
  evt.reset();
  assertEquals(evt.pollException("none"), "none");
  assertEquals(evt.poll("none"), "none");
  const later = evt.wait();
  assertFalse(await settled(later));
  evt.send("fresh");
  assertEquals(await later, "fresh");
  assertStrictEquals(((await early) as { error: unknown }).error, boom);
  evt.reset();
  evt.send("with nobody waiting");
  assertEquals(await evt.wait(), "with nobody waiting");
});

Deno.test("Event.ready(), hasResult(), hasException() and poll*() follow the state", async (t) => {
  const boom = new Error("boom");
  await t.step("fresh", () => {
    const evt = new Event<number>();
    assertEquals([evt.ready(), evt.hasResult(), evt.hasException()], [
      false,
      false,
      false,
    ]);
    assertEquals(evt.poll(), undefined);
    assertEquals(evt.poll("n"), "n");
    assertEquals(evt.pollResult("n"), "n");
    assertEquals(evt.pollException("n"), "n");
  });
  await t.step("sent a value", () => {
    const evt = new Event<number>();
    evt.send(4);
    assertEquals([evt.ready(), evt.hasResult(), evt.hasException()], [
      true,
      true,
      false,
    ]);
    assertEquals(evt.poll("n"), 4);
    assertEquals(evt.pollResult("n"), 4);
    assertEquals(evt.pollException("n"), "n");
  });
  await t.step("sent an exception", async () => {
    const evt = new Event<number>();
    evt.sendException(boom);
    assertEquals([evt.ready(), evt.hasResult(), evt.hasException()], [
      true,
      false,
      true,
    ]);
    assertStrictEquals(assertThrows(() => evt.poll("n")), boom);
    assertEquals(evt.pollResult("n"), "n");
    assertStrictEquals(evt.pollException("n"), boom);
    await assertRejects(() => evt.wait());
  });
  await t.step("sent undefined", () => {
    const evt = new Event<undefined>();
    evt.send(undefined);
    assertEquals([evt.ready(), evt.hasResult()], [true, true]);
    assertEquals(evt.poll("n"), undefined);
  });
  await t.step("reset", () => {
    const evt = new Event<number>();
    evt.send(4);
    evt.reset();
    assertEquals([evt.ready(), evt.hasResult(), evt.hasException()], [
      false,
      false,
      false,
    ]);
    assertEquals(evt.pollResult("n"), "n");
  });
});

Deno.test("Event.waiting counts pending wait() calls", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event();
  const controller = new AbortController();
  const waiters = [
    outcome(evt.wait()),
    outcome(evt.wait()),
    outcome(evt.wait({ timeout: 10 })),
    outcome(evt.wait({ signal: controller.signal })),
  ];
  assertEquals(evt.waiting, 4);
  await time.tickAsync(10);
  assertEquals(evt.waiting, 3);
  controller.abort();
  assertEquals(evt.waiting, 2);
  evt.send();
  assertEquals(evt.waiting, 0);
  await Promise.all(waiters);
  evt.wait();
  assertEquals(evt.waiting, 0, "a wait() on a sent event is not pending");
});

Deno.test("Event.send() delivers a thenable the way a promise does: adopted", async () => {
  const evt = new Event<unknown>();
  const thenable = { then: (resolve: (value: number) => void) => resolve(42) };
  const waiting = evt.wait();
  evt.send(thenable);
  assertEquals(await waiting, 42);
  assertStrictEquals(evt.poll(), thenable);
});

Deno.test("Event.send() of a promise wakes every waiter in wait() order", async () => {
  const evt = new Event<Promise<string>>();
  const log: string[] = [];
  const plain = evt.wait().then((v) => log.push(`plain ${v}`));
  const timed = evt.wait({ timeout: 1_000 }).then((v) =>
    log.push(`timed ${v}`)
  );
  evt.send(Promise.resolve("v"));
  const later = evt.wait().then((v) => log.push(`later ${v}`));
  const laterTimed = evt.wait({ timeout: 1_000 }).then((v) =>
    log.push(`later timed ${v}`)
  );
  await Promise.all([plain, timed, later, laterTimed]);
  assertEquals(log, ["plain v", "timed v", "later v", "later timed v"]);
});

Deno.test("Event.send() of a promise leaves each waiter its own signal and timeout until it settles", async () => {
  using time = new FakeMonotonicTime();
  const evt = new Event<Promise<string>>();
  const controller = new AbortController();
  const { promise, resolve } = Promise.withResolvers<string>();
  const before = evt.wait({ timeout: 30 }).catch((e) => e.name);
  const aborted = evt.wait({ signal: controller.signal }).catch((e) => e);
  const plain = evt.wait();
  evt.send(promise); // never settles until resolve() below
  assert(evt.ready());
  const after = evt.wait({ timeout: 30 }).catch((e) => e.name);
  assertEquals(evt.waiting, 4);
  controller.abort("gone");
  assertEquals(await aborted, "gone");
  await time.tickAsync(30);
  assertEquals(await before, "TimeoutError");
  assertEquals(await after, "TimeoutError");
  assertEquals(evt.waiting, 1);
  assertFalse(time.next(), "a timer was left behind");
  resolve("finally");
  assertEquals(await plain, "finally");
  assertEquals(evt.waiting, 0);
  assertEquals(await evt.wait({ timeout: 30 }), "finally");
});

Deno.test("Event.send() adopts a thenable once, however many wait", async () => {
  const evt = new Event<unknown>();
  let reads = 0;
  let calls = 0;
  const thenable = {
    get then() {
      reads++;
      return (resolve: (value: string) => void) => {
        calls++;
        resolve("once");
      };
    },
  };
  const waiters = [evt.wait(), evt.wait({ timeout: 1_000 })];
  evt.send(thenable);
  waiters.push(evt.wait(), evt.wait({ signal: new AbortController().signal }));
  assertEquals(await Promise.all(waiters), ["once", "once", "once", "once"]);
  assertEquals(await evt.wait(), "once");
  assertEquals([reads, calls], [1, 1]);
});

Deno.test("Event.send() of a promise keeps its outcome for its own waiters across reset()", async () => {
  const evt = new Event<Promise<string> | string>();
  const { promise, resolve } = Promise.withResolvers<string>();
  const early = evt.wait({ timeout: 1_000 });
  evt.send(promise);
  const joined = evt.wait();
  evt.reset();
  const next = evt.wait();
  evt.send("second");
  assertEquals(await next, "second");
  resolve("first");
  assertEquals(await Promise.all([early, joined]), ["first", "first"]);
  assertEquals(await evt.wait(), "second");
});

Deno.test("Event.send() of a rejected promise rejects every waiter, unhandled by none", async () => {
  const evt = new Event<Promise<never>>();
  const boom = new Error("rejected");
  const rejected = Promise.reject(boom);
  const plain = evt.wait(); // nobody handles it: must not be unhandled
  const timed = evt.wait({ timeout: 1_000 });
  evt.send(rejected);
  assertStrictEquals(await assertRejects(() => timed), boom);
  assertStrictEquals(await assertRejects(() => evt.wait()), boom);
  assertStrictEquals(evt.poll(), rejected);
  await settled(plain);
});

Deno.test("Event.wait() never throws on a sent promise whose constructor getter throws", async () => {
  const evt = new Event<Promise<number>>();
  const sent = Promise.resolve(7);
  const boom = new Error("constructor getter");
  Object.defineProperty(sent, "constructor", {
    get() {
      throw boom;
    },
  });
  evt.send(sent);
  // As `await sent` would: its then() reads the constructor, and rejects.
  const waiters = [evt.wait(), evt.wait({ timeout: 10 })];
  for (const waiting of waiters) {
    assertStrictEquals(await assertRejects(() => waiting), boom);
  }
});

Deno.test("Event.send() adopts a thenable as a promise would, whatever its then does", async (t) => {
  const cases: [
    string,
    (resolve: (v: unknown) => void, reject: (e: unknown) => void) => void,
    unknown,
  ][] = [
    ["resolves twice, then rejects", (resolve, reject) => {
      resolve("first");
      resolve("second");
      reject(new Error("late"));
    }, { value: "first" }],
    ["rejects, then resolves", (resolve, reject) => {
      reject("no");
      resolve("late");
    }, { error: "no" }],
    ["resolves, then throws", (resolve) => {
      resolve("kept");
      throw new Error("thrown after");
    }, { value: "kept" }],
    ["throws, then resolves later", (resolve) => {
      setTimeout(() => resolve("late"), 0);
      throw "thrown first";
    }, { error: "thrown first" }],
  ];
  for (const [name, then, expected] of cases) {
    await t.step(name, async () => {
      const evt = new Event<unknown>();
      const calledBack: unknown[] = [];
      // Each call back must return quietly, as a promise's would.
      const thenable = {
        then(resolve: (v: unknown) => void, reject: (e: unknown) => void) {
          then((v) => {
            try {
              resolve(v);
            } catch (error) {
              calledBack.push(error);
            }
          }, (e) => {
            try {
              reject(e);
            } catch (error) {
              calledBack.push(error);
            }
          });
        },
      };
      const waiters = [evt.wait(), evt.wait({ timeout: 1_000 })];
      evt.send(thenable);
      for (const waiting of waiters) {
        assertEquals(await outcome(waiting), expected);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
      assertEquals(calledBack, [], "a call back threw into the thenable");
      assertEquals(await outcome(evt.wait()), expected);
    });
  }
  await t.step(
    "a function with a then method is adopted too, once",
    async () => {
      const evt = new Event<unknown>();
      let calls = 0;
      const thenable = Object.assign(() => {}, {
        then: (resolve: (v: string) => void) => {
          calls++;
          resolve("from a function");
        },
      });
      const waiters = [evt.wait(), evt.wait({ timeout: 1_000 })];
      evt.send(thenable);
      waiters.push(evt.wait());
      assertEquals(
        await Promise.all(waiters),
        Array(3).fill("from a function"),
      );
      assertStrictEquals(evt.poll(), thenable);
      assertEquals(calls, 1);
    },
  );
  await t.step(
    "a then getter that throws is read once, and rejects every waiter",
    async () => {
      const evt = new Event<unknown>();
      const boom = new Error("then getter");
      let reads = 0;
      const hostile = {
        get then(): never {
          reads++;
          throw boom;
        },
      };
      const waiters = [evt.wait(), evt.wait({ timeout: 1_000 })];
      evt.send(hostile);
      for (const waiting of waiters) {
        assertStrictEquals(await assertRejects(() => waiting), boom);
      }
      assertStrictEquals(await assertRejects(() => evt.wait()), boom);
      assertEquals(reads, 1);
    },
  );
});

Deno.test("Event.send() of a thenable is seen first by first() and iterate(), before its then getter runs", async () => {
  for (const method of ["first", "iterate"] as const) {
    const [a, b] = [new Event<unknown>(), new Event<unknown>()];
    const selected = method === "first"
      ? Event.first([a, b]).then((evt) => [evt])
      : Array.fromAsync(Event.iterate([a, b]));
    const thenable = {
      get then() {
        b.send("b, sent from a's then getter");
        return undefined;
      },
    };
    a.send(thenable);
    const order = await selected;
    assertStrictEquals(order[0], a, method);
    if (method === "iterate") assertEquals(order, [a, b]);
  }
});

Deno.test("Event inspects like eventlet's str()", async (t) => {
  const evt = new Event<number>();
  const waiting = evt.wait();
  await t.step("in Deno", () => {
    assertEquals(Deno.inspect(evt), "Event { ready: false, waiting: 1 }");
    evt.send(4);
    assertEquals(Deno.inspect(evt), "Event { ready: true, value: 4 }");
  });
  await t.step("in Node", () => {
    assertEquals(nodeInspect(evt), "Event { ready: true, value: 4 }");
    const failed = new Event();
    failed.sendException("boom");
    assertEquals(
      nodeInspect(failed),
      "Event { ready: true, exception: 'boom' }",
    );
  });
  assertEquals(await waiting, 4);
});

Deno.test("Event types are exact", () => {
  // Checked by the type checker: deno test fails to compile if one is wrong.
  const numbers = new Event<number>();
  assertType<Exact<ReturnType<typeof numbers.wait>, Promise<number>>>();
  const poll = () => numbers.poll();
  assertType<Exact<ReturnType<typeof poll>, number | undefined>>();
  const pollOr = () => numbers.poll("not yet");
  assertType<Exact<ReturnType<typeof pollOr>, number | "not yet">>();
  const pollResult = () => numbers.pollResult();
  assertType<Exact<ReturnType<typeof pollResult>, number | undefined>>();
  const pollResultOr = () => numbers.pollResult(-1);
  assertType<Exact<ReturnType<typeof pollResultOr>, number>>();
  assertType<Exact<ReturnType<typeof numbers.pollException>, unknown>>();
  // Without an argument, undefined is a possible result: never inferred away.
  // @ts-expect-error poll() of a fresh event returns undefined
  const _polled: () => number = () => numbers.poll();
  // @ts-expect-error pollResult() of a fresh event returns undefined
  const _pollResulted: () => number = () => numbers.pollResult();
  // pollException() has no type parameter to give.
  // @ts-expect-error pollException() is not generic
  const _pollException = () => numbers.pollException<number>();
  // @ts-expect-error send() of an Event<number> needs a number
  const _sendNothing = () => numbers.send();
  // @ts-expect-error send() of an Event<number> takes no string
  const _sendString = () => numbers.send("4");
  // A promise sent is adopted: wait() gives its value, poll() the promise.
  const promises = new Event<Promise<number>>();
  assertType<Exact<ReturnType<typeof promises.wait>, Promise<number>>>();
  const pollPromise = () => promises.poll();
  assertType<
    Exact<ReturnType<typeof pollPromise>, Promise<number> | undefined>
  >();
  const plain = new Event();
  assertType<Exact<ReturnType<typeof plain.wait>, Promise<void>>>();
  plain.send();
  assert(plain.ready());
  // @ts-expect-error timeout is a number
  const _badTimeout: WaitOptions = { timeout: "5" };
  // @ts-expect-error signal is an AbortSignal
  const _badSignal: WaitOptions = { signal: {} };
});

Deno.test("Event.wait() rejects bad options, naming the value, and changes nothing", async (t) => {
  const throwing = {
    get signal(): AbortSignal {
      throw new SyntaxError("hostile getter");
    },
  };
  const trap = new Proxy({}, {
    get: () => {
      throw new Error("trap");
    },
  });
  const options = "Cannot wait: options must be an object, got";
  const timeout = "Cannot wait: timeout must be a number, got";
  const range =
    "Cannot wait: timeout must be a non-negative number of milliseconds, got";
  const signal = "Cannot wait: signal must be an AbortSignal, got";
  const cases: [unknown, ErrorConstructor, string][] = [
    [null, TypeError, `${options} null`],
    [
      100,
      TypeError,
      `${options} 100; for a timeout, pass { timeout: 100 } (milliseconds)`,
    ],
    [
      new AbortController().signal,
      TypeError,
      `${options} an AbortSignal; pass { signal } instead`,
    ],
    [true, TypeError, `${options} true`],
    ["x", TypeError, `${options} "x"`],
    [{ timeout: "5" }, TypeError, `${timeout} "5"`],
    [{ timeout: null }, TypeError, `${timeout} null`],
    [{ timeout: 5n }, TypeError, `${timeout} 5n`],
    [{ timeout: Symbol("t") }, TypeError, `${timeout} Symbol(t)`],
    [{ timeout: () => 1 }, TypeError, `${timeout} a function`],
    [{ timeout: {} }, TypeError, `${timeout} an object ([object Object])`],
    [{ timeout: -1 }, RangeError, `${range} -1`],
    [{ timeout: NaN }, RangeError, `${range} NaN`],
    [{ timeout: -Infinity }, RangeError, `${range} -Infinity`],
    [{ signal: 5 }, TypeError, `${signal} 5`],
    [{ signal: null }, TypeError, `${signal} null`],
    [{ signal: "abort" }, TypeError, `${signal} "abort"`],
    [
      { signal: { aborted: false } },
      TypeError,
      `${signal} an object ([object Object])`,
    ],
    [
      { signal: { aborted: false, removeEventListener() {} } },
      TypeError,
      `${signal} an object ([object Object])`,
    ],
    [
      { signal: { aborted: false, addEventListener() {} } },
      TypeError,
      `${signal} an object ([object Object])`,
    ],
    [{ signal: trap }, TypeError, `${signal} an object`],
    // -0 is a valid timeout; a bad signal beside it is still named, as -0.
    [{ timeout: -0, signal: -0 }, TypeError, `${signal} -0`],
    [throwing, SyntaxError, "hostile getter"],
  ];
  for (const [bad, ErrorClass, message] of cases) {
    await t.step(message, async () => {
      const evt = new Event<number>();
      const other = outcome(evt.wait());
      // Never throws synchronously: a throw here fails the step.
      const waiting = evt.wait(bad as WaitOptions);
      const error = await assertRejects(() => waiting, ErrorClass);
      assertEquals(error.message, message);
      assertEquals(evt.waiting, 1);
      assertEquals(evt.ready(), false);
      evt.send(1);
      assertEquals(await other, { value: 1 });
    });
  }
});

Deno.test("Event.wait() timeout error names the operation, the event and the timeout", async () => {
  using time = new FakeMonotonicTime();
  const unnamed = new Event();
  const config = new Event<string>({ name: "config" });
  const waiters = [
    unnamed.wait({ timeout: 250 }),
    unnamed.wait({ timeout: 100.5 }),
    config.wait({ timeout: 250 }),
    // Handed to the carrier of a pending promise: still the same event.
    (() => {
      const carried = new Event<Promise<string>>({ name: "carried" });
      const waiting = carried.wait({ timeout: 250 });
      carried.send(new Promise(() => {}));
      return waiting;
    })(),
  ].map((waiting) => waiting.catch((e) => e));
  await time.tickAsync(250);
  const errors = await Promise.all(waiters);
  assertEquals(errors.map((e) => [e.name, e.message]), [
    ["TimeoutError", "wait() on an unnamed Event timed out after 250 ms"],
    ["TimeoutError", "wait() on an unnamed Event timed out after 100.5 ms"],
    ["TimeoutError", 'wait() on Event "config" timed out after 250 ms'],
    ["TimeoutError", 'wait() on Event "carried" timed out after 250 ms'],
  ]);
});

Deno.test("Event.wait() timeouts in two functions are told apart by their errors", async () => {
  using time = new FakeMonotonicTime();
  const config = new Event<string>({ name: "config" });
  const cache = new Event<string>({ name: "cache" });
  async function loadConfig(): Promise<string> {
    return await config.wait({ timeout: 25 });
  }
  async function warmCache(): Promise<string> {
    return await cache.wait({ timeout: 25 });
  }
  const outcomes = Promise.allSettled([loadConfig(), warmCache()]);
  await time.tickAsync(25);
  const messages = (await outcomes).map((outcome) =>
    outcome.status === "rejected" ? outcome.reason.message : outcome.value
  );
  assertEquals(messages, [
    'wait() on Event "config" timed out after 25 ms',
    'wait() on Event "cache" timed out after 25 ms',
  ]);
});

Deno.test("Event() takes a name, and refuses a bad one naming it", async (t) => {
  await t.step("the name is shown in errors and inspect output", () => {
    const evt = new Event<number>({ name: "config" });
    assertEquals(evt.name, "config");
    assertEquals(
      Deno.inspect(evt),
      'Event { name: "config", ready: false, waiting: 0 }',
    );
    evt.send(1);
    assertEquals(
      nodeInspect(evt),
      "Event { name: 'config', ready: true, value: 1 }",
    );
    const error = assertThrows(() => evt.send(2), EventStateError);
    assertEquals(error.message, `${RESEND} (Event "config")`);
    evt.reset();
    assertEquals(
      assertThrows(() => evt.reset(), EventStateError).message,
      `${RERESET} (Event "config")`,
    );
  });
  await t.step("an unnamed event keeps eventlet's messages as they are", () => {
    for (
      const evt of [new Event(), new Event({}), new Event({ name: undefined })]
    ) {
      assertEquals(evt.name, undefined);
      assertEquals(Deno.inspect(evt), "Event { ready: false, waiting: 0 }");
    }
    const evt = new Event();
    assertEquals(
      assertThrows(() => evt.reset(), EventStateError).message,
      RERESET,
    );
  });
  const cases: [unknown, string][] = [
    [null, "Cannot make an Event: options must be an object, got null"],
    ["config", 'Cannot make an Event: options must be an object, got "config"'],
    [{ name: 5 }, "Cannot make an Event: name must be a string, got 5"],
    [{ name: null }, "Cannot make an Event: name must be a string, got null"],
  ];
  for (const [options, message] of cases) {
    await t.step(message, () => {
      assertThrows(
        () => new Event(options as EventOptions),
        TypeError,
        message,
      );
    });
  }
});

Deno.test("Event.wait() costs nothing more than it must", async (t) => {
  await t.step("a sent event gives every plain wait() one promise", () => {
    const evt = new Event<number>();
    evt.send(1);
    assertStrictEquals(evt.wait(), evt.wait());
  });
  await t.step("options that ask for nothing are a plain wait()", async () => {
    const evt = new Event<number>();
    const plain = evt.wait();
    assertStrictEquals(evt.wait({}), plain);
    assertStrictEquals(evt.wait({ timeout: Infinity }), plain);
    evt.send(2);
    assertEquals(await plain, 2);
  });
});

Deno.test("Event inspect hook for Node works when called as Node does", () => {
  const evt = new Event<number>();
  const hook =
    (evt as unknown as Record<symbol, (...args: unknown[]) => object>)[
      Symbol.for("nodejs.util.inspect.custom")
    ]!;
  // Node calls it with (depth, options, inspect), and formats what it
  // returns in its own context: a view named Event, the same every time.
  const view = hook.call(evt, 2, {}, () => "unused");
  assertEquals(view.constructor.name, "Event");
  assertEquals({ ...view }, { ready: false, waiting: 0 });
  evt.send(4);
  assertStrictEquals(hook.call(evt, 2, {}, () => "unused"), view);
  assertEquals({ ...view }, { ready: true, value: 4 });
});
