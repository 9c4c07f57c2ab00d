// Copyright 2026 the @seed/event authors. MIT license.
/**
 * A process of the KvEvent tests: `deno run --unstable-kv tests/kv_process.ts
 * <role> <kv file> ...`. It prints one JSON line per result on stdout.
 *
 * - `race <file> <id> <generations> <processes>`: for each generation, waits
 *   on the event, races a send of its own id, records who won, and moves to
 *   the next generation once every process has its value.
 * - `wait <file> <key part> [defaults]`: waits once (polling every 5 ms, or
 *   with the default options) and prints the value.
 * - `latency <file> <rounds> [floor]`: for each round, waits on
 *   `["cross", "false", round]` (pollInterval 10 ms), or with `floor` polls
 *   `["cross", "true", round, "value"]` with a bare `get()` every 10 ms;
 *   marks itself ready, and prints when it woke
 *   (`performance.timeOrigin + performance.now()`), for `bench:kv`.
 * - `flight <file> <requests> <processes> <upstream ms>`: sends `requests`
 *   concurrent requests for one key through the single-flight example,
 *   once every process is ready; the upstream counts its calls in KV.
 * - `queries <file> <key part>`: prints what every query of the event
 *   answers (`ready()`, `hasResult()` ... `pollException()`).
 * - `history <file> <id> <rounds> <processes> <seed>`: runs the rounds of
 *   `tests/kv_history.ts` under faults from the seed, and prints its
 *   history, an operation a line.
 *
 * @module
 */
import { EventStateError } from "../event.ts";
import { KvEvent } from "../kv.ts";
import { createHandler, unlocked } from "../examples/single_flight_kv.ts";
import { runHistory } from "./kv_history.ts";

/**
 * Polls `done` every 2 ms until it answers true; throws after 30 s, so that
 * a process that died cannot leave the others polling forever.
 */
async function until(what: string, done: () => Promise<boolean>) {
  const deadline = performance.now() + 30_000;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Waits until `count` processes have added one to the counter at `key`. */
async function barrier(kv: Deno.Kv, key: Deno.KvKey, count: number) {
  await unlocked(() => kv.atomic().sum(key, 1n).commit());
  await until(
    `${count} processes at ${JSON.stringify(key)}`,
    async () =>
      Number(
        (await unlocked(() => kv.get<Deno.KvU64>(key))).value?.value ?? 0n,
      ) >= count,
  );
}

/**
 * The command that runs this file as a process of its own, with the
 * project's config and KV enabled: `kvProcess("wait", file, "key")`.
 */
export function kvProcess(...args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${new URL("../deno.json", import.meta.url).pathname}`,
      "--no-lock",
      "--allow-read",
      "--allow-write",
      new URL(import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  });
}

/** Every query of an event, as one record: what Event answers, awaited. */
export async function queries(evt: KvEvent<string>): Promise<unknown> {
  return {
    ready: await evt.ready(),
    hasResult: await evt.hasResult(),
    hasException: await evt.hasException(),
    poll: await evt.poll("fresh").catch((error) => `threw ${error.message}`),
    pollResult: await evt.pollResult(-1),
    pollException: await evt.pollException(-1).then((error) =>
      error instanceof Error ? `${error.name}: ${error.message}` : error
    ),
  };
}

if (import.meta.main) await main();

async function main(): Promise<void> {
  const [role, file, ...args] = Deno.args;
  const kv = await Deno.openKv(file);
  const out = (line: unknown) => console.log(JSON.stringify(line));

  if (role === "race") {
    const [id, generations, processes] = [
      args[0]!,
      Number(args[1]),
      Number(args[2]),
    ];
    await using evt = new KvEvent<string>(kv, ["race"], { pollInterval: 5 });
    for (let generation = 0; generation < generations; generation++) {
      // Wait for the generation to begin: the previous winner resets.
      await until(
        `generation ${generation}`,
        async () =>
          ((await unlocked(() =>
            kv.get<{ generation: number }>(["race", "v1"])
          )).value?.generation ?? 0) >= generation,
      );
      const waiting = evt.wait({ timeout: 30_000 });
      // Some send at once, some after their waiter may have been woken.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
      let won = false;
      let lost = false;
      try {
        await evt.send(`${id}:${generation}`);
        won = true;
      } catch (error) {
        lost = error instanceof EventStateError;
        if (!lost) throw error;
      }
      const value = await waiting;
      out({ generation, won, lost, value });
      // Every process has its value: then the winner starts the next one.
      if (won) {
        await barrier(kv, ["race", "done", generation], processes);
        await evt.reset();
      } else {
        await unlocked(() =>
          kv.atomic().sum(["race", "done", generation], 1n).commit()
        );
      }
    }
  } else if (role === "wait") {
    await using evt = new KvEvent<string>(
      kv,
      [args[0]!],
      args[1] === "defaults" ? {} : { pollInterval: 5 },
    );
    const waiting = evt.wait({ timeout: 30_000 });
    // Reads hand over in call order: once this one is done, so is the
    // first wait's read, and only a watch or a poll can wake it.
    await evt.wait({ timeout: 0 }).catch(() => {});
    out({ ready: true });
    out({ value: await waiting });
  } else if (role === "latency") {
    const floor = args[1] === "floor";
    for (let round = 0; round < Number(args[0]); round++) {
      const key = ["cross", String(floor), round];
      await using evt = new KvEvent(kv, key, { pollInterval: 10 });
      // The floor: a bare get() every 10 ms, for a bare set().
      const waiting = floor
        ? (async () => {
          while (
            (await unlocked(() => kv.get([...key, "value"]))).value === null
          ) {
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        })()
        : evt.wait();
      await unlocked(() => kv.set([...key, "ready"], true));
      await waiting;
      console.log(performance.timeOrigin + performance.now());
    }
  } else if (role === "flight") {
    const [requests, processes, upstreamMs] = args.map(Number) as [
      number,
      number,
      number,
    ];
    const handler = createHandler(kv, async (key) => {
      await unlocked(() => kv.atomic().sum(["upstream calls"], 1n).commit());
      await new Promise((resolve) => setTimeout(resolve, upstreamMs));
      return `body of ${key}`;
    }, { pollInterval: 10, timeout: 20_000 });
    await barrier(kv, ["flight barrier"], processes);
    const responses = await Promise.all(
      Array.from(
        { length: requests },
        () => handler(new Request("http://app/home")),
      ),
    );
    for (const response of responses) {
      out({ status: response.status, body: await response.text() });
    }
  } else if (role === "queries") {
    await using evt = new KvEvent<string>(kv, [args[0]!]);
    out(await queries(evt));
  } else if (role === "history") {
    const [id, rounds, processes, seed] = args.map(Number) as [
      number,
      number,
      number,
      number,
    ];
    for (const op of await runHistory(kv, id, rounds, processes, seed)) out(op);
  } else {
    throw new Error(`unknown role ${role}`);
  }
  kv.close();
}
