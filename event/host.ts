// Copyright 2026 the @seed/event authors. MIT license.
// This module is browser compatible.
/**
 * What every room needs from the host, once: the `AbortSignal` and timer
 * helpers (each a call out: see "Calls out" in `event.ts`), the one timer
 * that waits past `setTimeout`'s limit, option parsing, the messages, and
 * the backoff of storage retries. `event.ts`, `event/waiters.ts` and the
 * storage side (`kv.ts`, `kv/`) import these; none keeps a copy. Nothing
 * here knows an event or a waiter.
 *
 * @module
 */
import type { SignalLike, WaitOptions } from "../event.ts";

/** The messages of eventlet's errors, word for word. */
export const RESEND_MESSAGE = "Trying to re-send() an already-triggered event.";
export const RERESET_MESSAGE = "Trying to re-reset() a fresh event.";

/** setTimeout() fires at once for delays above this: `Alarm` waits in steps. */
export const MAX_DELAY = 2 ** 31 - 1;

/**
 * `Promise.withResolvers()` in the executor form: Node 20 has no
 * `Promise.withResolvers()`, and in V8 15 the executor form is the cheaper of
 * the two (p-defer, which uses it, runs the round trip at about 0.82x of
 * `Promise.withResolvers()` in `deno task bench:report`).
 */
export function withResolvers<T>(): PromiseWithResolvers<T> {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function ignore(): void {}

/** Names a bad argument in an error message, never throwing itself. */
export function show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "bigint":
      return `${value}n`;
    case "function":
      return "a function";
    case "object":
      if (value === null) return "null";
      try {
        return `an object (${Object.prototype.toString.call(value)})`;
      } catch {
        return "an object";
      }
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    default:
      return String(value);
  }
}

/** An `AbortSignal`, also from another realm or a polyfill. */
export function isSignal(value: unknown): value is SignalLike {
  if (typeof value !== "object" || value === null) return false;
  const signal = value as SignalLike;
  return "aborted" in signal &&
    typeof signal.addEventListener === "function" &&
    typeof signal.removeEventListener === "function";
}

/** Reads and checks wait options once; throws on a bad one. */
export function parseOptions(options: WaitOptions): WaitOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot wait: options must be an object, got ${show(options)}${
        typeof options === "number"
          ? `; for a timeout, pass { timeout: ${show(options)} } (milliseconds)`
          : ""
      }`,
    );
  }
  if (isSignal(options)) {
    throw new TypeError(
      "Cannot wait: options must be an object, got an AbortSignal; pass " +
        "{ signal } instead",
    );
  }
  const { signal, timeout } = options;
  if (signal !== undefined && !isSignal(signal)) {
    throw new TypeError(
      `Cannot wait: signal must be an AbortSignal, got ${show(signal)}`,
    );
  }
  if (timeout !== undefined) {
    if (typeof timeout !== "number") {
      throw new TypeError(
        `Cannot wait: timeout must be a number, got ${show(timeout)}`,
      );
    }
    if (!(timeout >= 0)) {
      throw new RangeError(
        `Cannot wait: timeout must be a non-negative number of milliseconds, got ${
          show(timeout)
        }`,
      );
    }
  }
  return { signal, timeout };
}

/** The delay to set for a deadline: never early, never over the limit. */
export function delayUntil(deadline: number, now: number): number {
  // Timers truncate fractional delays: round up so none fires early.
  return Math.min(Math.max(Math.ceil(deadline - now), 0), MAX_DELAY);
}

/** The error of a wait that timed out: what waited, and for how long. */
export function timeoutError(what: string, timeout: number): DOMException {
  return new DOMException(
    `${what} timed out after ${timeout} ms`,
    "TimeoutError",
  );
}

/**
 * Adds a one-time abort listener: a call out, so the caller's state must be
 * whole. An abort inside `addEventListener` that came before the listener
 * is acted on at once (the listener must do nothing when called twice), and
 * if `gone()` says the listener's owner left in there, it is taken back.
 * Throws what `addEventListener` throws.
 */
export function listen(
  signal: SignalLike,
  listener: () => void,
  gone: () => boolean,
): void {
  signal.addEventListener("abort", listener, { once: true });
  if (signal.aborted) listener();
  if (gone()) unlisten(signal, listener);
}

/** Takes back an abort listener; a throw leaves it inert (see "Calls out"). */
export function unlisten(signal: SignalLike, listener: () => void): void {
  try {
    signal.removeEventListener("abort", listener);
  } catch {
    // The listener finds its owner gone and does nothing.
  }
}

/** A signal's reason: what its getter throws, if it throws. */
export function reasonOf(signal: SignalLike): unknown {
  try {
    return signal.reason;
  } catch (error) {
    return error;
  }
}

/** Clears a timer, if any; a throw leaves it inert (see "Calls out"). */
export function disarm(timer: ReturnType<typeof setTimeout> | undefined): void {
  try {
    clearTimeout(timer);
  } catch {
    // The timer finds itself replaced and does nothing.
  }
}

/**
 * A timer for one deadline at a time, never early: it rounds the delay up,
 * waits past `setTimeout`'s limit in steps of its own, and trusts its own
 * firing over a clock that reads a little behind. A timer it replaced or
 * took back that fires anyway does nothing. `set()` calls out (see "Calls
 * out"): the caller's state must be whole, and `wanted()` is asked again
 * after `setTimeout` returns. It rings early only if the host refused it
 * the next step: its owner's `set()` then meets that error.
 */
export class Alarm {
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** When the current step's timer fires (`performance.now()` time). */
  #at = Infinity;
  /** The deadline it is armed for; Infinity while unarmed. */
  deadline = Infinity;
  readonly #ring: (now: number) => void;
  readonly #wanted: () => boolean;

  /**
   * @param ring Called when the deadline passed, with the time it counts
   * as now.
   * @param wanted Whether a timer is still needed, after a call out.
   */
  constructor(ring: (now: number) => void, wanted: () => boolean) {
    this.#ring = ring;
    this.#wanted = wanted;
  }

  /**
   * Arms for `deadline`, unless it is armed as early already. If
   * `setTimeout` throws, it throws that, and nothing has changed.
   */
  set(deadline: number): void {
    const now = performance.now();
    const at = now + delayUntil(deadline, now);
    const timer: ReturnType<typeof setTimeout> = setTimeout(() => {
      if (this.#timer !== timer) return; // replaced or taken back
      this.#timer = undefined;
      // The timer firing proves its delay passed, even if the clock lags.
      const firedAt = Math.max(performance.now(), this.#at);
      const deadline = this.deadline;
      this.#at = this.deadline = Infinity;
      if (firedAt < deadline) {
        // A step of a wait past setTimeout's limit: the next one.
        try {
          return this.set(deadline);
        } catch {
          // No timer to be had: ring now; the owner's set() meets it.
        }
      }
      this.#ring(firedAt);
    }, at - now);
    // setTimeout may have re-entered: keep the timer only if still needed.
    if (!this.#wanted() || deadline >= this.deadline) {
      disarm(timer);
      return;
    }
    const old = this.#timer;
    this.#timer = timer;
    this.#at = at;
    this.deadline = deadline;
    disarm(old);
  }

  /** Unarms it; gives the host's timer, to clear once the state is whole. */
  take(): ReturnType<typeof setTimeout> | undefined {
    const timer = this.#timer;
    this.#timer = undefined;
    this.#at = this.deadline = Infinity;
    return timer;
  }
}

/** How a retry backs off: from `min` ms, doubling, at most `max`. */
export interface Backoff {
  readonly min: number;
  readonly max: number;
}

/** A locked database (SQLite between connections): 1, 2, 4 ... at most 50 ms. */
export const LOCKED: Backoff = { min: 1, max: 50 };
/** A waiter's read that failed: 10, 20, 40 ... ms, at most 1 s. */
export const READ_AGAIN: Backoff = { min: 10, max: 1_000 };
/** A watch stream that broke: 10, 20, 40 ... ms, at most 5 s. */
export const REOPEN: Backoff = { min: 10, max: 5_000 };

/** The pause before try `tries + 1` (the first try is 0). */
export function backoff(tries: number, policy: Backoff): number {
  return Math.min(policy.min * 2 ** tries, policy.max);
}
