// Copyright 2026 the @seed/event authors. MIT license.
// The smoke checks in workerd, plus the checks that matter on Workers: one
// Event shared by several requests, as in the single-flight pattern.
import * as mod from "./event.mjs";
import { checks } from "./smoke.mjs";

const { Event } = mod;
/** Shared by every request this isolate serves. */
let shared = new Event();

/** How a request's wait ended: the value, or the error's name. */
async function waitOn(options) {
  try {
    return `value:${await shared.wait(options)}`;
  } catch (error) {
    return `error:${error.name}`;
  }
}

/** Checks that need two requests: each SELF.fetch() is a request of its own. */
const requestChecks = [
  ...[["timeout", "a timeout"], ["signal", "AbortSignal.timeout()"]].map((
    [param, what],
  ) => [
    `${what} in a later request fires after the first request ended`,
    async (env) => {
      shared = new Event();
      const first = env.SELF.fetch(`http://x/wait?${param}=20`);
      const second = env.SELF.fetch(`http://x/wait?${param}=200`);
      const results = await Promise.all(
        [first, second].map((r) => r.then((response) => response.text())),
      );
      if (results.join() !== "error:TimeoutError,error:TimeoutError") {
        throw new Error(`got ${results}`);
      }
    },
  ]),
  ["a send() from another request reaches the waiter", async (env) => {
    shared = new Event();
    const waiting = env.SELF.fetch("http://x/wait?timeout=10000");
    // Let the wait start before the send.
    while (shared.waiting === 0) await new Promise((r) => setTimeout(r, 1));
    await env.SELF.fetch("http://x/send");
    const result = await (await waiting).text();
    if (result !== "value:sent") throw new Error(`got ${result}`);
  }],
];

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/send") {
      shared.send("sent");
      return new Response("ok");
    }
    const timeout = url.searchParams.get("timeout");
    const signal = url.searchParams.get("signal");
    return new Response(
      await waitOn(
        timeout !== null
          ? { timeout: Number(timeout) }
          : { signal: AbortSignal.timeout(Number(signal)) },
      ),
    );
  },

  async test(_controller, env) {
    let passed = 0;
    let failed = 0;
    const all = [
      ...checks.map(([name, fn]) => [name, () => fn(mod)]),
      ...requestChecks.map(([name, fn]) => [name, () => fn(env)]),
    ];
    for (const [name, fn] of all) {
      try {
        await fn();
        passed++;
        console.log(`ok - ${name}`);
      } catch (error) {
        failed++;
        console.log(`not ok - ${name}\n  ${error?.stack ?? error}`);
      }
    }
    console.log(`workerd: ${passed} passed, ${failed} failed`);
    if (failed > 0) throw new Error(`${failed} failed`);
  },
};
