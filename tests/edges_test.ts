// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The in-memory Event at its edges, round 4 (issue 23): a `then` that
 * `await` adopts, a subclass that overrides `wait()`, a signal typed by its
 * shape, and the messages for an Event of another copy of the module and
 * for an event passed twice.
 */
import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { Event, type WaitOptions } from "../mod.ts";
import { assertTimesOut, FakeMonotonicTime } from "./_helpers.ts";

Deno.test("Event.send() adopts a then that await adopts, whatever its prototype", async (t) => {
  const cases: [string, () => (resolve: (v: unknown) => void) => void][] = [
    ["a then with no prototype", () => {
      const then = (resolve: (v: unknown) => void) => resolve("adopted");
      Object.setPrototypeOf(then, null);
      return then;
    }],
    ["a then with its own call property", () => {
      const then = (resolve: (v: unknown) => void) => resolve("adopted");
      Object.defineProperty(then, "call", { value: 42 });
      return then;
    }],
  ];
  for (const [name, make] of cases) {
    await t.step(name, async () => {
      const thenable = { then: make() };
      assertEquals(await thenable, "adopted", "await adopts it");
      const evt = new Event<unknown>();
      const waiting = [evt.wait(), evt.wait({ timeout: 1_000 })];
      evt.send(thenable);
      assertEquals(await Promise.all(waiting), ["adopted", "adopted"]);
    });
  }
});

Deno.test("Event never calls a subclass's override of its public methods", async () => {
  class Defaulted<T> extends Event<T> {
    override wait(options: WaitOptions = { timeout: 15 }) {
      return super.wait(options);
    }
    override get waiting(): number {
      throw new Error("the engine read waiting");
    }
  }
  const evt = new Defaulted<string>();
  const forever = evt.wait({ timeout: Infinity });
  const empty = evt.wait({});
  const plain = evt.wait(); // the override's default: 15 ms
  await assertTimesOut(plain);
  Deno.inspect(evt); // inspect reads the count, not the getter
  evt.send("sent");
  assertEquals(await forever, "sent");
  assertEquals(await empty, "sent");
});

Deno.test("WaitOptions.signal takes an object typed by its shape alone", async () => {
  const listeners = new Set<() => void>();
  const signal: {
    aborted: boolean;
    reason: unknown;
    addEventListener(type: "abort", listener: () => void): void;
    removeEventListener(type: "abort", listener: () => void): void;
  } = {
    aborted: false,
    reason: undefined,
    addEventListener: (_type, listener) => listeners.add(listener),
    removeEventListener: (_type, listener) => listeners.delete(listener),
  };
  const waiting = new Event().wait({ signal });
  signal.aborted = true;
  signal.reason = "polyfilled";
  for (const listener of [...listeners]) {
    listeners.delete(listener); // { once: true }, as a real signal does
    listener();
  }
  assertEquals(await assertRejects(() => waiting), "polyfilled");
  // And one that is sent leaves no listener on it.
  signal.aborted = false;
  const evt = new Event<number>();
  const sent = evt.wait({ signal });
  evt.send(1);
  assertEquals(await sent, 1);
  assertEquals(listeners.size, 0);
});

Deno.test("Event.first() names an Event of another copy of the module as such", async () => {
  const copy = await import(`../event.ts?copy=${Math.random()}`);
  const foreign = new copy.Event();
  const error = await assertRejects(
    () => Event.first([new Event(), foreign]),
    TypeError,
  );
  assertEquals(
    error.message,
    "Event.first() needs events, got an object ([object Event]) at index 1, " +
      "an Event of another copy of @seed/event (two versions of it in one " +
      "dependency graph): make every Event with one copy, for example by " +
      "asking for one version of @seed/event everywhere",
  );
  // Neither is an object with a wait() that is not tagged Event.
  const untagged = await assertRejects(
    () => Event.first([{ wait() {} } as never]),
    TypeError,
  );
  assertEquals(
    untagged.message,
    "Event.first() needs events, got an object ([object Object]) at index 0",
  );
  // A DOM event is no Event of ours, and not called one.
  const dom = await assertRejects(
    () => Event.first([new globalThis.Event("x") as never]),
    TypeError,
  );
  assertEquals(
    dom.message,
    "Event.first() needs events, got an object ([object Event]) at index 0",
  );
});

Deno.test("Event.first() counts an event passed twice once in its timeout", async () => {
  const a = new Event({ name: "a" });
  const error = await assertTimesOut(
    Event.first([a, a, new Event()], { timeout: 5 }),
  );
  assertEquals(
    error.message,
    'Event.first() on 2 events ("a" and 1 unnamed) timed out after 5 ms',
  );
});

Deno.test("Event inspect shows a cycle as [Circular *1], and honours depth", () => {
  const conn = new Event<unknown>({ name: "conn" });
  conn.send(conn);
  assertEquals(
    Deno.inspect(conn),
    '<ref *1> Event { name: "conn", ready: true, value: [Circular *1] }',
  );
  // A chain 10,000 deep prints within its depth, and no stack overflows.
  const chain = Array.from({ length: 10_000 }, () => new Event<unknown>());
  chain.forEach((evt, i) => evt.send(chain[i + 1] ?? "end"));
  assertEquals(
    Deno.inspect(chain[0], { depth: 1 }),
    "Event { ready: true, value: Event { ready: true, value: [Event] } }",
  );
  assertEquals(Deno.inspect(new Event()), "Event { ready: false, waiting: 0 }");
});

Deno.test("Event.waiting counts the waiters behind a nested thenable until it settles", async (t) => {
  await t.step("a thenable that resolves with a pending promise", async () => {
    const evt = new Event<PromiseLike<string>>();
    const waiters = [evt.wait(), evt.wait({ timeout: 10_000 })];
    const inner = Promise.withResolvers<string>();
    evt.send({
      then(resolve: (value: unknown) => void) {
        resolve(inner.promise); // still pending
      },
    } as PromiseLike<string>);
    for (let i = 0; i < 5; i++) await null; // then has run
    assertEquals(evt.waiting, 2);
    inner.resolve("settled");
    assertEquals(await Promise.all(waiters), ["settled", "settled"]);
    assertEquals(evt.waiting, 0);
  });
  await t.step(
    "a thenable that resolves with the event's own wait()",
    async () => {
      const evt = new Event<PromiseLike<unknown>>();
      const waiters = [evt.wait({ timeout: 50 }), evt.wait({ timeout: 50 })];
      evt.send({
        then(resolve: (value: unknown) => void) {
          resolve(evt.wait()); // a cycle: never settles
        },
      } as PromiseLike<unknown>);
      for (let i = 0; i < 5; i++) await null;
      assertEquals(evt.waiting, 3, "the two, and the cycle's own wait()");
      for (const waiting of waiters) await assertTimesOut(waiting);
    },
  );
});

Deno.test("Event adopts a chain of thenables 100,000 deep under deno run: wait() never throws, no link is kept", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-lock",
      "--v8-flags=--expose-gc",
      // Under mutation testing, the child runs the parent's mutant.
      "--allow-env=__STRYKER_ACTIVE_MUTANT__",
      new URL("./deep_thenable.ts", import.meta.url).pathname,
      "100000",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  const seen = JSON.parse(new TextDecoder().decode(stdout));
  assertEquals(seen.threw, undefined);
  assertEquals(seen.values, ["end", "end", "end"]);
  // Each carrier is garbage once the next one took over (0.2.0 kept about
  // 250 bytes a link until reset(); noise is about 10).
  assertEquals(seen.keptPerLink < 50, true, `${seen.keptPerLink} bytes a link`);
});

Deno.test("Event.reset() while a chain of thenables is adopted leaves the new send alone", async () => {
  const evt = new Event<unknown>();
  const early = evt.wait();
  // The first link resolves with a second one only after the reset below.
  const second = { then: (resolve: (v: unknown) => void) => resolve("old") };
  evt.send({
    then(resolve: (v: unknown) => void) {
      setTimeout(() => resolve(second), 10);
    },
  });
  for (let i = 0; i < 5; i++) await null; // the first then has run
  evt.reset();
  evt.send("new");
  assertEquals(await early, "old", "the old send's waiter");
  assertEquals(await evt.wait(), "new", "a wait after the new send");
  assertEquals(evt.poll(), "new");
});

Deno.test("Event's timers stay linear in its timed waiters, however their deadlines spread over turns", async (t) => {
  // Deadlines interleave across turns: each turn's own earliest comes after
  // other turns' deadlines. A turn's timer that re-armed for the earliest of
  // every turn rang once per other turn's deadline (11,000 timer calls for the
  // 2,000 waiters of the first spread).
  const spreads: [string, number, (turn: number, k: number) => number][] = [
    [
      "two a turn, one near and one far",
      2,
      (turn, k) => k ? 150 : 1 + turn % 100,
    ],
    ["two a turn, interleaved", 2, (turn, k) => 1 + (turn * 37) % 100 + k * 50],
    [
      "four a turn, interleaved",
      4,
      (turn, k) => 1 + (turn * 37) % 100 + k * 25,
    ],
  ];
  for (const [name, perTurn, timeout] of spreads) {
    await t.step(name, async () => {
      const realSetTimeout = globalThis.setTimeout;
      let calls = 0;
      globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
        calls++;
        return realSetTimeout(...args);
      }) as typeof setTimeout;
      try {
        const evt = new Event<void>();
        const timedOut: Promise<unknown>[] = [];
        for (let turn = 0; turn < 1_000; turn++) {
          for (let k = 0; k < perTurn; k++) {
            timedOut.push(
              evt.wait({ timeout: timeout(turn, k) }).catch((e) => e.name),
            );
          }
          await Promise.resolve(); // a microtask checkpoint: the next turn
        }
        const names = await Promise.all(timedOut);
        assertEquals(new Set(names), new Set(["TimeoutError"]));
        assertEquals(evt.waiting, 0);
        // One call to arm for each waiter at most, and one to re-arm after
        // each ring, which times out a waiter of its own or finds the one
        // it was armed for already gone.
        const waiters = 1_000 * perTurn;
        if (calls > 2 * waiters) {
          throw new Error(`${calls} setTimeout calls for ${waiters} waiters`);
        }
      } finally {
        globalThis.setTimeout = realSetTimeout;
      }
    });
  }
});

Deno.test("Event.send() of an object: calls from its then getter see its waiters, as a carrier kept them", async (t) => {
  // A plain object goes to the waiters with no carrier; only a call that
  // reaches the event while `then` is read makes one. Each step checks what
  // such a call sees against what it saw when every object had a carrier.
  for (const thenable of [false, true]) {
    const kind = thenable ? "a thenable" : "no thenable";
    await t.step(
      `${kind}: wait(), waiting and an abort from the getter`,
      async () => {
        const evt = new Event<unknown>();
        const controller = new AbortController();
        const early = [
          evt.wait(),
          evt.wait({ timeout: 1_000 }),
          evt.wait({ signal: controller.signal }).catch((e) => `aborted: ${e}`),
        ];
        const seen: unknown[] = [];
        let late: Promise<unknown>[] = [];
        let reads = 0;
        const value = {
          get then() {
            // Each waiter's promise reads it again as it resolves, as any
            // promise does: only the send's own read acts.
            if (reads++ > 0) return undefined;
            seen.push(evt.waiting, evt.ready());
            controller.abort("from the getter");
            seen.push(evt.waiting);
            late = [evt.wait(), evt.wait({ timeout: 1_000 })];
            seen.push(evt.waiting);
            return thenable
              ? (resolve: (v: unknown) => void) => resolve("adopted")
              : undefined;
          },
        };
        evt.send(value);
        const outcome = thenable ? "adopted" : value;
        assertEquals(seen, [3, true, 2, 4]);
        assertEquals(await Promise.all(early), [
          outcome,
          outcome,
          "aborted: from the getter",
        ]);
        assertEquals(await Promise.all(late), [outcome, outcome]);
        assertEquals(await evt.wait({ timeout: 1_000 }), outcome);
        assertEquals(evt.waiting, 0);
        if (thenable) assertEquals(reads, 1);
      },
    );
    await t.step(
      `${kind}: a reset() and a new send from the getter`,
      async () => {
        const evt = new Event<unknown>();
        const early = [evt.wait(), evt.wait({ timeout: 1_000 })];
        let next: Promise<unknown> | undefined;
        const value = {
          get then() {
            evt.reset();
            next = evt.wait();
            evt.send({ second: true }); // an object again: read in here
            return thenable
              ? (resolve: (v: unknown) => void) => resolve("adopted")
              : undefined;
          },
        };
        evt.send(value);
        const outcome = thenable ? "adopted" : value;
        assertEquals(await Promise.all(early), [outcome, outcome]);
        assertEquals(await next, { second: true });
        assertEquals(await evt.wait(), { second: true });
      },
    );
  }
  await t.step(
    "a thenable that never settles: a wait from its getter keeps its own timeout",
    async () => {
      const evt = new Event<unknown>();
      const early = evt.wait({ timeout: 5 }).catch((e) => e.name);
      let fromGetter: Promise<unknown> | undefined;
      const never = {
        get then() {
          fromGetter = evt.wait({ timeout: 5 }).catch((e) => e.name);
          return () => {}; // adopted, never settles
        },
      };
      evt.send(never);
      assertEquals(await early, "TimeoutError");
      assertEquals(await fromGetter, "TimeoutError");
      assertEquals(evt.waiting, 0);
    },
  );
  await t.step(
    "a getter that sends another event an object that reaches back",
    async () => {
      const [a, b] = [new Event<unknown>(), new Event<unknown>()];
      const fromA = [a.wait(), a.wait({ timeout: 1_000 })];
      const fromB = b.wait();
      let joinedA: Promise<unknown> | undefined;
      const inner = {
        get then() {
          joinedA = a.wait({ timeout: 1_000 }); // a's then is still being read
          return undefined;
        },
      };
      const outer = {
        get then() {
          b.send(inner);
          return (resolve: (v: unknown) => void) => resolve("a adopted");
        },
      };
      a.send(outer);
      assertEquals(await Promise.all(fromA), ["a adopted", "a adopted"]);
      assertEquals(await joinedA, "a adopted");
      assertStrictEquals(await fromB, inner);
      assertEquals([a.waiting, b.waiting], [0, 0]);
    },
  );
});

Deno.test("Event.send() of an object: a reset() of another event from its then getter leaves this send alone", async () => {
  const [a, b] = [new Event<unknown>(), new Event<unknown>()];
  b.send("b's first");
  const fromA = [a.wait(), a.wait({ timeout: 1_000 })];
  const value = {
    get then() {
      b.reset(); // another event: this send keeps its waiters
      b.send("b's second");
      return undefined;
    },
  };
  a.send(value);
  for (const waiting of fromA) assertStrictEquals(await waiting, value);
  assertStrictEquals(await a.wait(), value);
  assertEquals(await b.wait(), "b's second");
  assertEquals([a.waiting, b.waiting], [0, 0]);
});

Deno.test("Event.wait() timing out behind a pending thenable names the event sent", async () => {
  const evt = new Event<unknown>({ name: "config" });
  const early = evt.wait({ timeout: 5 });
  evt.send(new Promise(() => {})); // adopted, never settles
  const late = evt.wait({ timeout: 5 });
  for (const waiting of [early, late]) {
    const error = await assertRejects(() => waiting, DOMException);
    assertEquals(
      error.message,
      'wait() on Event "config" timed out after 5 ms',
    );
  }
});

// Round 5 (issue 28): the lazy carrier under re-entrant getters, iterate()
// and overrides, and inspect after reset().

Deno.test("Event.send() of an object: another send from its then getter keeps each send's waiters apart (round 5, defect 1)", async (t) => {
  const cases: [string, (x: Event<unknown>, y: Event<unknown>) => void][] = [
    ["a promise sent to another event", (_x, y) => {
      y.send(Promise.resolve("y's value"));
    }],
    ["an object with a throwing then getter sent to another event", (_x, y) => {
      y.send({
        get then() {
          throw new Error("y's getter");
        },
      });
    }],
    ["this event reset and sent a promise", (x) => {
      x.reset();
      x.send(Promise.resolve("x's second"));
    }],
  ];
  for (const [name, act] of cases) {
    await t.step(name, async () => {
      const [x, y] = [new Event<unknown>(), new Event<unknown>()];
      const fromX = [x.wait(), x.wait({ timeout: 1_000 })];
      const sendsY = !name.startsWith("this event");
      const fromY = sendsY
        ? y.wait().then((v) => v, (e: Error) => e.message)
        : undefined;
      let reads = 0;
      const value = {
        get then() {
          if (reads++ === 0) act(x, y);
          return undefined;
        },
      };
      x.send(value);
      for (const waiting of fromX) assertStrictEquals(await waiting, value);
      if (!sendsY) {
        assertEquals(await x.wait(), "x's second");
      } else {
        assertEquals(
          await fromY,
          name.startsWith("a promise") ? "y's value" : "y's getter",
        );
        assertStrictEquals(await x.wait(), value);
      }
      assertEquals([x.waiting, y.waiting], [0, 0]);
    });
  }
  await t.step(
    "a promise sent from a first() watcher's abort handler",
    async () => {
      const [x, y, z] = [
        new Event<unknown>(),
        new Event<unknown>(),
        new Event(),
      ];
      const controller = new AbortController();
      // first() stops as x is sent: that removes its listener, so the
      // handler runs when the getter below aborts.
      controller.signal.addEventListener("abort", () => {
        y.send(Promise.resolve("y's value"));
      });
      const selected = Event.first([x, z], { signal: controller.signal });
      const fromX = x.wait({ timeout: 1_000 });
      const fromY = y.wait();
      let reads = 0;
      const value = {
        get then() {
          if (reads++ === 0) controller.abort();
          return undefined;
        },
      };
      x.send(value);
      assertStrictEquals(await selected, x);
      assertStrictEquals(await fromX, value);
      assertEquals(await fromY, "y's value");
    },
  );
});

Deno.test("Event.wait() never throws when the sent object's then getter waits on the same event (round 5, defect 2)", async (t) => {
  for (const kind of ["a then getter", "a Proxy's get trap"] as const) {
    await t.step(kind, async () => {
      const evt = new Event<unknown>();
      let depth = 0;
      const inner: Promise<unknown>[] = [];
      const target = {};
      const onThen = () => {
        // Bounded, so that the defect fails the test instead of the stack.
        if (depth++ < 50) inner.push(evt.wait());
        return undefined;
      };
      const value = kind === "a then getter"
        ? Object.defineProperty(target, "then", { get: onThen })
        : new Proxy(target, {
          get: (t, key) => key === "then" ? onThen() : Reflect.get(t, key),
        });
      evt.send(value);
      const waiting = evt.wait();
      assertStrictEquals(await waiting, value);
      for (const promise of inner) assertStrictEquals(await promise, value);
      assert(depth < 10, `then was read ${depth} times`);
    });
  }
});

Deno.test("Event keeps the object sent for every later waiter, though it became a thenable since (round 5, defect 3)", async (t) => {
  for (const early of [false, true]) {
    await t.step(early ? "with a waiter at send" : "with none", async () => {
      const evt = new Event<unknown>();
      const before = early ? evt.wait() : undefined;
      const value: { then?: unknown } = {};
      evt.send(value);
      // A promise resolved with it now keeps it, whatever it becomes.
      const resolved = Promise.resolve(value);
      value.then = () => {}; // never calls back
      assertStrictEquals(await resolved, value);
      if (before !== undefined) assertStrictEquals(await before, value);
      assertStrictEquals(await evt.wait(), value);
      assertStrictEquals(await evt.wait({ timeout: 1_000 }), value);
    });
  }
});

Deno.test("Event keeps a function sent for every later waiter, though it became a thenable since (round 5, defect 3)", async () => {
  const evt = new Event<unknown>();
  const value: { (): void; then?: unknown } = () => {};
  evt.send(value);
  value.then = () => {}; // never calls back
  assertStrictEquals(await evt.wait(), value);
  assertStrictEquals(await evt.wait({ timeout: 1_000 }), value);
});

Deno.test("Event.send() of an object reads its then once, and once for the promise its plain waiters share (round 5, defect 3)", async () => {
  const evt = new Event<unknown>();
  let reads = 0;
  const value = {
    get then() {
      reads++;
      return undefined;
    },
  };
  const early = [evt.wait(), evt.wait(), evt.wait()];
  evt.send(value);
  assertEquals(reads, 2, "the send's, and the shared promise's");
  const late = [evt.wait(), evt.wait(), evt.wait({ timeout: 1_000 })];
  for (const waiting of [...early, ...late]) {
    assertStrictEquals(await waiting, value);
  }
  assertEquals(reads, 2, "later waiters share that promise");
});

Deno.test("Event.iterate() and first() never call a subclass's ready() (round 5, defect 4)", async (t) => {
  class Liar<T> extends Event<T> {
    override ready(): boolean {
      return false;
    }
  }
  class Thrower<T> extends Event<T> {
    override ready(): boolean {
      throw new Error("ready() overridden");
    }
  }
  for (const Class of [Liar, Thrower]) {
    await t.step(Class.name, async () => {
      const evt = new Class<string>();
      evt.send("sent");
      const given: Event<string>[] = [];
      // Bounded: a watcher of an event already sent is never told.
      for await (const e of Event.iterate([evt], { timeout: 1_000 })) {
        given.push(e);
      }
      assertEquals(given.length, 1);
      assertStrictEquals(given[0], evt);
      assertStrictEquals(await Event.first([evt], { timeout: 1_000 }), evt);
    });
  }
});

Deno.test("Event inspected before reset() keeps nothing of the value sent (round 5, defect 5)", async () => {
  const evt = new Event<object>();
  let value: object | undefined = { big: new Uint8Array(1024) };
  const ref = new WeakRef(value);
  evt.send(value);
  assert(Deno.inspect(evt).includes("ready: true"), Deno.inspect(evt));
  evt.reset();
  value = undefined;
  // A WeakRef holds its target until the current job ends.
  await new Promise((resolve) => setTimeout(resolve, 0));
  (globalThis as { gc?: () => void }).gc!();
  assertEquals(ref.deref(), undefined);
  assertEquals(Deno.inspect(evt), "Event { ready: false, waiting: 0 }");
});

Deno.test("Event times out, in deadline order and never early, the waiters left after most of them left", async (t) => {
  // Most of the timed waiters leave (tombstones, then compacted heaps): the
  // rest must still time out, each at its deadline, in deadline order.
  for (const turns of [1, 3]) {
    await t.step(`in ${turns} turn${turns === 1 ? "" : "s"}`, async () => {
      using time = new FakeMonotonicTime(0);
      const evt = new Event({ name: "crowd" });
      const leaving = new AbortController();
      const fired: [number, number][] = [];
      const settled: Promise<void>[] = [];
      const kept: number[] = [];
      for (let i = 0; i < 200; i++) {
        // A new turn: the turn's timer closes at the microtask checkpoint.
        if (i > 0 && i % Math.ceil(200 / turns) === 0) await null;
        const timeout = 1_000 - 3 * i; // later calls, earlier deadlines
        const stays = i % 5 === 0;
        if (stays) kept.push(timeout);
        const waiting = evt.wait(
          stays ? { timeout } : { timeout, signal: leaving.signal },
        );
        settled.push(waiting.then(() => {}, (error) => {
          if (stays) {
            assertEquals(error.name, "TimeoutError");
            fired.push([timeout, performance.now()]);
          }
        }));
      }
      leaving.abort(); // 160 of 200 leave
      await time.tickAsync(1_000);
      await Promise.all(settled);
      assertEquals(
        fired.map(([timeout]) => timeout),
        kept.toSorted((a, b) => a - b),
      );
      for (const [timeout, at] of fired) {
        assert(at >= timeout, `${timeout} early`);
      }
      assertEquals(evt.waiting, 0);
    });
  }
});
