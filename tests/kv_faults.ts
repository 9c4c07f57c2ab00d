// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Faults around a real `Deno.Kv` (or any handle KvEvent takes, such as a
 * `PostgresStore`), as FoundationDB's simulation injects them
 * around real code: every call goes to the real database unless a fault
 * says otherwise, and the faults come from a seed, so a failure replays.
 *
 * - reads (`get`, `getMany`) that are slow to start (`delay`), answer late
 *   with what they read (`late reply`), hang, fail before storage (with a
 *   message of the plan's, such as a network error's that says "closed"),
 *   or throw `database is locked`;
 * - commits that fail before writing, or are written and lose their reply;
 * - `watch()` streams that end or error after a frame, deliver a frame and
 *   then error at once (`flap`: a stream that never proves itself), or hold
 *   a frame back and deliver only the newer one that follows (merged
 *   frames).
 *
 * A hung call is a promise that never settles and starts nothing, so the
 * test sanitizers see no leak; a delay is a timer taken down on dispose.
 *
 * @module
 */

import type { KvHandle } from "../kv/protocol.ts";

/** What happens to one call. */
export type Fault =
  | { kind: "delay"; ms: number }
  | { kind: "late reply"; ms: number }
  | { kind: "hang" }
  | { kind: "fail"; message?: string }
  | { kind: "locked" }
  | { kind: "lost reply" };

/** What happens to a frame of a watch stream. */
export type FrameFault = "end" | "error" | "flap" | "hold" | undefined;

/** Decides the faults: deterministic plans for one defect, or random. */
export interface Plan {
  call(name: "get" | "getMany" | "commit" | "watch"): Fault | undefined;
  /**
   * The fault of each frame. Without it, `watch()` hands out Deno's own
   * stream, only counted: what `bench:kv` measures the heap of.
   */
  frame?(): FrameFault;
}

/** Rates of the random plan, each a probability per call or frame. */
export interface Rates {
  slow?: number;
  maxDelay?: number;
  hang?: number;
  fail?: number;
  locked?: number;
  lostReply?: number;
  end?: number;
  error?: number;
  flap?: number;
  hold?: number;
  /** Of the failed reads, the share whose message says "closed". */
  closedWords?: number;
}

/** A transient network error's message, as a KV Connect client words it. */
export const CLOSED_WORDS = "connection closed before message completed";

/** mulberry32: a small, seeded, good-enough generator. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random plan from a seed. */
export function randomPlan(seed: number, rates: Rates): Plan {
  const next = random(seed);
  return {
    call(name) {
      const roll = next();
      let edge = 0;
      if (roll < (edge += rates.hang ?? 0)) return { kind: "hang" };
      if (roll < (edge += rates.fail ?? 0)) {
        return next() < (rates.closedWords ?? 0)
          ? { kind: "fail", message: CLOSED_WORDS }
          : { kind: "fail" };
      }
      if (roll < (edge += rates.locked ?? 0)) return { kind: "locked" };
      if (name === "commit" && roll < (edge += rates.lostReply ?? 0)) {
        return { kind: "lost reply" };
      }
      if (roll < (edge += rates.slow ?? 0)) {
        const ms = Math.floor(next() * (rates.maxDelay ?? 20));
        return next() < 0.5
          ? { kind: "delay", ms }
          : { kind: "late reply", ms };
      }
      return undefined;
    },
    frame() {
      const roll = next();
      let edge = 0;
      if (roll < (edge += rates.end ?? 0)) return "end";
      if (roll < (edge += rates.error ?? 0)) return "error";
      if (roll < (edge += rates.flap ?? 0)) return "flap";
      if (roll < (edge += rates.hold ?? 0)) return "hold";
      return undefined;
    },
  };
}

/** The calls a faulty handle saw, by name: for tests that count them. */
export type Counts = Record<"get" | "getMany" | "commit" | "watch", number>;

/**
 * Wraps `kv` so that `plan` decides the fault of every call. `plan` may be
 * changed at any time through the returned `faults.plan`.
 */
export function faulty<K extends KvHandle>(
  handle: K,
  plan: Plan,
): { kv: K; faults: { plan: Plan; counts: Counts } } & Disposable {
  // Any handle KvEvent takes: a Deno.Kv, or a PostgresStore.
  const kv = handle as unknown as Deno.Kv;
  const faults = {
    plan,
    counts: { get: 0, getMany: 0, commit: 0, watch: 0 } as Counts,
  };
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let disposed = false;

  /** Runs `call` through the fault the plan gives `name`. */
  async function through<R>(
    name: keyof Counts,
    call: () => Promise<R>,
  ): Promise<R> {
    faults.counts[name]++;
    const fault = faults.plan.call(name);
    switch (fault?.kind) {
      case "hang":
        return new Promise<R>(() => {});
      case "fail":
        throw new Error(
          fault.message ?? `injected: ${name} failed before storage`,
        );
      case "locked":
        throw new TypeError("injected: database is locked");
      case "delay":
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, fault.ms);
          timers.add(timer);
          if (disposed) reject(new Error("injected: disposed"));
        });
        if (disposed) throw new Error("injected: disposed");
        return await call();
      case "late reply": {
        const answer = await call();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, fault.ms);
          timers.add(timer);
        });
        return answer;
      }
      case "lost reply": {
        await call();
        throw new Error(`injected: the reply of ${name} was lost`);
      }
      default:
        return await call();
    }
  }

  function watch(
    keys: Deno.KvKey[],
  ): ReadableStream<Deno.KvEntryMaybe<unknown>[]> {
    faults.counts.watch++;
    const fault = faults.plan.call("watch");
    if (fault?.kind === "fail" || fault?.kind === "locked") {
      throw new Error("injected: watch failed");
    }
    if (faults.plan.frame === undefined) return kv.watch(keys);
    const reader = kv.watch(keys).getReader();
    let held: Deno.KvEntryMaybe<unknown>[] | undefined;
    let flapped = false;
    return new ReadableStream({
      async pull(controller) {
        if (flapped) {
          await reader.cancel();
          return controller.error(new Error("injected: watch stream flapped"));
        }
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            if (held !== undefined) controller.enqueue(held);
            return controller.close();
          }
          const frame = faults.plan.frame?.();
          if (frame === "hold" && held === undefined) {
            held = value; // delivered only if no newer frame comes
            continue;
          }
          held = undefined; // merged into this newer frame
          if (frame === "end") {
            await reader.cancel();
            return controller.close();
          }
          if (frame === "flap") {
            flapped = true; // this frame, then the error at the next pull
            return controller.enqueue(value);
          }
          if (frame === "error") {
            await reader.cancel();
            return controller.error(new Error("injected: watch stream failed"));
          }
          return controller.enqueue(value);
        }
      },
      cancel() {
        return reader.cancel();
      },
    });
  }

  /** An atomic operation whose chained calls stay wrapped. */
  function atomic(op: Deno.AtomicOperation): Deno.AtomicOperation {
    const proxy: Deno.AtomicOperation = new Proxy(op, {
      get(op, name) {
        if (name === "commit") {
          return () => through("commit", () => op.commit());
        }
        const value = Reflect.get(op, name, op);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const result = value.apply(op, args);
          return result === op ? proxy : result;
        };
      },
    });
    return proxy;
  }

  const wrapped = new Proxy(kv, {
    get(target, property) {
      switch (property) {
        case "get":
          return (
            key: Deno.KvKey,
            options?: { consistency?: Deno.KvConsistencyLevel },
          ) => through("get", () => target.get(key, options));
        case "getMany":
          return (
            keys: Deno.KvKey[],
            options?: { consistency?: Deno.KvConsistencyLevel },
          ) => through("getMany", () => target.getMany(keys, options));
        case "watch":
          return watch;
        case "atomic":
          return () => atomic(target.atomic());
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    kv: wrapped as unknown as K,
    faults,
    [Symbol.dispose]() {
      disposed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** A plan with no faults but the ones a test sets. */
export function quiet(
  call: (name: string) => Fault | undefined = () => undefined,
  frame: Plan["frame"] = () => undefined,
): Plan {
  return { call, frame };
}
