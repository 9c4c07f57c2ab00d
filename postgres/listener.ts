// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The PostgreSQL store's `watch()`: one `LISTEN` per store, on the client's
 * listening connection, shared by every open stream, and taken back when
 * the last one closes. A stream reads its keys once the listen is
 * established, again after each notification naming one of them, and
 * again each time the client listens anew after a dropped connection
 * (notifications are lost while it is down: listen, then read).
 *
 * @module
 */
import type { KvEntryMaybe, KvKey } from "../kv/protocol.ts";

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
  /** The open streams. */
  readonly #streams: Set<Stream> = new Set();
  /** The listen, while any stream is open. */
  #listen: Listen | undefined = undefined;
  /** Set once closed: what every stream, and every later one, errors with. */
  #closed: unknown = undefined;

  /**
   * @param client The client to listen on.
   * @param channel The channel commits notify.
   * @param read Reads keys at one point in time.
   */
  constructor(
    client: Listening,
    channel: string,
    read: (keys: readonly KvKey[]) => Promise<KvEntryMaybe[]>,
  ) {
    this.#client = client;
    this.#channel = channel;
    this.#read = read;
  }

  /**
   * A stream of frames for `keys`, whose commits notify one of `payloads`
   * (or `"*"`, for any key).
   */
  watch(
    keys: readonly KvKey[],
    payloads: Set<string>,
  ): ReadableStream<KvEntryMaybe[]> {
    let stream!: Stream;
    return new ReadableStream<KvEntryMaybe[]>({
      start: (controller) => {
        stream = new Stream(keys, payloads, controller);
        if (this.#closed !== undefined) return controller.error(this.#closed);
        this.#streams.add(stream);
        const listen = this.#listen ??= this.#start();
        if (listen.listening) this.#readFor(stream);
      },
      cancel: () => this.#drop(stream),
    }, { highWaterMark: 1 });
  }

  /** Ends every stream with `error`, and every later one. */
  close(error: unknown): Promise<void> {
    this.#closed ??= error;
    const listen = this.#listen;
    for (const stream of [...this.#streams]) this.#fail(stream, error);
    return listen?.stopped ?? Promise.resolve();
  }

  #start(): Listen {
    const listen: Listen = new Listen(this.#client, this.#channel, {
      listened: () => {
        for (const stream of this.#streams) this.#readFor(stream);
      },
      notified: (payload) => {
        for (const stream of this.#streams) {
          if (payload === "*" || stream.payloads.has(payload)) {
            this.#readFor(stream);
          }
        }
      },
      failed: (error) => {
        // The next stream listens anew; these end, and are reopened.
        if (this.#listen !== listen) return;
        this.#listen = undefined;
        for (const stream of [...this.#streams]) this.#fail(stream, error);
      },
    });
    return listen;
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
      stream.controller.enqueue(entries);
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
    }
  }
}

/** One open `watch()` stream. */
class Stream {
  readonly keys: readonly KvKey[];
  readonly payloads: Set<string>;
  readonly controller: ReadableStreamDefaultController<KvEntryMaybe[]>;
  /** A read is under way; `again`: one more after it. */
  reading = false;
  again = false;

  constructor(
    keys: readonly KvKey[],
    payloads: Set<string>,
    controller: ReadableStreamDefaultController<KvEntryMaybe[]>,
  ) {
    this.keys = keys;
    this.payloads = payloads;
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
