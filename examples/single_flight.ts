// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Request coalescing ("single flight") for an edge function: concurrent
 * requests for the same key share one upstream computation.
 *
 * - The first request for a key starts the upstream work and parks an
 *   {@linkcode Event} in a map; every request for that key, the first
 *   included, waits on it with its own `request.signal` and timeout.
 * - When the work ends the event is taken out of the map, then sent the body
 *   (or, if the work failed, the error): every waiter gets it, and the next
 *   request starts afresh, so a failure is retried by the next caller.
 * - A client that disconnects stops only its own wait; the work and the
 *   other waiters go on.
 *
 * Its default export is the handler that `deno serve` and Deno Deploy pick
 * up. Serve it locally on port 8000 with:
 *
 *     deno serve --unstable-no-legacy-abort examples/single_flight.ts
 *
 * `--unstable-no-legacy-abort` (or `"unstable": ["no-legacy-abort"]` in
 * `deno.json`, as here) makes `request.signal` abort only when the client
 * goes away, not after every response, as Deno's docs advise: the waiter
 * below relies on it meaning "the client is gone".
 *
 * @module
 */
import { Event } from "@seed/event";

/** The options of {@linkcode createHandler}. */
export interface SingleFlightOptions {
  /**
   * How long one request waits for the shared result before giving up with
   * 504 Gateway Timeout. The upstream work itself goes on for the others.
   *
   * @default {5000}
   */
  timeout?: number;
}

/**
 * Creates a `Deno.serve` handler that coalesces concurrent requests for the
 * same path onto one call of `upstream`.
 *
 * @param upstream Computes the body for a key (the path without its "/").
 * @param options The per-request timeout.
 * @returns The request handler.
 */
export function createHandler(
  upstream: (key: string) => Promise<string>,
  options: SingleFlightOptions = {},
): (request: Request) => Promise<Response> {
  const { timeout = 5000 } = options;
  const inFlight = new Map<string, Event<string>>();

  function start(key: string): Event<string> {
    const flight = new Event<string>();
    inFlight.set(key, flight);
    upstream(key).then(
      (body) => {
        // Out of the map first: a request arriving from now on starts anew.
        inFlight.delete(key);
        flight.send(body);
      },
      (error) => {
        inFlight.delete(key);
        flight.sendException(error);
      },
    );
    return flight;
  }

  return async function handler(request: Request): Promise<Response> {
    const key = new URL(request.url).pathname.slice(1);
    const flight = inFlight.get(key) ?? start(key);
    try {
      const body = await flight.wait({ signal: request.signal, timeout });
      return new Response(body);
    } catch (error) {
      if (error instanceof DOMException && error.name === "TimeoutError") {
        return new Response("upstream timed out\n", { status: 504 });
      }
      if (request.signal.aborted) {
        // The client is gone; nobody reads this response.
        return new Response(null, { status: 499 });
      }
      const message = error instanceof Error ? error.message : String(error);
      return new Response(`upstream failed: ${message}\n`, { status: 502 });
    }
  };
}

let upstreamCalls = 0;

/** A stand-in for a slow upstream service: one second per call. */
async function slowUpstream(key: string): Promise<string> {
  const call = ++upstreamCalls;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return `computed ${key} (upstream call #${call})\n`;
}

/** The handler `deno serve` and Deno Deploy pick up. */
export default { fetch: createHandler(slowUpstream) };
