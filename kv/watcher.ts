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
 * that ends or errors is reopened with backoff, which holds until a stream
 * has proven itself (a frame after the first: Deno gives one on every
 * open). When the handle is closed, every subscriber hears it once and the
 * watcher stops.
 *
 * Streams are repacked when keys leave: once more than `ideal + slack`
 * streams are open (ideal: keys / 10, rounded up; slack: 1 + ideal / 8,
 * rounded down), the emptiest are closed and their keys moved into the
 * others' room. So "10 keys a stream" holds within an eighth and one
 * stream, and a repack, which reopens the streams it changes, comes once
 * per many leaves, not on each.
 *
 * @module
 */
import {
  bounded,
  isClosed,
  KEYS_PER_CALL,
  type KvEntryMaybe,
  type KvHandle,
  type KvKey,
  Pending,
  storeName,
} from "./protocol.ts";
import { Alarm, backoff, disarm, REOPEN } from "../event/host.ts";

/** What a `KvEvent` gives the watcher while it has waiters. */
export interface Subscriber {
  /** The key to watch: the event's head. */
  readonly key: KvKey;
  /** Whether `kv.watch()` may be used for it. */
  readonly watch: boolean;
  /** Milliseconds between reads, or `"auto"` (see {@linkcode AUTO_POLL}). */
  readonly poll: number | "auto";
  /**
   * Milliseconds a storage call may take. Keys are read in batches of one
   * `callTimeout`: one event's bound never cuts another's read short.
   */
  readonly callTimeout: number;
  /**
   * A read of `key`: not always newer than the last one (a poll may answer
   * after a stream's frame), so a subscriber keeps the newest it has seen.
   */
  head(entry: KvEntryMaybe): void;
  /** The handle was closed: no read will come again. */
  closed(error: unknown): void;
}

/**
 * The `"auto"` poll: every `min` ms at first; doubled up to `max` while the
 * polls find nothing the streams had not delivered; back to `min` for good
 * once a poll finds a commit a stream missed (another process's, on a local
 * file). "For good" is the handle's: the watcher remembers it when every
 * waiter has left, and polls its next waiters every `min` ms at once.
 */
export const AUTO_POLL = { min: 1_000, max: 60_000 };

/*
 * A stream's reopening backs off at `REOPEN`'s pace (10 ms, doubling, at
 * most 5 s). The backoff is reset only by a stream that proved itself: a
 * frame after its first, or a life of `REOPEN.max` ms. (A stream that fails
 * right after its first frame, every time, is reopened at 10, 20, 40 ...
 * ms, not at once forever.)
 */

/** The watchers, one per handle. */
const watchers: WeakMap<KvHandle, Watcher> = new WeakMap();

/** One `kv.watch()` stream: its keys. */
interface Stream {
  /** At most 10 key ids. */
  ids: string[];
  reader:
    | ReadableStreamDefaultReader<KvEntryMaybe[]>
    | undefined;
  /** Breaks since the last stream of these keys proved itself. */
  failures: number;
  /** When the current reader was opened (`performance.now()`). */
  opened: number;
  retry: ReturnType<typeof setTimeout> | undefined;
}

/**
 * A key: its subscribers (usually one), and the stream that watches it.
 * One record and one map entry a key: thousands of keys are watched.
 */
interface Watched {
  key: KvKey;
  /** Empty once the last left, while a stream still has the key. */
  subscribers: Subscriber[];
  stream: Stream | undefined;
  /** The versionstamp its stream last delivered: what a poll compares. */
  stamp: string | null | undefined;
}

/**
 * A poll timer shared by the keys of one interval and one `callTimeout`:
 * a poll waits for its reads before it re-arms, so a key with a longer
 * bound (or `Infinity`) never holds back the polls of the others.
 */
interface Poll {
  /** Its map key: `interval` and `callTimeout`, as `pollOf()` makes it. */
  id: string;
  interval: number | "auto";
  callTimeout: number;
  /** Keys with a subscriber of this poll. */
  keys: number;
  /** Rings when the next poll is due; unarmed while one reads. */
  alarm: Alarm;
  /** The current delay (the auto poll's changes). */
  delay: number;
  running: boolean;
}

/** The poll a subscriber's key is read by. */
function pollId(subscriber: Subscriber): string {
  return `${subscriber.poll}/${subscriber.callTimeout}`;
}

/**
 * The watcher of one handle. Its state, and what holds between calls:
 *
 * - `#watched` has a key while it has subscribers or a stream. Whether a
 *   key has a stream differs from whether a subscriber wants one only for
 *   the keys in `#dirty`, which the next reconcile (queued whenever `#dirty`
 *   is not empty) settles: a key wanted by a watching subscriber gets a
 *   stream, any other loses it (and goes, if nobody subscribes). A
 *   reconcile costs what changed, not what is watched.
 * - `#subscribed` counts the keys with subscribers.
 * - `#open` holds every stream with keys; `#roomy` those with fewer than 10.
 * - Each poll's `keys` counts the keys with a subscriber of that poll.
 * - `#misses` is set once a poll found a commit a stream missed, for good.
 */
export class Watcher {
  /**
   * The handle's watcher, made on first use.
   *
   * @param kv The handle.
   * @returns Its one watcher.
   */
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
  #subscribed = 0;
  readonly #open: Set<Stream> = new Set();
  readonly #roomy: Set<Stream> = new Set();
  readonly #dirty: Set<string> = new Set();
  readonly #polls: Map<string, Poll> = new Map();
  #misses = false;
  #closed: unknown = undefined;
  #pollsDone = 0;
  /** The reads under way: dropped when nothing is watched any more. */
  readonly #calls: Pending = new Pending();

  constructor(kv: KvHandle) {
    this.#kv = kv;
  }

  /** How many polls have read so far: for `bench:kv`. */
  get polls(): number {
    return this.#pollsDone;
  }

  /** How many streams are open: for tests and `bench:kv`. */
  get streams(): number {
    let open = 0;
    for (const stream of this.#open) {
      if (stream.reader !== undefined) open++;
    }
    return open;
  }

  /**
   * Watches `subscriber.key` until {@linkcode Watcher.unsubscribe}. A
   * closed handle tells the subscriber at once.
   *
   * @param subscriber Who wants the key's reads.
   */
  subscribe(subscriber: Subscriber): void {
    if (this.#closed !== undefined) {
      const error = this.#closed;
      queueMicrotask(() => subscriber.closed(error));
      return;
    }
    const id = keyId(subscriber.key);
    let watched = this.#watched.get(id);
    if (watched === undefined) {
      // Exactly one slot: most keys have one subscriber.
      watched = {
        key: subscriber.key,
        subscribers: [subscriber],
        stream: undefined,
        stamp: undefined,
      };
      this.#watched.set(id, watched);
      this.#subscribed++;
    } else {
      const { subscribers } = watched;
      if (subscribers.length === 0) this.#subscribed++;
      const id = pollId(subscriber);
      if (subscribers.some((s) => pollId(s) === id)) {
        subscribers.push(subscriber);
        this.#mark(id, watched);
        return; // its poll has the key already
      }
      subscribers.push(subscriber);
    }
    this.#mark(id, watched);
    const poll = this.#pollOf(subscriber);
    poll.keys++;
    this.#arm(poll);
  }

  /**
   * Stops watching for `subscriber`; nothing if it does not watch.
   *
   * @param subscriber Who no longer wants the key's reads.
   */
  unsubscribe(subscriber: Subscriber): void {
    const id = keyId(subscriber.key);
    const watched = this.#watched.get(id);
    const index = watched?.subscribers.indexOf(subscriber) ?? -1;
    if (watched === undefined || index === -1) return;
    const { subscribers } = watched;
    subscribers.splice(index, 1);
    if (subscribers.length === 0) {
      if (watched.stream === undefined) this.#watched.delete(id);
      if (--this.#subscribed === 0) this.#calls.drop();
    }
    // Keep the key on a poll while another subscriber polls it so.
    const poll = this.#polls.get(pollId(subscriber));
    if (poll !== undefined && !subscribers.some((s) => pollId(s) === poll.id)) {
      if (--poll.keys === 0) {
        disarm(poll.alarm.take());
        this.#polls.delete(poll.id);
      }
    }
    this.#mark(id, watched);
  }

  /**
   * A key whose stream may change (a subscriber that wants one came, or
   * the last one left): reconciled after this turn's calls.
   */
  #mark(id: string, watched: Watched): void {
    const wanted = watched.subscribers.some((s) => s.watch);
    if (wanted === (watched.stream !== undefined)) return;
    if (this.#dirty.size === 0) queueMicrotask(() => this.#reconcile());
    this.#dirty.add(id);
  }

  /**
   * Gives each dirty key a stream if a subscriber watches it, and takes it
   * off its stream if none does; repacks when too many streams are open
   * for the keys left; reopens each stream that changed.
   */
  #reconcile(): void {
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    if (this.#closed !== undefined) return;
    const changed = new Set<Stream>();
    const homeless: string[] = [];
    let left = false;
    for (const id of dirty) {
      const watched = this.#watched.get(id);
      if (watched === undefined) continue;
      const wanted = watched.subscribers.some((s) => s.watch);
      const stream = watched.stream;
      if (wanted && stream === undefined) homeless.push(id);
      if (!wanted && stream !== undefined) {
        this.#unplace(id, watched, stream);
        if (watched.subscribers.length === 0) this.#watched.delete(id);
        changed.add(stream);
        left = true;
      }
    }
    if (left) this.#repack(homeless, changed);
    for (const stream of this.#roomy) {
      while (stream.ids.length < KEYS_PER_CALL && homeless.length > 0) {
        this.#place(homeless.pop()!, stream);
        changed.add(stream);
      }
      if (stream.ids.length === KEYS_PER_CALL) this.#roomy.delete(stream);
      if (homeless.length === 0) break;
    }
    while (homeless.length > 0) {
      const stream: Stream = {
        ids: [],
        reader: undefined,
        failures: 0,
        opened: 0,
        retry: undefined,
      };
      this.#open.add(stream);
      while (stream.ids.length < KEYS_PER_CALL && homeless.length > 0) {
        this.#place(homeless.pop()!, stream);
      }
      if (stream.ids.length < KEYS_PER_CALL) this.#roomy.add(stream);
      changed.add(stream);
    }
    for (const stream of changed) this.#reopen(stream);
  }

  /**
   * Closes the emptiest streams, their keys made homeless, once more than
   * `ideal + slack` streams hold keys (see the module doc): the rest have
   * room for them all, since `ideal` streams hold every key.
   */
  #repack(homeless: string[], changed: Set<Stream>): void {
    let keys = homeless.length;
    const streams: Stream[] = [];
    for (const stream of this.#open) {
      if (stream.ids.length === 0) continue;
      keys += stream.ids.length;
      streams.push(stream);
    }
    const ideal = Math.ceil(keys / KEYS_PER_CALL);
    if (streams.length <= ideal + 1 + Math.floor(ideal / 8)) return;
    streams.sort((a, b) => a.ids.length - b.ids.length);
    for (const stream of streams.slice(0, streams.length - ideal)) {
      for (const id of [...stream.ids]) {
        this.#unplace(id, this.#watched.get(id)!, stream);
        homeless.push(id);
      }
      this.#roomy.delete(stream); // closed by its reopening: no keys
      changed.add(stream);
    }
  }

  /** Takes a key off its stream. */
  #unplace(id: string, watched: Watched, stream: Stream): void {
    stream.ids.splice(stream.ids.indexOf(id), 1);
    watched.stream = undefined;
    watched.stamp = undefined;
    this.#roomy.add(stream);
  }

  #place(id: string, stream: Stream): void {
    stream.ids.push(id);
    this.#watched.get(id)!.stream = stream;
  }

  /** (Re)opens a stream on its keys, then reads them; drops it if empty. */
  #reopen(stream: Stream): void {
    stream.reader?.cancel().catch(() => {});
    stream.reader = undefined;
    clearTimeout(stream.retry);
    stream.retry = undefined;
    if (stream.ids.length === 0 || this.#closed !== undefined) {
      this.#roomy.delete(stream);
      this.#open.delete(stream);
      return;
    }
    stream.opened = performance.now();
    const keys = stream.ids.map((id) => this.#watched.get(id)!.key);
    let reader: Stream["reader"];
    try {
      reader = this.#kv.watch(keys).getReader();
    } catch (error) {
      this.#broken(stream, error);
      return;
    }
    stream.reader = reader;
    this.#pump(stream, reader, [...stream.ids]);
    // Listen first, then read: a commit before the watch began is read here.
    this.#read(stream.ids, undefined);
  }

  /** Hands each frame of `reader` (watching `ids`, in order) to subscribers. */
  async #pump(
    stream: Stream,
    reader: NonNullable<Stream["reader"]>,
    ids: string[],
  ): Promise<void> {
    let error: unknown;
    let frames = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || stream.reader !== reader) break;
        // Proven: a frame beyond the one every open gives.
        if (++frames === 2) stream.failures = 0;
        for (const [i, entry] of value.entries()) {
          const watched = this.#watched.get(ids[i]!);
          if (watched?.stream === stream) watched.stamp = entry.versionstamp;
          this.#deliver(ids[i]!, entry);
        }
      }
    } catch (caught) {
      error = caught;
    }
    if (stream.reader === reader) this.#broken(stream, error);
  }

  /**
   * A stream that ended or failed: reopened after a backoff, unless it
   * lived long enough to have proven itself.
   */
  #broken(stream: Stream, error: unknown): void {
    stream.reader?.cancel().catch(() => {});
    stream.reader = undefined;
    if (isClosed(error)) return this.#close(error);
    if (performance.now() - stream.opened >= REOPEN.max) stream.failures = 0;
    const delay = backoff(stream.failures, REOPEN);
    stream.failures++;
    stream.retry = setTimeout(() => {
      stream.retry = undefined;
      this.#reopen(stream);
    }, delay);
  }

  #pollOf(subscriber: Subscriber): Poll {
    const id = pollId(subscriber);
    let poll = this.#polls.get(id);
    if (poll === undefined) {
      const interval = subscriber.poll;
      const made: Poll = {
        id,
        interval,
        callTimeout: subscriber.callTimeout,
        keys: 0,
        alarm: new Alarm(
          () => this.#poll(made),
          () => this.#polls.get(id) === made,
        ),
        delay: interval === "auto" ? AUTO_POLL.min : interval,
        running: false,
      };
      this.#polls.set(id, poll = made);
    }
    return poll;
  }

  /** Sets the poll's timer, unless set or unwanted. */
  #arm(poll: Poll): void {
    if (
      poll.alarm.deadline !== Infinity || poll.running ||
      poll.delay === Infinity || this.#polls.get(poll.id) !== poll
    ) {
      return;
    }
    poll.alarm.set(performance.now() + poll.delay);
  }

  async #poll(poll: Poll): Promise<void> {
    poll.running = true;
    const ids: string[] = [];
    for (const [id, { subscribers }] of this.#watched) {
      if (subscribers.some((s) => pollId(s) === poll.id)) ids.push(id);
    }
    const missed = await this.#read(ids, poll);
    poll.running = false;
    this.#pollsDone++;
    if (missed) this.#misses = true;
    if (poll.interval === "auto") {
      poll.delay = this.#misses
        ? AUTO_POLL.min
        : Math.min(poll.delay * 2, AUTO_POLL.max);
    }
    if (this.#closed === undefined) this.#arm(poll);
  }

  /**
   * Reads keys in batches of 10 of one `callTimeout` (the poll's, or for
   * the read after an open each key's longest) and hands each to its
   * subscribers; answers whether a read found a commit that a stream
   * watching the key had not delivered. A failed read is left to the next
   * poll or reopening.
   */
  async #read(ids: string[], poll: Poll | undefined): Promise<boolean> {
    let missed = false;
    const groups = new Map<number, string[]>();
    for (const id of ids) {
      const subscribers = this.#watched.get(id)?.subscribers ?? [];
      if (subscribers.length === 0) continue;
      const timeout = poll?.callTimeout ??
        Math.max(...subscribers.map((s) => s.callTimeout));
      const group = groups.get(timeout);
      if (group === undefined) groups.set(timeout, [id]);
      else group.push(id);
    }
    const reads: Promise<void>[] = [];
    for (const [timeout, group] of groups) {
      for (let i = 0; i < group.length; i += KEYS_PER_CALL) {
        const chunk = group.slice(i, i + KEYS_PER_CALL);
        const keys = chunk.map((id) => this.#watched.get(id)!.key);
        reads.push(
          bounded(
            () => this.#kv.getMany(keys),
            timeout,
            this.#calls,
            false,
            storeName(this.#kv),
          )
            .then(
              (entries) => {
                for (const [j, entry] of entries.entries()) {
                  const id = chunk[j]!;
                  const watched = this.#watched.get(id);
                  // Newer than what the stream delivered: it missed a
                  // commit. (Versionstamps are hex of one width: they order
                  // as strings. An older one is a poll that answered after
                  // a frame.)
                  if (
                    poll !== undefined &&
                    watched?.stream?.reader !== undefined &&
                    watched.stamp !== undefined &&
                    (entry.versionstamp ?? "") > (watched.stamp ?? "")
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
    }
    await Promise.all(reads);
    return missed;
  }

  #deliver(id: string, entry: KvEntryMaybe): void {
    const watched = this.#watched.get(id);
    if (watched === undefined) return;
    for (const subscriber of [...watched.subscribers]) subscriber.head(entry);
  }

  /** The handle was closed: tell everyone once, and stop. */
  #close(error: unknown): void {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    for (const stream of this.#open) {
      clearTimeout(stream.retry);
      stream.reader?.cancel().catch(() => {});
      stream.reader = undefined;
    }
    this.#open.clear();
    this.#roomy.clear();
    for (const poll of this.#polls.values()) disarm(poll.alarm.take());
    this.#polls.clear();
    this.#calls.drop();
    const subscribers = [...this.#watched.values()].flatMap((w) => [
      ...w.subscribers,
    ]);
    this.#watched.clear();
    this.#subscribed = 0;
    for (const subscriber of subscribers) subscriber.closed(error);
  }
}

/** The letter of each key part's type in a key id. */
const TAGS: Record<string, string> = {
  string: "s",
  number: "n",
  bigint: "i",
  boolean: "b",
};

/**
 * A key as a string, the same for equal keys and different for different
 * ones: each part is its type's letter and its text, `Uint8Array` bytes
 * as numbers. Short: one is kept for every watched key.
 */
export function keyId(key: KvKey): string {
  return JSON.stringify(
    key.map((part) =>
      part instanceof Uint8Array
        ? `u${part.join(",")}`
        : `${TAGS[typeof part]}${String(part)}`
    ),
  );
}
