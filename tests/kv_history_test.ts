// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The history check of `tests/kv_history.ts`: 8 processes on one KV file,
 * under faults from a seed. `FC_SEED` replays a run; `STRESS=deep` runs
 * more rounds.
 */
import { assertEquals } from "@std/assert";
import { kvProcess } from "./kv_process.ts";
import { type Op, problems, truth } from "./kv_history.ts";
import { kvFile } from "./_helpers.ts";

const PROCESSES = 8;
const ROUNDS = Deno.env.get("STRESS") === "deep" ? 200 : 16;

Deno.test("KvEvent keeps every waiter's contract across 8 processes under injected faults (history check)", async () => {
  const seed = Number(
    Deno.env.get("FC_SEED") ?? Math.floor(Math.random() * 2 ** 31),
  );
  await using file = await kvFile();
  const children = Array.from(
    { length: PROCESSES },
    (_, id) =>
      kvProcess(
        "history",
        file.path,
        String(id),
        String(ROUNDS),
        String(PROCESSES),
        String(seed + id),
      ).spawn(),
  );
  const histories = await Promise.all(children.map(async (child) => {
    const { code, stdout, stderr } = await child.output();
    const text = new TextDecoder().decode(stdout);
    assertEquals(
      code,
      0,
      `seed ${seed}: ${new TextDecoder().decode(stderr)}`,
    );
    return text.trim().split("\n").map((line) => JSON.parse(line) as Op);
  }));
  const ops = histories.flat();
  const kv = await file.open();
  const stored = await truth(kv);
  // Sound, and it did what it is for: every kind of outcome happened.
  assertEquals(
    problems(ops, stored),
    [],
    `seed ${seed} (replay with FC_SEED=${seed})`,
  );
  assertEquals(stored.size > ROUNDS, true, `only ${stored.size} generations`);
});
