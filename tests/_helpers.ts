// Copyright 2026 the @seed/event authors. MIT license.
/** Helpers shared by the test files. */
import type { FakeTime } from "@std/testing/time";

/**
 * The host's own `setTimeout`, taken when this module loads, before any test
 * installs a `FakeTime`.
 */
const hostSetTimeout = globalThis.setTimeout;

/**
 * Runs every pending promise job, without moving a fake clock and without
 * touching any global. `FakeTime.runMicrotasks()` and `tickAsync()` do the
 * same by putting the host's timer functions back for a moment and then
 * their own: that also throws away any stub a test set on `setTimeout`,
 * `clearTimeout` or `Date` on top of a `FakeTime`. Tests that replace one of
 * those use this, and `FakeTime.tick()`, which touches no global.
 */
export function flushJobs(): Promise<void> {
  return new Promise((resolve) => hostSetTimeout(resolve, 0));
}

/**
 * `FakeTime.tickAsync()` for tests that replace a timer global on top of the
 * fake: runs the pending promise jobs, then moves the clock.
 */
export async function tickKeepingStubs(
  time: FakeTime,
  ms: number,
): Promise<void> {
  await flushJobs();
  time.tick(ms);
}

/**
 * Whether a promise has settled once every pending promise job has run,
 * without moving any clock.
 */
export async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await flushJobs();
  return done;
}

/**
 * Sets the wall clock back by `ms` until disposed. `FakeTime` answers
 * `Date.now` itself and cannot go back, and `stub()` wraps functions, not a
 * constructor with statics: so this swaps the global `Date` for a view of
 * the fake one whose `now()` lags.
 */
export function clockSetBack(ms: number): Disposable {
  const fakeDate = Date;
  globalThis.Date = new Proxy(fakeDate, {
    get: (target, key) =>
      key === "now" ? () => fakeDate.now() - ms : Reflect.get(target, key),
  });
  return { [Symbol.dispose]: () => globalThis.Date = fakeDate };
}

/** A real signal that counts the abort listeners added and not removed. */
export function countedSignal(
  controller: AbortController = new AbortController(),
): {
  controller: AbortController;
  signal: AbortSignal;
  listeners: () => number;
} {
  const signal = controller.signal;
  const live = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    if (args[0] === "abort") live.add(args[1]);
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    if (args[0] === "abort") live.delete(args[1]);
    remove(...args);
  };
  return { controller, signal, listeners: () => live.size };
}

/** Compile-time equality of two types. */
export type Exact<A, B> = (<G>() => G extends A ? 1 : 2) extends
  (<G>() => G extends B ? 1 : 2) ? true : false;

/** Fails to type-check unless `T` is `true`. */
export function assertType<_T extends true>(): void {}
