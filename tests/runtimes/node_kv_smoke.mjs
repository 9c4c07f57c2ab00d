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
    for (const kv of handles) kv.close();
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
