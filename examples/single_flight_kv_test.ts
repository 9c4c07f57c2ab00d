// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The single-flight example on a real KV file: in one process, and across
 * several processes that share the file as Deploy's isolates share KV.
 */
import { assertEquals } from "@std/assert";
import { Event } from "@seed/event";
import { createHandler } from "./single_flight_kv.ts";
import { kvProcess } from "../tests/kv_process.ts";

async function kvFile(): Promise<
  AsyncDisposable & { path: string; kv: Deno.Kv }
> {
  const dir = await Deno.makeTempDir({ prefix: "single_flight_kv_" });
  const path = `${dir}/kv.sqlite3`;
  const kv = await Deno.openKv(path);
  return {
    path,
    kv,
    async [Symbol.asyncDispose]() {
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** An upstream that counts its calls and finishes when released. */
function gatedUpstream() {
  let gate = new Event();
  const calls: string[] = [];
  return {
    calls,
    upstream: async (key: string) => {
      calls.push(key);
      await gate.wait();
      if (key.startsWith("fail")) throw new Error(`no ${key} today`);
      return `body of ${key} #${calls.length}`;
    },
    release: () => {
      gate.send();
      gate = new Event();
    },
  };
}

Deno.test("single_flight_kv coalesces concurrent requests onto one upstream call", async () => {
  await using file = await kvFile();
  const { calls, upstream, release } = gatedUpstream();
  const handler = createHandler(file.kv, upstream, { pollInterval: 10 });
  const responses = Array.from(
    { length: 20 },
    () => handler(new Request("http://app/home")),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  const bodies = await Promise.all(
    responses.map(async (r) => (await r).text()),
  );
  assertEquals(bodies, Array(20).fill("body of home #1"));
  assertEquals(calls, ["home"]);
  // The flight is over: the next request makes a new one.
  const next = handler(new Request("http://app/home"));
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  assertEquals(await (await next).text(), "body of home #2");
});

Deno.test("single_flight_kv retries a failed computation with the next caller", async () => {
  await using file = await kvFile();
  const { calls, upstream, release } = gatedUpstream();
  const handler = createHandler(file.kv, upstream, { pollInterval: 10 });
  const failed = [
    handler(new Request("http://app/fail")),
    handler(new Request("http://app/fail")),
  ];
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  for (const response of await Promise.all(failed)) {
    assertEquals(response.status, 502);
    assertEquals(await response.text(), "upstream failed: no fail today\n");
  }
  const retried = handler(new Request("http://app/fail"));
  await new Promise((resolve) => setTimeout(resolve, 50));
  release();
  assertEquals((await retried).status, 502);
  assertEquals(calls, ["fail", "fail"], "the next caller tried again");
});

Deno.test("single_flight_kv stops only the wait of a client that goes away", async () => {
  await using file = await kvFile();
  const { calls, upstream, release } = gatedUpstream();
  const handler = createHandler(file.kv, upstream, { pollInterval: 10 });
  const controller = new AbortController();
  const leaving = handler(
    new Request("http://app/home", { signal: controller.signal }),
  );
  const staying = handler(new Request("http://app/home"));
  await new Promise((resolve) => setTimeout(resolve, 50));
  controller.abort();
  assertEquals((await leaving).status, 499);
  release();
  assertEquals(await (await staying).text(), "body of home #1");
  assertEquals(calls, ["home"]);
});

Deno.test("single_flight_kv makes one upstream call for 100 requests across 4 processes", async () => {
  await using file = await kvFile();
  const processes = 4;
  const children = Array.from(
    { length: processes },
    () =>
      kvProcess("flight", file.path, "25", String(processes), "500")
        .output(),
  );
  const rows: { status: number; body: string }[] = [];
  for (const { code, stdout, stderr } of await Promise.all(children)) {
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    for (const line of new TextDecoder().decode(stdout).trim().split("\n")) {
      rows.push(JSON.parse(line));
    }
  }
  assertEquals(rows.length, 100);
  assertEquals(
    new Set(rows.map((row) => `${row.status} ${row.body}`)),
    new Set(["200 body of home"]),
  );
  const calls = await file.kv.get<Deno.KvU64>(["upstream calls"]);
  assertEquals(calls.value?.value, 1n, "one upstream call in all");
});
