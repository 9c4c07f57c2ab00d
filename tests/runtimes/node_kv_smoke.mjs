// Copyright 2026 the @seed/event authors. MIT license.
// KvEvent in Node, on the bundle, with the @deno/kv package's openKv():
//   node --test --test-reporter=tap tests/runtimes/node_kv_smoke.mjs
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { inspect } from "node:util";
import { openKv } from "@deno/kv";
import { EventStateError, KvEvent } from "../../dist/kv.mjs";

// @deno/kv 0.14's watch() on a local file can stall the reads after it:
// wake by polling only (see KvEventOptions.watch).
const options = { pollInterval: 10, watch: false };

async function withFile(fn) {
  const dir = await mkdtemp(join(tmpdir(), "kv_event_node_"));
  const handles = [];
  try {
    await fn(async () => {
      const kv = await openKv(join(dir, "kv.sqlite3"));
      handles.push(kv);
      return kv;
    });
  } finally {
    for (const kv of handles) {
      try {
        kv.close();
      } catch {
        // Closed by the test already.
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

test("a waiter on one handle gets a send from another", async () => {
  await withFile(async (open) => {
    const [a, b] = [await open(), await open()];
    const waiter = new KvEvent(a, ["node"], options);
    const sender = new KvEvent(b, ["node"], options);
    try {
      const waiting = waiter.wait({ timeout: 5_000 });
      await sender.send({ from: "node" });
      assert.deepEqual(await waiting, { from: "node" });
      assert.equal(await waiter.ready(), true);
    } finally {
      await waiter[Symbol.asyncDispose]();
      await sender[Symbol.asyncDispose]();
    }
  });
});

test("a second send rejects with EventStateError and changes nothing", async () => {
  await withFile(async (open) => {
    const evt = new KvEvent(await open(), ["twice"], options);
    try {
      await evt.send(1);
      await assert.rejects(() => evt.send(2), EventStateError);
      assert.equal(await evt.poll(), 1);
      await evt.reset();
      assert.equal(await evt.poll(), undefined);
    } finally {
      await evt[Symbol.asyncDispose]();
    }
  });
});

test("a timeout rejects that waiter alone", async () => {
  await withFile(async (open) => {
    const evt = new KvEvent(await open(), ["timed"], options);
    try {
      await assert.rejects(
        () => evt.wait({ timeout: 20 }),
        {
          name: "TimeoutError",
          message: 'wait() on KvEvent "timed" timed out after 20 ms',
        },
      );
      await evt.sendException(new RangeError("boom"));
      await assert.rejects(() => evt.wait(), RangeError);
    } finally {
      await evt[Symbol.asyncDispose]();
    }
  });
});

test("exceptions cross storage whole, and inspect shows what it knew", async () => {
  await withFile(async (open) => {
    const [a, b] = [await open(), await open()];
    const waiter = new KvEvent(a, ["errors"], options);
    const sender = new KvEvent(b, ["errors"], options);
    try {
      assert.equal(
        inspect(waiter, { breakLength: Infinity }),
        "KvEvent { name: 'errors', read: false, waiting: 0 }",
      );
      const waiting = waiter.wait({ timeout: 5_000 });
      await sender.sendException(
        new AggregateError([new DOMException("gone", "AbortError")], "all"),
      );
      const error = await waiting.catch((error) => error);
      assert.ok(error instanceof AggregateError);
      assert.ok(error.errors[0] instanceof DOMException);
      assert.deepEqual([error.errors[0].name, error.errors[0].message], [
        "AbortError",
        "gone",
      ]);
      assert.equal(
        inspect(waiter, { breakLength: Infinity }),
        "KvEvent { name: 'errors', generation: 0, ready: true, sent: 'an exception', waiting: 0 }",
      );
    } finally {
      await waiter[Symbol.asyncDispose]();
      await sender[Symbol.asyncDispose]();
    }
  });
});

// Round 5 (issue 27): what held in Deno must hold on @deno/kv too.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// A waiter that hangs fails its test, not CI: the bound is slack.

test(
  "closing the handle rejects the waiters, naming the event (round 5, item 3)",
  { timeout: 10_000 },
  async () => {
    await withFile(async (open) => {
      const kv = await open();
      const evt = new KvEvent(kv, ["closing"], options);
      const plain = evt.wait().catch((error) => error);
      const timed = evt.wait({ timeout: 60_000 }).catch((error) => error);
      await sleep(50);
      kv.close();
      for (const error of await Promise.all([plain, timed])) {
        assert.ok(error instanceof Error);
        assert.equal(
          error.message,
          'Cannot wait for KvEvent "closing": its database was closed before it was sent',
        );
      }
      await evt[Symbol.asyncDispose]();
    });
  },
);

test("one event's callTimeout never cuts another's reads (round 5, item 4)", {
  timeout: 10_000,
}, async () => {
  await withFile(async (open) => {
    const [a, b] = [await open(), await open()];
    // The real handle, its reads made 100 ms slower.
    const slow = new Proxy(a, {
      get(target, name) {
        const value = Reflect.get(target, name, target);
        if (name === "getMany") {
          return async (...args) => {
            await sleep(100);
            return await value.apply(target, args);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const polled = { watch: false, pollInterval: 50 };
    const hasty = new KvEvent(slow, ["hasty"], { ...polled, callTimeout: 50 });
    const patient = new KvEvent(slow, ["patient"], polled);
    try {
      const neighbour = hasty.wait({ timeout: 5_000 }).catch((error) => error);
      const waiting = patient.wait({ timeout: 3_000 });
      await sleep(300);
      await new KvEvent(b, ["patient"], options).send("read in time");
      assert.equal(await waiting, "read in time");
      await hasty[Symbol.asyncDispose]();
      assert.equal((await neighbour).name, "AbortError");
    } finally {
      await hasty[Symbol.asyncDispose]();
      await patient[Symbol.asyncDispose]();
    }
  });
});

test(
  "an earlier waiter resumes before a later timeout: 0 one (round 5, item 5)",
  { timeout: 10_000 },
  async () => {
    await withFile(async (open) => {
      const [a, b] = [await open(), await open()];
      // Only the later waiter's own read hears the send.
      const evt = new KvEvent(a, ["overtake"], {
        watch: false,
        pollInterval: 60_000,
      });
      try {
        const log = [];
        const earlier = evt.wait({ timeout: 3_000 }).then(
          (value) => log.push(`earlier: ${value}`),
          (error) => log.push(`earlier: ${error.name}`),
        );
        await sleep(50);
        await new KvEvent(b, ["overtake"], options).send("sent");
        const later = evt.wait({ timeout: 0 }).then(
          (value) => log.push(`later: ${value}`),
          (error) => log.push(`later: ${error.name}`),
        );
        await Promise.all([earlier, later]);
        assert.deepEqual(log, ["earlier: sent", "later: sent"]);
      } finally {
        await evt[Symbol.asyncDispose]();
      }
    });
  },
);

test("an error met twice stays one error, a cycle a cycle (round 5, item 10)", {
  timeout: 10_000,
}, async () => {
  await withFile(async (open) => {
    const [a, b] = [await open(), await open()];
    const waiter = new KvEvent(a, ["twice"], options);
    const sender = new KvEvent(b, ["twice"], options);
    try {
      class QuotaError extends RangeError {
        name = "QuotaError";
      }
      const p = Promise.reject(new QuotaError("over"));
      const sent = await Promise.any([p, p]).catch((error) => error);
      sent.cause = sent;
      const waiting = waiter.wait({ timeout: 5_000 }).catch((error) => error);
      await sender.sendException(sent);
      const got = await waiting;
      assert.ok(got instanceof AggregateError);
      assert.equal(got.errors[0], got.errors[1]);
      assert.ok(got.errors[0] instanceof RangeError);
      assert.equal(got.errors[0].name, "QuotaError");
      assert.equal(got.cause, got);
    } finally {
      await waiter[Symbol.asyncDispose]();
      await sender[Symbol.asyncDispose]();
    }
  });
});
