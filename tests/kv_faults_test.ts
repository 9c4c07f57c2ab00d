// Copyright 2026 the @seed/event authors. MIT license.
/**
 * KvEvent on a real Deno KV file, under faults injected around the real
 * handle (`tests/kv_faults.ts`): slow, hung and failing calls, lost replies,
 * broken and merged watch streams, a handle closed mid-wait. Each test
 * names the defect of 0.2.0 it guards against.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { Event, EventStateError } from "../mod.ts";
import { KvEvent } from "../kv.ts";
import { type Fault, faulty, quiet } from "./kv_faults.ts";
import { kvProcess } from "./kv_process.ts";
import { Watcher } from "../kv/watcher.ts";
import { assertTimesOut, kvFile, settles } from "./_helpers.ts";

Deno.test("KvEvent reopens a watch stream that ended or failed, and wakes its waiter (defect 1)", async (t) => {
  for (const broken of ["end", "error"] as const) {
    await t.step(`a stream that ${broken}s after its first frame`, async () => {
      await using file = await kvFile();
      const [a, b] = [await file.open(), await file.open()];
      let frames = 0;
      using wrapped = faulty(
        a,
        quiet(undefined, () => frames++ === 0 ? broken : undefined),
      );
      // No polling: only a watch can wake it.
      await using waiter = new KvEvent<string>(wrapped.kv, ["reopen"], {
        pollInterval: Infinity,
      });
      await using sender = new KvEvent<string>(b, ["reopen"]);
      const waiting = waiter.wait();
      // Let the first stream break: its first frame is the one it breaks on.
      while (frames < 1) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
      await sender.send("woken");
      const result = await settles(waiting, "the waiter");
      assertEquals(result, { status: "fulfilled", value: "woken" });
      assert(wrapped.faults.counts.watch >= 2, "the stream was reopened");
    });
  }
});

Deno.test("KvEvent wait() is bounded by its timeout and signal while storage is slow or hangs (defect 2)", async (t) => {
  await using file = await kvFile();
  const kv = await file.open();
  await using sender = new KvEvent<string>(kv, ["bounded"]);
  await sender.send("sent long ago");
  for (
    const fault of [{ kind: "hang" }, { kind: "delay", ms: 2_000 }] as Fault[]
  ) {
    await t.step(`reads that ${fault.kind}`, async (t) => {
      using wrapped = faulty(
        kv,
        quiet((name) => name === "commit" ? undefined : fault),
      );
      // callTimeout far beyond the waits: only their own bounds end them.
      await using evt = new KvEvent<string>(wrapped.kv, ["bounded"], {
        callTimeout: 60_000,
      });
      await t.step("a timeout", async () => {
        const error = await assertTimesOut(
          settles(evt.wait({ timeout: 50 }), "a timed wait").then((r) => {
            if (r.status === "rejected") throw r.reason;
            return r.value;
          }),
        );
        assertEquals(
          error.message,
          'wait() on KvEvent "bounded" timed out after 50 ms',
        );
      });
      await t.step("a signal aborted during the read", async () => {
        const controller = new AbortController();
        const waiting = evt.wait({ signal: controller.signal });
        setTimeout(() => controller.abort("gone"), 20);
        assertEquals(await settles(waiting, "an aborted wait"), {
          status: "rejected",
          reason: "gone",
        });
      });
      await t.step("a signal aborted before the call", async () => {
        const waiting = evt.wait({ signal: AbortSignal.abort("before") });
        assertEquals(await settles(waiting, "an aborted wait"), {
          status: "rejected",
          reason: "before",
        });
      });
    });
  }
});

Deno.test("KvEvent waiters reject, naming the event, when the handle is closed, and polling stops (defect 3)", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  using wrapped = faulty(kv, quiet());
  await using evt = new KvEvent<string>(wrapped.kv, ["closing"], {
    pollInterval: 10,
  });
  const plain = evt.wait();
  const timed = evt.wait({ timeout: 60_000 });
  await new Promise((r) => setTimeout(r, 30));
  kv.close();
  for (const waiting of [plain, timed]) {
    const result = await settles(waiting, "a waiter of a closed handle");
    assert(result.status === "rejected");
    assertInstanceOf(result.reason, Error);
    assertEquals(
      result.reason.message,
      'Cannot wait for KvEvent "closing": its database was closed before it was sent',
    );
  }
  const reads = wrapped.faults.counts.getMany + wrapped.faults.counts.get;
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(
    wrapped.faults.counts.getMany + wrapped.faults.counts.get,
    reads,
    "no read after the close was heard",
  );
  // A wait begun after the close rejects the same way.
  const late = await settles(evt.wait(), "a wait after the close");
  assert(late.status === "rejected");
  assertEquals(
    late.reason.message,
    'Cannot wait for KvEvent "closing": its database was closed before it was sent',
  );
});

Deno.test("KvEvent never gives a call made after reset() an older generation, with slow reads (defect 4)", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  // Reads begun while `slow` is set answer 300 ms late with what they read:
  // the wait's read, begun before reset(), answers after reset() resolved.
  let slow = false;
  using wrapped = faulty(
    kv,
    quiet((name) =>
      slow && name !== "commit" ? { kind: "late reply", ms: 300 } : undefined
    ),
  );
  await using evt = new KvEvent<string>(wrapped.kv, ["stale"]);
  await evt.send("old");
  slow = true;
  // Called before reset() resolved: either generation is right for it.
  const before = evt.wait({ timeout: 1_000 }).catch((error) => error.name);
  await new Promise((r) => setTimeout(r, 0));
  slow = false;
  await evt.reset();
  // Called after: never the old generation.
  assertEquals(await evt.poll(), undefined);
  assertEquals(await evt.ready(), false);
  await assertTimesOut(evt.wait({ timeout: 100 }));
  assert(["old", "TimeoutError"].includes(await before));
});

Deno.test("KvEvent wait({ timeout: 0 }) gives a sent event's value (defect 5)", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  using wrapped = faulty(
    kv,
    quiet((name) => name === "commit" ? undefined : { kind: "delay", ms: 5 }),
  );
  await using evt = new KvEvent<string>(wrapped.kv, ["zero"]);
  await evt.send("long ago");
  for (let i = 0; i < 5; i++) {
    assertEquals(await evt.wait({ timeout: 0 }), "long ago");
  }
  await evt.reset();
  const error = await assertTimesOut(evt.wait({ timeout: 0 }));
  assertEquals(error.message, 'wait() on KvEvent "zero" timed out after 0 ms');
});

Deno.test("KvEvent gives other people's timeouts as they are, and names only its own (defect 6)", async (t) => {
  await using file = await kvFile();
  const kv = await file.open();
  await using evt = new KvEvent<string>(kv, ["others"]);
  await t.step(
    "a sent TimeoutError reaches a timed waiter as sent",
    async () => {
      // Handled before the send: it may reject while the send is awaited.
      const waiting = assertTimesOut(evt.wait({ timeout: 10_000 }));
      await evt.sendException(
        new DOMException("upstream slow", "TimeoutError"),
      );
      const error = await waiting;
      assertEquals(error.message, "upstream slow");
      await evt.reset();
    },
  );
  await t.step("an AbortSignal.timeout() reason is the signal's", async () => {
    const signal = AbortSignal.timeout(10);
    const waiting = evt.wait({ signal, timeout: 10_000 });
    const result = await settles(waiting, "a waiter with a timed signal");
    assert(result.status === "rejected");
    assertStrictEquals(result.reason, signal.reason);
  });
  await t.step("its own timeout names the key", async () => {
    const error = await assertTimesOut(evt.wait({ timeout: 10 }));
    assertEquals(
      error.message,
      'wait() on KvEvent "others" timed out after 10 ms',
    );
  });
});

Deno.test("KvEvent wait() rejects bad options with Event's errors, exactly (defect 7)", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  await using evt = new KvEvent<string>(kv, ["options"]);
  const local = new Event<string>();
  const bad: unknown[] = [
    AbortSignal.abort(),
    new AbortController().signal,
    100,
    "100",
    null,
    { timeout: -1 },
    { timeout: NaN },
    { timeout: "10" },
    { signal: {} },
    { signal: "x" },
  ];
  for (const options of bad) {
    const expected = await assertRejects(() => local.wait(options as never));
    const result = await settles(evt.wait(options as never), "a bad wait");
    assert(result.status === "rejected", `${Deno.inspect(options)} waited`);
    const got = result.reason;
    assertEquals(
      [(got as Error).constructor, (got as Error).message],
      [(expected as Error).constructor, (expected as Error).message],
    );
  }
  const thrown = new Error("getter");
  const hostile = {
    get timeout() {
      throw thrown;
    },
  };
  assertStrictEquals(
    await assertRejects(() => evt.wait(hostile as never)),
    thrown,
  );
});

Deno.test("KvEvent plain wait() nobody handles stays silent when another handle sends an exception (defect 8)", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  await using waiter = new KvEvent<string>(a, ["silent"]);
  await using sender = new KvEvent<string>(b, ["silent"]);
  waiter.wait(); // never handled: Deno fails the test on an unhandled rejection
  waiter.wait();
  // A timed waiter's promise is the caller's own: handled before the send.
  const handled = assertRejects(
    () => waiter.wait({ timeout: 10_000 }),
    Error,
    "boom",
  );
  await new Promise((r) => setTimeout(r, 20));
  await sender.sendException(new Error("boom"));
  await handled;
  await new Promise((r) => setTimeout(r, 20));
});

Deno.test("KvEvent() refuses what Deno KV refuses, and honours long poll intervals (defect 9)", async (t) => {
  await using file = await kvFile();
  const kv = await file.open();
  for (const expireIn of [Infinity, 1.5, 1e20, -1, NaN, 8.64e15]) {
    await t.step(`expireIn ${expireIn}`, () => {
      const error = assertThrowsRange(() =>
        new KvEvent(kv, ["k"], { expireIn })
      );
      assertEquals(
        error.message,
        `Cannot make a KvEvent: expireIn must be a positive integer number of milliseconds that Deno KV can store, got ${expireIn}`,
      );
    });
  }
  await t.step("the longest expireIn KV takes is sendable", async () => {
    await using evt = new KvEvent<number>(kv, ["long"], {
      expireIn: 1e15,
    });
    await evt.send(1);
    assertEquals(await evt.poll(), 1);
  });
  await t.step(
    "a pollInterval above 2^31-1 ms reads nothing for 200 ms",
    async () => {
      using wrapped = faulty(kv, quiet());
      await using evt = new KvEvent<string>(wrapped.kv, ["rare"], {
        pollInterval: 2 ** 31,
        watch: false,
      });
      const waiting = evt.wait({ timeout: 200 });
      await assertTimesOut(waiting);
      // The wait's own read of the head, and no poll.
      assertEquals(
        wrapped.faults.counts.get + wrapped.faults.counts.getMany,
        1,
      );
    },
  );
});

function assertThrowsRange(make: () => unknown): RangeError {
  try {
    make();
  } catch (error) {
    assertInstanceOf(error, RangeError);
    return error;
  }
  throw new Error("did not throw");
}

Deno.test("KvEvent sends anything Deno KV stores under its key, and refuses the rest naming the size (defect 10)", async (t) => {
  await using file = await kvFile();
  const kv = await file.open();
  await using evt = new KvEvent<unknown>(kv, ["sizes"]);
  for (const value of ["x".repeat(65_530), new Uint8Array(65_536)]) {
    await t.step(`${value.constructor.name} of ${value.length}`, async () => {
      await kv.set(["plain"], value); // what KV stores ...
      await evt.send(value); // ... is sendable
      assertEquals(await evt.poll(), value);
      await evt.reset();
    });
  }
  await t.step("one byte more is a RangeError naming its size", async () => {
    const error = await assertRejects(
      () => evt.send("x".repeat(65_531)),
      RangeError,
    );
    assertEquals(
      error.message,
      "Cannot send: the value takes 65537 bytes serialized, over Deno KV's limit of 65536; the event stays unsent",
    );
    assertEquals(await evt.ready(), false);
  });
});

Deno.test("KvEvent exceptions keep their class, name, message, stack, cause and errors (defect 11)", async (t) => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  await using sender = new KvEvent<string>(a, ["errors"]);
  await using waiter = new KvEvent<string>(b, ["errors"]);
  async function roundTrip(error: unknown): Promise<unknown> {
    // Handled before the send: it may reject while the send is awaited.
    const waiting = settles(waiter.wait({ timeout: 10_000 }), "the waiter");
    await sender.sendException(error);
    const result = await waiting;
    await sender.reset();
    assert(result.status === "rejected");
    return result.reason;
  }
  await t.step("AggregateError keeps its errors", async () => {
    const sent = new AggregateError(
      [new TypeError("one"), new RangeError("two")],
      "both",
      { cause: "why" },
    );
    const got = await roundTrip(sent);
    assertInstanceOf(got, AggregateError);
    assertEquals(got.message, "both");
    assertEquals(got.cause, "why");
    assertEquals(got.stack, sent.stack);
    assertInstanceOf(got.errors[0], TypeError);
    assertInstanceOf(got.errors[1], RangeError);
    assertEquals(got.errors.map((e: Error) => e.message), ["one", "two"]);
  });
  await t.step("DOMException keeps its name and message", async () => {
    const got = await roundTrip(new DOMException("stopped", "AbortError"));
    assertInstanceOf(got, DOMException);
    assertEquals([got.name, got.message], ["AbortError", "stopped"]);
  });
  await t.step("EventStateError is rebuilt as itself", async () => {
    const got = await roundTrip(new EventStateError("misuse"));
    assertInstanceOf(got, EventStateError);
  });
  await t.step(
    "a custom class comes back as its nearest built-in, with its name",
    async () => {
      class Upstream extends TypeError {
        override name = "UpstreamError";
      }
      const got = await roundTrip(
        new Upstream("502", { cause: new Error("inner") }),
      );
      assertStrictEquals(Object.getPrototypeOf(got), TypeError.prototype);
      assertEquals([(got as Error).name, (got as Error).message], [
        "UpstreamError",
        "502",
      ]);
      assertInstanceOf((got as Error).cause, Error);
      assertEquals(((got as Error).cause as Error).message, "inner");
    },
  );
  await t.step(
    "a value that is not an error is thrown as it was sent",
    async () => {
      assertEquals(await roundTrip({ code: 7 }), { code: 7 });
    },
  );
  await t.step("a cause cycle is kept, not followed forever", async () => {
    const sent = new Error("loop");
    sent.cause = sent;
    const got = await roundTrip(sent) as Error;
    assertEquals(got.message, "loop");
    assertStrictEquals(got.cause, got);
  });
});

Deno.test("KvEvent shares one watcher per handle: 10 keys a stream, 10 keys a read", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  using wrapped = faulty(kv, quiet());
  const events = Array.from(
    { length: 25 },
    (_, i) =>
      new KvEvent<number>(wrapped.kv, ["shared", i], { pollInterval: 50 }),
  );
  // Two instances on one key share its place in a stream.
  events.push(
    new KvEvent<number>(wrapped.kv, ["shared", 0], { pollInterval: 50 }),
  );
  const waits = events.map((evt) => evt.wait());
  await new Promise((r) => setTimeout(r, 20));
  const { counts } = wrapped.faults;
  assertEquals(counts.watch, 3);
  assertEquals(Watcher.of(wrapped.kv).streams, 3);
  const before = counts.getMany;
  await new Promise((r) => setTimeout(r, 120)); // two polls, or three
  const polls = counts.getMany - before;
  assert(polls >= 6 && polls <= 9, `${polls} reads: 3 a poll`);
  await events[0]!.send(1);
  assertEquals((await Promise.all(waits.slice(0, 1)))[0], 1);
  for (const evt of events) await evt[Symbol.asyncDispose]();
  await Promise.allSettled(waits);
  assertEquals(Watcher.of(wrapped.kv).streams, 0, "nothing waits: no stream");
});

Deno.test("KvEvent with the default poll wakes a waiter whose watch missed the send", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  // Every frame after the first is held back for good: watch() misses the
  // send, as it misses another process's commits on a local file.
  let frames = 0;
  using wrapped = faulty(
    a,
    quiet(undefined, () => frames++ === 0 ? undefined : "hold"),
  );
  await using waiter = new KvEvent<string>(wrapped.kv, ["missed"]);
  await using sender = new KvEvent<string>(b, ["missed"]);
  const waiting = waiter.wait();
  await new Promise((r) => setTimeout(r, 20));
  await sender.send("found by a poll");
  assertEquals(await settles(waiting, "the waiter"), {
    status: "fulfilled",
    value: "found by a poll",
  });
});

Deno.test("KvEvent with the default options wakes a waiter in another process", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  const child = kvProcess("wait", file.path, "defaults", "defaults").spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) text += (await reader.read()).value ?? "";
  await using evt = new KvEvent<string>(kv, ["defaults"]);
  await evt.send("across processes");
  while (text.split("\n").length < 3) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  assertEquals(JSON.parse(text.split("\n")[1]!), { value: "across processes" });
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel();
  assertEquals((await child.status).code, 0);
});

Deno.test("KvEvent wakes a waiter whose send was heard between its first read and its wait", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  // The wait's first read answers late with what it read (fresh); the send's
  // frame arrives before that answer, while the waiter has no local event.
  let delayed = false;
  using wrapped = faulty(
    a,
    quiet((name) => {
      if (name !== "get" || delayed) return undefined;
      delayed = true;
      return { kind: "late reply", ms: 150 };
    }),
  );
  await using waiter = new KvEvent<string>(wrapped.kv, ["between"], {
    pollInterval: Infinity, // only the watch can wake it
  });
  await using sender = new KvEvent<string>(b, ["between"]);
  const waiting = waiter.wait();
  await new Promise((r) => setTimeout(r, 30)); // read under way, stream open
  await sender.send("heard early");
  assertEquals(await settles(waiting, "the waiter"), {
    status: "fulfilled",
    value: "heard early",
  });
});

Deno.test("KvEvent disposal rejects a waiter still in its first read", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  // The first read answers late: the wait is in it when disposal comes.
  let first = true;
  using wrapped = faulty(
    kv,
    quiet((name) => {
      if (name !== "get" || !first) return undefined;
      first = false;
      return { kind: "late reply", ms: 100 };
    }),
  );
  const evt = new KvEvent<string>(wrapped.kv, ["disposed early"], {
    pollInterval: Infinity,
  });
  const waiting = settles(evt.wait(), "the waiter");
  await new Promise((r) => setTimeout(r, 20));
  await evt[Symbol.asyncDispose]();
  const result = await waiting;
  assert(result.status === "rejected", "it waited on after disposal");
  assertInstanceOf(result.reason, DOMException);
  assertEquals(result.reason.name, "AbortError");
});

Deno.test("KvEvent does not call a generation expired when a stale frame made it look just before the send", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  const other = await file.open();
  // The waiter's handle: the real one, whose watch frames are held (the
  // test delivers one, late) and whose get() can be slowed.
  let frames: ReadableStreamDefaultController<Deno.KvEntryMaybe<unknown>[]>;
  let slowGet = 0;
  const held = {
    get: async (key: Deno.KvKey) => {
      if (slowGet > 0) await new Promise((r) => setTimeout(r, slowGet));
      return await kv.get(key);
    },
    getMany: (keys: Deno.KvKey[]) => kv.getMany(keys),
    atomic: () => kv.atomic(),
    watch: () =>
      new ReadableStream<Deno.KvEntryMaybe<unknown>[]>({
        start: (controller) => {
          frames = controller;
        },
      }),
  };
  await using sender = new KvEvent<string>(other, ["late frame"]);
  await using waiter = new KvEvent<string>(held, ["late frame"], {
    pollInterval: Infinity,
  });
  await sender.send("a");
  // A real frame of generation 0, sent: stale once the event moves on.
  const stale = await kv.get(["late frame", "v1"]);
  await sender.reset();
  const woken = waiter.wait({ timeout: 5_000 }).catch((error) => error);
  await waiter.wait({ timeout: 0 }).catch(() => {}); // generation 1 read
  // The stale frame makes the waiter look for generation 1's outcome (none
  // yet); its head read that follows answers after 1 was sent and reset.
  slowGet = 300;
  frames!.enqueue([stale]);
  await new Promise((r) => setTimeout(r, 50));
  await sender.send("b");
  await sender.reset();
  assertEquals(await woken, "b");
  other.close();
});
