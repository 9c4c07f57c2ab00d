// Copyright 2026 the @seed/event authors. MIT license.
// This module is browser compatible.

/**
 * A one-shot event that any number of waiters can await: eventlet's `Event`
 * for JavaScript, with per-waiter abort signals and timeouts, FIFO wake-up,
 * and no runtime dependencies.
 *
 * ```ts
 * import { Event } from "@seed/event";
 * import { assertEquals } from "@std/assert";
 *
 * const evt = new Event<number>();
 * setTimeout(() => evt.send(4), 0);
 * assertEquals(await evt.wait(), 4);
 * ```
 *
 * @module
 */
export * from "./event.ts";
