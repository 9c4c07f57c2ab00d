// Copyright 2026 the @seed/event authors. MIT license.
/**
 * `Event.first()` and `Event.iterate()` over a mix of in-memory `Event`s and
 * `KvEvent`s on a real KV file: the winner is reported as it was passed,
 * and nothing is left on the losers (no waiter, watch stream, timer or
 * listener; the test sanitizers check the timers and streams too).
 */
import {
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import { Event } from "../mod.ts";
import { KvEvent } from "../kv.ts";
import { Watcher } from "../kv/watcher.ts";
import { assertTimesOut, countedSignal, kvFile } from "./_helpers.ts";

/** Until the watcher has closed its streams (a reconcile is a microtask). */
async function noStreams(kv: Deno.Kv): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(Watcher.of(kv).streams, 0, "a watch stream was left");
}

Deno.test("Event.first() of Events and KvEvents gives the first sent, as passed, and leaves nothing", async (t) => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  await t.step("a KvEvent sent from another handle wins", async () => {
    const stop = new Event({ name: "stop" });
    await using one = new KvEvent<string>(a, ["first", 1]);
    await using two = new KvEvent<string>(a, ["first", 2]);
    await using sender = new KvEvent<string>(b, ["first", 2]);
    const { controller, listeners } = countedSignal();
    const first = Event.first([stop, one, two], { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 20));
    await sender.send("two");
    const winner: Event | KvEvent<string> = await first;
    assertStrictEquals(winner, two);
    assertEquals(await two.wait(), "two");
    assertEquals([stop.waiting, one.waiting, two.waiting], [0, 0, 0]);
    assertEquals(listeners(), 0);
    await noStreams(a);
  });
  await t.step("an Event wins, and the KvEvents are let go", async () => {
    const stop = new Event();
    await using one = new KvEvent<string>(a, ["first", 3]);
    const first = Event.first([one, stop]);
    await new Promise((r) => setTimeout(r, 20));
    assertEquals(one.waiting, 1, "watched while selected");
    stop.send();
    assertStrictEquals(await first, stop);
    await new Promise((r) => setTimeout(r, 0));
    assertEquals(one.waiting, 0);
    await noStreams(a);
  });
  await t.step("a sent Event wins at once, before any read", async () => {
    const done = new Event<number>();
    done.send(1);
    await using one = new KvEvent<string>(a, ["first", 4]);
    assertStrictEquals(await Event.first([one, done]), done);
    assertEquals(one.waiting, 0);
  });
  await t.step("a KvEvent sent an exception counts as sent", async () => {
    await using one = new KvEvent<string>(a, ["first", 5]);
    await one.sendException(new Error("boom"));
    assertStrictEquals(await Event.first([new Event(), one]), one);
    await assertRejects(() => one.wait(), Error, "boom");
  });
  await t.step("its timeout names the KvEvents", async () => {
    await using one = new KvEvent<string>(a, ["jobs", 1]);
    const error = await assertTimesOut(
      Event.first([new Event(), one], { timeout: 20 }),
    );
    assertEquals(
      error.message,
      'Event.first() on 2 events ("jobs/1" and 1 unnamed) timed out after 20 ms',
    );
    assertEquals(one.waiting, 0);
    await noStreams(a);
  });
  await t.step("a closed handle fails it", async () => {
    const c = await file.open();
    await using one = new KvEvent<string>(c, ["first", 6]);
    const first = Event.first([new Event(), one]);
    await new Promise((r) => setTimeout(r, 20));
    c.close();
    const error = await assertRejects(() => first);
    assertInstanceOf(error, Error);
    assertEquals(
      error.message,
      'Cannot wait for KvEvent "first/6": its database was closed before it was sent',
    );
  });
});

Deno.test("Event.iterate() of Events and KvEvents gives each as it is sent, and leaves nothing", async (t) => {
  await using file = await kvFile();
  const [a, b] = [await file.open(), await file.open()];
  await t.step("in the order they are sent", async () => {
    const local = new Event<string>();
    await using one = new KvEvent<string>(a, ["iterate", 1]);
    await using two = new KvEvent<string>(a, ["iterate", 2]);
    await using sender = new KvEvent<string>(b, ["iterate", 2]);
    const got: unknown[] = [];
    const iterating = (async () => {
      for await (const evt of Event.iterate([local, one, two])) got.push(evt);
    })();
    await new Promise((r) => setTimeout(r, 20));
    await sender.send("2");
    while (got.length < 1) await new Promise((r) => setTimeout(r, 5));
    local.send("local");
    while (got.length < 2) await new Promise((r) => setTimeout(r, 5));
    await one.send("1");
    await iterating;
    assertEquals(got, [two, local, one]);
    assertEquals([local.waiting, one.waiting, two.waiting], [0, 0, 0]);
    await noStreams(a);
  });
  await t.step("return() lets every KvEvent go", async () => {
    await using one = new KvEvent<string>(a, ["iterate", 3]);
    const local = new Event();
    const iterator = Event.iterate([one, local]);
    const next = iterator.next();
    await new Promise((r) => setTimeout(r, 20));
    assertEquals(one.waiting, 1);
    await iterator.return();
    assertEquals(await next, { value: undefined, done: true });
    await new Promise((r) => setTimeout(r, 0));
    assertEquals([one.waiting, local.waiting], [0, 0]);
    await noStreams(a);
  });
});
