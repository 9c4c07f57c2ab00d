// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Single flight for a whole Deno Deploy app: concurrent requests for one key,
 * in any isolate of any region, share one upstream computation. The
 * in-memory version (`single_flight.ts`) coalesces per isolate only, so ten
 * isolates still make ten upstream calls; this one coordinates them on Deno
 * KV, which Deploy shares between an app's isolates.
 *
 * - Each flight is a {@linkcode KvEvent} of its own, `["flights", key, id]`;
 *   `["flight", key]` points at the current one, with a lease.
 * - A request that finds the current flight still in the air (not sent, its
 *   lease alive) waits on it, with its own `request.signal` and timeout.
 * - A request that finds it over (sent), or finds none, starts the next one
 *   with one atomic commit on the pointer: exactly one request per flight
 *   wins it and calls upstream; the others that raced read again and join.
 * - A failed computation is sent as an exception: its waiters get 502, and
 *   the next request finds that flight over and starts another.
 * - A flight whose caller died stays in the air only until its lease ends;
 *   then the next request starts another.
 * - A client that goes away stops only its own wait.
 *
 * Serve it locally (one process) with:
 *
 *     deno serve --unstable-kv --unstable-no-legacy-abort examples/single_flight_kv.ts
 *
 * @module
 */
import { KvEvent, type KvHandle } from "@seed/event/kv";

/** The options of {@linkcode createHandler}. */
export interface SingleFlightKvOptions {
  /**
   * How long one request waits for the flight before 504 Gateway Timeout.
   *
   * @default {5000}
   */
  timeout?: number;
  /**
   * How long a flight may stay in the air: longer than the upstream call,
   * so that a flight whose caller died is replaced.
   *
   * @default {30000}
   */
  lease?: number;
  /**
   * How often waiters read the flight, for the sends `watch()` misses
   * (other processes on one local KV file); on Deploy, watch() sees them.
   *
   * @default {1000}
   */
  pollInterval?: number;
}

/**
 * Creates a handler that coalesces concurrent requests for the same path,
 * across every isolate and process that shares `kv`, onto one call of
 * `upstream`.
 *
 * @param kv The app's Deno KV database, or a `PostgresStore`
 * (`single_flight_pg.ts`).
 * @param upstream Computes the body for a key (the path without its "/").
 * @param options The timeout, the flight's lease and the poll interval.
 * @returns The request handler.
 */
export function createHandler(
  kv: KvHandle,
  upstream: (key: string) => Promise<string>,
  options: SingleFlightKvOptions = {},
): (request: Request) => Promise<Response> {
  const { timeout = 5000, lease = 30_000, pollInterval = 1000 } = options;

  const open = (key: string, id: number) =>
    new KvEvent<string>(kv, ["flights", key, id], {
      expireIn: lease + timeout,
      pollInterval,
    });

  /**
   * The flight to wait on: the current one if it is in the air, or a new
   * one this request starts (and then flies).
   */
  async function board(key: string): Promise<KvEvent<string>> {
    const pointer = ["flight", key];
    for (;;) {
      const current = await unlocked(() => kv.get(pointer));
      const air = current.value as { id: number; until: number } | null;
      if (air !== null) {
        const flight = open(key, air.id);
        if (air.until > Date.now() && !(await flight.ready())) {
          return flight; // in the air: join it
        }
        await flight[Symbol.asyncDispose]();
      }
      const id = (air?.id ?? 0) + 1;
      const { ok } = await unlocked(() =>
        kv.atomic().check(current)
          .set(pointer, { id, until: Date.now() + lease }, {
            expireIn: lease + timeout,
          })
          .commit()
      );
      if (!ok) continue; // another request started one: read again
      const flight = open(key, id);
      upstream(key).then(
        (body) => flight.send(body),
        (error) =>
          flight.sendException(
            new Error(error instanceof Error ? error.message : String(error)),
          ),
      ).catch(() => {}); // a flight whose lease passed may be sent by now
      return flight;
    }
  }

  return async function handler(request: Request): Promise<Response> {
    const key = new URL(request.url).pathname.slice(1);
    await using flight = await board(key);
    try {
      return new Response(
        await flight.wait({ signal: request.signal, timeout }),
      );
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") {
        return new Response("upstream timed out\n", { status: 504 });
      }
      if (request.signal.aborted) {
        return new Response(null, { status: 499 }); // the client is gone
      }
      const message = error instanceof Error ? error.message : String(error);
      return new Response(`upstream failed: ${message}\n`, { status: 502 });
    }
  };
}

/**
 * Runs a KV call again while another process holds the lock of a local
 * SQLite file ("database is locked"); Deploy's KV never says so. KvEvent
 * does this for its own calls.
 *
 * @typeParam R What the call gives.
 * @param call A call into KV.
 * @returns What it gave, once it was not locked out.
 */
export async function unlocked<R>(call: () => Promise<R>): Promise<R> {
  for (let tries = 0;; tries++) {
    try {
      return await call();
    } catch (error) {
      const locked = error instanceof TypeError &&
        /database is locked/i.test(error.message);
      if (!locked || tries >= 200) throw error;
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(2 ** tries, 50))
    );
  }
}

/** A stand-in for a slow upstream service: one second per call. */
async function slowUpstream(key: string): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return `computed ${key} at ${new Date().toISOString()}\n`;
}

let handling: Promise<(request: Request) => Promise<Response>> | undefined;

/**
 * What `deno serve` and Deno Deploy pick up. It opens the app's KV on the
 * first request, not on import, so that tests can import this module.
 */
export default {
  async fetch(request: Request): Promise<Response> {
    handling ??= Deno.openKv().then((kv) => createHandler(kv, slowUpstream));
    return (await handling)(request);
  },
};
