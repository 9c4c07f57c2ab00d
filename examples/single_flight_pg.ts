// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Single flight across machines on PostgreSQL: `single_flight_kv.ts`'s
 * handler, on a {@linkcode PostgresStore} instead of Deno KV. Run it on as
 * many machines as you like behind one load balancer, all on one database:
 * concurrent requests for one path, wherever they land, share one upstream
 * call.
 *
 *     DATABASE_URL=postgres://user:pass@host/db deno serve --allow-net \
 *       --allow-env --unstable-no-legacy-abort examples/single_flight_pg.ts
 *
 * The listener needs a direct connection (not a pooler in transaction mode):
 * see docs/postgres.md.
 *
 * @module
 */
// Inline, so that a copy runs as is in a project that has not added it.
// deno-lint-ignore no-import-prefix
import postgres from "npm:postgres@^3.4.9";
import { PostgresStore } from "@seed/event/postgres";
import { createHandler } from "./single_flight_kv.ts";

/**
 * A stand-in for a slow upstream service (`UPSTREAM_MS`, default one
 * second a call); it prints a line per call, which the tests count.
 */
async function slowUpstream(key: string): Promise<string> {
  console.log(`upstream ${key}`);
  const ms = Number(Deno.env.get("UPSTREAM_MS") ?? 1000);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return `computed ${key}\n`;
}

let handling: Promise<(request: Request) => Promise<Response>> | undefined;

async function open(): Promise<(request: Request) => Promise<Response>> {
  const sql = postgres(Deno.env.get("DATABASE_URL") ?? "", {
    fetch_types: false, // as docs/postgres.md advises
    onnotice: () => {},
  });
  const store = new PostgresStore(sql);
  await store.setup(); // the table, made once if absent
  // The client's connections keep the process alive: on SIGTERM (as an
  // orchestrator stops it), close the store, end the client, and exit.
  if (Deno.build.os !== "windows") {
    Deno.addSignalListener("SIGTERM", async () => {
      await store.close();
      await sql.end({ timeout: 5 });
      Deno.exit(0);
    });
  }
  // NOTIFY wakes the waiters on every machine; the poll is a safety net.
  return createHandler(store, slowUpstream, { pollInterval: 5_000 });
}

/** What `deno serve` picks up; it connects on the first request. */
export default {
  async fetch(request: Request): Promise<Response> {
    handling ??= open().catch((error) => {
      handling = undefined; // the next request tries again
      throw error;
    });
    return (await handling)(request);
  },
};
