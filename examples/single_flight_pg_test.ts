// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The PostgreSQL examples, run as a user runs them on a throwaway server:
 * the quick-start twice in a row, and `single_flight_pg.ts` as it is
 * deployed, two `deno serve` processes on one database with requests
 * spread over both, bounded in number. Skipped, saying so, where no PostgreSQL server binaries are found
 * (`PG_REQUIRED=1` makes that a failure, as in CI).
 */
import { assert, assertEquals } from "@std/assert";
import { findPostgres, startPostgres } from "../tests/pg_server.ts";

const found = await findPostgres();
if ("missing" in found) {
  if (Deno.env.get("PG_REQUIRED") === "1") {
    throw new Error(`PG_REQUIRED=1, but ${found.missing}`);
  }
  console.warn(`PostgreSQL example test skipped: ${found.missing}`);
}

/** Flights, and requests per flight (`FLIGHTS`, `REQUESTS` for a load run). */
const FLIGHTS = Number(Deno.env.get("FLIGHTS") ?? 4);
const REQUESTS = Number(Deno.env.get("REQUESTS") ?? 40);

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A `deno serve` of the example; resolves once it listens. */
async function serve(url: string) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      `--config=${new URL("../deno.json", import.meta.url).pathname}`,
      "--no-lock",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      "--host=127.0.0.1",
      `--port=${port}`,
      new URL("./single_flight_pg.ts", import.meta.url).pathname,
    ],
    env: { DATABASE_URL: url, UPSTREAM_MS: "300", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  const reader = stderr.getReader();
  let text = "";
  while (!text.includes("Listening on")) {
    const { done, value } = await reader.read();
    assert(!done, `deno serve exited: ${text}`);
    text += value;
  }
  const rest = (async () => {
    while (!(await reader.read()).done) { /* drained */ }
  })();
  return {
    port,
    /** Stops it; what it printed (a line per upstream call). */
    async stop(): Promise<string> {
      child.kill("SIGTERM");
      await child.status;
      await rest;
      return await stdout;
    },
  };
}

Deno.test({
  name:
    "single_flight_pg: two processes on one database make one upstream call per flight",
  ignore: "missing" in found,
  async fn() {
    const db = await startPostgres((found as { bin: string }).bin);
    try {
      const servers = [await serve(db.url), await serve(db.url)];
      const times: number[] = [];
      let lines: string[] = [];
      try {
        const started = performance.now();
        for (let flight = 0; flight < FLIGHTS; flight++) {
          const key = `report${flight}`;
          const responses = await Promise.all(
            Array.from({ length: REQUESTS }, async (_, i) => {
              const start = performance.now();
              const response = await fetch(
                `http://127.0.0.1:${servers[i % 2]!.port}/${key}`,
              );
              const row = `${response.status} ${await response.text()}`;
              times.push(performance.now() - start);
              return row;
            }),
          );
          assertEquals(new Set(responses), new Set([`200 computed ${key}\n`]));
        }
        const elapsed = performance.now() - started;
        times.sort((a, b) => a - b);
        console.log(
          `${FLIGHTS * REQUESTS} requests over 2 processes in ${
            Math.round(elapsed)
          } ms: latency p50 ${Math.round(times[times.length >> 1]!)} ms, p99 ${
            Math.round(times[Math.floor(times.length * 0.99)]!)
          } ms (upstream 300 ms)`,
        );
      } finally {
        for (const server of servers) {
          lines = lines.concat((await server.stop()).trim().split("\n"));
        }
      }
      // One upstream call per flight, across both processes.
      assertEquals(
        lines.filter((line) => line.startsWith("upstream")).sort(),
        Array.from({ length: FLIGHTS }, (_, i) => `upstream report${i}`)
          .sort(),
      );
    } finally {
      db.stopSync();
    }
  },
});

Deno.test({
  name: "examples/pg_quickstart.ts runs as is, twice in a row",
  ignore: "missing" in found,
  async fn() {
    const db = await startPostgres((found as { bin: string }).bin);
    try {
      for (let run = 0; run < 2; run++) {
        const { code, stdout, stderr } = await new Deno.Command(
          Deno.execPath(),
          {
            args: [
              "run",
              `--config=${new URL("../deno.json", import.meta.url).pathname}`,
              "--no-lock",
              "--allow-net=127.0.0.1",
              "--allow-env",
              "--allow-read",
              new URL("./pg_quickstart.ts", import.meta.url).pathname,
            ],
            env: { DATABASE_URL: db.url, NO_COLOR: "1" },
            stdout: "piped",
            stderr: "piped",
          },
        ).output();
        assertEquals(code, 0, new TextDecoder().decode(stderr));
        assertEquals(new TextDecoder().decode(stdout), "hello, machines\n");
      }
    } finally {
      db.stopSync();
    }
  },
});
