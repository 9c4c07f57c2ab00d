// Copyright 2026 the @seed/event authors. MIT license.
/**
 * KvEvent on a real Deno KV file: several handles, Workers and processes of
 * one machine, as Deno Deploy's isolates share one database.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { assertSpyCalls, spy, stub } from "@std/testing/mock";
import { EventStateError } from "./mod.ts";
import { KvEvent } from "./kv.ts";
import { kvProcess, queries } from "./tests/kv_process.ts";
import { faulty, quiet } from "./tests/kv_faults.ts";
import { assertTimesOut, kvFile, settled } from "./tests/_helpers.ts";

const RESEND = "Trying to re-send() an already-triggered event.";
const RERESET = "Trying to re-reset() a fresh event.";
/** Misuse names the key, as Event's misuse names a named event. */
const named = (message: string, key: string) =>
  `${message} (KvEvent ${JSON.stringify(key)})`;

/** Runs `tests/kv_process.ts` in a process of its own. */
function spawn(args: string[]): Deno.ChildProcess {
  return kvProcess(...args).spawn();
}

/** The JSON lines a process printed, once it exits; fails if it failed. */
async function lines(child: Deno.ChildProcess): Promise<unknown[]> {
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder().decode(stdout);
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return text.trim().split("\n").filter(Boolean).map((line) =>
    JSON.parse(line)
  );
}

Deno.test("KvEvent keeps Event's semantics and messages", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  await using evt = new KvEvent<string>(kv, ["basic"]);
  assertEquals(await evt.ready(), false);
  assertEquals(await evt.poll(), undefined);
  const error = await assertRejects(() => evt.reset(), EventStateError);
  assertEquals(error.message, named(RERESET, "basic"));
  const waiting = evt.wait();
  await evt.send("a");
  assertEquals(await waiting, "a");
  assertEquals([await evt.ready(), await evt.poll()], [true, "a"]);
  const again = await assertRejects(() => evt.send("b"), EventStateError);
  assertEquals(again.message, named(RESEND, "basic"));
  assertEquals(await evt.poll(), "a", "a losing send changes nothing");
  await evt.reset();
  assertEquals(await evt.ready(), false);
  const boom = new RangeError("boom", { cause: new Error("inner") });
  await evt.sendException(boom);
  const rejected = await assertRejects(() => evt.wait(), RangeError, "boom");
  assertInstanceOf(rejected.cause, Error);
  await assertRejects(() => evt.poll(), RangeError, "boom");
});

Deno.test("KvEvent gives a waiter its own generation's outcome after reset()", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  await using first = new KvEvent<string>(a, ["gen"], { pollInterval: 5 });
  await using second = new KvEvent<string>(b, ["gen"], { pollInterval: 5 });
  const early = first.wait({ timeout: 5_000 });
  await second.send("one");
  await second.reset();
  await second.send("two");
  assertEquals(await early, "one");
  assertEquals(await first.wait(), "two");
});

Deno.test("KvEvent wakes every waiter of several handles and Workers in one process, by watch", async () => {
  await using file = await kvFile();
  const handles = [await file.open(), await file.open(), await file.open()];
  // No polling: only watch() can wake these.
  const events = handles.map((kv) =>
    new KvEvent<string>(kv, ["watched"], { pollInterval: Infinity })
  );
  const log: string[] = [];
  const waiters = events.flatMap((evt, i) =>
    [0, 1, 2].map((j) =>
      evt.wait({ timeout: 10_000 }).then((value) => {
        log.push(`${i}.${j}`);
        return value;
      })
    )
  );
  const workers = [0, 1].map(() =>
    new Worker(new URL("./tests/kv_worker.ts", import.meta.url), {
      type: "module",
    })
  );
  try {
    const values = workers.map((worker) =>
      new Promise<unknown>((resolve, reject) => {
        worker.onerror = reject;
        worker.onmessage = (message) => {
          if ("value" in message.data) resolve(message.data.value);
          else if (message.data.ready) ready.push(true);
        };
        worker.postMessage({ file: file.path });
      })
    );
    const ready: boolean[] = [];
    while (ready.length < workers.length) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await events[0]!.send("hello");
    assertEquals(await Promise.all(waiters), Array(9).fill("hello"));
    assertEquals(await Promise.all(values), ["hello", "hello"]);
    // FIFO within each instance.
    for (const i of [0, 1, 2]) {
      assertEquals(log.filter((e) => e.startsWith(`${i}.`)), [
        `${i}.0`,
        `${i}.1`,
        `${i}.2`,
      ]);
    }
  } finally {
    for (const worker of workers) worker.terminate();
    for (const evt of events) await evt[Symbol.asyncDispose]();
  }
});

Deno.test("KvEvent wait() bounds each waiter alone, and leaves no watch or timer", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  await using evt = new KvEvent<string>(kv, ["bounded"], { pollInterval: 5 });
  const controller = new AbortController();
  const aborted = evt.wait({ signal: controller.signal });
  const timed = evt.wait({ timeout: 20 });
  const plain = evt.wait();
  controller.abort("gone");
  assertEquals(await assertRejects(() => aborted), "gone");
  const error = await assertTimesOut(timed);
  assertEquals(
    error.message,
    'wait() on KvEvent "bounded" timed out after 20 ms',
  );
  assertEquals(await settled(plain), false);
  await evt.send("sent");
  assertEquals(await plain, "sent");
  // Bad options reject as Event's do, and never throw.
  const bad = await assertRejects(() => evt.wait(100 as never), TypeError);
  assertEquals(
    bad.message,
    "Cannot wait: options must be an object, got 100; for a timeout, pass { timeout: 100 } (milliseconds)",
  );
  // The sanitizers check that no watch stream or timer is left.
});

Deno.test("KvEvent send() refuses what Deno KV cannot store, and stays unsent", async (t) => {
  await using file = await kvFile();
  const kv = await file.open();
  await using evt = new KvEvent<unknown>(kv, ["values"]);
  await t.step("a value at the limit is sent", async () => {
    await evt.send("x".repeat(65_000));
    assertEquals((await evt.poll() as string).length, 65_000);
    await evt.reset();
  });
  await t.step(
    "a value over 64 KiB is a RangeError naming its size",
    async () => {
      const error = await assertRejects(
        () => evt.send("x".repeat(70_000)),
        RangeError,
      );
      const size =
        /^Cannot send: the value takes (\d+) bytes serialized, over Deno KV's limit of 65536; the event stays unsent$/
          .exec(error.message)?.[1];
      assert(Number(size) > 70_000, error.message);
      assertEquals(await evt.ready(), false);
    },
  );
  await t.step("a value that cannot be cloned is a TypeError", async () => {
    const error = await assertRejects(() => evt.send(() => 1), TypeError);
    assert(
      error.message.startsWith("Cannot send: Deno KV stores structured clones"),
    );
    assertEquals(await evt.ready(), false);
  });
  await t.step("a custom error comes back as an Error", async () => {
    class CustomError extends Error {}
    await evt.sendException(new CustomError("custom"));
    const error = await assertRejects(() => evt.wait(), Error, "custom");
    assertStrictEquals(Object.getPrototypeOf(error), Error.prototype);
  });
});

Deno.test("KvEvent passes expireIn to every key it writes", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  const atomic = kv.atomic.bind(kv);
  const sets: unknown[] = [];
  using _ = stub(kv, "atomic", () => {
    const op = atomic();
    const set = op.set.bind(op);
    op.set = (key, value, options) => {
      sets.push(options);
      return set(key, value, options);
    };
    return op;
  });
  await using evt = new KvEvent<number | string>(kv, ["expiring"], {
    expireIn: 60_000,
  });
  await evt.send(1);
  await evt.reset();
  await evt.send("x".repeat(2_000));
  // A send writes the head, and a value too large to ride in it under a
  // key of its own; a reset writes the head and files the outcome.
  assertEquals(sets, Array(5).fill({ expireIn: 60_000 }));
});

Deno.test("KvEvent carries a small value in the head: a waiter woken by it reads nothing more (issue 30)", async () => {
  await using file = await kvFile();
  using wrapped = faulty(await file.open(), quiet());
  await using waiter = new KvEvent<string>(wrapped.kv, ["inline"], {
    pollInterval: Infinity,
  });
  await using sender = new KvEvent<string>(await file.open(), ["inline"]);
  const { counts } = wrapped.faults;
  const reads = () => counts.get + counts.getMany;
  for (
    const [value, after] of [["small", 0], ["x".repeat(2_000), 1]] as const
  ) {
    const waiting = waiter.wait();
    await waiter.wait({ timeout: 0 }).catch(() => {}); // its read done
    const before = reads();
    await sender.send(value);
    assertEquals(await waiting, value);
    // A value over INLINE_LIMIT: one read of the generation's outcome.
    assertEquals(reads() - before, after, `reads to wake for ${value.length}`);
    await sender.reset();
  }
});

Deno.test("KvEvent carries a small primitive as it is, a larger value serialized, a large one under its own key (issue 30)", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  await using sender = new KvEvent<unknown>(kv, ["ride"]);
  await using waiter = new KvEvent<unknown>(await file.open(), ["ride"]);
  const cases: [unknown, "value" | "inline" | "key"][] = [
    [undefined, "value"],
    [null, "value"],
    [false, "value"],
    [-0, "value"],
    [NaN, "value"],
    [1.5, "value"],
    ["", "value"],
    ["\u20ac".repeat(512), "value"], // two bytes a character: 1,024 bytes
    ["\u20ac".repeat(513), "key"], // serialized: over INLINE_LIMIT
    ["y".repeat(700), "inline"],
    [12n, "inline"],
    [{ a: 1 }, "inline"],
  ];
  for (const [value, where] of cases) {
    const what = `${typeof value} ${String(value).slice(0, 8)}`;
    const waiting = waiter.wait({ timeout: 5_000 });
    await sender.send(value);
    assertEquals(await waiting, value, what);
    assertEquals(await waiter.poll(), value, what);
    const head = (await kv.get<{ sent: Record<string, unknown> }>(
      ["ride", "v1"],
    )).value!;
    assertEquals(
      "value" in head.sent ? "value" : "inline" in head.sent ? "inline" : "key",
      where,
      what,
    );
    await sender.reset();
  }
});

Deno.test("KvEvent send() claims a head it knows unsent without reading it again (issue 30)", async () => {
  await using file = await kvFile();
  using wrapped = faulty(await file.open(), quiet());
  const { counts } = wrapped.faults;
  const key = ["guess"];
  await using elsewhere = new KvEvent<string>(await file.open(), key);
  const calls = () => {
    const { get, getMany, commit } = counts;
    return () => ({
      reads: counts.get + counts.getMany - get - getMany,
      commits: counts.commit - commit,
    });
  };
  // Knowing nothing, a send takes the event as fresh: one commit.
  {
    await using evt = new KvEvent<string>(wrapped.kv, key);
    const since = calls();
    await evt.send("first");
    assertEquals(since(), { reads: 0, commits: 1 });
    assertEquals(await elsewhere.poll(), "first");
  }
  // Wrong (sent and reset elsewhere): the check fails, the head is read.
  {
    await elsewhere.reset();
    await using evt = new KvEvent<string>(wrapped.kv, key);
    const since = calls();
    await evt.send("second");
    assertEquals(since(), { reads: 1, commits: 2 });
    assertEquals(await elsewhere.poll(), "second");
    // Known sent: read again, and refused.
    await assertRejects(() => evt.send("third"), EventStateError, RESEND);
  }
  // Known unsent from a read: one commit.
  {
    await using evt = new KvEvent<string>(wrapped.kv, key);
    await elsewhere.reset();
    assertEquals(await evt.ready(), false);
    const since = calls();
    await evt.send("fourth");
    assertEquals(since(), { reads: 0, commits: 1 });
  }
  // Stale: sent elsewhere since it read; refused, never sent twice.
  {
    await using stale = new KvEvent<string>(wrapped.kv, key);
    await elsewhere.reset();
    assertEquals(await stale.ready(), false);
    await elsewhere.send("fifth");
    await assertRejects(() => stale.send("sixth"), EventStateError, RESEND);
    assertEquals(await stale.poll(), "fifth");
  }
});

Deno.test("KvEvent gives each instance its own copy of a value, as Deno KV stores it (issue 30)", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  class Point {
    constructor(readonly x: number, readonly y: number) {}
  }
  await using a = new KvEvent<unknown>(kv, ["copies"]);
  await using b = new KvEvent<unknown>(kv, ["copies"]);
  const waits = [a.wait(), a.wait(), b.wait()];
  const point = new Point(1, 2);
  await a.send(point);
  const [first, second, third] = await Promise.all(waits);
  // The sender's own waiters get what storage holds, not its object.
  assertEquals(first, { x: 1, y: 2 });
  assertStrictEquals(Object.getPrototypeOf(first), Object.prototype);
  assertStrictEquals(first, second); // one instance's waiters share, as Event's
  assert(first !== third, "two instances share one value object");
  assertEquals(third, { x: 1, y: 2 });
  // What Deno KV stores outside V8's format comes back as Deno KV gives it.
  for (const value of [new Deno.KvU64(5n), new Uint8Array([1, 2, 3])]) {
    await a.reset();
    const waiting = b.wait();
    await a.send(value);
    const got = await waiting;
    assertStrictEquals(
      Object.getPrototypeOf(got),
      Object.getPrototypeOf(value),
    );
    assertEquals(got, value);
    assertEquals(await b.poll(), value);
  }
});

Deno.test("KvEvent rejects the waiters of a head whose inline bytes are not V8's, naming why (issue 30)", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  await kv.set(["garbled", "v1"], {
    generation: 0,
    sent: { ok: true, sender: "elsewhere", inline: new Uint8Array([1, 2]) },
    reset: null,
  });
  await using evt = new KvEvent<unknown>(kv, ["garbled"]);
  await assertRejects(
    () => evt.wait({ timeout: 1_000 }),
    TypeError,
    "Cannot read what was sent: its bytes are not V8's format",
  );
});

Deno.test("KvEvent has exactly one send winner per generation across 8 processes", async () => {
  await using file = await kvFile();
  const processes = 8;
  const generations = 100;
  const children = Array.from(
    { length: processes },
    (_, id) =>
      spawn([
        "race",
        file.path,
        String(id),
        String(generations),
        String(processes),
      ]),
  );
  const results = (await Promise.all(children.map(lines))) as {
    generation: number;
    won: boolean;
    lost: boolean;
    value: string;
  }[][];
  for (let generation = 0; generation < generations; generation++) {
    const rows = results.map((lines) => lines[generation]!);
    const winners = rows.filter((row) => row.won);
    assertEquals(winners.length, 1, `winners of generation ${generation}`);
    assert(
      rows.every((row) => row.won || row.lost),
      "a loser did not get EventStateError",
    );
    const winner = results.findIndex((lines) => lines[generation]!.won);
    for (const row of rows) {
      assertEquals(
        row.value,
        `${winner}:${generation}`,
        "every waiter gets the winner's value",
      );
    }
  }
});

Deno.test("KvEvent waiters in other processes go on when one is killed mid-wait", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  const children = [0, 1, 2].map(() => spawn(["wait", file.path, "killed"]));
  // Each prints a line once it waits.
  const readers = children.map((child) => child.stdout.getReader());
  for (const reader of readers) await reader.read();
  children[1]!.kill("SIGKILL");
  await using evt = new KvEvent<string>(kv, ["killed"]);
  await evt.send("still here");
  for (const i of [0, 2]) {
    const { value } = await readers[i]!.read();
    assertEquals(
      JSON.parse(new TextDecoder().decode(value).trim()),
      { value: "still here" },
    );
  }
  for (const [i, child] of children.entries()) {
    readers[i]!.releaseLock();
    await child.stdout.cancel();
    await child.stderr.cancel();
    const status = await child.status;
    assertEquals(status.signal, i === 1 ? "SIGKILL" : null);
  }
});

Deno.test("KvEvent reset() races: one wins, the other finds the event fresh", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  await using first = new KvEvent(a, ["reset"]);
  await using second = new KvEvent(b, ["reset"]);
  await first.send();
  const outcomes = await Promise.allSettled([first.reset(), second.reset()]);
  assertEquals(outcomes.filter((o) => o.status === "fulfilled").length, 1);
  const lost = outcomes.find((o) =>
    o.status === "rejected"
  ) as PromiseRejectedResult;
  assertInstanceOf(lost.reason, EventStateError);
  assertEquals(lost.reason.message, named(RERESET, "reset"));
});

Deno.test("KvEvent disposal rejects only the waiters whose generation was not sent", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  const evt = new KvEvent<string>(kv, ["disposed"], { pollInterval: 5 });
  const waiting = evt.wait();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await evt[Symbol.asyncDispose]();
  const error = await assertRejects(() => waiting, DOMException);
  assertEquals(error.name, "AbortError");
  const sent = new KvEvent<string>(kv, ["disposed-sent"], { pollInterval: 5 });
  const gets = sent.wait();
  await sent.send("kept");
  await sent[Symbol.asyncDispose]();
  assertEquals(await gets, "kept");
});

Deno.test("KvEvent with watch: false wakes its waiters by polling alone", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  using watching = spy(a, "watch");
  await using waiter = new KvEvent<string>(a, ["polled"], {
    watch: false,
    pollInterval: 5,
  });
  await using sender = new KvEvent<string>(b, ["polled"]);
  const waiting = waiter.wait({ timeout: 5_000 });
  await new Promise((resolve) => setTimeout(resolve, 20));
  await sender.send("polled");
  assertEquals(await waiting, "polled");
  assertSpyCalls(watching, 0);
});

Deno.test("KvEvent() refuses bad arguments, naming them", async (t) => {
  await using file = await kvFile();
  const kv = await file.open();
  const cases: [unknown[], ErrorConstructor, string][] = [
    [
      [{}, ["k"]],
      TypeError,
      "Cannot make a KvEvent: kv must be an open Deno.Kv (or @deno/kv Kv) or a PostgresStore, got [object Object]",
    ],
    [
      [kv, []],
      TypeError,
      "Cannot make a KvEvent: key must be a non-empty array, got []",
    ],
    [
      [kv, "k"],
      TypeError,
      'Cannot make a KvEvent: key must be a non-empty array, got "k"',
    ],
    [
      [kv, ["k"], { expireIn: 0 }],
      RangeError,
      "Cannot make a KvEvent: expireIn must be a positive integer number of milliseconds that Deno KV can store, got 0",
    ],
    [
      [kv, ["k"], { pollInterval: -1 }],
      RangeError,
      'Cannot make a KvEvent: pollInterval must be "auto" or a positive number of milliseconds, got -1',
    ],
    [
      [kv, ["k"], { watch: "no" }],
      TypeError,
      "Cannot make a KvEvent: watch must be a boolean, got no",
    ],
    [
      [kv, ["k"], { watch: false, pollInterval: Infinity }],
      RangeError,
      "Cannot make a KvEvent: with watch: false, pollInterval must be finite, or nothing wakes a waiter",
    ],
  ];
  for (const [args, ErrorClass, message] of cases) {
    await t.step(message, () => {
      const error = assertThrows(
        () => new KvEvent(...(args as [Deno.Kv, Deno.KvKey])),
        ErrorClass,
      );
      assertEquals(error.message, message);
    });
  }
});

const FRESH = {
  ready: false,
  hasResult: false,
  hasException: false,
  poll: "fresh",
  pollResult: -1,
  pollException: -1,
};
const VALUE = {
  ready: true,
  hasResult: true,
  hasException: false,
  poll: "v",
  pollResult: "v",
  pollException: -1,
};
const EXCEPTION = {
  ready: true,
  hasResult: false,
  hasException: true,
  poll: "threw boom",
  pollResult: -1,
  pollException: "RangeError: boom",
};

Deno.test("KvEvent answers every query Event has, across handles and processes", async (t) => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  await using here = new KvEvent<string>(a, ["queries"]);
  await using there = new KvEvent<string>(b, ["queries"]);
  /** What another process's instance answers. */
  async function elsewhere(): Promise<unknown> {
    const [line] = await lines(spawn(["queries", file.path, "queries"]));
    return line;
  }
  for (
    const [state, expected, make] of [
      ["fresh", FRESH, async () => {}],
      ["sent a value", VALUE, () => there.send("v")],
      ["sent an exception", EXCEPTION, async () => {
        await there.reset();
        await there.sendException(new RangeError("boom"));
      }],
    ] as const
  ) {
    await t.step(state, async () => {
      await make();
      assertEquals(await queries(here), expected, "another handle");
      assertEquals(await elsewhere(), expected, "another process");
    });
  }
});

Deno.test("KvEvent has Event's name, waiting and inspect, without a read", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  await using evt = new KvEvent<string>(kv, ["jobs", 42]);
  assertEquals(evt.name, "jobs/42");
  assertEquals(String(evt), "[object KvEvent]");
  assertEquals(
    Deno.inspect(evt, { breakLength: Infinity }),
    'KvEvent { name: "jobs/42", read: false, waiting: 0 }',
  );
  const waiting = [evt.wait(), evt.wait({ timeout: 10_000 })];
  assertEquals(evt.waiting, 2, "this instance's waiters");
  await evt.wait({ timeout: 0 }).catch(() => {}); // the head was read
  assertEquals(
    Deno.inspect(evt, { breakLength: Infinity }),
    'KvEvent { name: "jobs/42", generation: 0, ready: false, waiting: 2 }',
  );
  await evt.send("done");
  await Promise.all(waiting);
  assertEquals(evt.waiting, 0);
  assertEquals(
    Deno.inspect(evt, { breakLength: Infinity }),
    'KvEvent { name: "jobs/42", generation: 0, ready: true, sent: "a value", waiting: 0 }',
  );
  await evt.reset();
  assertEquals(
    Deno.inspect(evt, { breakLength: Infinity }),
    'KvEvent { name: "jobs/42", generation: 1, ready: false, waiting: 0 }',
  );
});

Deno.test("KvEvent disposal gives a waiter the outcome sent elsewhere that nothing had woken it for", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  // Neither a watch nor a poll: only disposal's own read can tell it.
  const waiter = new KvEvent<string>(a, ["told at the end"], {
    watch: false,
    pollInterval: 2 ** 40,
  });
  await using sender = new KvEvent<string>(b, ["told at the end"]);
  const waiting = waiter.wait();
  await waiter.wait({ timeout: 0 }).catch(() => {}); // its first read is done
  await sender.send("sent before disposal");
  await waiter[Symbol.asyncDispose]();
  assertEquals(await waiting, "sent before disposal");
});

Deno.test("KvEvent wakes an earlier waiter first when a later one's read finds the send", async () => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  // No watch and no poll in time: only the later waiter's read sees it.
  await using waiter = new KvEvent<string>(a, ["fifo across reads"], {
    watch: false,
    pollInterval: 2 ** 40,
  });
  await using sender = new KvEvent<string>(b, ["fifo across reads"]);
  const order: string[] = [];
  const first = waiter.wait({ timeout: 5_000 }).then((v) => {
    order.push(`first: ${v}`);
  });
  await waiter.wait({ timeout: 0 }).catch(() => {}); // the first read is done
  await sender.send("sent");
  const second = waiter.wait().then((v) => {
    order.push(`second: ${v}`);
  });
  await Promise.all([first, second]);
  assertEquals(order, ["first: sent", "second: sent"]);
  assertEquals(waiter.waiting, 0);
});

Deno.test("KvEvent wait({ timeout: 0 }) gives a sent TimeoutError as sent", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  await using evt = new KvEvent(kv, ["zero and a sent timeout"]);
  await evt.sendException(
    new DOMException("the job's own deadline", "TimeoutError"),
  );
  const error = await assertRejects(
    () => evt.wait({ timeout: 0 }),
    DOMException,
  );
  assertEquals([error.name, error.message], [
    "TimeoutError",
    "the job's own deadline",
  ]);
});

Deno.test("KvEvent wakes plain and bounded waiters of one turn in call order", async () => {
  await using file = await kvFile();
  const kv = await file.open();
  await using evt = new KvEvent<number>(kv, ["fifo in a turn"]);
  const order: string[] = [];
  const calls = [
    ["bounded 1", { timeout: 5_000 }],
    ["plain 1", undefined],
    ["plain 2", undefined],
    ["signal", { signal: new AbortController().signal }],
    ["plain 3", undefined],
  ] as const;
  const waits = calls.map(([name, options]) =>
    evt.wait(options).then(() => order.push(name))
  );
  await evt.send(1);
  await Promise.all(waits);
  assertEquals(order, calls.map(([name]) => name));
});
