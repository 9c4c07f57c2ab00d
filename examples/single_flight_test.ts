// Copyright 2026 the @seed/event authors. MIT license.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { Event } from "@seed/event";
import { createHandler, type SingleFlightOptions } from "./single_flight.ts";

/** An upstream that counts its calls and finishes when released. */
function gatedUpstream() {
  let gate = new Event();
  const calls: string[] = [];
  const finished: string[] = [];
  return {
    calls,
    finished,
    upstream: async (key: string) => {
      calls.push(key);
      await gate.wait();
      finished.push(key);
      if (key.startsWith("fail")) throw new Error(`no ${key} today`);
      return `body of ${key} #${calls.length}`;
    },
    release: () => {
      gate.send();
      gate = new Event();
    },
  };
}

/** Serves the handler on an ephemeral port of 127.0.0.1. */
function serve(
  upstream: (key: string) => Promise<string>,
  options?: SingleFlightOptions,
) {
  const handler = createHandler(upstream, options);
  let arrived = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      arrived++;
      return handler(request);
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    server,
    url: (key: string) => `${base}/${key}`,
    /** Resolves once `n` requests in all have reached the handler. */
    async arrivals(n: number) {
      while (arrived < n) await new Promise((r) => setTimeout(r, 5));
    },
  };
}

async function text(response: Promise<Response>): Promise<[number, string]> {
  const res = await response;
  return [res.status, await res.text()];
}

Deno.test("single flight: 200 concurrent requests share one upstream call", async () => {
  const { calls, upstream, release } = gatedUpstream();
  const { server, url, arrivals } = serve(upstream);
  try {
    const responses = Array.from({ length: 200 }, () => text(fetch(url("a"))));
    await arrivals(200);
    release();
    const results = await Promise.all(responses);
    assertEquals(calls, ["a"]);
    assertEquals(new Set(results.map(([, body]) => body)).size, 1);
    for (const result of results) assertEquals(result, [200, "body of a #1"]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("single flight: an upstream failure reaches every waiter, the next request retries", async () => {
  const { calls, upstream, release } = gatedUpstream();
  const { server, url, arrivals } = serve(upstream);
  try {
    const failing = Array.from({ length: 5 }, () => text(fetch(url("fail"))));
    await arrivals(5);
    release();
    for (const result of await Promise.all(failing)) {
      assertEquals(result, [502, "upstream failed: no fail today\n"]);
    }
    assertEquals(calls, ["fail"]);
    // The failed flight left the map: the next request calls upstream again.
    const retry = text(fetch(url("fail-then-ok")));
    await arrivals(6);
    release();
    assertEquals((await retry)[0], 502);
    assertEquals(calls, ["fail", "fail-then-ok"]);
    const again = text(fetch(url("ok")));
    await arrivals(7);
    release();
    assertEquals(await again, [200, "body of ok #3"]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("single flight: a client that disconnects leaves the others waiting", async () => {
  const { calls, upstream, release } = gatedUpstream();
  const { server, url, arrivals } = serve(upstream);
  try {
    const quitter = new AbortController();
    const quitting = fetch(url("b"), { signal: quitter.signal });
    const staying = Array.from({ length: 3 }, () => text(fetch(url("b"))));
    await arrivals(4);
    quitter.abort();
    await assertRejects(() => quitting);
    release();
    for (const result of await Promise.all(staying)) {
      assertEquals(result, [200, "body of b #1"]);
    }
    assertEquals(calls, ["b"]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("single flight: a waiter that times out gets 504, the work goes on", async () => {
  const { calls, finished, upstream, release } = gatedUpstream();
  const { server, url } = serve(upstream, { timeout: 30 });
  try {
    assertEquals(await text(fetch(url("slow"))), [504, "upstream timed out\n"]);
    assertEquals(calls, ["slow"]);
    assertEquals(finished, []);
    // Nobody waits any more, yet the upstream work is not cancelled.
    release();
    while (finished.length === 0) await new Promise((r) => setTimeout(r, 1));
    assertEquals(finished, ["slow"]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("single flight: the documented deno serve command serves one server", async () => {
  // The command in the example's header, on a free port of 127.0.0.1.
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      "--unstable-no-legacy-abort",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      new URL("./single_flight.ts", import.meta.url).pathname,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
  await using child = command.spawn();
  // Bounded: a server that never listens is killed, which ends its output.
  const deadline = setTimeout(() => child.kill(), 10_000);
  const stdout = new Response(child.stdout).text();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  let base: string | undefined;
  while (base === undefined) {
    const { value, done } = await reader.read();
    if (done) break;
    printed += value;
    base = printed.match(/Listening on (http:\/\/127\.0\.0\.1:\d+)\//)?.[1];
  }
  assert(base !== undefined, `not listening: ${printed}`);
  const responses = await Promise.all(
    Array.from({ length: 200 }, () => text(fetch(`${base}/k`))),
  );
  for (const result of responses) {
    assertEquals(result, [200, "computed k (upstream call #1)\n"]);
  }
  clearTimeout(deadline);
  child.kill();
  await child.status;
  // Drain what is left: one server listened, and nothing warned.
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    printed += value;
  }
  assertEquals(
    printed.trim(),
    `deno serve: Listening on ${base}/`,
    "one server, no warning",
  );
  assertEquals(await stdout, "");
});
