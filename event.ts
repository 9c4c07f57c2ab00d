// Copyright 2026 the @seed/event authors. MIT license.
// This module is browser compatible.
/**
 * The public types, `Event` (its API, and how a send is delivered, adopted
 * and carried), and `Event.first()` / `Event.iterate()`. The engine of the
 * waiters with a signal or a timeout is `event/waiters.ts`; what every room
 * needs from the host is `event/host.ts`. Calls go down: this file uses
 * those two, they use nothing of it but its types.
 *
 * @module
 */
import {
  Alarm,
  disarm,
  ignore,
  listen,
  parseOptions,
  reasonOf,
  RERESET_MESSAGE,
  RESEND_MESSAGE,
  show,
  timeoutError,
  unlisten,
  withResolvers,
} from "./event/host.ts";
import { Waiters } from "./event/waiters.ts";

/** Options for the {@linkcode Event} constructor. */
export interface EventOptions {
  /**
   * A name for the event, shown in its errors and its inspect output, so
   * that a timeout says which event it waited for:
   * `wait() on Event "config" timed out after 25 ms`.
   */
  name?: string | undefined;
}

/**
 * Options for {@linkcode Event.prototype.wait}, {@linkcode Event.first} and
 * {@linkcode Event.iterate}. For `wait()` they bound that one waiter; for
 * `first()` and `iterate()`, the whole call.
 */
export interface WaitOptions {
  /**
   * Stops the wait when aborted: its promise rejects with `signal.reason`.
   * The event and every other waiter are untouched. An already aborted
   * signal rejects at once, even on an event that was sent.
   * A signal from another realm or a polyfill works too: anything with
   * `aborted`, `reason`, `addEventListener` and `removeEventListener`.
   */
  signal?: AbortSignal | SignalLike | undefined;
  /**
   * Milliseconds to wait before the wait rejects with a `DOMException`
   * named `"TimeoutError"`, whose message names the operation, the event's
   * name and the timeout. The event stays unsent. `Infinity` waits forever;
   * values above `setTimeout`'s limit (2^31-1) still wait the full time.
   * A negative number or `NaN` rejects with a `RangeError`. Where the host
   * has no timers (`setTimeout` throws), the wait rejects with that error.
   *
   * @default {Infinity}
   */
  timeout?: number | undefined;
}

/**
 * What {@linkcode WaitOptions.signal} needs of a signal: an `AbortSignal`
 * has it, and so has one from another realm or a polyfill.
 */
export interface SignalLike {
  /** Whether it was aborted. */
  readonly aborted: boolean;
  /** Why it was aborted: what the wait rejects with. */
  readonly reason?: unknown;
  /**
   * Adds the abort listener.
   *
   * @param type `"abort"`.
   * @param listener Called once, when aborted.
   * @param options `{ once: true }`.
   */
  addEventListener(
    type: "abort",
    listener: () => void,
    options?: { once?: boolean },
  ): void;
  /**
   * Takes the abort listener back.
   *
   * @param type `"abort"`.
   * @param listener The listener added.
   */
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * Thrown on misuse of an {@linkcode Event}: `send()` or `sendException()` on
 * an event that was already sent, or `reset()` on a fresh one. The event is
 * left exactly as it was.
 *
 * @example Resetting a fresh event
 * ```ts
 * import { Event, EventStateError } from "@seed/event";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const evt = new Event();
 * const error = assertThrows(() => evt.reset(), EventStateError);
 * assertEquals(error.message, "Trying to re-reset() a fresh event.");
 * assertEquals(evt.ready(), false);
 * ```
 */
export class EventStateError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was misused.
   * @param options The `cause`, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EventStateError";
  }
}

/**
 * What {@linkcode Event.iterate} returns: an async iterator of events whose
 * finished `next()` gives `{ done: true, value: undefined }`, and whose
 * `return()` is always there to stop it early.
 *
 * @typeParam E The events' type.
 */
export interface EventIterator<E> extends AsyncIterableIterator<E> {
  /**
   * The next event to be ready, or done once every event was given.
   *
   * @returns The next result.
   */
  next(): Promise<IteratorResult<E, undefined>>;
  /**
   * Stops the iteration: nothing is left on any event. `for await` calls it
   * when the loop is left early; a caller that drops the iterator otherwise
   * must call it too.
   *
   * @returns A finished result.
   */
  return(): Promise<IteratorReturnResult<undefined>>;
  /**
   * The iterator itself, for `for await`.
   *
   * @returns This iterator.
   */
  [Symbol.asyncIterator](): EventIterator<E>;
}

/**
 * The key of the method by which an event that lives outside this isolate's
 * memory (a `KvEvent` of `@seed/event/kv`) joins {@linkcode Event.first} and
 * {@linkcode Event.iterate} beside in-memory events. A symbol of the global
 * registry, so that every copy of the module agrees on it.
 */
export const WAITABLE: unique symbol = Symbol.for("@seed/event.waitable");

/**
 * An event that {@linkcode Event.first} and {@linkcode Event.iterate} can
 * wait for beside in-memory events: a `KvEvent`, or any object that keeps
 * this contract.
 */
export interface Waitable {
  /**
   * The event's name, for the timeout messages of `first()` and `iterate()`.
   */
  readonly name?: string | undefined;
  /**
   * Starts watching: calls `sent()` once the event is sent (a value or an
   * exception), or `failed(error)` if it can never be (its storage is
   * gone); at most one of them, once, never synchronously. Once `signal` is
   * aborted it calls neither and leaves nothing behind.
   *
   * @param sent Called once the event is sent.
   * @param failed Called if the event can never be sent.
   * @param signal Aborted when the caller no longer watches.
   */
  [WAITABLE](
    sent: () => void,
    failed: (error: unknown) => void,
    signal: AbortSignal,
  ): void;
}

const FRESH = 0;
const VALUE = 1;
const EXCEPTION = 2;
type State = typeof FRESH | typeof VALUE | typeof EXCEPTION;

/*
 * The several-events room below reaches an event's private state only
 * through these, set in Event's static block (so declared before it).
 */
/**
 * Set in Event's static block: the only way in to an event's selectors
 * (the `first()` and `iterate()` calls watching it). Adding one twice is
 * adding it once.
 */
let addSelector: (evt: AnyEvent, selector: Selector) => void;
let dropSelector: (evt: AnyEvent, selector: Selector) => void;
/**
 * A brand check, set in Event's static block: true only for an object made
 * by `new Event()`. `instanceof` is true of a Proxy of an event too, or of
 * `Object.create(Event.prototype)`, which have none of its private state.
 */
let isEvent: (value: unknown) => value is AnyEvent;
/**
 * Set in Event's static block: whether an event was sent, read from its
 * state. The rooms below never call `ready()`, which a subclass may
 * override.
 */
let isSent: (evt: AnyEvent) => boolean;

/**
 * What inspect shows of an event: one view per event inspected, so that a
 * cycle through an event meets the same object again. Named `Event`, so
 * that inspect prints `Event { ... }`.
 */
const EventView = class Event {} as unknown as new () => Record<
  string,
  unknown
>;
const views: WeakMap<AnyEvent, Record<string, unknown>> = new WeakMap();

/**
 * The names given to events: only named events pay for one, and a carrier
 * takes its event's name.
 */
const names: WeakMap<AnyEvent, string> = new WeakMap();

/**
 * The event whose sent object's `then` is being read, with its waiters
 * still on it: it gets a carrier only if that object is a thenable, or if
 * a call reaches the event meanwhile (see `Event.#adopt()`). A plain
 * object, the common case, is delivered with no carrier.
 */
let adopting: AnyEvent | undefined;
/** The carrier the event being adopted got while its `then` was read. */
let carried: AnyEvent | undefined;

/**
 * An event that any number of waiters can await, and that is sent exactly
 * once, with a value or an exception: a port of eventlet's `Event`.
 *
 * Unlike a bare promise, an event can be asked whether it was sent
 * ({@linkcode Event.prototype.ready}), polled without awaiting, reset for
 * reuse, and waited for with a per-waiter signal or timeout that never
 * disturbs the other waiters. Waiters resume in the order they called
 * `wait()`.
 *
 * @typeParam T The type of the value sent. `Event` alone is `Event<void>`,
 * whose `send()` takes no argument.
 *
 * @example Wait for a value another task sends
 * ```ts
 * import { Event } from "@seed/event";
 * import { assertEquals } from "@std/assert";
 *
 * const evt = new Event<number>();
 * function baz(b: number) {
 *   evt.send(b + 1);
 * }
 * setTimeout(() => baz(3), 0); // eventlet.spawn_n(baz, 3)
 * assertEquals(await evt.wait(), 4);
 * ```
 */
export class Event<T = void> {
  /*
   * State. Throughout the code these hold:
   *
   * - Fresh: `#result`, `#settled` and `#carrier` are undefined. Pending
   *   waiters are the plain waiters' open promise `#plain` and, once a
   *   waiter with a signal or a timeout came, `#waiters` (the engine,
   *   `event/waiters.ts`), which holds every plain promise and waiter in
   *   `wait()` order; `#waiting` counts them as they came, less those
   *   `#waiters` counts as `departed`. `#selectors` are the `first()` and
   *   `iterate()` calls watching.
   * - Value or exception: `#result` holds what was sent, as sent. The send
   *   detached `#plain`, `#waiters`, `#selectors` and `#waiting` before it
   *   called out, and woke `#waiters` (which makes its timers and listeners
   *   stale). `#settled` is what a later `wait()` gets: made by the send
   *   for a value (see `#deliver()`), on the first later `wait()` for an
   *   exception. A sent thenable has a `#carrier`, the event that took over
   *   its waiters (the same `#waiters`, still current) and that later
   *   waiters join until `reset()`; so does a sent object whose `then`
   *   lookup reached the event (`adopting`: while `then` is read, the
   *   waiters stay on the event, and the first call that could tell the
   *   difference moves them to a carrier first). A carrier sent a thenable
   *   in turn hands over to a new carrier, and its `#origin` (the event the
   *   user sent) is pointed at that one while it still holds this send's
   *   carrier: so the origin's `#carrier` is always the last, one step away
   *   however deep the chain, and the links before it are garbage.
   *
   * Calls out. The event calls code it does not own: a signal's
   * `addEventListener`, `removeEventListener`, `aborted` and `reason`, the
   * host's `setTimeout`, `clearTimeout` and `queueMicrotask`, and a sent
   * value's `then`. Any of them may throw, or re-enter the event (send,
   * reset, wait, abort). So every call out is made while the state is
   * whole: before an operation commits anything, or after it has committed
   * everything, and what was known before it is checked again after it
   * returns. In `wait()`: the waiter is queued first, as if every call out
   * had succeeded; a throw takes it out again as a timeout would and rejects
   * it with the error; a re-entrant send, reset or abort finds it queued.
   * `Event.first()` and `Event.iterate()` follow the same rule, with the
   * same two helpers: `listen()` and `Alarm`.
   */
  #state: State = FRESH;
  /** The value or the exception sent; undefined while fresh. */
  #result: unknown = undefined;
  /**
   * What wait() returns once sent. For a value, the promise the send
   * resolved with it (its plain waiters', or one of its own): a promise
   * resolved later would read an object's `then` again, and adopt a `then`
   * added since (`send()` reads it once). Recorded before it resolves: a
   * `then` getter that calls wait() finds it. For an exception, made on
   * first need.
   */
  #settled: Promise<Awaited<T>> | undefined = undefined;
  /**
   * Sent a thenable: the private event that adopts it once and then wakes
   * this send's waiters, and any later wait() until reset(), with its
   * outcome. Until then each keeps its own signal and timeout.
   */
  #carrier: AnyEvent | undefined = undefined;
  /** A carrier's origin: the event whose send it carries. */
  #origin: AnyEvent | undefined = undefined;
  /**
   * Plain waiters (no signal, no timeout) share one promise, so they cost
   * nothing each. This is the one still open for more plain waiters: the
   * last entry in wait() order.
   */
  #plain: PromiseWithResolvers<Awaited<T>> | undefined = undefined;
  /** Waiters of this send as they came (see `#count()`). */
  #waiting = 0;
  /**
   * The engine of the waiters with a signal or a timeout, made when the
   * first of them arrives and woken on send: plain round trips never pay
   * for it.
   */
  #waiters: Waiters<Awaited<T>> | undefined = undefined;
  /**
   * `Event.first()` and `Event.iterate()` calls watching this event: most
   * often one, held as is; a Set only while several watch at once.
   */
  #selectors: Selector | Set<Selector> | undefined = undefined;

  static {
    addSelector = (evt, selector) => {
      const selectors = evt.#selectors;
      if (selectors === undefined) evt.#selectors = selector;
      else if (selectors instanceof Set) selectors.add(selector);
      else evt.#selectors = new Set([selectors, selector]);
    };
    dropSelector = (evt, selector) => {
      const selectors = evt.#selectors;
      if (selectors === selector) {
        evt.#selectors = undefined;
      } else if (selectors instanceof Set) {
        selectors.delete(selector);
        // Keep nothing on a long-lived event once nobody watches it.
        if (selectors.size === 0) evt.#selectors = undefined;
      }
    };
    isEvent = (value): value is AnyEvent =>
      typeof value === "object" && value !== null && #state in value;
    isSent = (evt) => evt.#state !== FRESH;
  }

  /**
   * Makes a fresh event.
   *
   * @param options A name for the event, for its errors and inspect output.
   * @throws {TypeError} If `options` is not an object or `name` is not a
   * string; the message names the bad value.
   *
   * @example A named event says so when a wait times out
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals, assertRejects } from "@std/assert";
   *
   * const config = new Event<string>({ name: "config" });
   * const error = await assertRejects(
   *   () => config.wait({ timeout: 5 }),
   *   DOMException,
   * );
   * assertEquals(error.message, 'wait() on Event "config" timed out after 5 ms');
   * assertEquals(config.name, "config");
   * ```
   */
  constructor(options?: EventOptions) {
    if (options !== undefined) {
      if (typeof options !== "object" || options === null) {
        throw new TypeError(
          `Cannot make an Event: options must be an object, got ${
            show(options)
          }`,
        );
      }
      const name = options.name;
      if (name !== undefined) {
        if (typeof name !== "string") {
          throw new TypeError(
            `Cannot make an Event: name must be a string, got ${show(name)}`,
          );
        }
        names.set(this, name);
      }
    }
  }

  /**
   * The name given to the event, if any.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new Event({ name: "config" }).name, "config");
   * assertEquals(new Event().name, undefined);
   * ```
   */
  get name(): string | undefined {
    return names.get(this);
  }

  /**
   * Waits until the first of several events is ready (sent a value or an
   * exception), and resolves with that event: gevent's `wait(objects,
   * count=1)`. Readiness is the point: it never rejects with the event's
   * exception; use `poll()` or `wait()` on the event it gives.
   *
   * Among events already ready, the first in argument order wins; otherwise
   * the first to be sent. Listing an event twice is fine. However it
   * settles, it leaves no waiter, timer or listener on any event, unlike
   * `Promise.race()` over `wait()` promises, which keeps a reaction on every
   * event that loses the race until that event is sent.
   *
   * @typeParam E The events' type: a union, for events of several types.
   * @param events The events to watch: any iterable of at least one event.
   * @param options A signal and a timeout for the whole call.
   * @returns The first event to be ready.
   * @throws {TypeError | RangeError} Rejects (never throws) on bad input,
   * naming the bad value.
   * @throws {DOMException & { name: "TimeoutError" }} Rejects if the timeout
   * passes first; the message names the call, the events and the timeout.
   * @throws {AbortSignal["reason"]} Rejects with the signal's reason if it
   * aborts first.
   * @throws {unknown} Rejects with what the host's `setTimeout` or the
   * signal's `addEventListener` throws, if either throws.
   *
   * @example Wait on whichever event is ready first (eventlet's ready() pattern)
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals, assertStrictEquals } from "@std/assert";
   *
   * const events = [new Event<string>(), new Event<string>()];
   * setTimeout(() => events[1]!.send("second"), 0);
   * const found = await Event.first(events);
   * assertStrictEquals(found, events[1]);
   * assertEquals(await found.wait(), "second");
   * ```
   *
   * @example A worker loop that races each job against a stop event
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const stop = new Event();
   * const done: number[] = [];
   * async function worker(jobs: AsyncIterable<Event<number>>) {
   *   for await (const job of jobs) {
   *     // No leak, however many jobs lose to a stop that never comes.
   *     if (await Event.first([stop, job]) === stop) return;
   *     done.push(job.poll()!);
   *   }
   * }
   * async function* jobs() {
   *   for (let i = 0; i < 3; i++) {
   *     const job = new Event<number>();
   *     setTimeout(() => job.send(i), 0);
   *     yield job;
   *   }
   *   stop.send(); // no more work
   *   yield new Event<number>(); // never sent: the stop event ends the wait
   * }
   * await worker(jobs());
   * assertEquals(done, [0, 1, 2]);
   * assertEquals(stop.waiting, 0);
   * ```
   */
  // deno-lint-ignore no-explicit-any
  static first<E extends Event<any> | Waitable>(
    events: Iterable<E>,
    options?: WaitOptions,
  ): Promise<E> {
    let list: E[];
    let signal: SignalLike | undefined;
    let timeout: number | undefined;
    try {
      ({ list, signal, timeout } = selectArgs(events, options, "first"));
    } catch (error) {
      return Promise.reject(error);
    }
    // The iterable and the getters above called out: read readiness now.
    for (const evt of list) {
      if (isEvent(evt) && isSent(evt)) return Promise.resolve(evt);
    }
    const { promise, resolve, reject } = withResolvers<E>();
    const selection = new Selection<E>("first", (evt) => {
      selection.stop();
      resolve(evt);
    }, reject);
    selection.start(list, signal, timeout);
    return promise;
  }

  /**
   * The events in the order they become ready, each once: gevent's
   * `iwait()`. Events already ready come first, in argument order, then the
   * others in the order they are sent. It ends when every event was given.
   *
   * The options bound the whole iteration: once the signal aborts or the
   * timeout passes, `next()` gives the events that were ready by then, and
   * then rejects with the signal's reason or a `TimeoutError`. Breaking out
   * of the loop (`return()`), an abort or a timeout leaves no waiter, timer
   * or listener on any event. Bad input rejects the first `next()`.
   *
   * @typeParam E The events' type: a union, for events of several types.
   * @param events The events to watch: any iterable of at least one event.
   * @param options A signal and a timeout for the whole iteration.
   * @returns An async iterator of the events, in the order they are ready.
   * Its `next()` rejects as `Event.first()` does, after it gave the events
   * ready by then.
   *
   * @example Handle results in the order they arrive
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const [a, b, c] = [new Event<string>(), new Event<string>(), new Event<string>()];
   * c.send("c");
   * setTimeout(() => {
   *   b.send("b");
   *   a.send("a");
   * }, 0);
   * const order: string[] = [];
   * for await (const evt of Event.iterate([a, b, c])) order.push(await evt.wait());
   * assertEquals(order, ["c", "b", "a"]);
   * ```
   */
  // deno-lint-ignore no-explicit-any
  static iterate<E extends Event<any> | Waitable>(
    events: Iterable<E>,
    options?: WaitOptions,
  ): EventIterator<E> {
    return new Iteration(events, options);
  }

  /**
   * Sends a value: every waiter resumes with it, and so does every later
   * `wait()` until {@linkcode Event.prototype.reset}.
   *
   * `send()` returns before any waiter runs: waiters resume through promise
   * jobs, in the order they called `wait()`, all before the next timer
   * callback.
   *
   * A thenable value (a promise) is adopted once, as `await` would adopt it:
   * `send()` reads its `then` once, after `Event.first()` and
   * `Event.iterate()` have been told of the send, and calls it in a promise
   * job. Every waiter of this send, earlier or later until `reset()`, gets
   * that one outcome, in `wait()` order; until it settles, each waiter's own
   * signal and timeout still bound it. The event is ready at once, and
   * `poll()` returns the thenable as sent.
   *
   * @param value The value every waiter receives.
   * @throws {EventStateError} If the event was already sent. The event is
   * unchanged.
   *
   * @example Send a value to a waiting task
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const printed: string[] = [];
   * const sleep0 = () => new Promise((resolve) => setTimeout(resolve, 0));
   * const evt = new Event<string>();
   * async function waiter() {
   *   printed.push("about to wait");
   *   const result = await evt.wait();
   *   printed.push(`waited for ${result}`);
   * }
   * setTimeout(waiter, 0); // eventlet.spawn(waiter)
   * await sleep0();
   * assertEquals(printed, ["about to wait"]);
   * evt.send("a");
   * await sleep0();
   * assertEquals(printed, ["about to wait", "waited for a"]);
   * ```
   *
   * @example Sending twice is an error
   * ```ts
   * import { Event, EventStateError } from "@seed/event";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const evt = new Event<string>();
   * evt.send("a");
   * const error = assertThrows(() => evt.send("whoops"), EventStateError);
   * assertEquals(
   *   error.message,
   *   "Trying to re-send() an already-triggered event.",
   * );
   * assertEquals(await evt.wait(), "a");
   * ```
   */
  send(value: T): void {
    if (this.#state !== FRESH) throw this.#misuse(RESEND_MESSAGE);
    this.#state = VALUE;
    this.#result = value;
    if (
      value !== null &&
      (typeof value === "object" || typeof value === "function")
    ) {
      this.#adopt(value); // it may be a thenable
    } else {
      this.#deliver(true, value);
    }
  }

  /**
   * Sends an exception: every waiter, and every later `wait()` until
   * {@linkcode Event.prototype.reset}, rejects with that very object, its
   * stack as it was. With nobody waiting this is not an unhandled rejection:
   * the error is kept on the event, and plain `wait()` promises share one
   * promise marked handled. A promise from `wait({ signal, timeout })` is the
   * caller's own: like any promise, handle its rejection.
   *
   * @param error The error every waiter rejects with.
   * @throws {EventStateError} If the event was already sent. The event is
   * unchanged.
   *
   * @example Send an exception
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertRejects } from "@std/assert";
   *
   * class RuntimeError extends Error {
   *   override name = "RuntimeError";
   * }
   * const evt = new Event();
   * evt.sendException(new RuntimeError());
   * await assertRejects(() => evt.wait(), RuntimeError);
   * ```
   *
   * @example The original stack trace is kept
   * ```ts
   * import { Event } from "@seed/event";
   * import { assert, assertRejects, assertStrictEquals } from "@std/assert";
   *
   * class RuntimeError extends Error {
   *   override name = "RuntimeError";
   * }
   * function fail(): never {
   *   throw new RuntimeError();
   * }
   * const evt = new Event();
   * let thrown: unknown;
   * try {
   *   fail();
   * } catch (error) {
   *   thrown = error;
   *   evt.sendException(error);
   * }
   * const error = await assertRejects(() => evt.wait(), RuntimeError);
   * assertStrictEquals(error, thrown);
   * assert(error.stack?.includes("at fail"), error.stack);
   * ```
   */
  sendException(error: unknown): void {
    if (this.#state !== FRESH) throw this.#misuse(RESEND_MESSAGE);
    this.#state = EXCEPTION;
    this.#result = error;
    this.#deliver(false, error);
  }

  /**
   * Waits until the event is sent, and resolves with the value sent (or
   * rejects with the exception sent). On an event already sent it settles at
   * once, with no timer.
   *
   * Waiters resume in the order they called `wait()`. Waiters without
   * options share one promise, so `evt.wait() === evt.wait()` may hold: they
   * resume in the order they attached to it, which for `await evt.wait()` is
   * the call order.
   *
   * Bad options never throw: the promise rejects with a `TypeError` or
   * `RangeError` naming the bad value, and nothing else changes.
   *
   * @param options A signal and a timeout for this waiter alone.
   * @returns The value sent; for a thenable sent, the value it settles with.
   * @throws {unknown} Rejects with the exception sent, or with what a sent
   * thenable rejects with.
   * @throws {TypeError | RangeError} Rejects (never throws) on bad input,
   * naming the bad value.
   * @throws {DOMException & { name: "TimeoutError" }} Rejects if the timeout
   * passes first; the message names `wait()`, the event and the timeout.
   * @throws {AbortSignal["reason"]} Rejects with the signal's reason if it
   * aborts first.
   * @throws {unknown} Rejects with what the host's `setTimeout` or the
   * signal's `addEventListener` throws, if either throws.
   *
   * @example Wait for a result
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const printed: string[] = [];
   * const sleep0 = () => new Promise((resolve) => setTimeout(resolve, 0));
   * const evt = new Event<string>();
   * async function waitOn() {
   *   const retval = await evt.wait();
   *   printed.push(`waited for ${retval}`);
   * }
   * setTimeout(waitOn, 0); // eventlet.spawn(wait_on)
   * evt.send("result");
   * await sleep0();
   * assertEquals(printed, ["waited for result"]);
   *
   * // Returns immediately if the event has already occurred.
   * assertEquals(await evt.wait(), "result");
   * ```
   *
   * @example Give up after a timeout, or when a signal aborts
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals, assertRejects } from "@std/assert";
   *
   * const evt = new Event<string>();
   * const error = await assertRejects(
   *   () => evt.wait({ timeout: 10 }),
   *   DOMException,
   * );
   * assertEquals(error.name, "TimeoutError");
   *
   * const controller = new AbortController();
   * const waiting = evt.wait({ signal: controller.signal });
   * controller.abort(new Error("client went away"));
   * await assertRejects(() => waiting, Error, "client went away");
   * assertEquals(evt.ready(), false);
   * ```
   */
  wait(options?: WaitOptions): Promise<Awaited<T>> {
    if (options !== undefined) return this.#waitWith(options);
    return this.#waitPlain();
  }

  /**
   * A plain wait: what `wait()` does without options. The engine calls this,
   * never the public `wait()`, which a subclass may override.
   */
  #waitPlain(): Promise<Awaited<T>> {
    if (this.#state !== FRESH) return this.#settledPromise();
    this.#waiting++;
    let plain = this.#plain;
    if (plain === undefined) {
      plain = this.#plain = withResolvers<Awaited<T>>();
      this.#waiters?.queue.push(plain);
    }
    return plain.promise;
  }

  /**
   * Whether the event was sent (with a value or an exception), so that
   * `wait()` settles at once. True until {@linkcode Event.prototype.reset}.
   *
   * eventlet's docs suggest visiting a list of events, calling `ready()`
   * until one returns true, then waiting on that one. Here,
   * {@linkcode Event.first} does that without polling.
   *
   * @returns `true` once sent.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const evt = new Event<string>();
   * assertEquals(evt.ready(), false);
   * evt.send("done");
   * assertEquals(evt.ready(), true);
   * ```
   */
  ready(): boolean {
    return this.#state !== FRESH;
  }

  /**
   * Whether the event was sent with a value.
   *
   * @returns `true` after `send()`, until `reset()`.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const evt = new Event<number>();
   * evt.send(1);
   * assertEquals([evt.hasResult(), evt.hasException()], [true, false]);
   * ```
   */
  hasResult(): boolean {
    return this.#state === VALUE;
  }

  /**
   * Whether the event was sent with an exception.
   *
   * @returns `true` after `sendException()`, until `reset()`.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const evt = new Event();
   * evt.sendException(new Error("boom"));
   * assertEquals([evt.hasResult(), evt.hasException()], [false, true]);
   * ```
   */
  hasException(): boolean {
    return this.#state === EXCEPTION;
  }

  /**
   * The value sent, without waiting: throws the exception sent, and returns
   * `undefined` while the event is fresh.
   *
   * @returns The value sent, or `undefined`.
   * @throws {unknown} The exception sent, if any.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const evt = new Event<number>();
   * assertEquals(evt.poll(), undefined);
   * evt.send(4);
   * assertEquals(evt.poll(), 4);
   * ```
   */
  poll(): T | undefined;
  /**
   * The value sent, without waiting: throws the exception sent, and returns
   * `notReady` while the event is fresh.
   *
   * @typeParam D The type of `notReady`.
   * @param notReady What to return while the event is fresh.
   * @returns The value sent, or `notReady`.
   * @throws {unknown} The exception sent, if any.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const evt = new Event<number>();
   * assertEquals(evt.poll("not yet"), "not yet");
   * evt.send(4);
   * assertEquals(evt.poll("not yet"), 4);
   * ```
   */
  poll<D>(notReady: D): T | D;
  poll(notReady?: unknown): unknown {
    if (this.#state === VALUE) return this.#result;
    if (this.#state === EXCEPTION) throw this.#result;
    return notReady;
  }

  /**
   * The value sent, or `undefined` if the event is fresh or was sent an
   * exception. Never throws.
   *
   * @returns The value sent, or `undefined`.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const evt = new Event<number>();
   * evt.send(4);
   * assertEquals(evt.pollResult(), 4);
   * ```
   */
  pollResult(): T | undefined;
  /**
   * The value sent, or `notReady` if the event is fresh or was sent an
   * exception. Never throws.
   *
   * @typeParam D The type of `notReady`.
   * @param notReady What to return when there is no value.
   * @returns The value sent, or `notReady`.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const evt = new Event<number>();
   * evt.sendException(new Error("boom"));
   * assertEquals(evt.pollResult(-1), -1);
   * ```
   */
  pollResult<D>(notReady: D): T | D;
  pollResult(notReady?: unknown): unknown {
    return this.#state === VALUE ? this.#result : notReady;
  }

  /**
   * The exception sent, or `notReady` if the event is fresh or was sent a
   * value. Unlike eventlet's `poll_exception()`, which raises it, this
   * returns the exception.
   *
   * @param notReady What to return when there is no exception.
   * @returns The exception sent, or `notReady`.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertStrictEquals } from "@std/assert";
   *
   * const evt = new Event();
   * const boom = new Error("boom");
   * evt.sendException(boom);
   * assertStrictEquals(evt.pollException(), boom);
   * ```
   */
  pollException(notReady?: unknown): unknown {
    return this.#state === EXCEPTION ? this.#result : notReady;
  }

  /**
   * Makes a sent event fresh again, for reuse. Waiters woken by the earlier
   * send still receive the earlier value, even when `reset()` and another
   * `send()` come before they run; no later `wait()` or `poll()` sees it.
   *
   * @throws {EventStateError} If the event is fresh. The event is unchanged.
   *
   * @example Reuse an event
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const evt = new Event<string>();
   * const first = evt.wait();
   * evt.send("a");
   * evt.reset();
   * const second = evt.wait();
   * evt.send("b");
   * assertEquals(await Promise.all([first, second]), ["a", "b"]);
   * ```
   */
  reset(): void {
    if (this.#state === FRESH) throw this.#misuse(RERESET_MESSAGE);
    // This send's waiters keep its outcome: a carrier takes them.
    if (adopting === this) this.#carry();
    this.#state = FRESH;
    this.#result = undefined;
    this.#settled = undefined;
    this.#carrier = undefined;
    // An inspect's view holds what it showed: nothing of this send is kept.
    views.delete(this);
  }

  /**
   * How many waits are pending right now: `wait()` calls, and the
   * `Event.first()` and `Event.iterate()` calls watching this event. Those
   * that timed out or were aborted leave the count. A send empties it, but
   * for the waiters of a sent promise still pending, counted until it
   * settles or `reset()`.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * const evt = new Event();
   * const waiters = [evt.wait(), evt.wait()];
   * assertEquals(evt.waiting, 2);
   * evt.send();
   * assertEquals(evt.waiting, 0);
   * await Promise.all(waiters);
   * ```
   */
  get waiting(): number {
    return this.#count();
  }

  /** What `waiting` gives; the engine reads this, never the getter. */
  #count(): number {
    const carrier = this.#carrier;
    const selectors = this.#selectors;
    return this.#stillWaiting() +
      (selectors === undefined
        ? 0
        : selectors instanceof Set
        ? selectors.size
        : 1) +
      (carrier === undefined ? 0 : carrier.#stillWaiting());
  }

  /** This send's waiters that came, less those that left early. */
  #stillWaiting(): number {
    return this.#waiting - (this.#waiters?.departed ?? 0);
  }

  /**
   * Shows the event in `console.log()`, Node's `util.inspect()` and
   * `Deno.inspect()` (which honours Node's symbol), like eventlet's `str()`:
   * `Event { ready: false, waiting: 2 }`, `Event { ready: true, value: 4 }`,
   * or `Event { ready: true, exception: ... }`. Inspect's `depth` holds, and
   * an event sent itself (or a cycle through others) shows `[Circular *1]`.
   *
   * @returns The event, described, for inspect to format.
   * @ignore
   */
  [Symbol.for("nodejs.util.inspect.custom")](): object {
    // Formatted by the host's inspect, in its own context: so its depth
    // budget holds, and a cycle through this event, which always shows as
    // the same view, is printed as `[Circular *1]`.
    let view = views.get(this);
    if (view === undefined) views.set(this, view = new EventView());
    for (const key of Object.keys(view)) delete view[key];
    return Object.assign(view, this.#describe());
  }

  /**
   * `"Event"`, so that `String(evt)` gives `[object Event]`.
   *
   * @example Usage
   * ```ts
   * import { Event } from "@seed/event";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(String(new Event()), "[object Event]");
   * ```
   */
  get [Symbol.toStringTag](): string {
    return "Event";
  }

  #describe(): Record<string, unknown> {
    const name = names.get(this);
    const shown: Record<string, unknown> = name === undefined ? {} : { name };
    switch (this.#state) {
      case VALUE:
        return Object.assign(shown, { ready: true, value: this.#result });
      case EXCEPTION:
        return Object.assign(shown, { ready: true, exception: this.#result });
      default:
        return Object.assign(shown, { ready: false, waiting: this.#count() });
    }
  }

  /** An EventStateError for misuse, naming a named event. */
  #misuse(message: string): EventStateError {
    const name = names.get(this);
    return new EventStateError(
      name === undefined
        ? message
        : `${message} (Event ${JSON.stringify(name)})`,
    );
  }

  /** What a plain wait() on a sent event returns. */
  #settledPromise(): Promise<Awaited<T>> {
    if (adopting === this) this.#carry();
    if (this.#carrier !== undefined) return this.#carrier.#waitPlain();
    // A value's was made by its send (see `#settled`); an exception's
    // rejection, which reads nothing of it, on first need.
    if (this.#settled !== undefined) return this.#settled;
    const rejected = Promise.reject(this.#result);
    rejected.catch(ignore); // stored on the event: not unhandled
    return this.#settled = rejected;
  }

  /**
   * Wakes every waiter with an outcome that is no thenable, then tells every
   * `first()` and `iterate()` watching; the caller has set the state.
   */
  #deliver(ok: boolean, result: unknown): void {
    const plain = this.#plain;
    const waiters = this.#waiters;
    const selectors = this.#selectors;
    // Detach everything before calling out (see "Calls out").
    this.#plain = undefined;
    this.#waiters = undefined;
    this.#selectors = undefined;
    this.#waiting = 0;
    // The promise later waiters get (see `#settled`), recorded before any
    // call out: the plain waiters', or one of its own, resolved last.
    let own: PromiseWithResolvers<Awaited<T>> | undefined;
    if (ok) {
      if (plain !== undefined) {
        this.#settled = plain.promise;
      } else {
        own = withResolvers<Awaited<T>>();
        this.#settled = own.promise;
        // A `then` getter that throws rejects it: silent, as a plain
        // waiter's promise is, until someone waits.
        own.promise.catch(ignore);
      }
    }
    if (waiters !== undefined) {
      waiters.wake(ok, result); // stale first, then every call out
    } else if (plain !== undefined) {
      if (ok) {
        plain.resolve(result as Awaited<T>);
      } else {
        plain.promise.catch(ignore);
        plain.reject(result);
      }
    }
    own?.resolve(result as Awaited<T>);
    // No code of the outcome ran above but its `then` getter, if any (it
    // is no thenable): selectors come after the waiters, and still before
    // anything the send calls.
    tell(selectors, this);
  }

  /**
   * Sends an object or a function, which may be a thenable. The selectors
   * are told; only then is `then` read, once. Until it is read this send's
   * waiters stay on the event, and any call that reaches the event in the
   * meantime (a `wait()` or a `reset()` from a `then` getter or a selector)
   * first moves them to a carrier (`#carry()`), as if one had been there
   * all along. No thenable: the waiters are woken here, with no carrier. A
   * thenable is adopted once, in a promise job as a promise adopts one, and
   * its outcome is sent to the carrier, which wakes the waiters in `wait()`
   * order; until then each waiter's own signal and timeout still bound it,
   * and a later `wait()` joins the carrier.
   */
  #adopt(value: object): void {
    // A then getter of another send is running: that send gets its carrier
    // now, for this one needs the slot.
    if (adopting !== undefined) adopting.#carry();
    const outer = carried;
    const selectors = this.#selectors;
    this.#selectors = undefined;
    adopting = this;
    carried = undefined;
    tell(selectors, this);
    // The state is whole: call out.
    let then: unknown;
    let threw = false;
    try {
      then = (value as { then?: unknown }).then;
    } catch (error) {
      threw = true;
      then = error;
    }
    // Carried meanwhile, or not: either way no longer being adopted.
    let carrier = carried as AnyEvent | undefined;
    adopting = undefined;
    carried = outer;
    if (carrier === undefined) {
      if (!threw && typeof then !== "function") {
        this.#deliver(true, value); // the common case: no thenable
        return;
      }
      carrier = this.#carry();
    }
    if (threw) {
      carrier.#settle(false, then);
      return;
    }
    if (typeof then !== "function") {
      carrier.#settle(true, value);
      return;
    }
    let done = false;
    Promise.resolve().then(() => {
      try {
        // As await calls it: whatever its prototype or own `call`.
        Reflect.apply(then, value, [
          (outcome: unknown) => {
            if (done) return;
            done = true;
            carrier.send(outcome); // adopts a nested thenable
          },
          (error: unknown) => {
            if (done) return;
            done = true;
            carrier.sendException(error);
          },
        ]);
      } catch (error) {
        if (!done) {
          done = true;
          carrier.sendException(error);
        }
      }
    });
  }

  /**
   * Moves the waiters of the send being adopted to a new carrier, which
   * later waiters join until `reset()`. A reset() or a wait() made while
   * `then` is read calls this first; so does the send, once it knows the
   * value is a thenable.
   */
  #carry(): AnyEvent {
    // Typed loosely: it carries Awaited<T>, which TypeScript cannot see
    // through for a generic T.
    const carrier: AnyEvent = new Event();
    // A chain of thenables: the origin skips to the newest carrier, if it
    // still carries this send (a reset() since leaves it alone).
    const origin = this.#origin;
    if (origin === undefined) {
      carrier.#origin = this;
    } else {
      carrier.#origin = origin;
      if (origin.#carrier === this) origin.#carrier = carrier;
    }
    // The waiters move as they are, still current: the carrier wakes them.
    carrier.#plain = this.#plain;
    carrier.#waiting = this.#waiting;
    carrier.#waiters = this.#waiters;
    this.#carrier = carrier;
    this.#plain = undefined;
    this.#waiters = undefined;
    this.#waiting = 0;
    // Only the event whose `then` is being read hands its carrier back to
    // that read: a send whose own adoption needs a carrier (a thenable sent
    // from inside another send's `then` getter) must not take its slot.
    if (adopting === this) {
      adopting = undefined;
      carried = carrier;
    }
    return carrier;
  }

  /** Sends a carrier an outcome known to be no thenable. */
  #settle(ok: boolean, result: unknown): void {
    this.#state = ok ? VALUE : EXCEPTION;
    this.#result = result;
    this.#deliver(ok, result);
  }

  #waitWith(options: WaitOptions): Promise<Awaited<T>> {
    let signal: SignalLike | undefined;
    let timeout: number | undefined;
    try {
      ({ signal, timeout } = parseOptions(options));
      // Inside the try: an object posing as a signal may throw here.
      if (signal?.aborted) return Promise.reject(signal.reason);
    } catch (error) {
      return Promise.reject(error);
    }
    // The getters above called out: read the state only now.
    return this.#enqueue(signal, timeout);
  }

  /** Waits with a signal or a timeout: queues the waiter, then calls out. */
  #enqueue(
    signal: SignalLike | undefined,
    timeout: number | undefined,
  ): Promise<Awaited<T>> {
    if (this.#state !== FRESH) {
      if (adopting === this) this.#carry();
      return this.#carrier === undefined
        ? this.#settledPromise()
        : this.#carrier.#enqueue(signal, timeout);
    }
    if (signal === undefined && (timeout ?? Infinity) === Infinity) {
      return this.#waitPlain();
    }
    // A carrier's waiters wait on the event sent: its name.
    const waiters = this.#waiters ??= new Waiters(
      this.#plain,
      `wait() on ${eventName(this.#origin ?? this)}`,
    );
    // Committed before the engine calls out (see "Calls out"): later plain
    // waiters resume after this one, and it is counted.
    this.#plain = undefined;
    this.#waiting++;
    return waiters.add(signal, timeout ?? Infinity);
  }
}

// ---------------------------------------------------------------------------
// Several events: what Event.first() and Event.iterate() use to watch many
// events at once, bound by one signal and one timeout, leaving nothing on an
// event once they stop.
// ---------------------------------------------------------------------------

/**
 * An event of any value type. `Event<T>` is invariant in `T` (its private
 * fields hold `T` both ways), so `Event<unknown>` would not accept an
 * `Event<number>`.
 */
// deno-lint-ignore no-explicit-any
type AnyEvent = Event<any>;
/** What `first()` and `iterate()` watch: events, and waitables. */
type Selectable = AnyEvent | Waitable;

/** Whether a value keeps the {@linkcode Waitable} contract (not an Event). */
function isWaitable(value: unknown): value is Waitable {
  try {
    // null and undefined throw here, as a hostile Proxy may.
    return typeof (value as Waitable)[WAITABLE] === "function";
  } catch {
    // A Proxy whose get trap throws: no waitable.
  }
  return false;
}

/** Told synchronously when an event it watches is sent: see Selection. */
interface Selector {
  sent(evt: Selectable): void;
}

/** Tells the selectors of an event, detached from it, that it was sent. */
function tell(
  selectors: Selector | Set<Selector> | undefined,
  evt: AnyEvent,
): void {
  if (selectors instanceof Set) {
    for (const selector of selectors) selector.sent(evt);
  } else {
    selectors?.sent(evt);
  }
}

/**
 * Checks the arguments of `Event.first()` or `Event.iterate()`: throws on a
 * bad one, and throws the signal's reason if it is already aborted.
 */
function selectArgs<E extends Selectable>(
  events: Iterable<E>,
  options: WaitOptions | undefined,
  method: string,
): { list: E[] } & WaitOptions {
  // What for...of accepts: any value with a Symbol.iterator method.
  if (
    events === null || events === undefined ||
    typeof events[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(
      `Event.${method}() needs an iterable of events, got ${show(events)}`,
    );
  }
  const list: E[] = [];
  for (const evt of events) {
    if (!isEvent(evt) && !isWaitable(evt)) {
      throw new TypeError(
        `Event.${method}() needs events, got ${
          show(evt)
        } at index ${list.length}${lookalike(evt)}`,
      );
    }
    list.push(evt);
  }
  if (list.length === 0) {
    throw new RangeError(
      `Event.${method}() needs at least one event, got none`,
    );
  }
  const { signal, timeout }: WaitOptions = options === undefined
    ? {}
    : parseOptions(options);
  if (signal?.aborted) throw signal.reason;
  return { list, signal, timeout };
}

/** Why an object that looks like an event is not one, for an error message. */
function lookalike(value: unknown): string {
  try {
    if (!(value instanceof Event)) {
      return fromAnotherCopy(value)
        ? ", an Event of another copy of @seed/event (two versions of it in " +
          "one dependency graph): make every Event with one copy, for " +
          "example by asking for one version of @seed/event everywhere"
        : "";
    }
  } catch {
    return ""; // a Proxy whose getPrototypeOf trap throws
  }
  return ", which is not an Event itself (a Proxy of one, or an object made " +
    "from Event.prototype): pass the event";
}

/**
 * Whether a value is an `Event` of another copy of this module: tagged as
 * one, with a `wait()` (which a DOM `Event` has not).
 */
function fromAnotherCopy(value: unknown): boolean {
  return Object.prototype.toString.call(value) === "[object Event]" &&
    typeof (value as AnyEvent).wait === "function";
}

/**
 * Watches several fresh events for one `first()` or `iterate()` call, bound
 * by one signal and one timeout. It follows the event's rule (see "Calls
 * out"): it watches every event before it calls out to the signal or the
 * host's timers, and its listener and timer do nothing once it stopped.
 */
class Selection<E extends Selectable> implements Selector {
  /** The events watched; those sent have dropped this selector already. */
  #events: E[] = [];
  /** How many of them are still watched. */
  #remaining = 0;
  #signal: SignalLike | undefined = undefined;
  #alarm: Alarm | undefined = undefined;
  #stopped = false;
  /** Aborted on stop: releases the waitables watched. */
  #released: AbortController | undefined = undefined;
  readonly #method: "first" | "iterate";
  readonly #onSent: (evt: E) => void;
  readonly #onFail: (error: unknown) => void;

  constructor(
    method: "first" | "iterate",
    onSent: (evt: E) => void,
    onFail: (error: unknown) => void,
  ) {
    this.#method = method;
    this.#onSent = onSent;
    this.#onFail = onFail;
  }

  /** How many events are still watched. */
  get size(): number {
    return this.#remaining;
  }

  start(
    events: E[],
    signal: SignalLike | undefined,
    timeout: number | undefined,
  ): void {
    // iterate() lists each event once; first() does not count them.
    this.#events = events;
    this.#remaining = events.length;
    const waitables: E[] = [];
    for (const evt of events) {
      if (isEvent(evt)) addSelector(evt, this);
      else waitables.push(evt);
    }
    // Every event is watched: call out (see "Calls out").
    try {
      for (const evt of waitables) {
        if (this.#stopped) break;
        const { signal } = this.#released ??= new AbortController();
        // Once stopped, the selection ignores both callbacks itself.
        (evt as Waitable)[WAITABLE](
          () => this.sent(evt),
          (error) => this.fail(error),
          signal,
        );
      }
      if (signal !== undefined) {
        this.#signal = signal;
        listen(signal, this.#abort, () => this.#stopped);
      }
      if (!this.#stopped && timeout !== undefined && timeout !== Infinity) {
        const deadline = performance.now() + timeout;
        const alarm = this.#alarm = new Alarm((now) => {
          if (now >= deadline) {
            // An event passed twice is one event.
            const what = `Event.${this.#method}() on ${
              eventsName([...new Set(events)])
            }`;
            return this.fail(timeoutError(what, timeout));
          }
          try {
            alarm.set(deadline); // rang early: the host refused a step
          } catch (error) {
            this.fail(error);
          }
        }, () => !this.#stopped);
        alarm.set(deadline);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  sent(evt: Selectable): void {
    // The event dropped this selector as it was sent.
    this.#remaining--;
    if (!this.#stopped) this.#onSent(evt as E);
  }

  fail(error: unknown): void {
    if (this.#stopped) return;
    this.stop();
    this.#onFail(error);
  }

  /** Stops watching: no waiter, timer or listener is left. Idempotent. */
  stop(): void {
    this.#stopped = true;
    const events = this.#events;
    this.#events = [];
    for (const evt of events) if (isEvent(evt)) dropSelector(evt, this);
    // The state is whole: call out.
    if (this.#signal !== undefined) unlisten(this.#signal, this.#abort);
    try {
      this.#released?.abort();
    } catch {
      // A waitable's abort listener threw: it was released all the same.
    }
    disarm(this.#alarm?.take());
  }

  #abort = (): void => {
    this.fail(reasonOf(this.#signal!));
  };
}

/** What `Event.iterate()` returns. */
class Iteration<E extends Selectable> implements EventIterator<E> {
  /** Events ready and not yet given, in the order to give them. */
  #ready: Queue<E> = new Queue();
  /** next() calls waiting for an event. */
  #pulls: Queue<PromiseWithResolvers<IteratorResult<E, undefined>>> =
    new Queue();
  #failure: { error: unknown } | undefined = undefined;
  #selection: Selection<E> | undefined = undefined;

  constructor(events: Iterable<E>, options: WaitOptions | undefined) {
    let list: E[];
    let signal: SignalLike | undefined;
    let timeout: number | undefined;
    try {
      ({ list, signal, timeout } = selectArgs(events, options, "iterate"));
    } catch (error) {
      this.#failure = { error };
      return;
    }
    const fresh: E[] = [];
    for (const evt of new Set(list)) {
      if (isEvent(evt) && isSent(evt)) this.#ready.push(evt);
      else fresh.push(evt);
    }
    if (fresh.length === 0) return;
    this.#selection = new Selection<E>("iterate", (evt) => {
      const pull = this.#pulls.shift();
      if (pull === undefined) this.#ready.push(evt);
      else pull.resolve({ value: evt, done: false });
      if (this.#selection!.size === 0) this.#finish();
    }, (error) => {
      this.#failure = { error };
      this.#finish();
    });
    this.#selection.start(fresh, signal, timeout);
  }

  next(): Promise<IteratorResult<E, undefined>> {
    const evt = this.#ready.shift();
    if (evt !== undefined) return Promise.resolve({ value: evt, done: false });
    const failure = this.#failure;
    if (failure !== undefined) {
      this.#failure = undefined;
      return Promise.reject(failure.error);
    }
    if (this.#selection === undefined) {
      return Promise.resolve({ value: undefined, done: true });
    }
    const pull = withResolvers<IteratorResult<E, undefined>>();
    this.#pulls.push(pull);
    return pull.promise;
  }

  return(): Promise<IteratorReturnResult<undefined>> {
    this.#ready = new Queue();
    this.#failure = undefined;
    this.#finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * Stops watching, then settles every waiting next(): the first with the
   * failure, if any, the others as done.
   */
  #finish(): void {
    this.#selection?.stop();
    this.#selection = undefined;
    const pulls = this.#pulls;
    this.#pulls = new Queue();
    for (let pull = pulls.shift(); pull !== undefined; pull = pulls.shift()) {
      const failure = this.#failure;
      if (failure === undefined) {
        pull.resolve({ value: undefined, done: true });
      } else {
        this.#failure = undefined;
        pull.reject(failure.error);
      }
    }
  }
}

/**
 * A first-in first-out queue: O(1) `push()` and `shift()`, amortized. Items
 * go in on one stack and come out of another, which takes the first one's
 * items, reversed, once empty (the two swap): nothing taken is held, and no
 * index needs compacting.
 */
class Queue<T> {
  #in: T[] = [];
  #out: T[] = [];

  push(item: T): void {
    this.#in.push(item);
  }

  /** The oldest item, taken out; undefined when empty. */
  shift(): T | undefined {
    const out = this.#out;
    if (out.length === 0) {
      this.#out = this.#in.reverse();
      this.#in = out; // empty: the two stacks swap
    }
    return this.#out.pop();
  }
}

// ---------------------------------------------------------------------------
// Names, for messages: what the host helpers cannot know.
// ---------------------------------------------------------------------------

/** An event as messages name it: `Event "config"`, or an unnamed one. */
function eventName(evt: AnyEvent): string {
  const name = names.get(evt);
  return name === undefined
    ? "an unnamed Event"
    : `Event ${JSON.stringify(name)}`;
}

/** Several events as messages name them: `3 events ("a", "b" and 1 unnamed)`. */
function eventsName(events: Selectable[]): string {
  const count = `${events.length} event${events.length === 1 ? "" : "s"}`;
  const named: string[] = [];
  for (const evt of events) {
    const name = isEvent(evt) ? names.get(evt) : waitableName(evt);
    if (name !== undefined) named.push(JSON.stringify(name));
  }
  if (named.length === 0) return count;
  const parts = named.slice(0, 3);
  if (named.length > 3) parts.push(`${named.length - 3} more named`);
  const unnamed = events.length - named.length;
  if (unnamed > 0) parts.push(`${unnamed} unnamed`);
  const last = parts.pop()!;
  return `${count} (${
    parts.length > 0 ? `${parts.join(", ")} and ` : ""
  }${last})`;
}

/** A waitable's name, if it has one that is a string: never throws. */
function waitableName(evt: Waitable): string | undefined {
  try {
    const { name } = evt;
    if (typeof name === "string") return name;
  } catch {
    // A name that throws is no name.
  }
  return undefined;
}
