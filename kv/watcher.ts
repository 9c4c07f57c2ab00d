// Copyright 2026 the @seed/event authors. MIT license.
/**
 * One watcher per database handle, shared by every `KvEvent` on it (as
 * etcd's client keeps one watcher per client): it watches the head keys of
 * the events that have waiters, at most 10 keys a stream, and polls them in
 * batched `getMany()` calls for the commits a watch does not see (on a
 * local SQLite file, those of other processes: denoland/deno#21640).
 *
 * Level-triggered: a subscriber is handed a fresh read of its key, never a
 * diff. Every stream (re)opened is followed by a read of its keys (listen
 * first, then read), so nothing committed in between is missed; a stream
 * that ends or errors is reopened with backoff. When the handle is closed,
 * every subscriber hears it once and the watcher stops.
 *
 * @module
 */
import {
  bounded,
  isClosed,
  KEYS_PER_CALL,
  type KvHandle,
  Pending,
} from "./protocol.ts";

/** What a `KvEvent` gives the watcher while it has waiters. */
export interface Subscriber {
  /** The key to watch: the event's head. */
  readonly key: Deno.KvKey;
  /** Whether `kv.watch()` may be used for it. */
  readonly watch: boolean;
  /** Milliseconds between reads, or `"auto"` (see {@linkcode AUTO_POLL}). */
  readonly poll: number | "auto";
  /** Milliseconds a storage call may take. */
  readonly callTimeout: number;
  /** A read of `key`, newer than any handed before. */
  head(entry: Deno.KvEntryMaybe<unknown>): void;
  /** The handle was closed: no read will come again. */
  closed(error: unknown): void;
}

/**
 * The `"auto"` poll: every `min` ms at first; doubled up to `max` while the
 * polls find nothing the streams had not delivered; back to `min` for good
 * once a poll finds a commit a stream missed (another process's, on a local
 * file).
 */
export const AUTO_POLL = { min: 1_000, max: 60_000 };

/** A stream's reopening backoff: 10 ms, doubling, at most 5 s. */
const REOPEN = { min: 10, max: 5_000 };

/** The watchers, one per handle. */
const watchers: WeakMap<KvHandle, Watcher> = new WeakMap();

/** One `kv.watch()` stream: its keys, and what it last delivered of each. */
interface Stream {
  ids: string[];
  reader: ReadableStreamDefaultReader<Deno.KvEntryMaybe<unknown>[]> | undefined;
  /** Versionstamps delivered, by key id: what a poll compares with. */
  stamps: Map<string, string | null>;
  failures: number;
  retry: ReturnType<typeof setTimeout> | undefined;
}

/** The subscribers of one key, and the key. */
interface Watched {
  key: Deno.KvKey;
  subscribers: Set<Subscriber>;
  stream: Stream | undefined;
}

/** A poll timer shared by the keys of one interval. */
interface Poll {
  interval: number | "auto";
  ids: Set<string>;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The auto poll's current delay, and whether streams miss commits. */
  delay: number;
  misses: boolean;
  running: boolean;
}

export class Watcher {
  /** The handle's watcher, made on first use. */
  static of(kv: KvHandle): Watcher {
    let watcher = watchers.get(kv);
    if (watcher === undefined) {
      watcher = new Watcher(kv);
      watchers.set(kv, watcher);
    }
    return watcher;
  }

  readonly #kv: KvHandle;
  readonly #watched: Map<string, Watched> = new Map();
  readonly #streams: Set<Stream> = new Set();
  readonly #polls: Map<number | "auto", Poll> = new Map();
  /** Whether a reconcile of the streams is queued. */
  #queued = false;
  #closed: unknown = undefined;
  /** The reads under way: dropped when nothing is watched any more. */
  readonly #calls: Pending = new Pending();

  constructor(kv: KvHandle) {
    this.#kv = kv;
  }

  /** How many streams are open: for tests and `bench:kv`. */
  get streams(): number {
    let open = 0;
    for (const stream of this.#streams) if (stream.reader !== undefined) open++;
    return open;
  }

  /**
   * Watches `subscriber.key` until the returned function is called. A closed
   * handle tells the subscriber at once.
   */
  subscribe(subscriber: Subscriber): () => void {
    if (this.#closed !== undefined) {
      const error = this.#closed;
      queueMicrotask(() => subscriber.closed(error));
      return () => {};
    }
    const id = keyId(subscriber.key);
    let watched = this.#watched.get(id);
    if (watched === undefined) {
      watched = {
        key: subscriber.key,
        subscribers: new Set(),
        stream: undefined,
      };
      this.#watched.set(id, watched);
    }
    watched.subscribers.add(subscriber);
    if (subscriber.watch && watched.stream === undefined) this.#queue();
    this.#pollOf(subscriber.poll).ids.add(id);
    this.#arm(this.#pollOf(subscriber.poll));
    return () => this.#unsubscribe(id, subscriber);
  }

  #unsubscribe(id: string, subscriber: Subscriber): void {
    const watched = this.#watched.get(id);
    if (watched === undefined || !watched.subscribers.delete(subscriber)) {
      return;
    }
    if (watched.subscribers.size === 0) this.#watched.delete(id);
    if (this.#watched.size === 0) this.#calls.drop();
    // Keep the key on a poll while another subscriber polls it so.
    const poll = this.#polls.get(subscriber.poll);
    if (
      poll !== undefined &&
      ![...watched.subscribers].some((s) => s.poll === subscriber.poll)
    ) {
      poll.ids.delete(id);
      if (poll.ids.size === 0) {
        clearTimeout(poll.timer);
        this.#polls.delete(poll.interval);
      }
    }
    if (
      watched.stream !== undefined &&
      ![...watched.subscribers].some((s) => s.watch)
    ) {
      this.#queue();
    }
  }

  /** Reconciles the streams once, after the calls of this turn. */
  #queue(): void {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      this.#reconcile();
    });
  }

  /**
   * Makes the streams watch exactly the keys that want a watch, at most 10
   * a stream: a stream that lost or gained keys is reopened; the fullest are
   * kept as they are.
   */
  #reconcile(): void {
    if (this.#closed !== undefined) return;
    const wanted = new Set<string>();
    for (const [id, watched] of this.#watched) {
      if ([...watched.subscribers].some((s) => s.watch)) wanted.add(id);
    }
    const changed = new Set<Stream>();
    for (const stream of this.#streams) {
      const kept = stream.ids.filter((id) => wanted.has(id));
      if (kept.length !== stream.ids.length) {
        stream.ids = kept;
        changed.add(stream);
      }
      for (const id of kept) wanted.delete(id);
    }
    // What is left has no stream: fill streams with room, then new ones.
    const homeless = [...wanted];
    for (const stream of this.#streams) {
      while (stream.ids.length < KEYS_PER_CALL && homeless.length > 0) {
        stream.ids.push(homeless.pop()!);
        changed.add(stream);
      }
    }
    while (homeless.length > 0) {
      const stream: Stream = {
        ids: homeless.splice(0, KEYS_PER_CALL),
        reader: undefined,
        stamps: new Map(),
        failures: 0,
        retry: undefined,
      };
      this.#streams.add(stream);
      changed.add(stream);
    }
    for (const stream of changed) this.#open(stream);
  }

  /**
   * (Re)opens a stream on those of its keys still watched, then reads them;
   * drops it if none is.
   */
  #open(stream: Stream): void {
    stream.ids = stream.ids.filter((id) => this.#watched.has(id));
    stream.reader?.cancel().catch(() => {});
    stream.reader = undefined;
    clearTimeout(stream.retry);
    stream.retry = undefined;
    for (const [id, watched] of this.#watched) {
      if (watched.stream === stream && !stream.ids.includes(id)) {
        watched.stream = undefined;
      }
    }
    if (stream.ids.length === 0 || this.#closed !== undefined) {
      this.#streams.delete(stream);
      return;
    }
    const keys: Deno.KvKey[] = [];
    for (const id of stream.ids) {
      const watched = this.#watched.get(id)!;
      watched.stream = stream;
      keys.push(watched.key);
    }
    let reader: Stream["reader"];
    try {
      reader = this.#kv.watch(keys).getReader();
    } catch (error) {
      this.#broken(stream, error);
      return;
    }
    stream.reader = reader;
    this.#pump(stream, reader);
    // Listen first, then read: a commit before the watch began is read here.
    this.#read(stream.ids, undefined);
  }

  async #pump(
    stream: Stream,
    reader: NonNullable<Stream["reader"]>,
  ): Promise<void> {
    let error: unknown;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || stream.reader !== reader) break;
        stream.failures = 0;
        for (const entry of value) {
          const id = keyId(entry.key);
          stream.stamps.set(id, entry.versionstamp);
          this.#deliver(id, entry);
        }
      }
    } catch (caught) {
      error = caught;
    }
    if (stream.reader === reader) this.#broken(stream, error);
  }

  /** A stream that ended or failed: reopened after a backoff. */
  #broken(stream: Stream, error: unknown): void {
    stream.reader?.cancel().catch(() => {});
    stream.reader = undefined;
    if (isClosed(error)) return this.#close(error);
    const delay = Math.min(REOPEN.min * 2 ** stream.failures, REOPEN.max);
    stream.failures++;
    stream.retry = setTimeout(() => {
      stream.retry = undefined;
      if (this.#streams.has(stream)) this.#open(stream);
    }, delay);
  }

  #pollOf(interval: number | "auto"): Poll {
    let poll = this.#polls.get(interval);
    if (poll === undefined) {
      poll = {
        interval,
        ids: new Set(),
        timer: undefined,
        delay: interval === "auto" ? AUTO_POLL.min : interval,
        misses: false,
        running: false,
      };
      this.#polls.set(interval, poll);
    }
    return poll;
  }

  /** Sets the poll's timer, unless set or unwanted. */
  #arm(poll: Poll): void {
    if (
      poll.timer !== undefined || poll.running || poll.delay === Infinity ||
      this.#polls.get(poll.interval) !== poll
    ) {
      return;
    }
    const due = performance.now() + poll.delay;
    const tick = () => {
      const left = due - performance.now();
      if (left > 0) { // a delay above setTimeout's limit, in steps
        poll.timer = setTimeout(tick, Math.min(Math.ceil(left), MAX_DELAY));
        return;
      }
      poll.timer = undefined;
      this.#poll(poll);
    };
    poll.timer = setTimeout(tick, Math.min(poll.delay, MAX_DELAY));
  }

  async #poll(poll: Poll): Promise<void> {
    poll.running = true;
    const missed = await this.#read([...poll.ids], poll);
    poll.running = false;
    if (poll.interval === "auto") {
      if (missed) poll.misses = true;
      poll.delay = poll.misses
        ? AUTO_POLL.min
        : Math.min(poll.delay * 2, AUTO_POLL.max);
    }
    if (this.#closed === undefined) this.#arm(poll);
  }

  /**
   * Reads keys in batches of 10 and hands each to its subscribers; answers
   * whether a read found a commit that a stream watching the key had not
   * delivered. A failed read is left to the next poll or reopening.
   */
  async #read(ids: string[], poll: Poll | undefined): Promise<boolean> {
    let missed = false;
    const batches: Promise<void>[] = [];
    for (let i = 0; i < ids.length; i += KEYS_PER_CALL) {
      const batch = ids.slice(i, i + KEYS_PER_CALL).filter((id) =>
        this.#watched.has(id)
      );
      if (batch.length === 0) continue;
      const keys = batch.map((id) => this.#watched.get(id)!.key);
      const timeout = Math.min(
        ...batch.flatMap((id) =>
          [...this.#watched.get(id)!.subscribers].map((s) => s.callTimeout)
        ),
      );
      batches.push(
        bounded(() => this.#kv.getMany(keys), timeout, this.#calls, false).then(
          (entries) => {
            for (const [j, entry] of entries.entries()) {
              const id = batch[j]!;
              const stream = this.#watched.get(id)?.stream;
              if (
                poll !== undefined && stream?.reader !== undefined &&
                stream.stamps.has(id) &&
                stream.stamps.get(id) !== entry.versionstamp
              ) {
                missed = true;
              }
              this.#deliver(id, entry);
            }
          },
          (error) => {
            if (isClosed(error)) this.#close(error);
          },
        ),
      );
    }
    await Promise.all(batches);
    return missed;
  }

  #deliver(id: string, entry: Deno.KvEntryMaybe<unknown>): void {
    const watched = this.#watched.get(id);
    if (watched === undefined) return;
    for (const subscriber of [...watched.subscribers]) subscriber.head(entry);
  }

  /** The handle was closed: tell everyone once, and stop. */
  #close(error: unknown): void {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    for (const stream of this.#streams) {
      clearTimeout(stream.retry);
      stream.reader?.cancel().catch(() => {});
      stream.reader = undefined;
    }
    this.#streams.clear();
    for (const poll of this.#polls.values()) clearTimeout(poll.timer);
    this.#polls.clear();
    this.#calls.drop();
    const subscribers = [...this.#watched.values()].flatMap((w) => [
      ...w.subscribers,
    ]);
    this.#watched.clear();
    for (const subscriber of subscribers) subscriber.closed(error);
  }
}

const MAX_DELAY = 2 ** 31 - 1;

/** A key as a string, the same for equal keys of every part type. */
export function keyId(key: Deno.KvKey): string {
  return JSON.stringify(
    key.map((part) =>
      part instanceof Uint8Array
        ? ["u8", [...part]]
        : [typeof part, String(part)]
    ),
  );
}
