// Copyright 2026 the @seed/event authors. MIT license.
/**
 * One {@linkcode Event} across isolates and processes, on Deno KV: a
 * `KvEvent` is sent once per generation, cluster-wide, and any isolate or
 * process that opens the same KV database can wait for it. Deno Deploy
 * serves one app from many isolates; an in-memory `Event` coordinates one.
 *
 * Needs Deno KV: `--unstable-kv` (or `"unstable": ["kv"]`) in Deno, Deploy
 * as it is, or the `@deno/kv` package's `openKv()` in Node.
 *
 * Here on a database in memory; `Deno.openKv()` (this project's local file)
 * or Deploy's database shares the event with every process or isolate.
 *
 * ```ts
 * import { KvEvent } from "@seed/event/kv";
 * import { assertEquals } from "@std/assert";
 *
 * const kv = await Deno.openKv(":memory:");
 * {
 *   await using evt = new KvEvent<string>(kv, ["flights", "home"]);
 *   await evt.send("body"); // exactly one send per generation, cluster-wide
 *   assertEquals(await evt.wait({ timeout: 1_000 }), "body"); // any isolate
 * }
 * kv.close();
 * ```
 *
 * @module
 */
import {
  Event,
  EventStateError,
  WAITABLE,
  type Waitable,
  type WaitOptions,
} from "./event.ts";
import {
  carried,
  Dropped,
  EventStore,
  FRESH_HEAD,
  type Head,
  headKey,
  headOf,
  isClosed,
  type KvEntryMaybe,
  type KvHandle,
  type KvKey,
  type Outcome,
  Pending,
  type Versioned,
} from "./kv/protocol.ts";
import { type Subscriber, Watcher } from "./kv/watcher.ts";
import {
  backoff,
  ignore,
  isSignal,
  READ_AGAIN,
  reasonOf,
} from "./event/host.ts";

// What a losing send rejects with, for code that imports only this module,
// and the types of the constructor's arguments.
export { EventStateError, type WaitOptions };
export type {
  KvAtomic,
  KvEntryMaybe,
  KvHandle,
  KvKey,
  KvKeyPart,
} from "./kv/protocol.ts";

/** Options for the {@linkcode KvEvent} constructor. */
export interface KvEventOptions {
  /**
   * Milliseconds KV keeps a generation's state (its `expireIn`): a positive
   * integer. Make it longer than the longest wait: once it passed, the event
   * reads as fresh.
   *
   * @default {86_400_000}
   */
  expireIn?: number | undefined;
  /**
   * How often the handle's watcher reads the keys of waiting events, for
   * the commits `watch()` does not report (on a local SQLite file, those of
   * other processes: denoland/deno#21640). One `getMany()` reads 10 events.
   *
   * - `"auto"`: every second at first, then less often, down to once a
   *   minute, while the reads find nothing `watch()` had not delivered (on
   *   Deno Deploy, where `watch()` sees every isolate); every second for
   *   good once a read finds a commit `watch()` missed (another local
   *   process's).
   * - A number of milliseconds: that often, always. `Infinity`: never (one
   *   process, or Deploy with no reads to spare).
   *
   * @default {"auto"}
   */
  pollInterval?: number | "auto" | undefined;
  /**
   * Whether to watch the event's key (`kv.watch()`) while it has waiters.
   * `false` wakes waiters by polling only: for a store whose `watch()` is
   * missing or misbehaves. The `@deno/kv` package (0.14) in Node is one: its
   * watch on a local file can stall the reads that follow, so pass `false`
   * there, with a finite `pollInterval`.
   *
   * @default {true}
   */
  watch?: boolean | undefined;
  /**
   * Milliseconds one storage call may take before it is given up: a read is
   * tried again, a commit is checked. A KV Connect client retries a dead
   * server forever; this bounds every call this event makes.
   *
   * @default {10_000}
   */
  callTimeout?: number | undefined;
}

/** What a wait's first read gives: the head, and its outcome if sent. */
type Read = { head: Head; outcome: Outcome | null } | { ended: unknown };

/**
 * The waiters of one instance that came in one turn: an in-memory event
 * they wait on with their own signals and timeouts, sent the outcome of
 * the generation its read found (or why none will come). So local order,
 * signals, timeouts and clean-up are `Event`'s, and a plain waiter costs
 * what a plain `Event` waiter costs.
 */
class Cohort extends Event<unknown> {
  /** The generation its read found; -1 while it reads. */
  generation = -1;
  /** Its `timeout: 0` waiters: they want the read, and no wait after it. */
  zero: Event<Read> | undefined = undefined;
  /**
   * What its plain waiters get, shared as `Event` shares a plain promise:
   * `shared` taken one step further, as a bounded waiter's is, so that
   * every waiter resumes in call order.
   */
  plain: Promise<unknown> | undefined = undefined;
  shared: Promise<unknown> | undefined = undefined;

  /** Its plain waiters' promise, one step after `Event`'s. */
  waitPlain(): Promise<unknown> {
    const shared = this.wait();
    if (this.shared !== shared) {
      // A bounded waiter closed the run before: that one stays silent now.
      this.plain?.catch(ignore);
      this.shared = shared;
      this.plain = shared.then();
    }
    return this.plain!;
  }

  /** Rejects every waiter; plain ones stay silent, as `Event`'s do. */
  fail(error: unknown): void {
    this.plain?.catch(ignore); // before it rejects: never unhandled
    this.sendException(error);
  }
}

/** Set in KvEvent's static block: a read of its head reached it. */
let hear: (evt: KvEvent<unknown>, entry: KvEntryMaybe) => void;
/** Set in KvEvent's static block: its handle was closed. */
let close: (evt: KvEvent<unknown>, error: unknown) => void;

/** An absent head, as a send guesses it when it knows none. */
const FRESH: Versioned = Object.freeze({
  head: FRESH_HEAD,
  versionstamp: null,
});

/** The `#live` of every instance with no waiter. */
const NO_COHORTS: readonly Cohort[] = Object.freeze([]);

/** The largest `expireIn` a date can hold from now. */
const MAX_DATE = 8.64e15;

/**
 * An event on Deno KV: eventlet's `Event` for a whole cluster. Every method
 * touches storage, so every one returns a promise; their semantics and
 * messages are `Event`'s.
 *
 * Storage: one head key per event says its generation and whether it was
 * sent; each generation's outcome is written once, by one atomic commit that
 * checks the head, and never overwritten. So exactly one send wins per
 * generation, and a waiter of generation `n` gets `n`'s outcome even after
 * `reset()` and a new send.
 *
 * Waking: the handle's one watcher (shared by every `KvEvent` on the same
 * handle) watches the head keys of the events that have waiters, 10 to a
 * stream, and polls them in batches. An instance's waiters of one turn
 * share an in-memory `Event`, sent the outcome of the generation its read
 * found, so local order, signals, timeouts and clean-up are `Event`'s, and
 * a plain waiter shares a promise with the others of its turn. Values are stored as `kv.set()` stores them; exceptions
 * keep their class (or the nearest built-in one), name, message, stack,
 * cause and `AggregateError`'s errors.
 *
 * @typeParam T The type of the value sent.
 *
 * @example Send on one handle, wait on another
 * ```ts
 * import { KvEvent } from "@seed/event/kv";
 * import { assertEquals } from "@std/assert";
 *
 * // Two handles on one file, as two isolates of a Deploy app would have.
 * const path = await Deno.makeTempFile({ suffix: ".sqlite3" });
 * const [a, b] = [await Deno.openKv(path), await Deno.openKv(path)];
 * {
 *   await using waiter = new KvEvent<string>(a, ["jobs", 42]);
 *   await using sender = new KvEvent<string>(b, ["jobs", 42]);
 *   const done = waiter.wait({ timeout: 5_000 });
 *   await sender.send("finished");
 *   assertEquals(await done, "finished");
 *   assertEquals(await waiter.poll(), "finished");
 * }
 * a.close();
 * b.close();
 * await Deno.remove(path);
 * ```
 *
 * @example Whichever comes first: a local shutdown, or a cluster-wide event
 * ```ts
 * import { Event } from "@seed/event";
 * import { KvEvent } from "@seed/event/kv";
 * import { assertStrictEquals } from "@std/assert";
 *
 * const kv = await Deno.openKv(":memory:");
 * {
 *   const shutdown = new Event();
 *   await using deployed = new KvEvent(kv, ["deployed"]);
 *   const first = Event.first([shutdown, deployed], { timeout: 5_000 });
 *   await deployed.send();
 *   assertStrictEquals(await first, deployed); // nothing left on shutdown
 * }
 * kv.close();
 * ```
 */
export class KvEvent<T = void> implements AsyncDisposable, Waitable {
  readonly #store: EventStore;
  readonly #watcher: Watcher;
  readonly #subscriber: Subscriber;
  /**
   * The cohorts with waiters, in call order: those still reading, then
   * (generation known) those waiting for its outcome. While any, the
   * watcher watches this event.
   */
  #live: readonly Cohort[] = NO_COHORTS;
  /** Generations whose outcome is being read. */
  #fetching: Set<number> | undefined = undefined;
  /**
   * The calls of this turn, waiting for a read of the head that begins
   * after all of them (so none sees a generation older than its call), and
   * the last read's hand-over: reads hand over in call order, for FIFO.
   */
  #cohort: Cohort | undefined = undefined;
  #tail: Promise<void> | undefined = undefined;
  /** Reads under way: the last one to finish lets go of `#tail`. */
  #reads = 0;
  /** Why no waiter can be woken any more: disposal, or a closed handle. */
  #ended: unknown = undefined;
  #disposed = false;
  /**
   * The newest head this instance read or heard of: what inspect shows,
   * and what a wait's hand-over acts on. Ordered by versionstamp (`#stamp`,
   * the newest seen); an absent head (fresh, or expired) only from a read
   * of this instance's own during which nothing newer was learned (`#seq`
   * counts what was): a poll's absent answer may be older than a frame.
   */
  #known: Head | undefined = undefined;
  /** `#known`'s versionstamp: `null` if absent, `undefined` if ours. */
  #knownStamp: string | null | undefined = undefined;
  #stamp: string | undefined = undefined;
  #seq = 0;
  /**
   * The reads and pauses done for waiters: dropped when the last waiter
   * leaves, so that no timer outlives them.
   */
  #background: Pending | undefined = undefined;

  /**
   * Makes the event for `key` in `kv`. Nothing is read or written yet.
   *
   * @param kv An open Deno KV database (`Deno.openKv()`, or `@deno/kv`).
   * @param key The event's key; its own keys go below it.
   * @param options How long state is kept, how waiters are woken, and how
   * long a storage call may take.
   * @throws {TypeError | RangeError} On a bad option, naming the value.
   */
  constructor(kv: KvHandle, key: KvKey, options: KvEventOptions = {}) {
    const handle = kv as KvHandle | null | undefined; // checked, not trusted
    if (
      typeof handle?.atomic !== "function" ||
      typeof handle.get !== "function" ||
      typeof handle.getMany !== "function" ||
      typeof handle.watch !== "function"
    ) {
      throw new TypeError(
        `Cannot make a KvEvent: kv must be an open Deno.Kv (or @deno/kv Kv) or a PostgresStore, got ${
          Object.prototype.toString.call(kv)
        }`,
      );
    }
    if (!Array.isArray(key) || key.length === 0) {
      throw new TypeError(
        `Cannot make a KvEvent: key must be a non-empty array, got ${
          JSON.stringify(key) ?? String(key)
        }`,
      );
    }
    const {
      expireIn = 86_400_000,
      pollInterval = "auto",
      watch = true,
      callTimeout = 10_000,
    } = options;
    if (
      !Number.isInteger(expireIn) || expireIn <= 0 ||
      expireIn > MAX_DATE - Date.now()
    ) {
      throw new RangeError(
        `Cannot make a KvEvent: expireIn must be a positive integer number of milliseconds that Deno KV can store, got ${
          String(expireIn)
        }`,
      );
    }
    if (
      pollInterval !== "auto" &&
      (typeof pollInterval !== "number" || !(pollInterval > 0))
    ) {
      throw new RangeError(
        `Cannot make a KvEvent: pollInterval must be "auto" or a positive number of milliseconds, got ${
          String(pollInterval)
        }`,
      );
    }
    if (typeof callTimeout !== "number" || !(callTimeout > 0)) {
      throw new RangeError(
        `Cannot make a KvEvent: callTimeout must be a positive number of milliseconds, got ${
          String(callTimeout)
        }`,
      );
    }
    if (typeof watch !== "boolean") {
      throw new TypeError(
        `Cannot make a KvEvent: watch must be a boolean, got ${String(watch)}`,
      );
    }
    if (!watch && pollInterval === Infinity) {
      throw new RangeError(
        "Cannot make a KvEvent: with watch: false, pollInterval must be finite, or nothing wakes a waiter",
      );
    }
    this.#store = new EventStore(handle, key, expireIn, callTimeout);
    this.#watcher = Watcher.of(handle);
    this.#subscriber = new Subscription(
      this,
      headKey(key),
      watch,
      pollInterval,
      callTimeout,
    );
  }

  /**
   * Sends a value: every waiter of this generation, in every isolate,
   * resumes with it.
   *
   * @param value What every waiter receives: anything Deno KV stores, that
   * is, a structured clone whose V8 serialization takes at most 65,536
   * bytes (a string of 65,530 one-byte characters), or a `Uint8Array` of up
   * to 65,536 bytes.
   * @throws {EventStateError} If this generation was sent already, by
   * anyone: nothing changes.
   * @throws {RangeError} If Deno KV refuses the value as too large, naming
   * its size: the event stays unsent.
   * @throws {TypeError} If the value cannot be cloned: the event stays
   * unsent.
   */
  async send(value: T): Promise<void> {
    this.#ours(await this.#store.claim({ ok: true, value }, this.#unsent()));
  }

  /**
   * Sends an exception: every waiter of this generation rejects with a copy
   * of it, of the same class if built in (else the nearest built-in one),
   * with its name, message, stack, cause and `AggregateError`'s errors.
   *
   * @param error What every waiter rejects with.
   * @throws {EventStateError} If this generation was sent already.
   * @throws {RangeError | TypeError} As {@linkcode KvEvent.prototype.send}.
   */
  async sendException(error: unknown): Promise<void> {
    this.#ours(await this.#store.claim({ ok: false, error }, this.#unsent()));
  }

  /**
   * The head a send may claim without reading it first: the newest read
   * or heard, if unsent; none read yet, the event as fresh. A wrong guess
   * costs a failed check, then the read.
   */
  #unsent(): Versioned | undefined {
    const head = this.#known;
    if (head === undefined) return FRESH;
    const versionstamp = this.#knownStamp;
    if (head.sent !== null || versionstamp === undefined) return undefined;
    return { head, versionstamp };
  }

  /**
   * Waits until this generation is sent, in any isolate or process, and
   * resolves with the value sent or rejects with the exception sent. Never
   * throws; bad options reject as `Event.prototype.wait()`'s do, and a plain
   * `wait()` that nobody handles stays silent, as `Event`'s does.
   *
   * The timeout and the signal bound everything the call does, storage
   * reads included: the timeout counts from this call. `timeout: 0` reads
   * the state once, and gives the outcome if the event was sent.
   *
   * @param options A signal and a timeout for this waiter alone.
   * @returns The value sent.
   * @throws {DOMException} A `TimeoutError` naming the key once the timeout
   * passed; an `AbortError` if the event was disposed.
   * @throws {Error} If the database handle was closed before the event was
   * sent, naming the key.
   */
  wait(options?: WaitOptions): Promise<T> {
    return this.#wait(options) as Promise<T>;
  }

  /**
   * The event's name: its key, the parts joined by `/`, as its errors and
   * inspect output show it.
   *
   * @returns The name.
   */
  get name(): string {
    return this.#name;
  }

  /** The key, joined by `/`: made when asked, not kept. */
  get #name(): string {
    return this.#store.key.map(String).join("/");
  }

  /**
   * How many waiters this instance has (those of other instances, isolates
   * and processes are not counted): plain and bounded, until each settles.
   *
   * @returns The number of this instance's waiters.
   */
  get waiting(): number {
    let waiting = 0;
    for (const cohort of this.#live) {
      waiting += cohort.waiting + (cohort.zero?.waiting ?? 0);
    }
    return waiting;
  }

  /**
   * Whether this generation was sent, with a value or an exception: one
   * read.
   *
   * @returns `true` once sent, until `reset()`.
   */
  async ready(): Promise<boolean> {
    return (await this.#head()).sent !== null;
  }

  /**
   * Whether this generation was sent a value: one read.
   *
   * @returns `true` once sent a value, until `reset()`.
   */
  async hasResult(): Promise<boolean> {
    return (await this.#head()).sent?.ok === true;
  }

  /**
   * Whether this generation was sent an exception: one read.
   *
   * @returns `true` once sent an exception, until `reset()`.
   */
  async hasException(): Promise<boolean> {
    return (await this.#head()).sent?.ok === false;
  }

  /**
   * The value sent, without waiting: throws the exception sent, and gives
   * `undefined` (or `notReady`) while this generation is fresh.
   *
   * @returns The value sent, or `undefined`.
   * @throws {unknown} The exception sent, if any.
   */
  poll(): Promise<T | undefined>;
  /**
   * The value sent, without waiting: throws the exception sent, and gives
   * `notReady` while this generation is fresh.
   *
   * @typeParam D The type of `notReady`.
   * @param notReady What to give while fresh.
   * @returns The value sent, or `notReady`.
   * @throws {unknown} The exception sent, if any.
   */
  poll<D>(notReady: D): Promise<T | D>;
  async poll(notReady?: unknown): Promise<unknown> {
    const outcome = await this.#outcome();
    if (outcome === null) return notReady;
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /**
   * The value sent, or `undefined` if this generation is fresh or was sent
   * an exception. Never rejects for an exception sent.
   *
   * @returns The value sent, or `undefined`.
   */
  pollResult(): Promise<T | undefined>;
  /**
   * The value sent, or `notReady` if this generation is fresh or was sent
   * an exception. Never rejects for an exception sent.
   *
   * @typeParam D The type of `notReady`.
   * @param notReady What to give when there is no value.
   * @returns The value sent, or `notReady`.
   */
  pollResult<D>(notReady: D): Promise<T | D>;
  async pollResult(notReady?: unknown): Promise<unknown> {
    const outcome = await this.#outcome();
    return outcome?.ok ? outcome.value : notReady;
  }

  /**
   * The exception sent, or `undefined` if this generation is fresh or was
   * sent a value.
   *
   * @returns The exception sent, or `undefined`.
   */
  pollException(): Promise<unknown>;
  /**
   * The exception sent, or `notReady` if this generation is fresh or was
   * sent a value.
   *
   * @typeParam D The type of `notReady`.
   * @param notReady What to give when there is no exception.
   * @returns The exception sent, or `notReady`.
   */
  pollException<D>(notReady: D): Promise<unknown>;
  async pollException(notReady?: unknown): Promise<unknown> {
    const outcome = await this.#outcome();
    return outcome !== null && !outcome.ok ? outcome.error : notReady;
  }

  /**
   * Makes a sent event fresh again: a new generation. Waiters of the old
   * one still get its outcome; a call made after this resolves never sees
   * the old generation.
   *
   * @throws {EventStateError} If this generation is fresh: nothing changes.
   */
  async reset(): Promise<void> {
    this.#ours(await this.#store.advance());
  }

  /**
   * Stops watching for this event. Waiters whose generation was sent by
   * then get its outcome; the others reject with an `AbortError`.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#live.length === 0) return; // no waiter: nothing to read for
    try {
      const head = headOf(await this.#store.head(this.#pending()));
      await Promise.all(
        [...new Set(this.#live.map((cohort) => cohort.generation))].filter((
          generation,
        ) =>
          generation >= 0 &&
            generation < head.generation ||
          (generation === head.generation && head.sent !== null)
        ).map((generation) => this.#fetch(generation)),
      );
    } catch {
      // Storage is gone: the waiters left reject below.
    }
    this.#end(
      ending(
        new DOMException(
          `The KvEvent ${this.#name} was disposed before it was sent`,
          "AbortError",
        ),
      ),
    );
  }

  /**
   * Lets {@linkcode Event.first} and {@linkcode Event.iterate} wait for this
   * event beside in-memory ones: a `wait()` bound by `signal`, so that
   * nothing is left once the selection is done.
   *
   * @param sent Called once this generation is sent.
   * @param failed Called if it can never be: the handle was closed, or the
   * event disposed.
   * @param signal Aborted when the selection no longer watches.
   * @ignore
   */
  [WAITABLE](
    sent: () => void,
    failed: (error: unknown) => void,
    signal: AbortSignal,
  ): void {
    this.wait({ signal }).then(sent, (error) => {
      if (signal.aborted) return;
      // An exception sent is a send; an ending is not.
      if (endings.has(error as object)) failed(error);
      else sent();
    });
  }

  /**
   * Shows the event in `console.log()`, Node's `util.inspect()` and
   * `Deno.inspect()` with what this instance last knew, without a read:
   * `KvEvent { name: "jobs/42", generation: 3, ready: true, waiting: 0 }`,
   * or `KvEvent { name: "jobs/42", read: false, waiting: 1 }` before its
   * first read.
   *
   * @param _depth Node's current depth.
   * @param options Node's inspect options.
   * @param inspect Node's inspect function.
   * @returns The event, described.
   * @ignore
   */
  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: number,
    options: unknown,
    inspect: (value: unknown, options?: unknown) => string,
  ): string {
    const known = this.#known;
    return `KvEvent ${
      inspect(
        known === undefined
          ? { name: this.#name, read: false, waiting: this.waiting }
          : known.sent === null
          ? {
            name: this.#name,
            generation: known.generation,
            ready: false,
            waiting: this.waiting,
          }
          : {
            name: this.#name,
            generation: known.generation,
            ready: true,
            sent: known.sent.ok ? "a value" : "an exception",
            waiting: this.waiting,
          },
        options,
      )
    }`;
  }

  /**
   * `"KvEvent"`, so that `String(evt)` gives `[object KvEvent]`.
   *
   * @returns The tag.
   */
  get [Symbol.toStringTag](): string {
    return "KvEvent";
  }

  /** Reads the head, and remembers it for inspect. */
  async #head(): Promise<Head> {
    const since = this.#seq;
    const entry = await this.#store.head();
    const head = headOf(entry);
    this.#learn(head, entry.versionstamp, since);
    return head;
  }

  /** This generation's outcome, read now; `null` while fresh. */
  async #outcome(): Promise<Outcome | null> {
    const head = await this.#head();
    if (head.sent === null) return null;
    return carried(head.sent) ??
      await this.#store.outcome(head.generation); // null: expired
  }

  /**
   * Remembers the newest head this instance has seen (see `#known`).
   *
   * @param stamp The versionstamp of the read that gave it (`null`:
   * absent), or `undefined` for a head this instance just wrote.
   * @param since `#seq` when this instance's own read began, if it was one.
   */
  #learn(head: Head, stamp: string | null | undefined, since?: number): void {
    const known = this.#known;
    let newer: boolean;
    if (known === undefined) newer = true;
    else if (stamp === null) newer = since === this.#seq;
    else if (stamp === undefined) {
      newer = head.generation > known.generation ||
        (head.generation === known.generation && head.sent !== null &&
          known.sent === null);
    } else newer = this.#stamp === undefined || stamp > this.#stamp;
    if (typeof stamp === "string" && !(stamp <= (this.#stamp ?? ""))) {
      this.#stamp = stamp;
    }
    if (newer) {
      this.#known = head;
      this.#knownStamp = stamp;
      this.#seq++;
    }
  }

  /** A head this instance wrote: remembered, and acted on. */
  #ours(head: Head): void {
    this.#learn(head, undefined);
    this.#heard(head);
  }

  /**
   * A wait: the waiter joins this turn's cohort, whose read of the head
   * begins after every call of the turn; the cohort is then sent the outcome
   * of the generation it found. Its signal and timeout are the cohort
   * event's, so they bound the reads too; the timeout counts from here.
   */
  #wait(options: WaitOptions | undefined): Promise<unknown> {
    if (this.#disposed) {
      return rejected(
        ending(
          new DOMException(
            `The KvEvent ${this.#name} was disposed`,
            "AbortError",
          ),
        ),
        options === undefined,
      );
    }
    if (options === undefined) return this.#join().waitPlain();
    // Options are read once (their getters may throw: that rejects); the
    // cohort event checks them, with Event's messages.
    let bound: WaitOptions = options;
    if (typeof options === "object" && options !== null && !isSignal(options)) {
      try {
        const { signal, timeout } = options;
        bound = { signal, timeout };
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const cohort = this.#join();
    if (bound?.timeout === 0) {
      // The read, and nothing after it: the outcome if it was sent.
      return (cohort.zero ??= new Event<Read>()).wait({ signal: bound.signal })
        .then((read) => {
          if ("ended" in read) throw read.ended;
          if (read.outcome === null) throw this.#timedOut(0);
          if (!read.outcome.ok) throw read.outcome.error;
          return read.outcome.value;
        }, (error) => {
          this.#prune(cohort);
          throw error;
        });
    }
    // A waiter that leaves early may leave its cohort empty.
    return cohort.wait(bound).then(undefined, (error) => {
      this.#prune(cohort);
      throw this.#ownTimeout(error, bound, cohort);
    });
  }

  /** The error of a waiter whose own timeout passed. */
  #timedOut(timeout: number): DOMException {
    return new DOMException(
      `wait() on KvEvent ${
        JSON.stringify(this.#name)
      } timed out after ${timeout} ms`,
      "TimeoutError",
    );
  }

  /**
   * A waiter's own timeout, named for this event: a `TimeoutError` that
   * neither was sent (the cohort's exception) nor is its signal's reason.
   */
  #ownTimeout(error: unknown, options: WaitOptions, cohort: Cohort): unknown {
    if (
      !(error instanceof DOMException) || error.name !== "TimeoutError" ||
      options?.timeout === undefined ||
      (cohort.hasException() && cohort.pollException() === error) ||
      (options.signal?.aborted && reasonOf(options.signal) === error)
    ) {
      return error;
    }
    return this.#timedOut(options.timeout);
  }

  /** Whether a cohort still has waiters. */
  static #wanted(cohort: Cohort): boolean {
    return cohort.waiting > 0 || (cohort.zero?.waiting ?? 0) > 0;
  }

  /** A cohort whose waiters all left, or that was sent, goes. */
  #prune(cohort: Cohort): void {
    if (KvEvent.#wanted(cohort) && !cohort.ready()) return;
    const index = this.#live.indexOf(cohort);
    if (index === -1) return;
    this.#live = this.#live.length === 1
      ? NO_COHORTS
      : this.#live.toSpliced(index, 1);
    if (this.#cohort === cohort) this.#cohort = undefined;
    if (this.#live.length === 0) {
      this.#watcher.unsubscribe(this.#subscriber);
      this.#background?.drop();
      this.#background = undefined;
    }
  }

  /** The cohort of this turn's calls, whose head read begins after them. */
  #join(): Cohort {
    let cohort = this.#cohort;
    if (cohort === undefined) {
      cohort = this.#cohort = new Cohort();
      // The first cohort subscribes: listen first, then read.
      const live = this.#live;
      this.#live = live.length === 0 ? [cohort] : live.concat(cohort);
      if (live.length === 0) this.#watcher.subscribe(this.#subscriber);
      this.#reads++;
      this.#tail = this.#readFor(cohort, this.#tail);
    }
    return cohort;
  }

  /**
   * Reads the head (and its outcome, if sent) for a cohort, trying again
   * while its waiters wait; hands the read over after the cohort before.
   */
  async #readFor(cohort: Cohort, before: Promise<void> | undefined) {
    await undefined; // after every call of this turn: then close the cohort
    if (this.#cohort === cohort) this.#cohort = undefined;
    let read: Read | undefined;
    for (let tries = 0; read === undefined; tries++) {
      if (!KvEvent.#wanted(cohort)) break; // all gone: nothing to read for
      if (this.#ended !== undefined) {
        read = { ended: this.#ended };
        break;
      }
      try {
        const since = this.#seq;
        const entry = await this.#store.head(this.#pending());
        const head = headOf(entry);
        this.#learn(head, entry.versionstamp, since);
        const outcome = head.sent === null ? null : carried(head.sent) ??
          await this.#store.outcome(head.generation, this.#pending());
        read = { head, outcome };
      } catch (error) {
        if (isClosed(error)) read = { ended: closedError(this.#name, error) };
        else if (!(await this.#pause(error, tries))) break;
      }
    }
    this.#idle();
    await before;
    if (--this.#reads === 0) this.#tail = undefined;
    if (read !== undefined) this.#handOver(cohort, read);
    this.#prune(cohort);
  }

  /**
   * What a cohort's read found: the outcome, or the generation to wait for.
   * Its `timeout: 0` waiters get the read last: earlier waiters of the
   * same generation are woken first, whatever the mix of options (FIFO).
   */
  #handOver(cohort: Cohort, read: Read): void {
    const zero = cohort.zero;
    cohort.zero = undefined;
    // Ended while its read was under way: the outcome that read found, if
    // any, else the ending.
    let found = read;
    if (
      !("ended" in found) && found.outcome === null &&
      this.#ended !== undefined
    ) {
      found = { ended: this.#ended };
    }
    if ("ended" in found) {
      cohort.fail(found.ended);
    } else if (found.outcome !== null) {
      // Earlier cohorts of the same generation first, then this one.
      cohort.generation = found.head.generation;
      this.#feed(cohort.generation, found.outcome);
    } else if (KvEvent.#wanted(cohort)) {
      cohort.generation = found.head.generation;
      // A head heard since the read (while this cohort was not waiting for
      // a generation) is not heard again: act on the newest one known.
      if (this.#known !== undefined) this.#heard(this.#known);
    }
    zero?.send(read);
  }

  /**
   * Pauses before a failed read is tried again: 10, 20, 40 ... ms, at most
   * 1 s. Answers false if the read was dropped, or the pause: nobody waits.
   */
  async #pause(error: unknown, tries: number): Promise<boolean> {
    if (error instanceof Dropped) return false;
    try {
      await this.#pending().sleep(backoff(tries, READ_AGAIN));
      return true;
    } catch {
      return false;
    }
  }

  /** The registry of the reads and pauses done for waiters. */
  #pending(): Pending {
    return this.#background ??= new Pending();
  }

  /** Lets the registry go while nothing is under way: waits are long. */
  #idle(): void {
    if (this.#background?.idle) this.#background = undefined;
  }

  /**
   * Wakes the waiting cohorts of a generation, in call order, with what it
   * was sent.
   */
  #feed(generation: number, fed: Outcome): void {
    for (const cohort of this.#live) {
      if (cohort.generation !== generation || cohort.ready()) continue;
      if (fed.ok) cohort.send(fed.value);
      else cohort.fail(fed.error);
      this.#prune(cohort);
    }
  }

  /**
   * A head was read or written: fetch the outcome of every generation it
   * says was sent, and of every generation newer than it (the head went
   * back: expired, or a stale read; `#fetch` tells which).
   */
  #heard(head: Head): void {
    for (const cohort of this.#live) {
      const { generation } = cohort;
      if (generation === -1 || cohort.ready()) continue;
      if (generation !== head.generation) this.#fetch(generation);
      else if (head.sent !== null) {
        // What was sent, if it rides in the head: no read.
        const outcome = carried(head.sent);
        if (outcome === undefined) this.#fetch(generation);
        else this.#feed(generation, outcome);
      }
    }
  }

  /** Whether a cohort waits for `generation`'s outcome. */
  #awaits(generation: number): boolean {
    return this.#live.some((cohort) =>
      cohort.generation === generation && !cohort.ready()
    );
  }

  /** Reads a sent generation's outcome for its waiters, trying again. */
  async #fetch(generation: number): Promise<void> {
    const fetching = this.#fetching ??= new Set();
    if (fetching.has(generation)) return;
    fetching.add(generation);
    try {
      let looked = false;
      for (let tries = 0;; tries++) {
        // Until the end (disposal reads once more before it ends).
        if (!this.#awaits(generation) || this.#ended !== undefined) return;
        try {
          const outcome = await this.#store.outcome(
            generation,
            this.#pending(),
          );
          if (outcome !== null) return this.#feed(generation, outcome);
          // No outcome: not sent yet (a stale head made us look), sent
          // since that read, or expired. The head, read now, tells which.
          const since = this.#seq;
          const entry = await this.#store.head(this.#pending());
          const heardMeanwhile = this.#seq !== since;
          const head = headOf(entry);
          this.#learn(head, entry.versionstamp, since);
          if (head.generation === generation && head.sent === null) {
            if (!heardMeanwhile) return; // waits on
            looked = false;
            continue; // look again
          }
          // Sent, or moved past it, since the outcome was read (a stale
          // frame made us look before the send): the outcome is there now,
          // unless it expired. Look once more.
          if (head.generation >= generation && !looked) {
            looked = true;
            continue;
          }
          // Gone (still no outcome, or the head went back): expired. No
          // outcome will come; its waiters reject.
          return this.#feed(generation, {
            ok: false,
            error: ending(
              new Error(
                `The state of KvEvent ${this.#name}, generation ${generation}, expired before it was read (expireIn)`,
              ),
            ),
          });
        } catch (error) {
          if (isClosed(error)) {
            return this.#end(closedError(this.#name, error));
          }
          if (!(await this.#pause(error, tries))) return;
        }
      }
    } finally {
      fetching.delete(generation);
      if (fetching.size === 0) this.#fetching = undefined;
      this.#idle();
    }
  }

  /** No waiter can be woken any more: each rejects with `reason`. */
  #end(reason: unknown): void {
    this.#ended ??= reason;
    // Cohorts still reading get it at their hand-over.
    for (const cohort of this.#live) {
      if (cohort.generation === -1 || cohort.ready()) continue;
      cohort.fail(reason);
      this.#prune(cohort);
    }
  }

  static {
    hear = (evt, entry) => {
      const head = headOf(entry);
      evt.#learn(head, entry.versionstamp);
      evt.#heard(head);
    };
    close = (evt, error) => evt.#end(closedError(evt.#name, error));
  }
}

/**
 * What the watcher holds of a `KvEvent` with waiters: its key and settings,
 * and the way back to it (no closures: one object per event).
 */
class Subscription implements Subscriber {
  readonly #event: KvEvent<unknown>;
  readonly key: KvKey;
  readonly watch: boolean;
  readonly poll: number | "auto";
  readonly callTimeout: number;

  constructor(
    event: KvEvent<unknown>,
    key: KvKey,
    watch: boolean,
    poll: number | "auto",
    callTimeout: number,
  ) {
    this.#event = event;
    this.key = key;
    this.watch = watch;
    this.poll = poll;
    this.callTimeout = callTimeout;
  }

  head(entry: KvEntryMaybe): void {
    hear(this.#event, entry);
  }

  closed(error: unknown): void {
    close(this.#event, error);
  }
}

/** A rejected promise; a plain waiter's stays silent, as `Event`'s do. */
function rejected(error: unknown, plain: boolean): Promise<never> {
  const promise = Promise.reject(error);
  if (plain) promise.catch(ignore);
  return promise;
}

/** The errors that say a waiter can never be woken (not sent ones). */
const endings: WeakSet<object> = new WeakSet();

/** Marks an error as an ending (see `endings`). */
function ending<E extends object>(error: E): E {
  endings.add(error);
  return error;
}

/** The error of a waiter whose database handle was closed. */
function closedError(name: string, cause: unknown): Error {
  return ending(
    new Error(
      `Cannot wait for KvEvent ${
        JSON.stringify(name)
      }: its database was closed before it was sent`,
      { cause },
    ),
  );
}
