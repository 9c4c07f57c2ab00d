// Copyright 2026 the @seed/event authors. MIT license.
/**
 * A process of the PostgreSQL tests, in Deno (on the source) or Node (on
 * the bundle, with postgres.js from tests/runtimes/node_modules):
 * `<runtime> tests/runtimes/pg_process.mjs <role> <url> ...`. It prints one
 * JSON line per result on stdout.
 *
 * - `race <url> <id> <generations> <processes>`: (table `race_barrier`
 *   made by the test) for each generation, waits
 *   on the event, races a send of its own id, records who won and what it
 *   was woken with, and moves on once every process has its value; the
 *   winner resets.
 * - `wait <url> <key part>`: waits once (30 s at most); prints `ready` once
 *   its first read is done, then what it was woken with.
 * - `send <url> <key part> <what>`: sends a value or an exception of a
 *   kind (`value`, `errors`) and prints what the send did.
 * - `history <url> <id> <rounds> <processes> <seed>`: the rounds of
 *   tests/kv_history.ts under faults around the store from the seed (in
 *   Node, from the bundle of it that `HISTORY_BUNDLE` names); its history,
 *   an operation a line.
 *
 * @module
 */
const deno = typeof Deno !== "undefined";
const args = deno ? Deno.args : process.argv.slice(2);
const { KvEvent, EventStateError } = await import(
  deno ? "../../kv.ts" : "../../dist/kv.mjs"
);
const { PostgresStore } = await import(
  deno ? "../../postgres.ts" : "../../dist/postgres.mjs"
);
const postgres = (await import(deno ? "npm:postgres@^3.4.9" : "postgres"))
  .default;

const out = (line) =>
  console.log(
    JSON.stringify(line, (_, value) =>
      typeof value === "bigint"
        ? `${value}n`
        : value instanceof Map
        ? { Map: [...value] }
        : value),
  );
const runtime = deno ? "deno" : "node";

/** A postgres.js client with no reads of the environment. */
function client(url, options = {}) {
  return postgres(url, {
    onnotice: () => {},
    pass: "trust",
    max: 4,
    // As docs/postgres.md advises: postgres.js 3.4 fetches array types on
    // each new connection without handling a drop in the middle, an
    // unhandled rejection that ends the process. The store needs none.
    fetch_types: false,
    ...options,
  });
}

/** What an outcome looks like in a line: values as they are, errors whole. */
function describe(error) {
  if (!(error instanceof Error) && !(error instanceof DOMException)) {
    return { thrown: error };
  }
  return {
    class: error.constructor.name,
    name: error.name,
    message: error.message,
    cause: error.cause === undefined ? undefined : describe(error.cause),
    errors: error.errors?.map(describe),
    same: error.errors?.length >= 2
      ? error.errors[0] === error.errors[1]
      : undefined,
  };
}

/** Counts this process in at `name`. */
async function arrive(sql, name) {
  await sql`INSERT INTO race_barrier VALUES (${name}, 1)
    ON CONFLICT (name) DO UPDATE SET n = race_barrier.n + 1`;
}

/** Polls `done` every 5 ms; throws after 30 s, so none polls forever. */
async function until(what, done) {
  const deadline = performance.now() + 30_000;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function main() {
  const [role, url, ...rest] = args;
  const sql = client(url);
  const store = new PostgresStore(sql);
  try {
    if (role === "race") {
      const [id, generations, processes] = [
        rest[0],
        Number(rest[1]),
        Number(rest[2]),
      ];
      const evt = new KvEvent(store, ["race"], { pollInterval: 50 });
      for (let generation = 0; generation < generations; generation++) {
        // The generation begins once the previous winner reset.
        await until(
          `generation ${generation}`,
          async () =>
            ((await store.get(["race", "v1"])).value?.generation ?? 0) >=
              generation,
        );
        const waiting = evt.wait({ timeout: 30_000 });
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
        let won = false;
        try {
          await evt.send(`${runtime} ${id}:${generation}`);
          won = true;
        } catch (error) {
          if (!(error instanceof EventStateError)) throw error;
        }
        out({ generation, won, value: await waiting });
        await arrive(sql, `done ${generation}`);
        if (won) {
          // Every process has its value: then the next generation.
          await until(
            `every value of ${generation}`,
            async () =>
              (await sql`SELECT n FROM race_barrier WHERE name = ${`done ${generation}`}`)[
                0
              ].n >= processes,
          );
          await evt.reset();
        }
      }
      await evt[Symbol.asyncDispose]();
    } else if (role === "wait") {
      const evt = new KvEvent(store, [rest[0]]);
      const waiting = evt.wait({ timeout: 30_000 });
      await evt.wait({ timeout: 0 }).catch(() => {});
      out({ ready: true, runtime });
      try {
        out({ value: await waiting });
      } catch (error) {
        out({ error: describe(error) });
      }
      await evt[Symbol.asyncDispose]();
    } else if (role === "send") {
      const evt = new KvEvent(store, [rest[0]]);
      if (rest[1] === "errors") {
        const quota = new RangeError("quota", {
          cause: new TypeError("bytes"),
        });
        const shared = new DOMException("took too long", "TimeoutError");
        await evt.sendException(
          new AggregateError([shared, shared, quota], "all failed"),
        );
      } else {
        await evt.send({
          from: runtime,
          n: 42n,
          when: new Date(0),
          map: new Map([[1, "one"]]),
        });
      }
      out({ sent: true, runtime });
      await evt[Symbol.asyncDispose]();
    } else if (role === "history") {
      // Node runs the history bundled by the test (HISTORY_BUNDLE, a URL).
      const { runHistory } = await import(
        deno ? "../kv_history.ts" : process.env.HISTORY_BUNDLE
      );
      const [id, rounds, processes, seed] = rest.map(Number);
      for (const op of await runHistory(store, id, rounds, processes, seed)) {
        out(op);
      }
    } else {
      throw new Error(`unknown role ${role}`);
    }
  } finally {
    await store.close();
    await sql.end({ timeout: 1 });
  }
}

await main();
if (args[0] === "history") {
  // Under the history's faults, a connection of postgres.js may be waiting
  // to reconnect when sql.end() is called, and connects afterwards: its
  // socket then keeps the process alive (porsager/postgres#1097, #1022).
  // The store itself holds nothing after close(): the in-process tests,
  // with Deno's leak sanitizers on, check that.
  if (deno) Deno.exit(0);
  // Node writes to a full pipe later: exit once every line is out (a
  // history of large values was cut mid-line).
  await new Promise((resolve) => process.stdout.write("", resolve));
  process.exit(0);
}
