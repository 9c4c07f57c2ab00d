// Copyright 2026 the @seed/event authors. MIT license.
// A Node consumer of both bundles, type-checked by tsc (strict, NodeNext) and
// run by Node in CI: dist/event.d.mts and dist/kv.d.mts give the bundles
// their exact types, @deno/kv's Kv is a KvEvent handle, and the two bundles
// share one Event and one EventStateError.
import { openKv } from "@deno/kv";
import {
  Event,
  type EventIterator,
  EventStateError,
  type WaitOptions,
} from "../../../dist/event.mjs";
import {
  EventStateError as KvEventStateError,
  KvEvent,
  type KvHandle,
} from "../../../dist/kv.mjs";

const config = new Event<{ port: number }>({ name: "config" });
const options: WaitOptions = { timeout: 100 };
const promised = new Event<Promise<string>>();
const polled: Promise<string> | undefined = promised.poll();
const iteration: EventIterator<Event<{ port: number }>> = Event.iterate([
  config,
]);
await iteration.return();
// @ts-expect-error send() of an Event<{ port: number }> needs that object
config.send("8080");

const kv = await openKv(); // in memory
const handle: KvHandle = kv;
const job = new KvEvent<{ done: boolean }>(handle, ["jobs", 1], {
  pollInterval: 10,
  watch: false, // @deno/kv 0.14: see KvEventOptions.watch
});
try {
  const stop = new Event({ name: "stop" });
  const first = Event.first([stop, job], options);
  await job.send({ done: true });
  const winner: Event | KvEvent<{ done: boolean }> = await first;
  if (winner !== job) throw new Error("the KvEvent did not win");
  const done: boolean = (await job.wait()).done;
  const ready: boolean = await job.ready();
  const error = await job.send({ done: false }).catch((error) => error);
  // One EventStateError, whichever bundle made it.
  if (KvEventStateError !== EventStateError) throw new Error("two classes");
  if (!(error instanceof EventStateError)) throw new Error("not instanceof");
  // @ts-expect-error a KvEvent<{ done: boolean }> sends that object
  await job.send("done").catch(() => {});
  console.log(`consumer: ${done && ready ? "ok" : "wrong"} (${job.name})`);
  void polled;
} finally {
  await job[Symbol.asyncDispose]();
  kv.close();
}
