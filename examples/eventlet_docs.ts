// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Replays the interactive examples of eventlet's `Event` documentation with
 * `@seed/event`: each step shows eventlet's line (`py>`), the TypeScript that
 * runs for it (`ts>`), and what it printed. Run it with `deno task demo`.
 *
 * @module
 */
import { Event } from "../mod.ts";

/** `eventlet.sleep(0)`: yield for one turn of the timer queue. */
function sleep0(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

class RuntimeError extends Error {
  override name = "RuntimeError";
}

/** Shows a line of eventlet's session, and the TypeScript that runs for it. */
function prompt(python: string, typescript: string): void {
  console.log(`py> ${python}`);
  console.log(`ts> ${typescript}`);
}

console.log("# Event: one value, many waiters");
{
  const evt = new Event<number>();
  const baz = (b: number) => evt.send(b + 1);
  prompt("_ = eventlet.spawn_n(baz, 3)", "setTimeout(() => baz(3), 0);");
  setTimeout(() => baz(3), 0);
  prompt("evt.wait()", "await evt.wait();");
  console.log(await evt.wait());
}

console.log("\n# send(): waiters wake after send() returns");
{
  const evt = new Event<string>();
  const waiter = async () => {
    console.log("about to wait");
    const result = await evt.wait();
    console.log("waited for", result);
  };
  prompt("_ = eventlet.spawn(waiter)", "setTimeout(waiter, 0);");
  setTimeout(waiter, 0);
  prompt("eventlet.sleep(0)", "await sleep0();");
  await sleep0();
  prompt("evt.send('a')", 'evt.send("a");');
  evt.send("a");
  prompt("eventlet.sleep(0)", "await sleep0();");
  await sleep0();

  prompt("evt.send('whoops')", 'evt.send("whoops");');
  try {
    evt.send("whoops");
  } catch (error) {
    console.log(`${(error as Error).name}: ${(error as Error).message}`);
  }
}

console.log("\n# sendException(): every waiter gets the same error");
{
  const evt = new Event();
  prompt(
    "evt.send_exception(RuntimeError())",
    "evt.sendException(new RuntimeError());",
  );
  evt.sendException(new RuntimeError());
  prompt("evt.wait()", "await evt.wait();");
  try {
    await evt.wait();
  } catch (error) {
    console.log(`${(error as Error).name} (the very object sent)`);
  }
}

console.log("\n# The original stack trace is kept");
{
  const evt = new Event();
  const raiser = (): never => {
    throw new RuntimeError();
  };
  try {
    raiser();
  } catch (error) {
    evt.sendException(error);
  }
  prompt("evt.wait()", "await evt.wait();");
  try {
    await evt.wait();
  } catch (error) {
    const stack = (error as Error).stack ?? "";
    console.log(stack.split("\n").slice(0, 2).join("\n"));
  }
}

console.log("\n# wait(): returns at once once sent");
{
  const evt = new Event<string>();
  const waitOn = async () => {
    const retval = await evt.wait();
    console.log("waited for", retval);
  };
  prompt("_ = eventlet.spawn(wait_on)", "setTimeout(waitOn, 0);");
  setTimeout(waitOn, 0);
  prompt("evt.send('result')", 'evt.send("result");');
  evt.send("result");
  prompt("eventlet.sleep(0)", "await sleep0();");
  await sleep0();
  prompt("evt.wait()", "await evt.wait();");
  console.log(JSON.stringify(await evt.wait()));
}

console.log("\n# What JavaScript adds: per-waiter timeouts and signals");
{
  const evt = new Event<string>();
  try {
    await evt.wait({ timeout: 10 });
  } catch (error) {
    console.log(`timeout: ${(error as DOMException).name}`);
  }
  const controller = new AbortController();
  const waiting = evt.wait({ signal: controller.signal });
  controller.abort(new Error("client went away"));
  try {
    await waiting;
  } catch (error) {
    console.log(`abort: ${(error as Error).message}`);
  }
  console.log("still unsent:", evt);
}

console.log("\n# ready(), without polling: Event.first() and Event.iterate()");
{
  // eventlet: visit a list of events calling ready() until one is, then
  // wait() on that one. Event.first() does it without a polling loop.
  const events = [
    new Event<string>(),
    new Event<string>(),
    new Event<string>(),
  ];
  setTimeout(() => events[2]!.send("third"), 0);
  const found = await Event.first(events);
  console.log(`first ready: events[${events.indexOf(found)}] =`, found.poll());

  // gevent's iwait(): every event, in the order they become ready.
  setTimeout(() => {
    events[0]!.send("first");
    events[1]!.send("second");
  }, 0);
  for await (const evt of Event.iterate(events)) {
    console.log(`ready: events[${events.indexOf(evt)}] =`, evt.poll());
  }
}

console.log("\n# A worker loop that races each job against a stop event");
{
  const stop = new Event();
  const jobs = Array.from({ length: 3 }, () => new Event<number>());
  jobs.forEach((job, i) => setTimeout(() => job.send(i * 10), i));
  setTimeout(() => stop.send(), 20);
  const forever = new Event<number>(); // a job that never completes
  for (const job of [...jobs, forever]) {
    // Promise.race([stop.wait(), job.wait()]) would leave a reaction on
    // stop's promise every turn; Event.first() leaves nothing.
    if (await Event.first([stop, job]) === stop) {
      console.log("stopped; stop.waiting =", stop.waiting);
      break;
    }
    console.log("job done:", job.poll());
  }
}
