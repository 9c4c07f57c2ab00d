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
 * ```ts ignore
 * import { KvEvent } from "@seed/event/kv";
 *
 * const kv = await Deno.openKv();
 * await using evt = new KvEvent<string>(kv, ["flights", "home"]);
 * await evt.send("body"); // exactly one send per generation, cluster-wide
 * console.log(await evt.wait({ timeout: 1_000 })); // in any isolate
 * ```
 *
 * @module
 */
import { serialize } from "node:v8";
import { Event, EventStateError, type WaitOptions } from "./event.ts";

// What a losing send rejects with, for code that imports only this module.
export { EventStateError, type WaitOptions };

/** Options for the {@linkcode KvEvent} constructor. */
export interface KvEventOptions {
  /**
   * Milliseconds KV keeps a generation's state (its `expireIn`). Make it
   * longer than the longest wait: once it passed, the event reads as fresh.
   *
   * @default {86_400_000}
   */
  expireIn?: number | undefined;
  /**
   * Milliseconds between reads of the event's state while this instance has
   * waiters, for the sends `watch()` does not report: on a local SQLite
   * file, those of other processes (denoland/deno#21640). It costs one
   * read of two keys per interval per event per isolate, only while someone
   * waits. `Infinity` never polls (Deploy, or one process).
   *
   * @default {1_000}
   */
  pollInterval?: number | undefined;
  /**
   * Whether to watch the event's keys (`kv.watch()`) while it has waiters.
   * `false` wakes waiters by polling only: for a store whose `watch()` is
   * missing or misbehaves. The `@deno/kv` package (0.14) in Node is one: its
   * watch on a local file can stall the reads that follow, so pass `false`
   * there, with a finite `pollInterval`.
   *
   * @default {true}
   */
  watch?: boolean | undefined;
}

/** What a generation's state key holds: written once, never overwritten. */
interface Sent {
  ok: boolean;
  value?: unknown;
  error?: unknown;
  /** Who sent it: how a send that failed in transit learns it won. */
  sender: string;
}

/** Deno KV refuses a value larger than this. */
const VALUE_LIMIT = 65_536;

const RESEND_MESSAGE = "Trying to re-send() an already-triggered event.";
const RERESET_MESSAGE = "Trying to re-reset() a fresh event.";

/**
 * An event on Deno KV: eventlet's `Event` for a whole cluster. Every method
 * touches storage, so every one returns a promise; their semantics and
 * messages are `Event`'s.
 *
 * Storage: `[...key, "generation"]` holds the current generation (absent:
 * 0), and `[...key, "state", n]` what generation `n` was sent, written once
 * by one atomic commit that checks it is absent, and never overwritten. So
 * exactly one send wins per generation, and a waiter of generation `n`
 * gets `n`'s outcome even after `reset()` and a new send.
 *
 * Waking: one `kv.watch()` per instance while it has waiters, however
 * many, feeding an in-memory `Event` per generation, so local order,
 * signals, timeouts and clean-up are `Event`'s; and a read every
 * `pollInterval` for what `watch()` misses. Values are structured clones:
 * built-in error types survive `sendException()` with their message, stack
 * and cause; a custom subclass comes back as an `Error`.
 *
 * @typeParam T The type of the value sent.
 *
 * @example Send in one isolate, wait in another
 * ```ts ignore
 * import { KvEvent } from "@seed/event/kv";
 *
 * const kv = await Deno.openKv();
 * await using evt = new KvEvent<string>(kv, ["jobs", 42]);
 * const done = evt.wait({ timeout: 5_000 });
 * await evt.send("finished");
 * console.log(await done); // "finished"
 * ```
 */
export class KvEvent<T = void> implements AsyncDisposable {
  readonly #kv: Deno.Kv;
  readonly #key: Deno.KvKey;
  readonly #expireIn: number;
  readonly #pollInterval: number;
  readonly #watches: boolean;
  /** The name its local events carry into their timeout errors. */
  readonly #name: string;
  /** Local waiters, by generation: each an in-memory Event fed from KV. */
  readonly #local: Map<number, Event<Sent>> = new Map();
  /** The watch stream while there are local waiters, and what it watches. */
  #watch:
    | ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]>
    | undefined = undefined;
  #watched = -1;
  #poll: ReturnType<typeof setTimeout> | undefined = undefined;
  /** A refresh under way, and whether another was asked for meanwhile. */
  #refreshing: Promise<void> | undefined = undefined;
  #again = false;
  #disposed = false;
  /** The read of the current generation under way, shared by its callers. */
  #reading: Promise<number> | undefined = undefined;

  /**
   * Makes the event for `key` in `kv`. Nothing is read or written yet.
   *
   * @param kv An open Deno KV database (`Deno.openKv()`, or `@deno/kv`).
   * @param key The event's key; its own keys go below it.
   * @param options How long state is kept, and how often to poll.
   * @throws {TypeError | RangeError} On a bad option, naming the value.
   */
  constructor(kv: Deno.Kv, key: Deno.KvKey, options: KvEventOptions = {}) {
    if (typeof kv?.atomic !== "function" || typeof kv.get !== "function") {
      throw new TypeError(
        `Cannot make a KvEvent: kv must be an open Deno.Kv, got ${
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
    const { expireIn = 86_400_000, pollInterval = 1_000, watch = true } =
      options;
    for (
      const [name, ms] of [["expireIn", expireIn], [
        "pollInterval",
        pollInterval,
      ]] as const
    ) {
      if (typeof ms !== "number" || !(ms > 0)) {
        throw new RangeError(
          `Cannot make a KvEvent: ${name} must be a positive number of milliseconds, got ${
            String(ms)
          }`,
        );
      }
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
    this.#watches = watch;
    this.#kv = kv;
    this.#key = key;
    this.#expireIn = expireIn;
    this.#pollInterval = pollInterval;
    this.#name = key.map(String).join("/");
  }

  /**
   * Sends a value: every waiter of this generation, in every isolate,
   * resumes with it.
   *
   * @param value What every waiter receives: anything structured clone
   * takes, up to Deno KV's 64 KiB.
   * @throws {EventStateError} If this generation was sent already, by
   * anyone: nothing changes.
   * @throws {RangeError} If the value is over 64 KiB: the event stays unsent.
   * @throws {TypeError} If the value cannot be cloned: the event stays
   * unsent.
   */
  async send(value: T): Promise<void> {
    await this.#send({ ok: true, value, sender: crypto.randomUUID() });
  }

  /**
   * Sends an exception: every waiter of this generation rejects with a
   * clone of it.
   *
   * @param error What every waiter rejects with.
   * @throws {EventStateError} If this generation was sent already.
   * @throws {RangeError | TypeError} As {@linkcode KvEvent.prototype.send}.
   */
  async sendException(error: unknown): Promise<void> {
    await this.#send({ ok: false, error, sender: crypto.randomUUID() });
  }

  /**
   * Waits until this generation is sent, in any isolate or process, and
   * resolves with the value sent or rejects with the exception sent. Never
   * throws; bad options reject as `Event.prototype.wait()`'s do.
   *
   * @param options A signal and a timeout for this waiter alone; the
   * timeout counts from this call, storage reads included.
   * @returns The value sent.
   */
  async wait(options?: WaitOptions): Promise<T> {
    const started = performance.now();
    let forLocal: unknown = options;
    if (typeof options === "object" && options !== null) {
      const { signal, timeout } = options; // read once: getters may throw
      forLocal = { signal, timeout };
      const generation = await this.#generation();
      // The local event checks the signal and the options now, after the
      // read, and bounds the wait from here on.
      if (
        typeof timeout === "number" && timeout >= 0 && timeout !== Infinity
      ) {
        // What is left of it: the read counts.
        const left = Math.max(0, timeout - (performance.now() - started));
        try {
          return await this.#waitLocal(generation, { signal, timeout: left });
        } catch (error) {
          if (
            !(error instanceof DOMException) || error.name !== "TimeoutError"
          ) {
            throw error;
          }
          throw new DOMException(
            `wait() on KvEvent ${
              JSON.stringify(this.#name)
            } timed out after ${timeout} ms`,
            "TimeoutError",
          );
        }
      }
      return this.#waitLocal(generation, forLocal as WaitOptions);
    }
    return this.#waitLocal(await this.#generation(), forLocal as WaitOptions);
  }

  /**
   * Whether this generation was sent, with a value or an exception.
   *
   * @returns `true` once sent, until `reset()`.
   */
  async ready(): Promise<boolean> {
    const generation = await this.#generation();
    return (await this.#read(this.#stateKey(generation))).value !== null;
  }

  /**
   * The value sent, without waiting: throws the exception sent, and gives
   * `undefined` while this generation is fresh.
   *
   * @returns The value sent, or `undefined`.
   * @throws {unknown} The exception sent, if any.
   */
  async poll(): Promise<T | undefined> {
    const generation = await this.#generation();
    const sent = (await this.#read<Sent>(this.#stateKey(generation))).value;
    if (sent === null) return undefined;
    if (!sent.ok) throw sent.error;
    return sent.value as T;
  }

  /**
   * Makes a sent event fresh again: a new generation. Waiters of the old
   * one still get its outcome.
   *
   * @throws {EventStateError} If this generation is fresh: nothing changes.
   */
  async reset(): Promise<void> {
    await this.#retrying(async () => {
      const current = await this.#read<number>(this.#generationKey());
      const generation = current.value ?? 0;
      const state = await this.#read(this.#stateKey(generation));
      if (state.value === null) throw new EventStateError(RERESET_MESSAGE);
      const result = await this.#kv.atomic()
        .check(current)
        .check(state)
        .set(this.#generationKey(), generation + 1, {
          expireIn: this.#expireIn,
        })
        .commit();
      return result.ok; // lost a race: read again
    });
    this.#refreshSoon();
  }

  /**
   * Stops watching and polling. Waiters whose generation was sent by then
   * get its outcome; the others reject with an `AbortError`.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#stopWatching();
    try {
      await this.#refresh();
    } catch {
      // Storage is gone: the waiters left reject below.
    }
    for (const local of this.#local.values()) {
      local.sendException(
        new DOMException(
          `The KvEvent ${this.#name} was disposed before it was sent`,
          "AbortError",
        ),
      );
    }
    this.#local.clear();
  }

  #generationKey(): Deno.KvKey {
    return [...this.#key, "generation"];
  }

  #stateKey(generation: number): Deno.KvKey {
    return [...this.#key, "state", generation];
  }

  /**
   * The current generation. Calls made while a read is under way share it,
   * so that waits join their local event in the order they were called:
   * separate reads may answer out of order.
   */
  #generation(): Promise<number> {
    return this.#reading ??= this.#read<number>(this.#generationKey())
      .then((entry) => entry.value ?? 0)
      .finally(() => this.#reading = undefined);
  }

  /** One atomic commit that writes this generation's state, if absent. */
  async #send(sent: Sent): Promise<void> {
    sizeOf(sent); // throws, naming the size, before anything is written
    await this.#retrying(async () => {
      const current = await this.#read<number>(this.#generationKey());
      const generation = current.value ?? 0;
      const key = this.#stateKey(generation);
      let result: Deno.KvCommitResult | Deno.KvCommitError;
      try {
        result = await this.#kv.atomic()
          .check(current)
          .check({ key, versionstamp: null })
          .set(key, sent, { expireIn: this.#expireIn })
          .set(this.#generationKey(), generation, {
            expireIn: this.#expireIn,
          })
          .commit();
      } catch (error) {
        if (isLocked(error)) throw error; // retried
        if (error instanceof TypeError && /too large/i.test(error.message)) {
          throw new RangeError(
            `Cannot send: Deno KV refused the value as too large (${error.message}); the event stays unsent`,
            { cause: error },
          );
        }
        // A commit that failed in transit may have been written: ask
        // storage before answering.
        const state = await this.#read<Sent>(key);
        if (state.value?.sender === sent.sender) return true;
        if (state.value !== null) throw new EventStateError(RESEND_MESSAGE);
        throw error; // not written: the event is unchanged
      }
      if (result.ok) return true;
      // A check failed: sent by someone else, or reset meanwhile.
      const now = await this.#read<number>(this.#generationKey());
      const state = await this.#read(this.#stateKey(now.value ?? 0));
      if (state.value !== null) throw new EventStateError(RESEND_MESSAGE);
      return false; // the generation moved on and is fresh: try it
    });
    this.#refreshSoon();
  }

  /** Runs `attempt` until it answers true, retrying on a locked database. */
  async #retrying(attempt: () => Promise<boolean>): Promise<void> {
    for (let tries = 0;; tries++) {
      try {
        if (await attempt()) return;
      } catch (error) {
        if (!isLocked(error) || tries >= MAX_TRIES) throw error;
      }
      await backoff(tries);
    }
  }

  /** A read, retried while the database is locked by another connection. */
  async #read<V>(key: Deno.KvKey): Promise<Deno.KvEntryMaybe<V>> {
    for (let tries = 0;; tries++) {
      try {
        return await this.#kv.get<V>(key);
      } catch (error) {
        if (!isLocked(error) || tries >= MAX_TRIES) throw error;
      }
      await backoff(tries);
    }
  }

  /** Waits on the local event of a generation, fed from KV. */
  async #waitLocal(generation: number, options: WaitOptions): Promise<T> {
    if (this.#disposed) {
      throw new DOMException(
        `The KvEvent ${this.#name} was disposed`,
        "AbortError",
      );
    }
    let local = this.#local.get(generation);
    if (local === undefined) {
      local = new Event<Sent>({ name: `KvEvent ${this.#name}` });
      this.#local.set(generation, local);
    }
    const waiting = local.wait(options);
    // Sent before the watch began? Read now, then watch.
    this.#refreshSoon();
    try {
      const sent = await waiting;
      if (!sent.ok) throw sent.error;
      return sent.value as T;
    } finally {
      if (local.waiting === 0 && this.#local.get(generation) === local) {
        this.#local.delete(generation);
        if (this.#local.size === 0) this.#stopWatching();
      }
    }
  }

  /** Asks for a refresh; runs one more after the one under way, if any. */
  #refreshSoon(): void {
    if (this.#local.size === 0 || this.#disposed) return;
    if (this.#refreshing !== undefined) {
      this.#again = true;
      return;
    }
    this.#refreshing = this.#refresh().catch(() => {
      // A failed read: the next watch delivery or poll tries again.
    }).finally(() => {
      this.#refreshing = undefined;
      if (this.#again) {
        this.#again = false;
        this.#refreshSoon();
      }
    });
  }

  /**
   * Reads the current generation and the state of every generation that
   * has local waiters, wakes those that were sent, and keeps one watch on
   * the current generation (and a poll) while any wait.
   */
  async #refresh(): Promise<void> {
    const current = await this.#generation();
    for (const [generation, local] of [...this.#local]) {
      if (generation > current) continue; // expired state: not yet
      const sent = (await this.#read<Sent>(this.#stateKey(generation))).value;
      if (sent !== null && !local.ready()) {
        this.#local.delete(generation);
        local.send(sent);
      }
    }
    if (this.#local.size === 0 || this.#disposed) {
      this.#stopWatching();
    } else {
      this.#startWatching(current);
    }
  }

  #startWatching(generation: number): void {
    if (this.#poll === undefined && this.#pollInterval !== Infinity) {
      const tick = () => {
        this.#poll = setTimeout(() => {
          this.#poll = undefined;
          this.#refreshSoon();
          if (this.#local.size > 0 && !this.#disposed) tick();
        }, this.#pollInterval);
      };
      tick();
    }
    if (!this.#watches) return;
    if (this.#watch !== undefined && this.#watched === generation) return;
    this.#stopStream();
    const reader = this.#kv.watch([
      this.#generationKey(),
      this.#stateKey(generation),
    ]).getReader();
    this.#watch = reader;
    this.#watched = generation;
    (async () => {
      try {
        while (this.#watch === reader) {
          const { done } = await reader.read();
          if (done) break;
          this.#refreshSoon();
        }
      } catch {
        // Cancelled, or the database closed: the poll goes on.
      }
    })();
  }

  #stopStream(): void {
    const reader = this.#watch;
    this.#watch = undefined;
    this.#watched = -1;
    reader?.cancel().catch(() => {});
  }

  #stopWatching(): void {
    this.#stopStream();
    clearTimeout(this.#poll);
    this.#poll = undefined;
  }
}

/** How often a locked database is tried again before its error is thrown. */
const MAX_TRIES = 200;

/** Waits before the next try: 1, 2, 4 ... ms, at most 50 (about 10 s in all). */
function backoff(tries: number): Promise<void> {
  const delay = Math.min(2 ** tries, 50);
  return new Promise((resolve) => setTimeout(resolve, delay));
}

/** Whether a KV error is SQLite's lock between connections: retry it. */
function isLocked(error: unknown): boolean {
  return error instanceof TypeError &&
    /database is locked/i.test(error.message);
}

/** Checks that a record fits in a KV value; throws naming its size if not. */
function sizeOf(sent: Sent): number {
  let bytes: number;
  try {
    bytes = serialize(sent).length;
  } catch (error) {
    throw new TypeError(
      `Cannot send: Deno KV stores structured clones, and this cannot be cloned: ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  if (bytes > VALUE_LIMIT) {
    throw new RangeError(
      `Cannot send: the value takes ${bytes} bytes serialized, over Deno KV's limit of ${VALUE_LIMIT}; the event stays unsent`,
    );
  }
  return bytes;
}
