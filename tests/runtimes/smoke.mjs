// Copyright 2026 the @seed/event authors. MIT license.
// Smoke checks of the module that any runtime can run, on the bundle
// (dist/event.mjs) or on mod.ts: each runtime's runner in this folder
// imports the module and hands it to these checks.
// Plain JavaScript, no dependencies, no runtime-specific API.

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Named checks, each `async (mod) => void`, throwing on failure. */
export const checks = [
  ["send() wakes every waiter with the value", async ({ Event }) => {
    const evt = new Event();
    const waiters = [evt.wait(), evt.wait()];
    evt.send(4);
    const values = await Promise.all(waiters);
    check(values[0] === 4 && values[1] === 4, `got ${values}`);
    check(evt.ready() && evt.hasResult(), "not ready after send()");
  }],
  ["wait() settles at once on a sent event", async ({ Event }) => {
    const evt = new Event();
    evt.send("done");
    check(await evt.wait({ timeout: 0 }) === "done", "wrong value");
  }],
  [
    "sendException() rejects every waiter with the very error",
    async ({ Event }) => {
      const evt = new Event();
      const boom = new Error("boom");
      const waiting = evt.wait().catch((error) => error);
      evt.sendException(boom);
      check(await waiting === boom, "a different error");
      check(await evt.wait().catch((error) => error) === boom, "later wait()");
      check(evt.pollException() === boom, "pollException()");
    },
  ],
  ["waiters resume in FIFO order", async ({ Event }) => {
    const evt = new Event();
    const log = [];
    const waiters = [
      evt.wait().then(() => log.push(1)),
      evt.wait({ timeout: 60_000 }).then(() => log.push(2)),
      evt.wait().then(() => log.push(3)),
      evt.wait({ signal: new AbortController().signal }).then(() =>
        log.push(4)
      ),
    ];
    evt.send();
    await Promise.all(waiters);
    check(log.join() === "1,2,3,4", `order ${log}`);
  }],
  [
    "a timeout rejects that waiter alone with a TimeoutError",
    async ({ Event }) => {
      const evt = new Event();
      const plain = evt.wait();
      const error = await evt.wait({ timeout: 5 }).catch((e) => e);
      check(error instanceof DOMException, "not a DOMException");
      check(error.name === "TimeoutError", `name ${error.name}`);
      check(!evt.ready() && evt.waiting === 1, "the event changed");
      evt.send(1);
      check(await plain === 1, "the plain waiter");
    },
  ],
  ["an abort rejects that waiter alone with the reason", async ({ Event }) => {
    const evt = new Event();
    const controller = new AbortController();
    const aborted = evt.wait({ signal: controller.signal }).catch((e) => e);
    const plain = evt.wait();
    const reason = new Error("gone");
    controller.abort(reason);
    check(await aborted === reason, "wrong reason");
    evt.send(2);
    check(await plain === 2, "the plain waiter");
  }],
  [
    "reset() makes the event reusable; misuse throws EventStateError",
    async ({ Event, EventStateError }) => {
      const evt = new Event();
      let thrown;
      try {
        evt.reset();
      } catch (error) {
        thrown = error;
      }
      check(thrown instanceof EventStateError, "reset() on a fresh event");
      check(
        thrown.message === "Trying to re-reset() a fresh event.",
        "message",
      );
      evt.send("a");
      evt.reset();
      check(!evt.ready(), "still ready after reset()");
      const waiting = evt.wait();
      await tick();
      evt.send("b");
      check(await waiting === "b", "second value");
    },
  ],
  ["Event.first() gives the first event sent, leaving nothing", async ({
    Event,
  }) => {
    const [stop, job] = [new Event(), new Event()];
    const first = Event.first([stop, job]);
    job.send(1);
    check(await first === job, "not the event sent");
    check(stop.waiting === 0, "a watcher was left on the other event");
  }],
  ["Event.iterate() gives events in send order", async ({ Event }) => {
    const events = [new Event(), new Event(), new Event()];
    events[1].send();
    const order = [];
    const iterating = (async () => {
      for await (const evt of Event.iterate(events)) {
        order.push(events.indexOf(evt));
      }
    })();
    events[2].send();
    events[0].send();
    await iterating;
    check(order.join() === "1,2,0", `order ${order}`);
  }],
  ["bad options reject, never throw", async ({ Event }) => {
    const evt = new Event();
    const error = await evt.wait({ timeout: -1 }).catch((e) => e);
    check(
      error instanceof RangeError && error.message.includes("-1"),
      "RangeError",
    );
  }],
];

/** Runs every check; returns [name, error | undefined] pairs. */
// Plain JavaScript, loaded as is by every runtime: no type annotations.
// deno-lint-ignore explicit-module-boundary-types
export async function runAll(mod) {
  const results = [];
  for (const [name, fn] of checks) {
    try {
      await fn(mod);
      results.push([name, undefined]);
    } catch (error) {
      results.push([name, String(error?.stack ?? error)]);
    }
  }
  return results;
}
