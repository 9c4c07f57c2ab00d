// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The storage protocol of `KvEvent`: its keys, its records, the atomic
 * commits that send and reset, how an exception crosses storage, and how a
 * storage call is bounded and retried. Nothing here wakes anybody: that is
 * `watcher.ts`; nothing here knows about waiters: that is `kv.ts`.
 *
 * Layout, version 1 (the releases after 0.2.0). Under the event's key `k`:
 *
 * - `[...k, "v1"]`, the head: `{ generation, sent, reset }`. `generation`
 *   is the current generation, `sent` says whether (and how, and by whom) it
 *   was sent, `reset` who made it. One key per event: `ready()` and `poll()`
 *   read it once, and a watch needs it alone. Absent: generation 0, fresh.
 * - `[...k, "v1", g]`: generation `g`'s outcome, `{ ok, sender, value? }`
 *   or `{ ok, sender, inline? }`: the head's `sent`, filed by the commit
 *   of `reset()` that moves the head past `g`, for `g`'s late waiters. A
 *   send writes the head alone (and a large value's key): while the head
 *   holds `g`, its `sent` is `g`'s outcome.
 * - What was sent in `g` (as it was given for a value, encoded for an
 *   exception), in both records above, so that a waiter woken by the head
 *   reads nothing more: as `value` if a primitive that cannot be large
 *   (nothing to copy); else as `inline`, its V8 serialization, if that takes
 *   at most `INLINE_LIMIT` bytes. Anything else sits under `[...k, "v1", g,
 *   "value"]`, as it was given (so anything `kv.set()` stores is sendable).
 *
 * 0.2.0 wrote `[...k, "generation"]` and `[...k, "state", g]`; neither
 * version reads the other's keys, so they never misread each other (nor see
 * each other's sends: run one version per database).
 *
 * @module
 */
import { deserialize, serialize } from "node:v8";
import { EventStateError } from "../event.ts";
import {
  Alarm,
  backoff,
  disarm,
  LOCKED,
  RERESET_MESSAGE,
  RESEND_MESSAGE,
} from "../event/host.ts";

/** A part of a Deno KV key, as `KvKeyPart` (and `@deno/kv`'s). */
export type KvKeyPart =
  | Uint8Array
  | string
  | number
  | bigint
  | boolean
  | symbol;

/** A Deno KV key, as `KvKey`. */
export type KvKey = readonly KvKeyPart[];

/** What a read of one key gives, as `Deno.KvEntryMaybe`. */
export interface KvEntryMaybe<V = unknown> {
  /** The key read. */
  key: KvKey;
  /** Its value, `null` if absent. */
  value: V | null;
  /** Its version, `null` if absent. */
  versionstamp: string | null;
}

/** An atomic operation, as much of `Deno.AtomicOperation` as is used. */
export interface KvAtomic {
  /**
   * Adds checks that keys still hold these versions.
   *
   * @param checks The keys and versions.
   * @returns The operation.
   */
  check(...checks: { key: KvKey; versionstamp: string | null }[]): KvAtomic;
  /**
   * Adds a write.
   *
   * @param key The key.
   * @param value The value.
   * @param options When it expires.
   * @returns The operation.
   */
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): KvAtomic;
  /**
   * Commits it: `ok` false if a check failed.
   *
   * @returns Whether it was written.
   */
  commit(): Promise<{ ok: boolean }>;
}

/**
 * What KvEvent needs of a database handle, described by the methods it
 * calls: `Deno.Kv` has them, and so has the `Kv` of the `@deno/kv` package
 * in Node.
 */
export interface KvHandle {
  /**
   * Reads one key.
   *
   * @param key The key.
   * @returns Its entry.
   */
  get(key: KvKey): Promise<KvEntryMaybe>;
  /**
   * Reads up to 10 keys at one point in time.
   *
   * @param keys The keys.
   * @returns Their entries, in order.
   */
  getMany(keys: readonly KvKey[]): Promise<KvEntryMaybe[]>;
  /**
   * Starts an atomic operation.
   *
   * @returns The operation.
   */
  atomic(): KvAtomic;
  /**
   * Watches up to 10 keys: each frame gives the latest entries.
   *
   * @param keys The keys.
   * @returns The frames.
   */
  watch(keys: readonly KvKey[]): ReadableStream<KvEntryMaybe[]>;
  /**
   * What errors call this database: `"Deno KV"` if absent. A store of
   * this package's over another database (`PostgresStore`) names its own.
   */
  readonly storeName?: string;
}

/** What errors call a handle's database. */
export function storeName(kv: KvHandle): string {
  const name = kv.storeName;
  return typeof name === "string" ? name : "Deno KV";
}

/** How a generation was sent, and by which `send()` call. */
export interface Sent {
  ok: boolean;
  sender: string;
  /** What was sent, if a primitive that cannot be large (`plain()`). */
  value?: unknown;
  /**
   * Else what was sent, V8-serialized, if it takes at most `INLINE_LIMIT`
   * bytes; else it sits under the generation's value key.
   */
  inline?: Uint8Array;
}

/** The head record: the current generation and whether it was sent. */
export interface Head {
  generation: number;
  sent: Sent | null;
  /** Which `reset()` call made this generation: how a lost reply is told. */
  reset: string | null;
}

/** A generation's outcome as a waiter gets it. */
export type Outcome = { ok: true; value: unknown } | {
  ok: false;
  error: unknown;
};

/** The head of an event nothing was written for. */
export const FRESH_HEAD: Head = { generation: 0, sent: null, reset: null };

/** Deno KV refuses a value whose V8 serialization is larger than this. */
export const VALUE_LIMIT = 65_536;
/**
 * What was sent rides in the head (and the outcome record) up to this many
 * bytes serialized: a waiter woken by the head then reads nothing more. A
 * PostgreSQL notification carries such a head whole.
 */
export const INLINE_LIMIT = 1_024;
/** Deno KV's most keys in one `getMany()` or `watch()`. */
export const KEYS_PER_CALL = 10;

export function headKey(key: KvKey): KvKey {
  return key.concat("v1"); // exactly its size: one is kept per event
}

function outcomeKey(key: KvKey, generation: number): KvKey {
  return [...key, "v1", generation];
}

function valueKey(key: KvKey, generation: number): KvKey {
  return [...key, "v1", generation, "value"];
}

/** The head a read gave: absent is generation 0, fresh. */
export function headOf(entry: KvEntryMaybe): Head {
  return (entry.value as Head | null) ?? FRESH_HEAD;
}

/** A head and the versionstamp it was read at (`null`: absent). */
export interface Versioned {
  head: Head;
  versionstamp: string | null;
}

function versioned(entry: KvEntryMaybe): Versioned {
  return { head: headOf(entry), versionstamp: entry.versionstamp };
}

/**
 * Whether what was sent rides in the records as it is: a primitive small
 * by its type (a string of at most `INLINE_LIMIT` bytes in any encoding),
 * which needs no serialization of ours, and no copy per reader.
 */
function plain(stored: unknown): boolean {
  switch (typeof stored) {
    case "undefined":
    case "boolean":
    case "number":
      return true;
    case "string":
      return stored.length <= INLINE_LIMIT / 2;
    default:
      return stored === null;
  }
}

/**
 * What was sent, serialized, if small enough to ride in the head: not what
 * Deno KV stores outside V8's format (a `KvU64`, or bytes at the top), nor
 * what cannot be serialized (the commit then refuses it, as it would).
 */
function inlined(stored: unknown): Serialized {
  if (ArrayBuffer.isView(stored) || isKvU64(stored)) return undefined;
  try {
    const bytes = serialize(stored);
    return {
      inline: bytes.length <= INLINE_LIMIT ? new Uint8Array(bytes) : undefined,
    };
  } catch (error) {
    return { error };
  }
}

/**
 * What serializing a value gave: its bytes if small, or the error if it
 * threw (kept, so that a refusal does not serialize it once more to say
 * why: its getters run at most twice, here and in the commit); `undefined`
 * if not tried.
 */
type Serialized = { inline: Uint8Array | undefined } | {
  error: unknown;
} | undefined;

/** Whether a value is a `KvU64`, Deno's or `@deno/kv`'s. */
function isKvU64(value: unknown): boolean {
  try {
    return typeof value === "object" && value !== null &&
      value.constructor?.name === "KvU64";
  } catch {
    return false; // a Proxy's trap threw: the commit refuses it
  }
}

/**
 * Generation `g`'s record, from its key and the head read with it: the one
 * a reset filed, else the head's while it holds `g`; `null` if unsent.
 */
function recordOf(
  generation: number,
  filed: KvEntryMaybe,
  head: KvEntryMaybe,
): Sent | null {
  const now = headOf(head);
  return filed.value as Sent | null ??
    (now.generation === generation ? now.sent : null);
}

/**
 * The outcome a record carries, rebuilt: each call gives its own copy of
 * an inline one, as each read of Deno KV does (a primitive needs none);
 * `undefined` if it carries none.
 */
export function carried(sent: Sent): Outcome | undefined {
  const { inline } = sent;
  let stored: unknown;
  if ("value" in sent) stored = sent.value;
  else if (!(inline instanceof Uint8Array)) return undefined;
  else {
    try {
      stored = deserialize(inline);
    } catch (error) {
      return {
        ok: false,
        error: new TypeError(
          `Cannot read what was sent: its bytes are not V8's format (${
            error instanceof Error ? error.message : String(error)
          })`,
          { cause: error },
        ),
      };
    }
  }
  return sent.ok
    ? { ok: true, value: stored }
    : { ok: false, error: decodeError(stored) };
}

/**
 * One event's storage: every call bounded by `callTimeout` and retried
 * while the database is locked. Commits follow ZooKeeper's rule for a reply
 * that was lost: ask storage (by the caller's id) before answering.
 */
export class EventStore {
  readonly kv: KvHandle;
  readonly key: KvKey;
  readonly #expireIn: number;
  readonly #callTimeout: number;
  /** The calls of send(), reset() and one-off reads: their callers wait. */
  #calls: Pending | undefined = undefined;

  constructor(
    kv: KvHandle,
    key: KvKey,
    expireIn: number,
    callTimeout: number,
  ) {
    this.kv = kv;
    this.key = key;
    this.#expireIn = expireIn;
    this.#callTimeout = callTimeout;
  }

  /**
   * The head entry, as read now; through `pending`, tried once, if given.
   */
  head(pending?: Pending): Promise<KvEntryMaybe> {
    return this.#call(() => this.kv.get(headKey(this.key)), pending);
  }

  /**
   * Generation `g`'s outcome, or `null` if it was not sent (or expired):
   * its record, filed by the reset past it, or the head's while it holds
   * `g`, read at one point in time.
   */
  async outcome(
    generation: number,
    pending?: Pending,
  ): Promise<Outcome | null> {
    const [filed, value, head] = await this.#call(
      () =>
        this.kv.getMany([
          outcomeKey(this.key, generation),
          valueKey(this.key, generation),
          headKey(this.key),
        ]),
      pending,
    );
    const record = recordOf(generation, filed!, head!);
    if (record === null) return null;
    const outcome = carried(record);
    if (outcome !== undefined) return outcome;
    // Written with the send, the value's key may expire before a record the
    // reset filed later: then the outcome expired.
    if (value!.versionstamp === null) return null;
    return record.ok
      ? { ok: true, value: value!.value }
      : { ok: false, error: decodeError(value!.value) };
  }

  /**
   * Whose send generation `g` holds, read now: the head's while it holds
   * `g`, else the record the reset past it filed; `null` if unsent (or
   * expired).
   */
  async #sender(generation: number): Promise<string | null> {
    const [filed, head] = await this.#call(() =>
      this.kv.getMany([outcomeKey(this.key, generation), headKey(this.key)])
    );
    const record = recordOf(generation, filed!, head!);
    return record?.sender ?? null;
  }

  /**
   * Claims the current generation for `outcome`, once: one atomic commit
   * that checks the head is unchanged and unsent. Throws `EventStateError`
   * if it was sent.
   *
   * @param known A head the caller last read and its versionstamp, if it
   * says unsent: tried first without reading it again (a check of a stale
   * one fails, and the head is read).
   */
  async claim(outcome: Outcome, known?: Versioned): Promise<Head> {
    const stored = outcome.ok ? outcome.value : encodeError(outcome.error);
    const sent: Sent = { ok: outcome.ok, sender: crypto.randomUUID() };
    let serialized: Serialized;
    if (plain(stored)) sent.value = stored;
    else {
      serialized = inlined(stored);
      const inline = serialized !== undefined && "inline" in serialized
        ? serialized.inline
        : undefined;
      if (inline !== undefined) sent.inline = inline;
    }
    const carries = "value" in sent || "inline" in sent;
    let guess = known;
    for (let tries = 0;; tries++) {
      const { head, versionstamp } = guess ?? versioned(await this.head());
      if (head.sent !== null) throw this.#misuse(RESEND_MESSAGE);
      const next: Head = { ...head, sent };
      const options = { expireIn: this.#expireIn };
      let result: { ok: boolean };
      try {
        result = await this.#call(
          () => {
            let commit = this.kv.atomic()
              .check({ key: headKey(this.key), versionstamp });
            if (!carries) {
              commit = commit.set(
                valueKey(this.key, head.generation),
                stored,
                options,
              );
            }
            return commit.set(headKey(this.key), next, options).commit();
          },
          undefined,
          false,
        );
      } catch (error) {
        const refused = refusal(error, stored, storeName(this.kv)) ??
          unserializable(stored, serialized);
        if (refused !== undefined) throw refused;
        // Lost in transit, or not answered in time: it may have been
        // written. Ask storage whose send generation g holds.
        const sender = await this.#sender(head.generation);
        if (sender === sent.sender) {
          return next;
        }
        if (sender !== null) {
          throw this.#misuse(RESEND_MESSAGE);
        }
        if (tries >= MAX_TRIES) {
          throw error;
        }
        // Not written: trying again with the same id is safe, since every
        // attempt checks the same head.
        await pause(tries);
        continue;
      }
      if (result.ok) return next;
      if (guess !== undefined) {
        guess = undefined; // a head not read now: read it
        continue;
      }
      // The head moved: sent by someone else, or reset. Read it again.
      if (tries >= MAX_TRIES) {
        throw new Error("Cannot send: too much contention");
      }
    }
  }

  /**
   * Advances a sent event to a fresh generation: `EventStateError` if it
   * is fresh.
   */
  async advance(): Promise<Head> {
    const id = crypto.randomUUID();
    for (let tries = 0;; tries++) {
      const entry = await this.head();
      const head = headOf(entry);
      if (head.sent === null) throw this.#misuse(RERESET_MESSAGE);
      const next: Head = {
        generation: head.generation + 1,
        sent: null,
        reset: id,
      };
      try {
        const options = { expireIn: this.#expireIn };
        const result = await this.#call(
          () =>
            this.kv.atomic().check(entry)
              // Filed for the late waiters of the generation it leaves.
              .set(outcomeKey(this.key, head.generation), head.sent, options)
              .set(headKey(this.key), next, options).commit(),
          undefined,
          false,
        );
        if (result.ok) return next;
      } catch (error) {
        const now = headOf(await this.head());
        if (now.reset === id) return next; // written; the reply was lost
        if (now.generation === head.generation && tries < MAX_TRIES) {
          await pause(tries); // not written: try again
          continue;
        }
        if (now.generation === head.generation) throw error;
        // Someone else's reset won meanwhile: this one finds it fresh.
      }
      if (tries >= MAX_TRIES) {
        throw new Error("Cannot reset: too much contention");
      }
    }
  }

  /** Misuse, naming the event as `Event` names a named one. */
  #misuse(message: string): EventStateError {
    return new EventStateError(
      `${message} (KvEvent ${JSON.stringify(this.key.map(String).join("/"))})`,
    );
  }

  /**
   * A storage call, retried while the database is locked, and given up
   * after `callTimeout` ms: tried again if a read of the caller's own (no
   * `pending`), once if a waiter's read (the waiter retries), never if a
   * commit (`retry` false: the caller checks what was written).
   */
  #call<R>(
    call: () => Promise<R>,
    pending?: Pending,
    retry = true,
  ): Promise<R> {
    return pending === undefined
      ? bounded(
        call,
        this.#callTimeout,
        this.#calls ??= new Pending(),
        retry,
        storeName(this.kv),
      )
      : bounded(call, this.#callTimeout, pending, false, storeName(this.kv));
  }
}

/**
 * Storage calls and retry pauses that can be dropped at once: a call's
 * timeout timer and a pause's timer belong to it, so that nothing outlives
 * the waiters it served. A dropped call or pause rejects with `Dropped`.
 */
export class Pending {
  /** Only while something is under way: most waiters wait long, idle. */
  #drops: Set<() => void> | undefined = undefined;

  #add(drop: () => void): void {
    (this.#drops ??= new Set()).add(drop);
  }

  #delete(drop: () => void): void {
    this.#drops?.delete(drop);
    if (this.#drops?.size === 0) this.#drops = undefined;
  }

  /** `call()`, given up with a `TimeoutError` after `ms`. */
  within<R>(
    call: () => Promise<R>,
    ms: number,
    name = "Deno KV",
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let alarm: Alarm | undefined;
      const done = () => {
        disarm(alarm?.take());
        this.#delete(drop);
      };
      const drop = () => {
        done();
        reject(new Dropped());
      };
      if (ms !== Infinity) {
        alarm = new Alarm(() => {
          done();
          reject(
            new DOMException(
              `${name} did not answer within ${ms} ms (callTimeout)`,
              "TimeoutError",
            ),
          );
        }, () => true);
        alarm.set(performance.now() + ms);
      }
      this.#add(drop);
      // A call that throws synchronously rejects the same way.
      new Promise<R>((run) => run(call())).then((value) => {
        done();
        resolve(value);
      }, (error) => {
        done();
        reject(error);
      });
    });
  }

  /** A pause of `ms` before trying again. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#delete(drop);
        resolve();
      }, ms);
      const drop = () => {
        clearTimeout(timer);
        this.#delete(drop);
        reject(new Dropped());
      };
      this.#add(drop);
    });
  }

  /** Whether no call or pause is under way. */
  get idle(): boolean {
    return this.#drops === undefined;
  }

  /** Drops every call and pause under way. */
  drop(): void {
    for (const drop of [...this.#drops ?? []]) drop();
  }
}

/** What a dropped call or pause rejects with: nobody waits for it. */
export class Dropped extends Error {
  constructor() {
    super("Dropped: nobody waits for this storage call any more");
    this.name = "Dropped";
  }
}

/**
 * Runs a storage call through `pending`, given up after `ms`, and tried
 * again after a `database is locked` (and, if `retry`, after giving up).
 */
export async function bounded<R>(
  call: () => Promise<R>,
  ms: number,
  pending: Pending,
  retry = true,
  name = "Deno KV",
): Promise<R> {
  for (let tries = 0;; tries++) {
    try {
      return await pending.within(call, ms, name);
    } catch (error) {
      const again = isLocked(error) || (retry && isCallTimeout(error));
      if (!again || tries >= MAX_TRIES) throw error;
    }
    await pending.sleep(backoff(tries, LOCKED));
  }
}

function isCallTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError" &&
    error.message.endsWith("(callTimeout)");
}

/**
 * How often a locked database is tried again before its error is thrown:
 * about 10 s in all, at `LOCKED`'s pace.
 */
const MAX_TRIES = 200;

/** Waits before a commit's next try, at `LOCKED`'s pace. */
function pause(tries: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backoff(tries, LOCKED)));
}

/** Whether a KV error is SQLite's lock between connections: retry it. */
export function isLocked(error: unknown): boolean {
  return error instanceof TypeError &&
    /database is locked/i.test(error.message);
}

/**
 * Whether an error is the handle's own word that it was closed: Deno's
 * `BadResource` (its class's name), or the one sentence `@deno/kv` throws
 * for a call after `close()`. Never a word in any other message: a KV
 * Connect client's "connection closed before message completed" is a
 * network error, tried again like any other.
 */
export function isClosed(error: unknown): boolean {
  return error instanceof Error &&
    (error.name === "BadResource" || CLOSED_BY_DENO_KV.test(error.message));
}

/** `@deno/kv`'s error for a call on a closed handle, whole. */
const CLOSED_BY_DENO_KV = /^Cannot call '\.\w+' after '\.close' is called$/;

/**
 * What KV's refusal of a value means for the caller, or `undefined` if the
 * error is not a refusal (then the commit may have been written).
 */
function refusal(
  error: unknown,
  stored: unknown,
  name: string,
): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  if (/too large/i.test(error.message)) {
    let size = "more";
    try {
      size = `${serialize(stored).length}`;
    } catch {
      // Reported as Deno KV worded it.
    }
    return new RangeError(
      `Cannot send: the value takes ${size} bytes serialized, over ${name}'s limit of ${VALUE_LIMIT}; the event stays unsent`,
      { cause: error },
    );
  }
  if (
    /could not be cloned/i.test(error.message) ||
    error.name === "DataCloneError"
  ) {
    return new TypeError(
      `Cannot send: ${name} stores structured clones, and this cannot be cloned: ${error.message}`,
      { cause: error },
    );
  }
  return undefined;
}

/**
 * A `TypeError` if `stored` cannot be serialized (a getter that throws, a
 * function): nothing that cannot be serialized was written, so the send is
 * refused at once instead of tried again. Deno's `set()` serializes at
 * once, `@deno/kv`'s at `commit()`: both end here. `serialized` is what
 * the send's own serialization gave: it is not done again.
 */
function unserializable(
  stored: unknown,
  serialized: Serialized,
): TypeError | undefined {
  try {
    if (serialized === undefined) serialize(stored);
    else if ("error" in serialized) throw serialized.error;
    return undefined;
  } catch (error) {
    return new TypeError(
      `Cannot send: the value cannot be serialized: ${
        error instanceof Error ? error.message : String(error)
      }; the event stays unsent`,
      { cause: error },
    );
  }
}

// Exceptions cross storage as plain records, so that every store and
// serializer keeps them whole (`@deno/kv` in Node turns a DOMException into
// `{}`, and structured clone drops AggregateError's `errors`).

/**
 * An exception as stored: an error's parts, a reference to an error met
 * before in the same exception (by the order errors are met, depth first),
 * or anything else as it is. References keep an error that appears twice
 * (`Promise.any([p, p])`) one error, and a cycle a cycle.
 */
type StoredError = { error: ErrorRecord } | { ref: number } | {
  thrown: unknown;
};

interface ErrorRecord {
  /** The nearest built-in class: what the waiter's error is made of. */
  type: string;
  name: string;
  message: string;
  stack?: string;
  cause?: StoredError;
  errors?: StoredError[];
}

/** The classes an error is rebuilt as; any other comes back as the nearest. */
const CLASSES: [string, unknown][] = [
  ["EventStateError", EventStateError],
  ["AggregateError", AggregateError],
  ["EvalError", EvalError],
  ["RangeError", RangeError],
  ["ReferenceError", ReferenceError],
  ["SyntaxError", SyntaxError],
  ["TypeError", TypeError],
  ["URIError", URIError],
  ["DOMException", DOMException],
  ["Error", Error],
];

/** Turns an exception into a record every store keeps. */
export function encodeError(
  thrown: unknown,
  met: Map<unknown, number> = new Map(),
): StoredError {
  if (!(thrown instanceof Error || thrown instanceof DOMException)) {
    return { thrown };
  }
  const ref = met.get(thrown);
  if (ref !== undefined) return { ref };
  met.set(thrown, met.size);
  const error = thrown as Error;
  const type =
    CLASSES.find(([, Class]) => error instanceof (Class as typeof Error))
      ?.[0] ?? "Error";
  const record: ErrorRecord = {
    type,
    name: String(error.name),
    message: String(error.message),
  };
  if (typeof error.stack === "string") record.stack = error.stack;
  if ("cause" in error) record.cause = encodeError(error.cause, met);
  if (error instanceof AggregateError && Array.isArray(error.errors)) {
    record.errors = error.errors.map((inner) => encodeError(inner, met));
  }
  return { error: record };
}

/** Rebuilds an exception from its record. */
export function decodeError(stored: unknown, met: unknown[] = []): unknown {
  const record = stored as StoredError | null;
  if (record === null || typeof record !== "object") return record;
  if ("thrown" in record) return record.thrown;
  if ("ref" in record) return met[record.ref];
  const { type, name, message, stack, cause, errors } = record.error;
  let error: Error;
  if (type === "DOMException") {
    error = new DOMException(message, name) as unknown as Error;
  } else if (type === "AggregateError") {
    error = new AggregateError([], message);
  } else {
    const Class = (CLASSES.find(([n]) =>
      n === type
    )?.[1] ?? Error) as ErrorConstructor;
    error = new Class(message);
  }
  // Known before its parts are rebuilt: a part may refer back to it.
  met.push(error);
  if (cause !== undefined) own(error, "cause", decodeError(cause, met));
  if (type === "AggregateError") {
    own(
      error,
      "errors",
      (errors ?? []).map((inner) => decodeError(inner, met)),
    );
  }
  if (error.name !== name) own(error, "name", name);
  if (stack !== undefined) own(error, "stack", stack);
  return error;
}

/** Sets an own property as the error's constructor would: not enumerable. */
function own(error: Error, key: string, value: unknown): void {
  Object.defineProperty(error, key, {
    value,
    writable: true,
    configurable: true,
  });
}
