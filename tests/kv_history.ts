// Copyright 2026 the @seed/event authors. MIT license.
/**
 * A history check for KvEvent across processes, as Jepsen checks a store:
 * each process runs rounds of waits (plain, timed, aborted), sends and
 * resets on one event, under faults from a seed, and records every
 * operation with its outcome and when it began and ended; the checker then
 * holds the histories of all processes against what storage kept.
 *
 * Times are `performance.timeOrigin + performance.now()`: one clock for
 * every process of the machine.
 *
 * @module
 */
import { deserialize } from "node:v8";
import { KvEvent } from "../kv.ts";
import { EventStateError } from "../event.ts";
import { faulty, random, randomPlan, type Rates } from "./kv_faults.ts";
import type { KvHandle } from "../kv/protocol.ts";

/** One operation of one process, as it happened. */
export type Op =
  | {
    op: "wait";
    process: number;
    kind: "plain" | "timed" | "aborted";
    /** The timeout, or when the signal was aborted. */
    bound?: number;
    start: number;
    end: number;
    outcome: "value" | "timeout" | "abort" | "error" | "stranded";
    value?: string;
    error?: string;
  }
  | {
    op: "send" | "reset";
    process: number;
    start: number;
    end: number;
    /** `error`: storage failed; a send may or may not have been written. */
    outcome: "ok" | "lost" | "error";
    value?: string;
    error?: string;
  };

/** The faults of the history runs: every kind, often enough to matter. */
export const RATES: Rates = {
  slow: 0.2,
  maxDelay: 25,
  hang: 0.01,
  fail: 0.03,
  // Half the failed reads say "closed", as a network error's may: the
  // handle stays open, and they are tried again like any other.
  closedWords: 0.5,
  locked: 0.03,
  lostReply: 0.1,
  end: 0.05,
  error: 0.05,
  // Streams that fail right after a frame: backoff until one proves itself.
  flap: 0.05,
  hold: 0.1,
};

/** Slack over a bound before a waiter counts as late: a loaded machine. */
export const SLACK = 2_000;

function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Runs one process's rounds on `kv` (faults around it from `seed`) and
 * returns its history. Any handle KvEvent takes: a `Deno.Kv`, or a
 * `PostgresStore`; `rates` are the faults around it.
 */
export async function runHistory(
  kv: KvHandle,
  id: number,
  rounds: number,
  processes: number,
  seed: number,
  rates: Rates = RATES,
): Promise<Op[]> {
  const history: Op[] = [];
  const roll = random(seed ^ 0x5eed);
  // No `using`: Node processes of the PostgreSQL history run this bundled,
  // and Node 20 has no explicit resource management.
  const wrapped = faulty(kv, randomPlan(seed, rates));
  const evt = new KvEvent<string>(wrapped.kv, ["history"], {
    pollInterval: 20,
    callTimeout: 300,
  });
  try {
    const waits: Promise<void>[] = [];
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    const wait = (kind: "plain" | "timed" | "aborted"): void => {
      const start = now();
      const op: Op & { op: "wait" } = {
        op: "wait",
        process: id,
        kind,
        start,
        end: NaN,
        outcome: "stranded",
      };
      history.push(op);
      let waiting: Promise<string>;
      if (kind === "plain") {
        waiting = evt.wait();
      } else if (kind === "timed") {
        op.bound = Math.floor(roll() * 200);
        waiting = evt.wait({ timeout: op.bound });
      } else {
        const controller = new AbortController();
        waiting = evt.wait({ signal: controller.signal });
        setTimeout(() => {
          op.bound = now();
          controller.abort(new Error("aborted"));
        }, Math.floor(roll() * 150));
      }
      waits.push(
        waiting.then((value) => {
          op.outcome = "value";
          op.value = value;
        }, (error) => {
          op.outcome = error instanceof DOMException &&
              error.name === "TimeoutError"
            ? "timeout"
            : error instanceof Error && error.message === "aborted"
            ? "abort"
            : "error";
          if (op.outcome === "error") op.error = String(error);
        }).finally(() => op.end = now()),
      );
    };

    const change = async (
      op: "send" | "reset",
      call: () => Promise<void>,
      value?: string,
    ): Promise<void> => {
      const record: Op = {
        op,
        process: id,
        start: now(),
        end: NaN,
        outcome: "ok",
      };
      if (value !== undefined) record.value = value;
      history.push(record);
      try {
        await call();
      } catch (error) {
        record.outcome = error instanceof EventStateError ? "lost" : "error";
        if (record.outcome === "error") record.error = String(error);
      }
      record.end = now();
    };

    for (let round = 0; round < rounds; round++) {
      wait("plain");
      wait("timed");
      wait("aborted");
      await sleep(Math.floor(roll() * 40));
      // Each way a value rides: a short string as it is, a longer one
      // serialized (within INLINE_LIMIT), and every third too large to ride
      // in the head: its waiters read it under its own key.
      const value = `${id}:${round}:`.padEnd([0, 700, 2_000][round % 3]!, ".");
      await change("send", () => evt.send(value), value);
      wait("timed");
      await sleep(Math.floor(roll() * 40));
      await change("reset", () => evt.reset());
    }
    // The end: once every process is done, each sends once more, so that
    // every generation anyone waits for has been sent.
    await barrier(kv, id, processes);
    const last = `${id}:last`;
    await change("send", () => evt.send(last), last);
    // Every waiter must settle now; one that does not is stranded.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(waits),
      new Promise((r) => timer = setTimeout(r, 20_000)),
    ]);
    clearTimeout(timer);
    return history;
  } finally {
    await evt[Symbol.asyncDispose]();
    wrapped[Symbol.dispose]();
  }
}

/**
 * Marks process `id` done, then waits until all `count` are, through the
 * real handle; a failed call (a locked file, a dropped connection) is
 * tried again.
 */
async function barrier(kv: KvHandle, id: number, count: number) {
  const deadline = performance.now() + 60_000;
  const key = (i: number) => ["history barrier", i];
  const retried = async <R>(call: () => Promise<R>): Promise<R> => {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (performance.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await retried(() => kv.atomic().set(key(id), true).commit());
  const keys = Array.from({ length: count }, (_, i) => key(i));
  for (;;) {
    let done = 0;
    for (let i = 0; i < keys.length; i += 10) {
      const entries = await retried(() => kv.getMany(keys.slice(i, i + 10)));
      done += entries.filter((entry) => entry.value === true).length;
    }
    if (done >= count) return;
    if (performance.now() > deadline) throw new Error("barrier timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * What storage kept: each generation's value, read generation by
 * generation up to the head's.
 */
export async function truth(kv: KvHandle): Promise<Map<string, number>> {
  const sent = new Map<string, number>();
  type Record = { value?: unknown; inline?: Uint8Array } | null;
  const head = (await kv.get(["history", "v1"])).value as
    | { generation: number; sent: Record }
    | null;
  const last = head?.generation ?? 0;
  // Each generation's outcome record (the head's own for its generation),
  // and its value key: a small value rides in the record, as it is or
  // serialized; a large one sits under the key.
  for (let g = 0; g <= last; g += 5) {
    const keys = [];
    for (let i = g; i <= Math.min(last, g + 4); i++) {
      keys.push(["history", "v1", i], ["history", "v1", i, "value"]);
    }
    const entries = await kv.getMany(keys);
    for (let i = 0; i < entries.length; i += 2) {
      const generation = entries[i]!.key[2] as number;
      const record = entries[i]!.value as Record ??
        (generation === last ? head?.sent ?? null : null);
      const value = record === null
        ? null
        : "value" in record
        ? record.value
        : record.inline instanceof Uint8Array
        ? deserialize(record.inline)
        : entries[i + 1]!.value;
      if (value !== null) {
        sent.set(value as string, generation);
      }
    }
  }
  return sent;
}

/** The kinds of outcome every run must show, or it tested too little. */
const EXPECTED = [
  "wait value",
  "wait timeout",
  "wait abort",
  "send ok",
  "send lost",
];

/**
 * What a run got wrong: its violations, and each kind of outcome it never
 * showed (a run without them proves too little). Empty if it is sound.
 */
export function problems(ops: Op[], stored: Map<string, number>): string[] {
  const outcomes = new Set(ops.map((op) => `${op.op} ${op.outcome}`));
  return [
    ...violations(ops, stored),
    ...EXPECTED.filter((kind) => !outcomes.has(kind)).map((kind) =>
      `no ${kind} in the run`
    ),
  ];
}

/**
 * The violations of a history: empty if every rule holds.
 *
 * - Exactly one send wins per generation: a send that answered `ok` wrote
 *   its value in some generation, one that lost wrote nothing, and every
 *   value stored comes from a send that answered `ok` or failed.
 * - A waiter gets the value of a generation that was current at some time
 *   during its call (sent no earlier than its start; not one whose next
 *   generation was sent before it began), or its own timeout or abort, and
 *   nothing else; never late past its bound (with `SLACK`), never stranded.
 */
export function violations(ops: Op[], stored: Map<string, number>): string[] {
  const found: string[] = [];
  const sends = new Map<string, Op>();
  for (const op of ops) {
    if (op.op !== "send") continue;
    sends.set(op.value!, op);
    const written = stored.has(op.value!);
    if (op.outcome === "ok" && !written) {
      found.push(`send ${op.value} answered ok but wrote nothing`);
    }
    if (op.outcome === "lost" && written) {
      found.push(`send ${op.value} lost but was written`);
    }
  }
  const byGeneration = new Map<number, string>();
  for (const [value, generation] of stored) {
    if (!sends.has(value)) found.push(`${value} stored, never sent`);
    byGeneration.set(generation, value);
  }
  for (const op of ops) {
    if (op.op !== "wait") continue;
    const what = `process ${op.process}'s ${op.kind} wait from ${op.start}`;
    switch (op.outcome) {
      case "stranded":
        found.push(`${what} was stranded`);
        break;
      case "error":
        found.push(`${what} failed: ${op.error}`);
        break;
      case "timeout":
        if (op.kind !== "timed") found.push(`${what} timed out`);
        else if (op.end - op.start > op.bound! + SLACK) {
          found.push(
            `${what} settled ${
              op.end - op.start
            } ms after its ${op.bound} ms timeout`,
          );
        }
        break;
      case "abort":
        if (op.kind !== "aborted") found.push(`${what} was aborted`);
        else if (op.end - op.bound! > SLACK) {
          found.push(
            `${what} settled ${op.end - op.bound!} ms after its abort`,
          );
        }
        break;
      case "value": {
        const generation = stored.get(op.value!);
        if (generation === undefined) {
          found.push(`${what} got ${op.value}, which was never stored`);
          break;
        }
        const send = sends.get(op.value!)!;
        if (op.end < send.start) {
          found.push(`${what} got ${op.value} before it was sent`);
        }
        const next = byGeneration.get(generation + 1);
        if (next !== undefined && sends.get(next)!.end < op.start) {
          found.push(
            `${what} got generation ${generation}'s ${op.value}, though ${
              generation + 1
            } was sent before it began`,
          );
        }
        if (op.kind === "timed" && op.end - op.start > op.bound! + SLACK) {
          found.push(`${what} settled after its timeout`);
        }
      }
    }
  }
  return found;
}
