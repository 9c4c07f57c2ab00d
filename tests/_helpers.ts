// Copyright 2026 the @seed/event authors. MIT license.
/** Helpers shared by the test files. */
import { assertEquals, assertRejects } from "@std/assert";
import { FakeTime } from "@std/testing/time";

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
 * A `FakeTime` that also drives `performance.now()`, the monotonic clock the
 * event measures timeouts on (`FakeTime` fakes `Date` and the timers only).
 * `performanceLag` holds that clock back from the fake time, as a coarse
 * clock may be when a timer fires.
 *
 * Not through `stub()`: a stub records every call, and the stress tests read
 * the clock millions of times under a heap budget. `now` is an own property
 * shadowing `Performance.prototype.now` until restored.
 */
export class FakeMonotonicTime extends FakeTime {
  performanceLag = 0;

  constructor(start?: number) {
    // A test that died on a promise fake time never settles (Deno ends such
    // a test without running its disposals) leaves its FakeTime installed:
    // take it down here, so that it does not fail every later test too.
    try {
      FakeTime.restore();
    } catch {
      // Time was not faked: the usual case.
    }
    super(start);
    Object.defineProperty(performance, "now", {
      configurable: true,
      value: () => this.now - this.performanceLag,
    });
  }

  override restore(): void {
    delete (performance as { now?: unknown }).now;
    super.restore();
  }
}

/**
 * A wall clock (`Date.now()`) that can be stepped forward or back, leaving
 * timers and `performance.now()` alone: what NTP or a laptop waking up
 * does. Set `step` (ms) to move it; disposing puts the `Date` back.
 * `FakeTime` answers `Date.now` itself, and `stub()` wraps functions, not a
 * constructor with statics: so this swaps the global `Date` for a view of
 * the current one whose `now()` is stepped. On top of a `FakeTime`, move
 * time with `tick()` or `tickKeepingStubs()`, which leave the view in place.
 */
export function steppedWallClock(): Disposable & { step: number } {
  const date = Date;
  const clock = {
    step: 0,
    [Symbol.dispose]: () => globalThis.Date = date,
  };
  globalThis.Date = new Proxy(date, {
    get: (target, key) =>
      key === "now" ? () => date.now() + clock.step : Reflect.get(target, key),
  });
  return clock;
}

/** Asserts that a promise rejects with a `DOMException` named `TimeoutError`. */
export async function assertTimesOut(
  promise: Promise<unknown>,
): Promise<DOMException> {
  const error = await assertRejects(() => promise, DOMException);
  assertEquals(error.name, "TimeoutError");
  return error;
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

/** A fresh KV file, and handles on it, closed and removed on dispose. */
export async function kvFile(): Promise<
  AsyncDisposable & { path: string; open(): Promise<Deno.Kv> }
> {
  const dir = await Deno.makeTempDir({ prefix: "kv_event_" });
  const path = `${dir}/kv.sqlite3`;
  const handles: Deno.Kv[] = [];
  return {
    path,
    async open() {
      const kv = await Deno.openKv(path);
      handles.push(kv);
      return kv;
    },
    async [Symbol.asyncDispose]() {
      for (const kv of handles) {
        try {
          kv.close();
        } catch {
          // Closed by the test already.
        }
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Fails unless `promise` settles within `ms`: a stranded waiter fails the
 * test instead of hanging it. The bound is slack, not a timing claim.
 */
export async function settles<T>(
  promise: Promise<T>,
  what: string,
  ms = 5_000,
): Promise<PromiseSettledResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stranded = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`stranded: ${what} did not settle in ${ms} ms`)),
      ms,
    );
  });
  try {
    const [result] = await Promise.race([
      Promise.allSettled([promise]),
      stranded,
    ]);
    return result;
  } finally {
    clearTimeout(timer);
  }
}
