// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Offline stand-in for `jsr:@std/testing/time`'s `FakeTime`, with the same
 * signatures, backed by `@sinonjs/fake-timers`. It fakes `Date`,
 * `setTimeout`, `clearTimeout`, `setInterval` and `clearInterval`, as std's
 * does. Used only when jsr.io is unreachable; never published.
 *
 * @module
 */
// Inline, not in deno.json: `deno task` fetches every npm import listed there
// first, and `deno task demo` must run with no npm registry.
// deno-lint-ignore no-import-prefix
import FakeTimers from "npm:@sinonjs/fake-timers@^15.5.0";

/** An error related to faking time. */
export class TimeError extends Error {
  /**
   * Constructs a new instance.
   *
   * @param message The error message.
   */
  constructor(message: string) {
    super(message);
    this.name = "TimeError";
  }
}

/** The options for {@linkcode FakeTime}. */
export interface FakeTimeOptions {
  /**
   * The rate relative to real time at which fake time is updated.
   * By default time only moves forward through calling tick or setting now.
   */
  advanceRate: number;
  /**
   * The frequency in milliseconds at which fake time is updated.
   *
   * @default {10}
   */
  advanceFrequency?: number;
}

/** The options of std's delay(), which FakeTime.delay takes. */
interface DelayOptions {
  signal?: AbortSignal;
  persistent?: boolean;
}

type Clock = ReturnType<ReturnType<typeof FakeTimers.withGlobal>["install"]>;

const realDate = globalThis.Date;
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;

let current: FakeTime | undefined;
let clock: Clock | undefined;

/**
 * Overrides the real Date object and timer functions with fake ones that can
 * be controlled through the fake time instance.
 */
export class FakeTime {
  #start: number;
  #advanceId: ReturnType<typeof setInterval> | undefined;

  /**
   * Constructs a FakeTime instance, faking time until restored.
   *
   * @param start The time to start at (default: now).
   * @param options The options.
   */
  constructor(
    start?: number | string | Date | null,
    options?: FakeTimeOptions,
  ) {
    if (current) current.restore();
    const begin = start instanceof Date
      ? start.valueOf()
      : typeof start === "number"
      ? Math.floor(start)
      : typeof start === "string"
      ? new Date(start).valueOf()
      : Date.now();
    if (Number.isNaN(begin)) throw new TimeError("Invalid start time");
    this.#start = begin;
    clock = FakeTimers.withGlobal(globalThis).install({
      now: begin,
      toFake: [
        "Date",
        "setTimeout",
        "clearTimeout",
        "setInterval",
        "clearInterval",
      ],
    });
    current = this;
    const rate = Math.max(0, options?.advanceRate ?? 0);
    const frequency = Math.max(0, options?.advanceFrequency ?? 10);
    this.#advanceId = rate > 0
      ? realSetInterval(() => this.tick(rate * frequency), frequency)
      : undefined;
  }

  /** Restores real time. */
  [Symbol.dispose](): void {
    this.restore();
  }

  /** Restores real time. */
  static restore(): void {
    if (!current) {
      throw new TimeError("Cannot restore time: time already restored");
    }
    current.restore();
  }

  /**
   * Restores real time temporarily until callback returns and resolves.
   *
   * @param callback The callback to run with real time.
   * @param args The arguments to pass to the callback.
   * @returns The result of the callback.
   */
  static async restoreFor<T>(
    // deno-lint-ignore no-explicit-any
    callback: (...args: any[]) => Promise<T> | T,
    // deno-lint-ignore no-explicit-any
    ...args: any[]
  ): Promise<T> {
    if (!current || !clock) {
      throw new TimeError("Cannot restore time: time already restored");
    }
    const saved = {
      Date: globalThis.Date,
      setTimeout: globalThis.setTimeout,
      clearTimeout: globalThis.clearTimeout,
      setInterval: globalThis.setInterval,
      clearInterval: globalThis.clearInterval,
    };
    Object.assign(globalThis, {
      Date: realDate,
      setTimeout: realSetTimeout,
      clearTimeout: realClearTimeout,
      setInterval: realSetInterval,
      clearInterval: realClearInterval,
    });
    try {
      return await callback.apply(null, args);
    } finally {
      Object.assign(globalThis, saved);
    }
  }

  /**
   * The number of milliseconds elapsed since the epoch (January 1, 1970
   * 00:00:00 UTC) for the fake time. When set, it calls every timer due
   * between the current and the new fake time.
   */
  get now(): number {
    return clock!.now;
  }
  set now(value: number) {
    if (value < clock!.now) throw new Error("Time cannot go backwards");
    clock!.tick(value - clock!.now);
  }

  /** The initial number of milliseconds since the epoch for the fake time. */
  get start(): number {
    return this.#start;
  }
  set start(_value: number) {
    throw new Error("Cannot change start time after initialization");
  }

  /**
   * Resolves after the given number of milliseconds using real time.
   *
   * @param ms The milliseconds to delay.
   * @param options The options.
   */
  delay(ms: number, options: DelayOptions = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const abort = () => {
        realClearTimeout(id);
        reject(signal?.reason);
      };
      const id = realSetTimeout(() => {
        signal?.removeEventListener("abort", abort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", abort, { once: true });
    });
  }

  /** Runs all pending microtasks. */
  async runMicrotasks(): Promise<void> {
    await this.delay(0);
  }

  /**
   * Adds the specified number of milliseconds to the fake time, calling every
   * timer due until then.
   *
   * @param ms The milliseconds to advance.
   */
  tick(ms = 0): void {
    this.now += ms;
  }

  /**
   * Runs all pending microtasks, then adds the specified number of
   * milliseconds to the fake time, calling every timer due until then.
   *
   * @param ms The milliseconds to advance.
   */
  async tickAsync(ms = 0): Promise<void> {
    await this.runMicrotasks();
    this.now += ms;
  }

  /**
   * Advances time to when the next scheduled timer is due.
   *
   * @returns Whether there was a scheduled timer.
   */
  next(): boolean {
    if (clock!.countTimers() === 0) return false;
    clock!.next();
    return true;
  }

  /**
   * Runs all pending microtasks, then advances time to when the next
   * scheduled timer is due.
   *
   * @returns Whether there was a scheduled timer.
   */
  async nextAsync(): Promise<boolean> {
    await this.runMicrotasks();
    return this.next();
  }

  /** Advances time, timer by timer, until no timer is left. */
  runAll(): void {
    while (this.next()) { /* run the next timer */ }
  }

  /** Like {@linkcode FakeTime.runAll}, running microtasks before each timer. */
  async runAllAsync(): Promise<void> {
    while (await this.nextAsync()) { /* run the next timer */ }
  }

  /** Restores the time-related global functions to their original state. */
  restore(): void {
    if (!current) {
      throw new TimeError("Cannot restore time: time already restored");
    }
    current = undefined;
    clock!.uninstall();
    clock = undefined;
    if (this.#advanceId !== undefined) realClearInterval(this.#advanceId);
  }
}
