// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Run by `tests/edges_test.ts` as `deno run --v8-flags=--expose-gc
 * tests/deep_thenable.ts <depth>`, under `deno run`'s stack (shallower than
 * `deno test`'s): sends a chain of thenables `<depth>` deep, each made by
 * the one before (so nothing else holds them), waits for it plainly and
 * with a timeout, and prints what it saw as one JSON line.
 *
 * @module
 */
import { Event } from "../mod.ts";

const depth = Number(Deno.args[0]);
const gc = (globalThis as { gc?: () => void }).gc!;

/** A thenable that resolves with the next link, the last with "end". */
function link(left: number): PromiseLike<string> {
  return {
    then(resolve: (value: unknown) => void) {
      resolve(left === 0 ? "end" : link(left - 1));
      return undefined as never;
    },
  } as PromiseLike<string>;
}

gc();
const before = Deno.memoryUsage().heapUsed;
const evt = new Event<PromiseLike<string>>();
const early = evt.wait();
evt.send(link(depth));
// Once the whole chain is adopted (a macrotask later: every promise job
// ran), a plain wait and a timed one must not walk it, nor throw.
await new Promise((resolve) => setTimeout(resolve, 0));
let threw: string | undefined;
let plain: Promise<string> | undefined;
let timed: Promise<string> | undefined;
try {
  plain = evt.wait();
  timed = evt.wait({ timeout: 60_000 });
} catch (error) {
  threw = String(error);
}
const values = await Promise.all([early, plain, timed]);
gc();
const kept = (Deno.memoryUsage().heapUsed - before) / depth;
console.log(JSON.stringify({ threw, values, keptPerLink: kept }));
