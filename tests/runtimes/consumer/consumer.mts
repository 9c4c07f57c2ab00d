// Copyright 2026 the @seed/event authors. MIT license.
// A Node consumer of the bundle, type-checked by tsc (strict, NodeNext) in
// CI: dist/event.d.mts must give the bundle its exact types.
import {
  Event,
  type EventIterator,
  EventStateError,
  type WaitOptions,
} from "../../../dist/event.mjs";

const config = new Event<{ port: number }>({ name: "config" });
const options: WaitOptions = { timeout: 100 };
const port: number = (await config.wait(options)).port;
const promised = new Event<Promise<string>>();
const adopted: string = await promised.wait();
const polled: Promise<string> | undefined = promised.poll();
const first: Event<{ port: number }> = await Event.first([config]);
const iteration: EventIterator<Event<{ port: number }>> = Event.iterate([
  config,
]);
const error: Error = new EventStateError("misuse");
// @ts-expect-error send() of an Event<{ port: number }> needs that object
config.send("8080");
export { adopted, error, first, iteration, polled, port };
