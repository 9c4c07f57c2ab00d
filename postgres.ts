// Copyright 2026 the @seed/event authors. MIT license.
/**
 * `KvEvent` on PostgreSQL: a {@linkcode PostgresStore} is a database handle
 * over one table of a database you already run, so that one event is shared
 * by every process on every machine that reaches it. Pass it where
 * `KvEvent` takes a Deno KV handle; everything `KvEvent` promises holds.
 *
 * Built on the client you pass in: postgres.js (`npm:postgres`), whose
 * `listen()` listens again by itself after a dropped connection. This
 * module imports nothing at run time.
 *
 * ```ts ignore
 * import postgres from "npm:postgres@^3.4";
 * import { KvEvent } from "@seed/event/kv";
 * import { PostgresStore } from "@seed/event/postgres";
 *
 * // fetch_types: false: the store needs no array types (docs/postgres.md).
 * const sql = postgres("postgres://app@db.internal/app", {
 *   fetch_types: false,
 * });
 * const store = new PostgresStore(sql); // its table: seed_event
 * await using evt = new KvEvent<string>(store, ["deploys", "v42"]);
 * await evt.send("ready"); // exactly one send per generation, on any machine
 * console.log(await evt.wait({ timeout: 5_000 })); // "ready", on any machine
 * await store.close();
 * await sql.end();
 * ```
 *
 * @module
 */
import { deserialize, serialize } from "node:v8";
import type {
  KvAtomic,
  KvEntryMaybe,
  KvHandle,
  KvKey,
  KvKeyPart,
} from "./kv/protocol.ts";
import { Listener } from "./postgres/listener.ts";

export type { KvHandle, KvKey, KvKeyPart };

/** One row a query gives, as postgres.js gives it. */
export type PostgresRow = Record<string, unknown>;

/**
 * What the store needs of a PostgreSQL client, described by the methods it
 * calls: a postgres.js `Sql` (from `postgres()`) has them. The store never
 * ends it: it is yours.
 */
export interface PostgresClient {
  /**
   * Runs one statement with `$1`-style parameters.
   *
   * @param query The statement.
   * @param params Its parameters, all text (arrays go as JSON).
   * @param options Whether to prepare it (postgres.js keeps one prepared
   * statement per query text and connection).
   * @returns Its rows.
   */
  unsafe(
    query: string,
    params?: string[],
    options?: { prepare?: boolean },
  ): PromiseLike<PostgresRow[]>;
  /**
   * The client's options: the store prepares its statements unless
   * `prepare` is `false` (as for PgBouncer in transaction mode).
   */
  readonly options?: { readonly prepare?: boolean };
  /**
   * Listens on a channel, listening again after a dropped connection.
   *
   * @param channel The channel.
   * @param onnotify Called with each notification's payload.
   * @param onlisten Called each time the listen is (re)established.
   * @returns What stops it.
   */
  listen(
    channel: string,
    onnotify: (payload: string) => void,
    onlisten?: () => void,
  ): PromiseLike<{ unlisten(): PromiseLike<unknown> }>;
}

/** How a {@linkcode PostgresStore} is set up. */
export interface PostgresStoreOptions {
  /**
   * The table of the store's rows, made on first use if absent. A plain
   * identifier (letters, digits, `_`; optionally `schema.table`); every
   * store that shares events names the same table. Default `seed_event`.
   */
  table?: string;
}

/** The version of the table's layout this module reads and writes. */
export const SCHEMA_VERSION = 1;

/** The most bytes one value takes serialized: Deno KV's limit, kept. */
const VALUE_LIMIT = 65_536;
/**
 * A NOTIFY payload must stay under 8,000 bytes: a commit's entries ride in
 * it below this many bytes; above, only their keys, or "*" if those are
 * longer still.
 */
const PAYLOAD_LIMIT = 7_000;
/** The largest stamp a versionstamp of this store can hold (bigint's). */
const MAX_STAMP = "09223372036854775807";
/** What marks the setup's error for a table of another layout. */
const LAYOUT_HINT = "@seed/event layout";
/** How long `close()` waits at most for the statements under way. */
const CLOSE_GRACE = 1_000;
/** Expired rows are swept at most this often, by one of a store's commits. */
const SWEEP_EVERY = 60_000;

/**
 * A database handle over one PostgreSQL table, for `KvEvent`: rows keyed as
 * Deno KV keys, values serialized as Deno KV serializes them (V8's format:
 * Deno and Node processes read each other's), atomic commits checked under
 * advisory locks, and `watch()` fed by `LISTEN`/`NOTIFY` on one connection
 * per store, read again each time it is (re)established.
 *
 * Bun writes JavaScriptCore's format, which neither Deno nor Node can read:
 * a store refuses to be made there, rather than share garbage.
 */
export class PostgresStore implements KvHandle, AsyncDisposable {
  /** What errors call this database. */
  readonly storeName = "PostgreSQL";
  /** The table, as given (validated). */
  readonly table: string;
  readonly #sql: PostgresClient;
  /** Whether its statements are prepared: as the client's own are. */
  readonly #prepare: { prepare: boolean };
  /** The table, quoted for statements. */
  readonly #quoted: string;
  /** The channel its commits notify, one per table. */
  readonly #channel: string;
  /** The table made (or found) once, on first use. */
  #ready: Promise<void> | undefined = undefined;
  /** What `watch()` gives: one listen for the store's streams. */
  readonly #listener: Listener;
  #closed: Error | undefined = undefined;
  /** When the last sweep began. */
  #swept = 0;
  /** The statements under way, settled (never rejected). */
  readonly #running: Set<Promise<void>> = new Set();

  /**
   * A store on a table of the database `sql` connects to; nothing is sent
   * to the database until its first call (or `setup()`).
   *
   * @param sql A postgres.js client (`postgres(url)`), connected to the
   * database the events live in. A direct connection for the listener: a
   * pooler in transaction mode drops `LISTEN` silently.
   * @param options The table.
   * @throws {TypeError} If `sql` is no such client, the table name is not
   * a plain identifier, or the runtime's `node:v8` is not V8's (Bun).
   */
  constructor(sql: PostgresClient, options: PostgresStoreOptions = {}) {
    const client = sql as Partial<PostgresClient> | null | undefined;
    if (
      typeof client?.unsafe !== "function" ||
      typeof client.listen !== "function"
    ) {
      throw new TypeError(
        `Cannot make a PostgresStore: sql must be a postgres.js client (postgres(url)), got ${
          Object.prototype.toString.call(sql)
        }`,
      );
    }
    const { table = "seed_event" } = options;
    if (
      typeof table !== "string" ||
      !/^(?:[a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,50}$/.test(table)
    ) {
      throw new TypeError(
        `Cannot make a PostgresStore: table must be a lower-case identifier (letters, digits, _; optionally schema.table), got ${
          JSON.stringify(table) ?? String(table)
        }`,
      );
    }
    if (!isV8Format()) {
      throw new TypeError(
        "Cannot make a PostgresStore: this runtime's node:v8 does not write V8's format (Bun writes JavaScriptCore's), so Deno and Node processes could not read its values, nor it theirs",
      );
    }
    this.#sql = sql;
    this.#prepare = { prepare: sql.options?.prepare !== false };
    this.table = table;
    this.#quoted = table.split(".").map((part) => `"${part}"`).join(".");
    this.#channel = `seed_event:${table}`;
    this.#listener = new Listener(
      sql,
      this.#channel,
      (keys) => this.getMany(keys),
      (stamp, hex) => ({
        value: deserialize(hexBytes(hex)),
        versionstamp: stampText(stamp),
      }),
    );
  }

  /**
   * Makes the table if it is absent (every store does this before its first
   * statement; call it to fail early, or to make it ahead of use).
   *
   * @throws {Error} If the table holds another layout version.
   */
  setup(): Promise<void> {
    return this.#ready ??= this.#setup().catch((error) => {
      this.#ready = undefined; // tried again by the next call
      throw error;
    });
  }

  async #setup(): Promise<void> {
    // One statement, so that no client-side transaction is left to roll
    // back on a dropped connection (postgres.js then writes to a closed
    // socket, porsager/postgres#1208). Many processes may start at once:
    // the first makes the table, under a lock.
    const table = this.#quoted;
    const marker = `@seed/event schema ${SCHEMA_VERSION}`;
    try {
      await this.#sql.unsafe(`DO $setup$
        DECLARE found text;
        BEGIN
          PERFORM pg_advisory_xact_lock(hashtextextended('${this.#channel}', 0));
          IF to_regclass('${table}') IS NOT NULL THEN
            found := obj_description(to_regclass('${table}'), 'pg_class');
            IF found IS DISTINCT FROM '${marker}' THEN
              RAISE EXCEPTION '%', coalesce(found, 'another layout')
                USING HINT = '${LAYOUT_HINT}';
            END IF;
          ELSE
            CREATE TABLE ${table} (
              key text PRIMARY KEY,
              value bytea NOT NULL,
              stamp bigint NOT NULL,
              expires_at timestamptz
            );
            CREATE SEQUENCE ${this.#named("stamp")} OWNED BY ${table}.stamp;
            CREATE INDEX ON ${table} (expires_at) WHERE expires_at IS NOT NULL;
            COMMENT ON TABLE ${table} IS '${marker}';
          END IF;
          ${this.#commitFunction()}
        END $setup$`);
    } catch (error) {
      const { hint, message } = error as { hint?: unknown; message?: unknown };
      if (hint !== LAYOUT_HINT) throw error;
      throw new Error(
        `Cannot use table ${this.table}: it holds ${
          JSON.stringify(message)
        }, and this version of @seed/event reads "${marker}"`,
      );
    }
  }

  /**
   * The statement that makes the commit function: checks and writes of one
   * commit under an advisory lock per key, taken in one order (absent rows
   * cannot be locked: SELECT ... FOR UPDATE locks none). Each statement of
   * a function reads a new snapshot, so the checks see every commit made
   * before the locks were granted.
   */
  #commitFunction(): string {
    const table = this.#quoted;
    return `CREATE OR REPLACE FUNCTION ${this.#named("commit")}(
        locked text[], checked text[], stamps bigint[],
        written text[], bytes text[], lives float8[],
        channel text
      ) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $commit$
      DECLARE next bigint;
      BEGIN
        PERFORM pg_advisory_xact_lock(h) FROM (
          SELECT DISTINCT hashtextextended(k, 0) AS h
            FROM unnest(locked) AS k ORDER BY h
        ) AS locks;
        -- A lookup by key per check: a join's generic plan (the function
        -- caches it) scanned the whole table at every commit.
        IF EXISTS (
          SELECT FROM unnest(checked, stamps) AS c(k, s)
          WHERE (SELECT t.stamp FROM ${table} AS t WHERE t.key = c.k
              AND (t.expires_at IS NULL OR t.expires_at > clock_timestamp()))
            IS DISTINCT FROM c.s
        ) THEN
          RETURN false;
        END IF;
        IF cardinality(written) > 0 THEN
          next := nextval('${this.#named("stamp")}');
          INSERT INTO ${table} AS t (key, value, stamp, expires_at)
            SELECT k, decode(v, 'hex'), next,
              clock_timestamp() + e * interval '1 millisecond'
            FROM unnest(written, bytes, lives) AS w(k, v, e)
          ON CONFLICT (key) DO UPDATE SET value = excluded.value,
            stamp = excluded.stamp, expires_at = excluded.expires_at;
          -- Heard at commit, never after a rollback: one notification per
          -- commit, with the entries written, so that a listener needs no
          -- read (their keys alone if too long, else "*"). Measured as
          -- sent: JSON escapes the keys' quotes again.
          PERFORM pg_notify(channel, CASE
              WHEN octet_length(p.whole) < ${PAYLOAD_LIMIT} THEN p.whole
              WHEN octet_length(p.bare) < ${PAYLOAD_LIMIT} THEN p.bare
              ELSE '*' END)
            FROM (SELECT json_build_object('s', next::text,
                'e', json_agg(json_build_array(k, v)))::text AS whole,
              json_build_object('k', json_agg(k))::text AS bare
              FROM unnest(written, bytes) AS w(k, v)) AS p;
        END IF;
        RETURN true;
      END $commit$;`;
  }

  /** A name beside the table's: its sequence, its commit function. */
  #named(suffix: string): string {
    const parts = this.table.split(".");
    parts[parts.length - 1] += `_${suffix}`;
    return parts.map((part) => `"${part}"`).join(".");
  }
  /**
   * Reads one key.
   *
   * @param key The key.
   * @returns Its entry.
   */
  async get(key: KvKey): Promise<KvEntryMaybe> {
    return (await this.getMany([key]))[0]!;
  }

  /**
   * Reads keys at one point in time (one statement).
   *
   * @param keys The keys.
   * @returns Their entries, in order.
   */
  async getMany(keys: readonly KvKey[]): Promise<KvEntryMaybe[]> {
    const texts = keys.map(keyText);
    const rows = await this.#run((sql) =>
      sql.unsafe(
        `SELECT key, encode(value, 'hex') AS value, stamp::text AS stamp
          FROM ${this.#quoted}
          WHERE key = ANY(${array(1, "text")})
            AND (expires_at IS NULL OR expires_at > clock_timestamp())`,
        [literal(texts)],
        this.#prepare,
      )
    );
    const found = new Map(rows.map((row) => [row.key as string, row]));
    return keys.map((key, i) => {
      const row = found.get(texts[i]!);
      return row === undefined ? { key, value: null, versionstamp: null } : {
        key,
        value: deserialize(hexBytes(row.value as string)),
        versionstamp: stampText(row.stamp as string),
      };
    });
  }

  /**
   * Starts an atomic operation: checks and writes committed in one
   * transaction, under an advisory lock per key, taken in one order.
   *
   * @returns The operation.
   */
  atomic(): KvAtomic {
    const checks: { key: string; versionstamp: string | null }[] = [];
    const sets: { key: string; value: string; expireIn: number | null }[] = [];
    const operation: KvAtomic = {
      check: (...entries) => {
        for (const entry of entries) {
          checks.push({
            key: keyText(entry.key),
            versionstamp: entry.versionstamp,
          });
        }
        return operation;
      },
      set: (key, value, options) => {
        const bytes = serialize(value); // throws what cannot be serialized
        if (bytes.length > VALUE_LIMIT) {
          throw new TypeError(
            `Value too large for the PostgreSQL store (${bytes.length} bytes serialized, max ${VALUE_LIMIT})`,
          );
        }
        sets.push({
          key: keyText(key),
          value: bytesHex(bytes),
          expireIn: options?.expireIn ?? null,
        });
        return operation;
      },
      commit: () => this.#commit(checks, sets),
    };
    return operation;
  }

  async #commit(
    checks: { key: string; versionstamp: string | null }[],
    sets: { key: string; value: string; expireIn: number | null }[],
  ): Promise<{ ok: boolean }> {
    const stamps: (string | null)[] = [];
    for (const { versionstamp } of checks) {
      if (versionstamp === null) stamps.push(null);
      else if (/^\d{20}$/.test(versionstamp) && versionstamp <= MAX_STAMP) {
        stamps.push(String(BigInt(versionstamp)));
      } else return { ok: false }; // no row of this store has it
    }
    const written = new Map(sets.map((set) => [set.key, set])); // last wins
    const keys = [...new Set([...checks, ...sets].map((entry) => entry.key))];
    // One statement: a dropped connection rolls it back on the server,
    // with nothing for the client to roll back.
    const [row] = await this.#run((sql) =>
      sql.unsafe(
        `SELECT ${this.#named("commit")}(${array(1, "text")},
          ${array(2, "text")}, ${array(3, "bigint")}, ${array(4, "text")},
          ${array(5, "text")}, ${array(6, "float8")}, $7::text) AS ok`,
        [
          keys,
          checks.map((check) => check.key),
          stamps,
          [...written.keys()],
          [...written.values()].map((set) => set.value),
          [...written.values()].map((set) => set.expireIn),
          this.#channel,
        ].map((param) => typeof param === "string" ? param : literal(param)),
        this.#prepare,
      )
    );
    const ok = row?.ok === true;
    if (ok) this.#sweep();
    return { ok };
  }

  /**
   * Deletes expired rows, at most once a minute per store, in passing.
   */
  #sweep(): void {
    const now = Date.now();
    if (now - this.#swept < SWEEP_EVERY) return;
    this.#swept = now;
    this.#run((sql) =>
      sql.unsafe(
        `DELETE FROM ${this.#quoted} WHERE expires_at <= clock_timestamp()`,
      )
    ).then(undefined, () => {
      // Expired rows read as absent anyway: the next sweep takes them.
    });
  }

  /**
   * Watches keys: a frame of their entries once the store listens, then
   * one after each commit that wrote any of them, and one each time the
   * listen is established again (notifications in the gap are lost).
   *
   * @param keys The keys.
   * @returns The frames.
   */
  watch(keys: readonly KvKey[]): ReadableStream<KvEntryMaybe[]> {
    return this.#listener.watch(
      keys,
      keys.map(keyText),
    );
  }

  /**
   * A statement of the store, once its table is there; `close()` waits for
   * the statements under way.
   */
  #run<R>(call: (sql: PostgresClient) => PromiseLike<R>): Promise<R> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const run = (async () => {
      try {
        await this.setup();
        if (this.#closed !== undefined) throw this.#closed;
        return await call(this.#sql);
      } catch (error) {
        throw this.#translate(error);
      }
    })();
    const settled = run.then(() => {}, () => {});
    this.#running.add(settled);
    settled.then(() => this.#running.delete(settled));
    return run;
  }

  /**
   * What the client says about itself, in the store's words: a client
   * that was ended (`sql.end()`) closes the store.
   */
  #translate(error: unknown): unknown {
    if (this.#closed !== undefined) return this.#closed;
    if ((error as { code?: unknown } | null)?.code === "CONNECTION_ENDED") {
      this.#close(error);
      return this.#closed;
    }
    return error;
  }

  async #close(cause?: unknown): Promise<void> {
    this.#closed ??= closedError(cause);
    // Its statements finish before the client is ended, for a while:
    // postgres.js ends a connection still connecting for one badly (it
    // connects after sql.end(), porsager/postgres#1097). A statement queued
    // for a reconnect after a restart may wait many seconds: not that long.
    // So does a listen still being taken back: postgres.js would listen
    // again after the client's end.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([this.#listener.close(this.#closed), ...this.#running]),
      new Promise((resolve) => timer = setTimeout(resolve, CLOSE_GRACE)),
    ]);
    clearTimeout(timer);
  }

  /**
   * Closes the store: its watches end, and every later call throws, as a
   * closed `Deno.Kv` does, so `KvEvent`s on it reject their waiters. It
   * settles once the store's statements under way have finished and its
   * listens were taken back, or after a second if they have not (one queued
   * for a reconnect); the client stays open: end it yourself after.
   */
  close(): Promise<void> {
    return this.#close();
  }

  /** Closes the store (see {@linkcode PostgresStore.close}). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The error of every call on a closed store: a closed handle's. */
function closedError(cause: unknown): Error {
  const error = new Error(
    "The PostgreSQL store was closed",
    cause === undefined ? undefined : { cause },
  );
  // What a closed Deno.Kv throws, and what KvEvent takes as closed.
  error.name = "BadResource";
  return error;
}

/**
 * A key as the table's text key: each part tagged with its type, so that
 * `1`, `1n`, `"1"` and `true` are four keys, as on Deno KV.
 */
function keyText(key: KvKey): string {
  return JSON.stringify(key.map((part) => {
    switch (typeof part) {
      case "string":
        return part;
      case "number":
        return { n: Object.is(part, -0) ? "-0" : String(part) };
      case "bigint":
        return { i: part.toString() };
      case "boolean":
        return { b: part };
      default:
        if (part instanceof Uint8Array) return { u: bytesHex(part) };
        throw new TypeError(
          `Cannot use key part ${
            String(part)
          } on PostgreSQL: a key part is a string, number, bigint, boolean or Uint8Array`,
        );
    }
  }));
}

/**
 * Parameter `n`, an array literal in text, as an SQL array of `type`.
 * Arrays go as text, so that the store needs no array types from its
 * client: a client made with `fetch_types: false` works as well as one
 * that fetches them.
 */
function array(n: number, type: "text" | "bigint" | "float8"): string {
  return `$${n}::text::${type}[]`;
}

/**
 * An array literal (PostgreSQL's `{...}` text form): each element quoted,
 * its backslashes and quotes escaped; `null` as NULL.
 */
function literal(values: readonly (string | number | null)[]): string {
  let text = "{";
  for (const [i, value] of values.entries()) {
    if (i > 0) text += ",";
    text += value === null
      ? "NULL"
      : `"${String(value).replace(/[\\"]/g, "\\$&")}"`;
  }
  return text + "}";
}

/** A stamp as a versionstamp: fixed width, so that text order is order. */
function stampText(stamp: string): string {
  return stamp.padStart(20, "0");
}

/** Each byte's two hex digits. */
const HEX = Array.from(
  { length: 256 },
  (_, byte) => byte.toString(16).padStart(2, "0"),
);

function bytesHex(bytes: Uint8Array): string {
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += HEX[bytes[i]!];
  return hex;
}

/** Bytes from PostgreSQL's hex encoding (lower-case digits, as it writes). */
function hexBytes(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) {
    throw new TypeError(
      `Cannot decode ${JSON.stringify(hex.slice(0, 40))}: not hex`,
    );
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = digit(hex.charCodeAt(2 * i)) << 4 |
      digit(hex.charCodeAt(2 * i + 1));
  }
  return bytes;
}

/** A lower-case hex digit's value, from its character code. */
function digit(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

/** Whether `node:v8` writes V8's format: its header, then `true` as 'T'. */
function isV8Format(): boolean {
  try {
    const bytes = serialize(true);
    return bytes[0] === 0xff && bytes[bytes.length - 1] === 0x54;
  } catch {
    return false;
  }
}
