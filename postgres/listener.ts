// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The PostgreSQL store's `watch()`: one `LISTEN` per store, on the client's
 * listening connection, shared by every open stream, and taken back when
 * the last one closes. A stream reads its keys once the listen is
 * established, and again each time the client listens anew after a dropped
 * connection (notifications are lost while it is down: listen, then read).
 * A notification carries the entry a commit wrote: a stream applies it to
 * its last frame, with no read, if it is newer than what the stream holds
 * (a key's stamps grow in commit order: its commits hold its lock). One
 * that names its key only, or `*`, or comes while a read is under way,
 * makes the stream read.
 *
 * @module
 */
import type { KvEntryMaybe, KvKey } from "../kv/protocol.ts";

/** An entry a notification carried, decoded: its value and versionstamp. */
export type Decode = (
  stamp: string,
  hex: string,
) => { value: unknown; versionstamp: string };

/** What the listener needs of its client: postgres.js `listen()`. */
export interface Listening {
  listen(
    channel: string,
    onnotify: (payload: string) => void,
    onlisten?: () => void,
  ): PromiseLike<{ unlisten(): PromiseLike<unknown> }>;
}

/** The streams of one store and its one listen. */
export class Listener {
  readonly #client: Listening;
  readonly #channel: string;
  /** Reads keys, as the store does. */
  readonly #read: (keys: readonly KvKey[]) => Promise<KvEntryMaybe[]>;
  readonly #decode: Decode;
  /** The open streams. */
  readonly #streams: Set<Stream> = new Set();
  /** The listen, while any stream is open. */
  #listen: Listen | undefined = undefined;
  /** Listens being taken back: `close()` waits for them too. */
  readonly #stopping: Set<Promise<void>> = new Set();
  /** Set once closed: what every stream, and every later one, errors with. */
  #closed: unknown = undefined;

  /**
   * @param client The client to listen on.
   * @param channel The channel commits notify.
   * @param read Reads keys at one point in time.
   * @param decode Decodes the entry a notification carries.
   */
  constructor(
    client: Listening,
    channel: string,
    read: (keys: readonly KvKey[]) => Promise<KvEntryMaybe[]>,
    decode: Decode,
  ) {
    this.#client = client;
    this.#channel = channel;
    this.#read = read;
    this.#decode = decode;
  }

  /**
   * A stream of frames for `keys`, whose texts (as the table keys them)
   * are `texts`.
   */
  watch(
    keys: readonly KvKey[],
    texts: readonly string[],
  ): ReadableStream<KvEntryMaybe[]> {
    let stream!: Stream;
    return new ReadableStream<KvEntryMaybe[]>({
      start: (controller) => {
        stream = new Stream(keys, texts, controller);
        if (this.#closed !== undefined) return controller.error(this.#closed);
        this.#streams.add(stream);
        const listen = this.#listen ??= this.#start();
        if (listen.listening) this.#readFor(stream);
      },
      cancel: () => this.#drop(stream),
    }, { highWaterMark: 1 });
  }

  /**
   * Ends every stream with `error`, and every later one; settles once the
   * listen is taken back (its reads are the store's statements, which the
   * store's `close()` waits for).
   */
  close(error: unknown): Promise<void> {
    this.#closed ??= error;
    for (const stream of [...this.#streams]) this.#fail(stream, error);
    // Its own listen is stopping now; one stopped before may still be.
    return Promise.all(this.#stopping).then(() => {});
  }

  #start(): Listen {
    const listen: Listen = new Listen(this.#client, this.#channel, {
      listened: () => {
        for (const stream of this.#streams) this.#readFor(stream);
      },
      notified: (payload) => this.#notified(payload),
      failed: (error) => {
        // The next stream listens anew; these end, and are reopened.
        if (this.#listen !== listen) return;
        this.#listen = undefined;
        for (const stream of [...this.#streams]) this.#fail(stream, error);
      },
    });
    return listen;
  }

  /**
   * What a notification says: the entries a commit wrote, or only their
   * keys, or `*` (any key).
   */
  #notified(payload: string): void {
    const note = parseNote(payload);
    for (const stream of this.#streams) {
      const last = stream.last;
      if (note === undefined) {
        this.#readFor(stream); // "*", or not the store's: read every stream
        continue;
      }
      if (!note.keys.some((key) => stream.texts.includes(key))) continue;
      const { written } = note;
      if (written === undefined || stream.reading || last === undefined) {
        this.#readFor(stream);
        continue;
      }
      let frame: KvEntryMaybe[] | undefined;
      try {
        for (const [key, hex] of written.entries) {
          // Decoded for each stream, as each Deno KV stream decodes its own:
          // a waiter that changes its value changes no other stream's.
          let entry: { value: unknown; versionstamp: string } | undefined;
          for (const [i, text] of stream.texts.entries()) {
            if (text !== key) continue;
            entry ??= this.#decode(written.stamp, hex);
            const held = (frame ?? last)[i]!.versionstamp;
            if (held !== null && held >= entry.versionstamp) continue;
            frame ??= [...last];
            frame[i] = { key: stream.keys[i]!, ...entry };
          }
        }
      } catch {
        this.#readFor(stream);
        continue;
      }
      if (frame !== undefined) this.#enqueue(stream, frame);
    }
  }

  #enqueue(stream: Stream, frame: KvEntryMaybe[]): void {
    stream.last = frame;
    stream.controller.enqueue(frame);
  }

  /** Reads a stream's keys, once more after the read under way if one is. */
  #readFor(stream: Stream): void {
    if (stream.reading) {
      stream.again = true;
      return;
    }
    stream.reading = true;
    this.#read(stream.keys).then((entries) => {
      stream.reading = false;
      if (!this.#streams.has(stream)) return;
      this.#enqueue(stream, entries);
      if (stream.again) {
        stream.again = false;
        this.#readFor(stream);
      }
    }, (error) => {
      stream.reading = false;
      this.#fail(stream, error);
    });
  }

  #fail(stream: Stream, error: unknown): void {
    if (!this.#streams.has(stream)) return;
    this.#drop(stream);
    stream.controller.error(error);
  }

  #drop(stream: Stream): void {
    this.#streams.delete(stream);
    if (this.#streams.size === 0 && this.#listen !== undefined) {
      const listen = this.#listen;
      this.#listen = undefined;
      listen.stop();
      // Until the client took it back: a client ended before then listens
      // again by itself (postgres.js), after its end.
      const { stopped } = listen;
      this.#stopping.add(stopped);
      stopped.then(() => this.#stopping.delete(stopped));
    }
  }
}

/**
 * A notification of the store's: the keys a commit wrote, and what it
 * wrote (the commit's stamp, each value's hex) if that fitted; `undefined`
 * for `*` or for what is not the store's.
 */
function parseNote(payload: string):
  | {
    keys: string[];
    written?: { stamp: string; entries: [key: string, hex: string][] };
  }
  | undefined {
  let note: unknown;
  try {
    note = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof note !== "object" || note === null) return undefined;
  const { s, e, k } = note as { s?: unknown; e?: unknown; k?: unknown };
  if (
    typeof s === "string" && Array.isArray(e) &&
    e.every((entry) =>
      Array.isArray(entry) && entry.length === 2 &&
      typeof entry[0] === "string" && typeof entry[1] === "string"
    )
  ) {
    return { keys: e.map(([key]) => key), written: { stamp: s, entries: e } };
  }
  if (Array.isArray(k) && k.every((key) => typeof key === "string")) {
    return { keys: k };
  }
  return undefined;
}

/** One open `watch()` stream. */
class Stream {
  readonly keys: readonly KvKey[];
  /** Each key's text, as the table keys it. */
  readonly texts: readonly string[];
  readonly controller: ReadableStreamDefaultController<KvEntryMaybe[]>;
  /** The last frame given, which notified entries update. */
  last: KvEntryMaybe[] | undefined = undefined;
  /** A read is under way; `again`: one more after it. */
  reading = false;
  again = false;

  constructor(
    keys: readonly KvKey[],
    texts: readonly string[],
    controller: ReadableStreamDefaultController<KvEntryMaybe[]>,
  ) {
    this.keys = keys;
    this.texts = texts;
    this.controller = controller;
  }
}

/** One `LISTEN`: what it tells its listener, until stopped. */
class Listen {
  /** True once established (the client listens again by itself). */
  listening = false;
  /** Settles once it was taken back, or failed. */
  readonly stopped: Promise<void>;
  #stop = false;
  #handle: { unlisten(): PromiseLike<unknown> } | undefined = undefined;
  #done!: () => void;

  constructor(
    client: Listening,
    channel: string,
    on: {
      listened(): void;
      notified(payload: string): void;
      failed(error: unknown): void;
    },
  ) {
    this.stopped = new Promise((resolve) => this.#done = resolve);
    new Promise<{ unlisten(): PromiseLike<unknown> }>((resolve) =>
      resolve(client.listen(
        channel,
        (payload) => {
          if (!this.#stop) on.notified(payload);
        },
        () => {
          if (this.#stop) return;
          this.listening = true;
          on.listened();
        },
      ))
    ).then((handle) => {
      this.#handle = handle;
      if (this.#stop) this.#unlisten();
    }, (error) => {
      this.#done();
      if (!this.#stop) on.failed(error);
    });
  }

  /** Takes it back, now or once it is established. */
  stop(): void {
    this.#stop = true;
    if (this.#handle !== undefined) this.#unlisten();
  }

  #unlisten(): void {
    const handle = this.#handle!;
    this.#handle = undefined;
    new Promise((resolve) => resolve(handle.unlisten())).then(
      () => this.#done(),
      () => this.#done(),
    );
  }
}
