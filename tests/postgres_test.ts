// Copyright 2026 the @seed/event authors. MIT license.
/**
 * `KvEvent` on PostgreSQL (`postgres.ts`), against a real server the suite
 * starts itself (tests/pg_server.ts): one throwaway server for the file,
 * stopped and removed at its end. Without the server's binaries the tests
 * are skipped, saying so and how to enable them; with `PG_REQUIRED=1` (CI)
 * a skip fails instead.
 *
 * Processes: Deno on the source, and Node on the bundle when
 * tests/runtimes/node_modules has postgres.js (`npm install --prefix
 * tests/runtimes`); CI requires both.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { EventStateError } from "../event.ts";
import { KvEvent } from "../kv.ts";
import { EventStore } from "../kv/protocol.ts";
import { PostgresStore } from "../postgres.ts";
import { settles } from "./_helpers.ts";
import { findPostgres, type Server, startPostgres } from "./pg_server.ts";
import { type Op, problems, truth } from "./kv_history.ts";

const found = await findPostgres();
const required = Deno.env.get("PG_REQUIRED") === "1";
if ("missing" in found) {
  if (required) throw new Error(`PG_REQUIRED=1, but ${found.missing}`);
  console.warn(`PostgreSQL tests skipped: ${found.missing}`);
}
const ignore = "missing" in found;

const root = new URL("../", import.meta.url);
const nodeReady = await (async () => {
  try {
    await Deno.stat(new URL("tests/runtimes/node_modules/postgres", root));
    await Deno.stat(new URL("dist/postgres.mjs", root));
    const { success } = await new Deno.Command("node", {
      args: ["--version"],
      stdout: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
})();
if (!ignore && !nodeReady) {
  if (required) {
    throw new Error(
      "PG_REQUIRED=1, but Node cannot join: it needs node, dist/postgres.mjs and tests/runtimes/node_modules/postgres",
    );
  }
  console.warn(
    "PostgreSQL tests: processes in Deno only; for Node too, run npm install --prefix tests/runtimes",
  );
}

/**
 * One server for the whole file, started by the first test that needs it,
 * stopped and removed when the file's tests end (every client is ended by
 * the test that made it).
 */
let server: Server | undefined;
globalThis.addEventListener("unload", () => server?.stopSync());
async function database(): Promise<Server> {
  return server ??= await startPostgres((found as { bin: string }).bin);
}

/** A fresh table name for each test: tests never see each other's rows. */
let tables = 0;
function tableName(): string {
  return `t${tables++}_${crypto.randomUUID().slice(0, 8)}`;
}

/** A store on its own client, closed with the client on dispose. */
async function openStore(
  table = tableName(),
  options?: Parameters<Server["client"]>[0],
) {
  const db = await database();
  const sql = db.client(options);
  const store = new PostgresStore(sql, { table });
  return {
    sql,
    store,
    table,
    async [Symbol.asyncDispose]() {
      await store.close();
      await sql.end({ timeout: 1 });
    },
  };
}

/** tests/kv_history.ts bundled for Node, once a test needs it (a URL). */
let historyBundle: string | undefined;

/** The command of a process of tests/runtimes/pg_process.mjs. */
function pgProcess(
  runtime: "deno" | "node",
  ...args: string[]
): Deno.Command {
  const script = new URL("tests/runtimes/pg_process.mjs", root).pathname;
  return runtime === "deno"
    ? new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${new URL("deno.json", root).pathname}`,
        "--no-lock",
        "--allow-net=127.0.0.1",
        "--allow-read",
        "--allow-env",
        script,
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command("node", {
      args: [script, ...args],
      env: historyBundle === undefined ? {} : { HISTORY_BUNDLE: historyBundle },
      stdout: "piped",
      stderr: "piped",
    });
}

/** Runs a process to its end; its lines, parsed. */
async function lines(child: Deno.ChildProcess): Promise<unknown[]> {
  const { code, stdout, stderr } = await child.output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return parse(new TextDecoder().decode(stdout));
}

function parse(text: string): unknown[] {
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

/**
 * A process read as it runs: `first()` is its first line, once printed;
 * `end()` every line, once it exited (with code 0, or the test fails).
 */
function running(child: Deno.ChildProcess) {
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  return {
    async first(): Promise<unknown> {
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`exited first: ${await stderr}`);
        text += value;
      }
      return JSON.parse(text.slice(0, text.indexOf("\n")));
    },
    async end(): Promise<unknown[]> {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const { code } = await child.status;
      assertEquals(code, 0, await stderr);
      return parse(text);
    },
  };
}

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore, fn });

test("PostgresStore: KvEvent sends, wakes, resets and answers every query", async () => {
  await using a = await openStore();
  // A client that fetches no array types, as docs/postgres.md advises:
  // the store passes none.
  await using b = await openStore(a.table, { fetch_types: false });
  await using sender = new KvEvent<string>(a.store, ["deploys", 42]);
  await using waiter = new KvEvent<string>(b.store, ["deploys", 42]);
  assertEquals(await waiter.ready(), false);
  const woken = waiter.wait({ timeout: 5_000 });
  await waiter.wait({ timeout: 0 }).catch(() => {}); // its first read done
  await sender.send("ready");
  assertEquals(await woken, "ready");
  assertEquals(await waiter.ready(), true);
  assertEquals(await waiter.poll(), "ready");
  await assertRejects(() => waiter.send("again"), EventStateError);
  await waiter.reset();
  assertEquals(await sender.ready(), false);
  // Handled at once: it may reject before sendException() resolves.
  const next = sender.wait({ timeout: 5_000 }).then(
    () => undefined,
    (error) => error,
  );
  await waiter.sendException(new RangeError("no"));
  const error = await next;
  assertInstanceOf(error, RangeError);
  assertEquals(error.message, "no");
});

test("PostgresStore prepares its statements as its client does: not with prepare: false (PgBouncer)", async () => {
  for (const prepare of [true, false]) {
    await using db = await openStore(tableName(), { prepare });
    await db.store.setup();
    // The real client, its calls recorded.
    const asked = new Set<unknown>();
    const store = new PostgresStore({
      unsafe: (query, params, options) => {
        if (params !== undefined) asked.add(options?.prepare);
        return db.sql.unsafe(query, params, options);
      },
      listen: (...args) => db.sql.listen(...args),
      options: db.sql.options,
    }, { table: db.table });
    await using sender = new KvEvent<string>(store, ["prepared"]);
    await using waiter = new KvEvent<string>(db.store, ["prepared"]);
    const woken = waiter.wait({ timeout: 5_000 });
    await sender.send("sent");
    assertEquals(await woken, "sent");
    await sender.reset();
    assertEquals(await sender.ready(), false);
    assertEquals([...asked], [prepare]);
    await store.close();
  }
});

test('PostgresStore keeps keys apart as Deno KV does: 1, 1n, "1", true, bytes, -0 and 0', async () => {
  await using db = await openStore();
  const parts = [1, 1n, "1", true, new Uint8Array([1]), -0, 0, NaN, 1.5];
  // And strings that an array literal, which carries keys to the server,
  // must escape or could misread.
  const texts = [
    "",
    "NULL",
    '"',
    "\\",
    '\\"',
    "{a,b}",
    " x ",
    "\u00e9\u{1f600}",
  ];
  const all = [...parts, ...texts];
  for (const [i, part] of all.entries()) {
    await db.store.atomic().set(["k", part], i).commit();
  }
  const keys = all.map((part) => ["k", part]);
  const entries = await db.store.getMany(keys);
  // As a real Deno KV answers (checked): nine keys, -0 and 0 apart.
  assertEquals(entries.map((entry) => entry.value), all.map((_, i) => i));
  assertEquals(entries.map((entry) => entry.key), keys);
  // Checked in one commit: every key's stamp is read back.
  const check = db.store.atomic();
  for (const entry of entries) check.check(entry);
  assertEquals(await check.set(["k", "after"], 0).commit(), { ok: true });
  assertThrows(
    () => db.store.atomic().set(["k", Symbol("s")], 1),
    TypeError,
    "Symbol(s)",
  );
});

test("PostgresStore reads and commits by key: no statement scans the whole table", async () => {
  // One connection, so that its statistics can be flushed on demand.
  await using db = await openStore(tableName(), { max: 1 });
  const { sql, store } = db;
  for (let i = 0; i < 3_000; i += 500) {
    const fill = store.atomic();
    for (let j = i; j < i + 500; j++) fill.set(["fill", j], j);
    assertEquals(await fill.commit(), { ok: true });
  }
  const scans = async () => {
    await sql`SELECT pg_stat_force_next_flush()`;
    await sql`SELECT 1`; // the flush comes at the end of a transaction
    const [row] = await db.sql.unsafe(
      "SELECT seq_scan::int AS seq, idx_scan::int AS idx FROM pg_stat_user_tables WHERE relid = $1::regclass",
      [db.table],
    );
    return { seq: Number(row!.seq), idx: Number(row!.idx) };
  };
  const before = await scans();
  for (let i = 0; i < 20; i++) {
    await using evt = new KvEvent<number>(store, ["scan", i]);
    await evt.send(i); // a commit checked against an absent head
    assertEquals(await evt.poll(), i); // a read
    await evt.reset(); // a commit checked against a present one
  }
  const after = await scans();
  assertEquals(after.seq - before.seq, 0, "sequential scans of the table");
  assert(after.idx - before.idx >= 60, `${after.idx - before.idx} index scans`);
});

test("PostgresStore notifies once per commit, with what it wrote: a watch of its keys reads nothing more", async () => {
  await using db = await openStore();
  const { sql, store, table } = db;
  const payloads: string[] = [];
  const heard = await sql.listen(`seed_event:${table}`, (payload) => {
    payloads.push(payload);
  });
  try {
    let reads = 0;
    const getMany = store.getMany.bind(store);
    store.getMany = (keys) => {
      reads++;
      return getMany(keys);
    };
    const stream = store.watch([["b"], ["c"]]);
    const reader = stream.getReader();
    const first = await reader.read();
    assertEquals(first.value?.map((entry) => entry.value), [null, null]);
    assertEquals(reads, 1);
    const written = await store.atomic()
      .set(["a"], 1).set(["b"], { two: 2 }).set(["c"], "3").commit();
    assertEquals(written, { ok: true });
    // One frame for the commit, with both keys, and no read.
    const frame = (await reader.read()).value!;
    assertEquals(frame.map((entry) => entry.value), [{ two: 2 }, "3"]);
    assertEquals(
      frame.map((entry) => entry.versionstamp),
      (await store.getMany([["b"], ["c"]])).map((entry) => entry.versionstamp),
    );
    assertEquals(reads, 2); // the check just above
    // Heard in commit order: once a later commit's notification is here,
    // every one of the first commit's is.
    await store.atomic().set(["z"], 0).commit();
    const marked = () =>
      payloads.some((payload) =>
        JSON.parse(payload).e?.some(([key]: string[]) => key === '["z"]')
      );
    for (let tries = 0; !marked() && tries < 400; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert(marked(), `the later commit not heard: ${payloads.join("\n")}`);
    assertEquals(payloads.length, 2, payloads.join("\n"));
    await reader.cancel();
  } finally {
    await heard.unlisten();
  }
});

test("PostgresStore: a notification that is not the store's, or garbled, or bare keys, makes a watch read", async () => {
  await using db = await openStore();
  const { sql, store, table } = db;
  let reads = 0;
  const getMany = store.getMany.bind(store);
  store.getMany = (keys) => {
    reads++;
    return getMany(keys);
  };
  const reader = store.watch([["b"]]).getReader();
  try {
    await reader.read();
    assertEquals(await store.atomic().set(["b"], 1).commit(), { ok: true });
    const heard = (await reader.read()).value![0]!;
    assertEquals([heard.value, reads], [1, 1]);
    const payloads = [
      "hello",
      "null",
      '{"s":"999999999","e":[["[\\"b\\"]","zz"]]}', // not hex
      '{"s":"999999999","e":[["[\\"b\\"]","00"]]}', // not V8's format
      '{"s":999999999,"e":[["[\\"b\\"]","ff0d"]]}', // not the store's shape
      '{"k":["[\\"b\\"]"]}', // keys only, as for a long value
      "*",
    ];
    for (const [i, payload] of payloads.entries()) {
      await sql`SELECT pg_notify(${`seed_event:${table}`}, ${payload})`;
      const read = await settles(reader.read(), payload);
      assert(read.status === "fulfilled");
      const entry = read.value.value![0]!;
      assertEquals([entry.value, entry.versionstamp], [1, heard.versionstamp]);
      assertEquals(reads, 2 + i, payload);
    }
  } finally {
    await reader.cancel();
  }
});

test("PostgresStore commits exactly one of racing sends, whose checks saw an absent key", async () => {
  await using db = await openStore();
  // Twenty commits that each check the key is absent, at once, on their
  // own connections: exactly one is written.
  const others = await Promise.all(
    Array.from({ length: 4 }, () => openStore(db.table)),
  );
  try {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        others[i % 4]!.store.atomic()
          .check({ key: ["once"], versionstamp: null })
          .set(["once"], i)
          .commit()),
    );
    assertEquals(results.filter((result) => result.ok).length, 1);
    const winner = results.findIndex((result) => result.ok);
    assertEquals((await db.store.get(["once"])).value, winner);
  } finally {
    for (const other of others) await other[Symbol.asyncDispose]();
  }
});

test("PostgresStore: one send per generation among 8 processes, Deno and Node mixed", async () => {
  const db = await database();
  const table = "seed_event"; // the processes' default
  await db.admin(
    `DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS race_barrier;
     CREATE TABLE race_barrier (name text PRIMARY KEY, n int)`,
  );
  const generations = 4;
  const runtimes = Array.from(
    { length: 8 },
    (_, i) => nodeReady && i % 2 === 1 ? "node" as const : "deno" as const,
  );
  const results = await Promise.all(runtimes.map((runtime, id) =>
    lines(
      pgProcess(
        runtime,
        "race",
        db.url,
        String(id),
        String(generations),
        String(runtimes.length),
      ).spawn(),
    )
  )) as { generation: number; won: boolean; value: string }[][];
  for (let generation = 0; generation < generations; generation++) {
    const mine = results.map((lines) => lines[generation]!);
    assertEquals(
      mine.filter((line) => line.won).length,
      1,
      `generation ${generation}`,
    );
    const winner = mine.find((line) => line.won)!;
    // Every process was woken with the winner's value.
    assertEquals(
      new Set(mine.map((line) => line.value)),
      new Set([winner.value]),
    );
    assert(winner.value.endsWith(`:${generation}`));
  }
  const senders = new Set(
    results.flat().filter((line) => line.won).map((line) =>
      line.value.split(" ")[0]
    ),
  );
  assert(senders.size >= 1);
});

test("PostgresStore carries values and exceptions whole between processes", async () => {
  const db = await database();
  const runtimes = nodeReady ? ["deno", "node"] as const : ["deno"] as const;
  for (const from of runtimes) {
    for (const to of runtimes) {
      for (const what of ["value", "errors"]) {
        const key = `carry-${from}-${to}-${what}-${crypto.randomUUID()}`;
        const waiter = running(pgProcess(to, "wait", db.url, key).spawn());
        await waiter.first(); // its first read is done: a send must wake it
        const sent = await lines(
          pgProcess(from, "send", db.url, key, what).spawn(),
        );
        assertEquals(sent, [{ sent: true, runtime: from }]);
        const got = await waiter.end() as Record<string, unknown>[];
        if (what === "value") {
          assertEquals(got[1], {
            value: {
              from,
              n: "42n",
              when: "1970-01-01T00:00:00.000Z",
              map: { Map: [[1, "one"]] },
            },
          }, `${from} -> ${to}`);
        } else {
          assertEquals(got[1]!.error, {
            class: "AggregateError",
            name: "AggregateError",
            message: "all failed",
            errors: [
              {
                class: "DOMException",
                name: "TimeoutError",
                message: "took too long",
              },
              {
                class: "DOMException",
                name: "TimeoutError",
                message: "took too long",
              },
              {
                class: "RangeError",
                name: "RangeError",
                message: "quota",
                cause: {
                  class: "TypeError",
                  name: "TypeError",
                  message: "bytes",
                },
              },
            ],
            same: true,
          }, `${from} -> ${to}`);
        }
      }
    }
  }
});

/**
 * The pid of the backend listening for a store's table (not `not`), asked
 * at most `most` times, 10 ms apart.
 */
async function listener(
  db: Server,
  table: string,
  not?: number,
  most = 200,
): Promise<number> {
  for (let tries = 0; tries < most; tries++) {
    const rows = await db.admin(
      `SELECT pid FROM pg_stat_activity WHERE query ILIKE 'listen%${table}%'`,
    );
    if (rows.length === 1 && rows[0]!.pid !== not) {
      return rows[0]!.pid as number;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no listener on ${table}`);
}

test("PostgresStore wakes a waiter whose listener was killed while the send was made", async () => {
  const db = await database();
  for (let round = 0; round < 5; round++) {
    await using a = await openStore();
    await using b = await openStore(a.table);
    // No poll to fall back on: only the read after listening again can
    // find a send made while the listener was down.
    await using waiter = new KvEvent<number>(a.store, ["gap"], {
      pollInterval: 600_000,
    });
    await using sender = new KvEvent<number>(b.store, ["gap"]);
    const woken = waiter.wait({ timeout: 10_000 });
    await waiter.wait({ timeout: 0 }).catch(() => {});
    const pid = await listener(db, a.table);
    await Promise.all([
      db.admin(`SELECT pg_terminate_backend(${pid})`),
      sender.send(round),
    ]);
    assertEquals(await woken, round);
    // The notification may have come before the kill: then postgres.js may
    // still be listening again (or the waiter's stream, closed, may have
    // taken the listen back first). Ending its client while it reconnects
    // leaves the reconnect running (porsager/postgres#1097): give it a
    // moment to listen again.
    await listener(db, a.table, pid, 50).catch(() => {});
  }
});

test("PostgresStore wakes a waiter across a server restart", async () => {
  const db = await database();
  await using a = await openStore();
  await using b = await openStore(a.table);
  await using waiter = new KvEvent<string>(a.store, ["restart"], {
    pollInterval: 600_000,
  });
  const woken = waiter.wait({ timeout: 20_000 });
  await waiter.wait({ timeout: 0 }).catch(() => {});
  await db.restart();
  await using sender = new KvEvent<string>(b.store, ["restart"]);
  await sender.send("after");
  assertEquals(await woken, "after");
});

test("PostgresStore: an event past expireIn reads as fresh, and a later store sweeps its rows", async () => {
  await using db = await openStore();
  await using evt = new KvEvent<string>(db.store, ["short"], { expireIn: 300 });
  await evt.send("gone");
  await evt.reset(); // files generation 0's outcome
  await evt.send("soon gone");
  assertEquals(await evt.ready(), true);
  await new Promise((resolve) => setTimeout(resolve, 400));
  assertEquals(await evt.ready(), false);
  assertEquals(
    await evt.wait({ timeout: 0 }).catch((e) => e.name),
    "TimeoutError",
  );
  const [before] = await db.sql.unsafe(
    `SELECT count(*)::int AS count FROM "${db.table}"`,
  );
  // The head, and generation 0's outcome (a small value rides in both).
  assertEquals(before!.count, 2, "expired rows stay until a sweep");
  await using later = await openStore(db.table);
  await later.store.atomic().set(["other"], 1).commit(); // its first commit sweeps
  await new Promise((resolve) => setTimeout(resolve, 100));
  const [after] = await db.sql.unsafe(
    `SELECT count(*)::int AS count FROM "${db.table}"`,
  );
  assertEquals(after!.count, 1);
});

test("PostgresStore: a large value expired before the outcome a later reset filed reads as expired, not as null", async () => {
  await using db = await openStore();
  const events = new EventStore(db.store, ["late"], 400, 5_000);
  await using evt = new KvEvent<string>(db.store, ["late"], { expireIn: 400 });
  await evt.send("x".repeat(2_000)); // under a key of its own, until t + 400
  await new Promise((resolve) => setTimeout(resolve, 250));
  await evt.reset(); // files generation 0's outcome, until t + 650
  assertEquals(
    await events.outcome(0),
    { ok: true, value: "x".repeat(2_000) },
  );
  await new Promise((resolve) => setTimeout(resolve, 250));
  assertEquals(await events.outcome(0), null);
});

test("PostgresStore: close() and an ended client reject the waiters and every later call", async () => {
  {
    await using db = await openStore();
    await using evt = new KvEvent<string>(db.store, ["closing"]);
    const waiting = evt.wait({ timeout: 10_000 }).catch((error) => error);
    await evt.wait({ timeout: 0 }).catch(() => {});
    await db.store.close();
    assertEquals(
      (await waiting).message,
      'Cannot wait for KvEvent "closing": its database was closed before it was sent',
    );
    const error = await db.store.get(["x"]).catch((error) => error);
    assertEquals([error.name, error.message], [
      "BadResource",
      "The PostgreSQL store was closed",
    ]);
  }
  {
    const db = await database();
    const sql = db.client();
    const store = new PostgresStore(sql, { table: tableName() });
    await using evt = new KvEvent<string>(store, ["ended"]);
    const waiting = evt.wait({ timeout: 10_000 }).catch((error) => error);
    await evt.wait({ timeout: 0 }).catch(() => {});
    await sql.end({ timeout: 1 });
    assertEquals(
      (await waiting).message,
      'Cannot wait for KvEvent "ended": its database was closed before it was sent',
    );
    await store.close();
  }
});

test("PostgresStore refuses what it cannot store, naming PostgreSQL, and the event stays unsent", async () => {
  await using db = await openStore();
  await using evt = new KvEvent<unknown>(db.store, ["big"]);
  await assertRejects(
    () => evt.send("x".repeat(70_000)),
    RangeError,
    "over PostgreSQL's limit of 65536",
  );
  await assertRejects(
    () => evt.send({ f() {} }),
    TypeError,
    "Cannot send: PostgreSQL stores structured clones, and this cannot be cloned",
  );
  assertEquals(await evt.ready(), false);
  await evt.send("small");
  assertEquals(await evt.wait(), "small");
});

test("PostgresStore: bad arguments name the value; a table of another layout is refused", async () => {
  const db = await database();
  assertThrows(
    () => new PostgresStore({} as never),
    TypeError,
    "sql must be a postgres.js client",
  );
  const sql = db.client();
  try {
    for (const table of ["Bad", "a;drop", "", "a.b.c"]) {
      assertThrows(
        () => new PostgresStore(sql, { table }),
        TypeError,
        JSON.stringify(table),
      );
    }
    const table = tableName();
    await sql.unsafe(`CREATE TABLE ${table} (id int)`);
    const store = new PostgresStore(sql, { table });
    await assertRejects(
      () => store.setup(),
      Error,
      `Cannot use table ${table}`,
    );
    await store.close();
    // Many stores making one table at once: one makes it, all use it.
    const shared = tableName();
    const stores = Array.from(
      { length: 6 },
      () => new PostgresStore(sql, { table: shared }),
    );
    await Promise.all(stores.map((store) => store.setup()));
    for (const store of stores) await store.close();
  } finally {
    await sql.end({ timeout: 1 });
  }
});

test("PostgresStore: close() waits for a listen still being taken back", async () => {
  await using db = await openStore();
  // The real client, its unlisten slowed: a wait that ends at once (the
  // event was sent) starts a listen and takes it back.
  const unlistened: boolean[] = [];
  const store = new PostgresStore({
    unsafe: (query, params, options) => db.sql.unsafe(query, params, options),
    listen: async (channel, onnotify, onlisten) => {
      const handle = await db.sql.listen(channel, onnotify, onlisten);
      const i = unlistened.push(false) - 1;
      return {
        unlisten: async () => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          await handle.unlisten();
          unlistened[i] = true;
        },
      };
    },
    options: db.sql.options,
  }, { table: db.table });
  await using evt = new KvEvent<string>(store, ["churn"]);
  await evt.send("sent");
  assertEquals(await evt.wait(), "sent");
  await new Promise((resolve) => setTimeout(resolve, 50)); // listening
  await store.close();
  // Else the client's end finds the channel listened, and postgres.js
  // listens again after it (a connection and a timer left behind).
  assertEquals(unlistened, [true]);
});

test("PostgresStore: a statement that hangs is given up after callTimeout; a lost commit reply still sends once", async () => {
  await using db = await openStore();
  await db.store.setup();
  // The real client, wrapped: its first read (after the store's setup)
  // sleeps on the server for an hour; a read bounded by callTimeout is
  // tried again, and answers.
  let hang = 1;
  let hung: Promise<never[]> | undefined;
  const slow = new PostgresStore({
    unsafe: (query, params) =>
      query.startsWith("SELECT") && hang-- > 0
        ? (hung = db.sql.unsafe("SELECT pg_sleep(3600)").then(() => []))
        : db.sql.unsafe(query, params),
    listen: (...args) => db.sql.listen(...args),
  }, { table: db.table });
  await using evt = new KvEvent<string>(slow, ["slow"], { callTimeout: 100 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve("no answer in 10 s"), 10_000);
  });
  try {
    assertEquals(await Promise.race([evt.ready(), deadline]), false);
  } finally {
    clearTimeout(timer);
  }
  assertEquals(hang, -1, "the hanging statement was tried");
  await db.sql.unsafe(
    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3600)'",
  );
  // The cancelled statement has answered before the store closes.
  await hung?.catch(() => {});
  await slow.close();
  // A commit that is written, and whose reply is lost (once).
  let lose = 0;
  const lossy = new PostgresStore({
    unsafe: async (query, params) => {
      const rows = await db.sql.unsafe(query, params);
      if (
        query.startsWith("SELECT") && query.includes("_commit") && lose-- > 0
      ) {
        throw new Error("read ECONNRESET");
      }
      return rows;
    },
    listen: (...args) => db.sql.listen(...args),
  }, { table: db.table });
  await lossy.setup();
  lose = 1;
  await using once = new KvEvent<string>(lossy, ["lossy"]);
  await once.send("written");
  assertEquals(lose, 0, "the reply was lost");
  assertEquals(await once.wait(), "written");
  await assertRejects(() => once.send("again"), EventStateError);
  await lossy.close();
});

const HISTORY_PROCESSES = 8;
const HISTORY_ROUNDS = Deno.env.get("STRESS") === "deep" ? 120 : 16;

test("PostgresStore keeps every waiter's contract across 8 processes, Deno and Node, under faults (history check)", async () => {
  const seed = Number(
    Deno.env.get("FC_SEED") ?? Math.floor(Math.random() * 2 ** 31),
  );
  const db = await database();
  await db.admin("DROP TABLE IF EXISTS seed_event");
  const dir = await Deno.makeTempDir();
  if (nodeReady) {
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform=node",
        `--output=${dir}/history.mjs`,
        new URL("tests/kv_history.ts", root).pathname,
      ],
      stderr: "piped",
    }).output();
    assert(success, new TextDecoder().decode(stderr));
    historyBundle = new URL(`file://${dir}/history.mjs`).href;
  }
  const children = Array.from(
    { length: HISTORY_PROCESSES },
    (_, id) =>
      pgProcess(
        nodeReady && id % 2 === 1 ? "node" : "deno",
        "history",
        db.url,
        String(id),
        String(HISTORY_ROUNDS),
        String(HISTORY_PROCESSES),
        String(seed + id),
      ).spawn(),
  );
  // Faults from the server's side while they run: backends terminated
  // (the listeners' and the pools'), and one restart of the server.
  const roll = (() => {
    let state = seed >>> 0 || 1;
    return () => (state = (state * 48271) % 0x7fffffff) / 0x7fffffff;
  })();
  let running = true;
  const killed = { listeners: 0, others: 0, restarts: 0 };
  const faults = (async () => {
    let sql = db.client({ max: 1 });
    try {
      for (let tick = 0; running; tick++) {
        await new Promise((resolve) => setTimeout(resolve, 100 + roll() * 200));
        if (!running) break;
        try {
          if (tick === 6) {
            await sql.end({ timeout: 1 });
            await db.restart();
            killed.restarts++;
            sql = db.client({ max: 1 }); // the ended one asks nothing more
            continue;
          }
          const rows = await sql.unsafe(
            `SELECT pid, query ILIKE 'listen%' AS listener FROM pg_stat_activity
              WHERE datname = 'postgres' AND pid <> pg_backend_pid()
                AND backend_type = 'client backend'`,
          );
          // Listeners and the others by turns: both kinds are hit.
          const kind = rows.filter((row) => row.listener === (tick % 2 === 0));
          const row = kind[Math.floor(roll() * kind.length)];
          if (row === undefined) continue;
          await sql.unsafe(`SELECT pg_terminate_backend(${row.pid})`);
          if (row.listener) killed.listeners++;
          else killed.others++;
        } catch {
          // The fault client's own connection went with a restart.
        }
      }
    } finally {
      await sql.end({ timeout: 1 });
    }
  })();
  let histories: Op[][];
  try {
    histories = await Promise.all(children.map(async (child) => {
      const { code, stdout, stderr } = await child.output();
      assertEquals(
        code,
        0,
        `seed ${seed}: ${new TextDecoder().decode(stderr)}`,
      );
      return parse(new TextDecoder().decode(stdout)) as Op[];
    }));
  } finally {
    running = false;
    await faults;
    historyBundle = undefined;
    await Deno.remove(dir, { recursive: true });
  }
  const ops = histories.flat();
  await using check = await openStore("seed_event");
  assertEquals(
    problems(ops, await truth(check.store)),
    [],
    `seed ${seed} (replay with FC_SEED=${seed})`,
  );
  assert(
    killed.restarts === 1 && killed.listeners > 0 && killed.others > 0,
    JSON.stringify(killed),
  );
  console.log(
    `seed ${seed}: ${ops.length} operations, faults ${JSON.stringify(killed)}`,
  );
});

test("PostgresStore sends on a key whose notification JSON escapes to past NOTIFY's limit", async () => {
  // 2,000 quotes: the key's text is about 4 KB, its notification (JSON
  // escapes each escaped quote again) about 8 KB, past pg_notify's limit.
  await using a = await openStore();
  await using b = await openStore(a.table);
  const key = ["quotes", '"'.repeat(2_000)];
  await using sender = new KvEvent<string>(a.store, key);
  await using waiter = new KvEvent<string>(b.store, key, {
    pollInterval: 600_000, // woken by the notification ("*"), not a poll
  });
  const woken = waiter.wait({ timeout: 5_000 }).catch((error) => error);
  await waiter.wait({ timeout: 0 }).catch(() => {});
  await sender.send("sent");
  assertEquals(await woken, "sent");
});
