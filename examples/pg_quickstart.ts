// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The README's PostgreSQL quick-start, as is:
 * `DATABASE_URL=postgres://... deno run --allow-net --allow-env
 * examples/pg_quickstart.ts`. It runs any number of times in a row, as
 * `kv_quickstart.ts` does; `single_flight_pg_test.ts` runs it twice.
 *
 * @module
 */
// Inline, so that a copy runs as is in a project that has not added it.
// deno-lint-ignore no-import-prefix
import postgres from "npm:postgres@^3.4.9";
import { KvEvent } from "@seed/event/kv";
import { PostgresStore } from "@seed/event/postgres";

const sql = postgres(Deno.env.get("DATABASE_URL")!, { fetch_types: false });
const store = new PostgresStore(sql); // table seed_event, made on first use
{
  await using evt = new KvEvent<string>(store, ["quickstart"], {
    expireIn: 60_000, // state kept a minute
  });
  if (await evt.ready()) await evt.reset(); // sent by an earlier run

  const waiting = evt.wait({ timeout: 5_000 }); // on any machine
  await evt.send("hello, machines"); // exactly one send per generation
  console.log(await waiting); // "hello, machines"
}
await store.close();
await sql.end();
