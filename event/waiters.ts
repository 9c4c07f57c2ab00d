// Copyright 2026 the @seed/event authors. MIT license.
// This module is browser compatible.
/**
 * The engine of one send's waiters with a signal or a timeout: `Waiters`
 * holds them in `wait()` order with the plain waiters' shared promises, one
 * abort listener per signal, one timer per turn over a heap of deadlines,
 * and wakes, aborts and times them out. `Event` makes one when the first
 * waiter with options comes, and hands it over (to a carrier) or wakes it;
 * plain round trips never make one. Nothing here knows `Event`: what it
 * needs of one (is this send still waiting, how many left, what to name
 * in a timeout) it owns itself.
 *
 * @module
 */
import {
  Alarm,
  disarm,
  ignore,
  listen,
  reasonOf,
  timeoutError,
  unlisten,
  withResolvers,
} from "./host.ts";
import type { SignalLike } from "../event.ts";

/**
 * One send's waiters, while its event waits. Throughout the code these
 * hold:
 *
 * - `current` is true until the event wakes them (or a carrier that took
 *   them over does): a timer or listener that finds it false is stale and
 *   does nothing. That is how a send makes every timer and listener of its
 *   waiters inert without having to take each back first.
 * - `queue` holds every plain promise and every waiter with options, in
 *   `wait()` order; a waiter that left stays as a tombstone (its `resolve`
 *   unset) until compacted, counted by `dead`.
 * - A waiter with a deadline is in `heap` (by deadline, then call order)
 *   while `heapIndex >= 0`, and in its turn's heap while `turnIndex >= 0`;
 *   both are -1 otherwise.
 * - `departed` counts the waiters that left early (timeout, abort, a failed
 *   call out): the event's count less these is how many still wait.
 */
export class Waiters<T> {
  /** False once woken: the timers and listeners left are stale. */
  current = true;
  /** Every plain promise and waiter with options, in wait() order. */
  queue: (PromiseWithResolvers<T> | Waiter<T>)[];
  /** Tombstones in the queue: waiters that left early. */
  dead = 0;
  /** The next waiter's call order: ties between equal deadlines. */
  order = 0;
  /** Waiters with a deadline: a binary min-heap by (deadline, order). */
  heap: Waiter<T>[] = [];
  /** The timer of this turn, once a waiter with a deadline came in it. */
  turn: TurnTimer | undefined = undefined;
  /** One abort listener per signal, shared by its waiters. */
  groups: Map<SignalLike, SignalGroup<T>> = new Map();
  /** Waiters that left early. */
  departed = 0;
  /** What a timeout names, fixed when made: `wait() on Event "config"`. */
  readonly what: string;

  /**
   * @param plain The plain waiters' open promise, if any: first in order.
   * @param what What a waiter's timeout error names.
   */
  constructor(plain: PromiseWithResolvers<T> | undefined, what: string) {
    this.queue = plain === undefined ? [] : [plain];
    this.what = what;
  }

  /**
   * A waiter with a signal or a timeout: queued first, as if every call out
   * had succeeded, then its call outs (see "Calls out" in `event.ts`). The
   * caller commits its own state before: a call out may re-enter it.
   *
   * @returns The waiter's own promise.
   */
  add(signal: SignalLike | undefined, timeout: number): Promise<T> {
    const { promise, resolve, reject } = withResolvers<T>();
    const waiter = new Waiter(
      resolve,
      reject,
      timeout,
      this.order++,
      signal === undefined ? undefined : this.#groupOf(signal),
    );
    this.#queue(waiter);
    this.#callOut(waiter);
    return promise;
  }

  /**
   * Wakes every waiter with an outcome that is no thenable, in `wait()`
   * order: first makes them stale and takes back every timer and listener.
   * The plain promises are marked handled before they reject.
   */
  wake(ok: boolean, result: unknown): void {
    this.current = false;
    // Every armed timer is a turn's with a waiter in the heap: take each
    // once (a second take() gives nothing).
    for (const waiter of this.heap) disarm(waiter.turn!.take());
    for (const group of this.groups.values()) {
      unlisten(group.signal, group.listener);
    }
    for (const entry of this.queue) {
      if (entry.resolve === undefined) continue;
      if (ok) {
        entry.resolve(result as T);
      } else {
        if (!(entry instanceof Waiter)) entry.promise.catch(ignore);
        entry.reject!(result);
      }
    }
  }

  /** The group of a signal's waiters, made on first use. */
  #groupOf(signal: SignalLike): SignalGroup<T> {
    let group = this.groups.get(signal);
    if (group === undefined) {
      const made: SignalGroup<T> = {
        signal,
        listener: () => this.#abort(made),
        listening: false,
        waiters: [],
        live: 0,
      };
      this.groups.set(signal, group = made);
    }
    return group;
  }

  /**
   * Puts a waiter in the queue, in its signal's group, in the heap and
   * with its turn's timer. It calls nothing outside.
   */
  #queue(waiter: Waiter<T>): void {
    const group = waiter.group;
    if (group !== undefined) {
      group.waiters.push(waiter);
      group.live++;
    }
    this.queue.push(waiter);
    if (waiter.deadline !== Infinity) {
      heapPush(this.heap, waiter, "heapIndex");
      let turn = this.turn;
      if (turn === undefined) {
        const made: TurnTimer = new TurnTimer(
          (now) => this.#expire(made, now),
          () => this.current && made.heap.length > 0,
        );
        turn = this.turn = made;
      }
      heapPush(turn.heap, waiter, "turnIndex");
      waiter.turn = turn;
    }
  }

  /**
   * Makes the call outs a queued waiter needs, re-checking after each: the
   * end of its turn, its signal's listener, its turn's timer. A throw takes
   * the waiter out, rejected with the error.
   */
  #callOut(waiter: Waiter<T>): void {
    const { group, turn } = waiter;
    if (turn !== undefined && !turn.closing) {
      turn.closing = true;
      try {
        // The turn ends at the next microtask checkpoint: then its timer
        // takes no more waiters.
        queueMicrotask(() => this.turn = undefined);
      } catch {
        // No microtasks: the timer stays open, shared by later turns.
      }
    }
    try {
      if (group !== undefined && !group.listening) {
        group.listening = true;
        listen(group.signal, group.listener, () => !this.#holds(group));
      }
      if (
        turn !== undefined && this.current &&
        waiter.heapIndex >= 0 && waiter.deadline < turn.deadline
      ) {
        turn.set(waiter.deadline);
      }
    } catch (error) {
      if (this.current && waiter.reject !== undefined) {
        const cleanup: (() => void)[] = [];
        const reject = this.#leave(waiter, cleanup);
        for (const takeBack of cleanup) takeBack();
        reject(error);
      }
    }
  }

  /** Whether a signal's group is still live in current waiters. */
  #holds(group: SignalGroup<T>): boolean {
    return this.current && this.groups.get(group.signal) === group;
  }

  /**
   * Takes a waiter that leaves early out of the queue and the heaps,
   * leaving a tombstone that holds neither its promise nor its value. What
   * must be taken back from the host goes on `cleanup`, for the caller to
   * run once the state is whole.
   */
  #drop(
    waiter: Waiter<T>,
    cleanup: (() => void)[],
  ): (reason: unknown) => void {
    const reject = waiter.reject!;
    waiter.resolve = waiter.reject = undefined;
    this.departed++;
    const turn = waiter.turn;
    // A tombstone keeps no turn: it would keep the turn's heap.
    waiter.turn = undefined;
    if (turn !== undefined) {
      heapRemove(turn.heap, waiter, "turnIndex");
      if (turn.heap.length === 0) {
        const timer = turn.take();
        cleanup.push(() => disarm(timer));
      }
    }
    if (++this.dead > 32 && this.dead * 2 > this.queue.length) {
      this.queue = this.queue.filter((entry) => entry.resolve !== undefined);
      this.dead = 0;
    }
    if (waiter.heapIndex >= 0) {
      heapRemove(this.heap, waiter, "heapIndex");
      // An emptied heap may keep the room its peak took: let that go.
      if (this.heap.length === 0) this.heap = [];
    }
    return reject;
  }

  /**
   * Drops one waiter that leaves alone (a timeout, a failed call out). When
   * it was the last of its signal's group, the group goes too, and its
   * listener onto `cleanup`.
   */
  #leave(
    waiter: Waiter<T>,
    cleanup: (() => void)[],
  ): (reason: unknown) => void {
    const reject = this.#drop(waiter, cleanup);
    const group = waiter.group;
    if (group !== undefined && --group.live === 0) {
      this.groups.delete(group.signal);
      cleanup.push(() => unlisten(group.signal, group.listener));
    } else if (
      group !== undefined && group.waiters.length > 2 * group.live + 32
    ) {
      group.waiters = group.waiters.filter((w) => w.resolve !== undefined);
    }
    return reject;
  }

  /** A signal aborted: its waiters reject with its reason. */
  #abort(group: SignalGroup<T>): void {
    const reason = reasonOf(group.signal);
    // Checked after the getter, which may have re-entered.
    if (!this.#holds(group)) return; // gone already
    this.groups.delete(group.signal);
    const rejects = [];
    const cleanup: (() => void)[] = [];
    for (const waiter of group.waiters) {
      if (waiter.resolve !== undefined) {
        rejects.push(this.#drop(waiter, cleanup));
      }
    }
    // Tombstones left in the queue still point at the group: let them not
    // keep every other tombstone of it.
    group.waiters = [];
    for (const takeBack of cleanup) takeBack();
    for (const reject of rejects) reject(reason);
  }

  /**
   * A turn's timer rang at `now`: every waiter due times out. Only current
   * waiters' timers ring: `wake()` takes back every timer, and a timer
   * taken back never rings (`Alarm`).
   */
  #expire(turn: TurnTimer, now: number): void {
    // Every waiter due goes, whichever turn it came in: in deadline order.
    const heap = this.heap;
    const expired: Waiter<T>[] = [];
    const rejects: ((reason: unknown) => void)[] = [];
    const cleanup: (() => void)[] = [];
    while (heap.length > 0 && heap[0]!.deadline <= now) {
      expired.push(heap[0]!);
      rejects.push(this.#leave(heap[0]!, cleanup));
    }
    // The state is whole: call out.
    const failed: ((reason: unknown) => void)[] = [];
    let failure: unknown;
    const next = turn.heap[0];
    if (next !== undefined) {
      // For its own earliest: re-arming for the earliest of every turn
      // would ring once per other turn's deadline, for nothing.
      const { deadline } = next;
      try {
        turn.set(deadline);
      } catch (error) {
        // No timer can be had for them: they fail now, not hang.
        failure = error;
        if (this.current) {
          for (const waiter of turn.heap.slice()) {
            failed.push(this.#leave(waiter, cleanup));
          }
        }
      }
    }
    for (const takeBack of cleanup) takeBack();
    for (const [i, reject] of rejects.entries()) {
      reject(timeoutError(this.what, expired[i]!.timeout));
    }
    for (const reject of failed) reject(failure);
  }
}

/** The abort listener shared by every waiter of one send on one signal. */
interface SignalGroup<T> {
  readonly signal: SignalLike;
  readonly listener: () => void;
  /** Set once its listener is being added: the first waiter adds it. */
  listening: boolean;
  /** In wait() order; entries that left by timeout stay until compacted. */
  waiters: Waiter<T>[];
  live: number;
}

/** A waiter with a signal or a timeout: it has a promise of its own. */
class Waiter<T> {
  /** Both undefined once the waiter has left (timed out or aborted). */
  resolve: ((value: T) => void) | undefined;
  reject: ((reason: unknown) => void) | undefined;
  readonly deadline: number;
  /** The timeout asked for, for the error message. */
  readonly timeout: number;
  /** wait() call order: breaks ties between equal deadlines. */
  readonly order: number;
  readonly group: SignalGroup<T> | undefined;
  /** The timer of its turn, that times it out, if it has a deadline. */
  turn: TurnTimer | undefined = undefined;
  /** Its place in its send's heap of deadlines; -1 while not in it. */
  heapIndex = -1;
  /** Its place in its turn's heap of deadlines; -1 while not in it. */
  turnIndex = -1;

  constructor(
    resolve: (value: T) => void,
    reject: (reason: unknown) => void,
    timeout: number,
    order: number,
    group: SignalGroup<T> | undefined,
  ) {
    this.resolve = resolve;
    this.reject = reject;
    this.timeout = timeout;
    // No clock read for no deadline: it is most of a signal waiter's cost.
    this.deadline = timeout === Infinity
      ? Infinity
      : performance.now() + timeout;
    this.order = order;
    this.group = group;
  }
}

/**
 * The timer of the waiters with a deadline that came in one turn (code run
 * between two microtask checkpoints), armed never later than the earliest
 * of their deadlines. A host may tie a timer to the request that set it:
 * Cloudflare Workers cancels a request's timers when that request ends. A
 * timer armed in one request then cannot time out a waiter that came in
 * another, so each turn's waiters get a timer armed in their own turn, and
 * re-armed only when it rings, still in theirs. Many waiters that come in
 * one turn share one timer.
 */
class TurnTimer extends Alarm {
  /**
   * Its waiters still pending, a min-heap by (deadline, order): it re-arms
   * for the earliest of its own, so each timer call is for a deadline of
   * its own and their number stays linear in the waiters.
   */
  readonly heap: Waiter<unknown>[] = [];
  /** Set once the end of its turn is scheduled. */
  closing = false;
}

function earlier<T>(a: Waiter<T>, b: Waiter<T>): boolean {
  return a.deadline < b.deadline ||
    (a.deadline === b.deadline && a.order < b.order);
}

/** Where a waiter keeps its place in one of the two heaps it may be in. */
type HeapSlot = "heapIndex" | "turnIndex";

function heapPush<T>(heap: Waiter<T>[], waiter: Waiter<T>, slot: HeapSlot) {
  heap.push(waiter);
  siftUp(heap, heap.length - 1, slot);
}

function heapRemove<T>(
  heap: Waiter<T>[],
  waiter: Waiter<T>,
  slot: HeapSlot,
): void {
  const index = waiter[slot];
  const last = heap.pop()!;
  waiter[slot] = -1;
  if (last === waiter) return;
  heap[index] = last;
  last[slot] = index;
  siftUp(heap, index, slot);
  siftDown(heap, last[slot], slot);
}

function siftUp<T>(heap: Waiter<T>[], index: number, slot: HeapSlot): void {
  const waiter = heap[index]!;
  while (index > 0) {
    const parentIndex = (index - 1) >> 1;
    const parent = heap[parentIndex]!;
    if (!earlier(waiter, parent)) break;
    heap[index] = parent;
    parent[slot] = index;
    index = parentIndex;
  }
  heap[index] = waiter;
  waiter[slot] = index;
}

function siftDown<T>(heap: Waiter<T>[], index: number, slot: HeapSlot): void {
  const waiter = heap[index]!;
  const length = heap.length;
  while (true) {
    let child = 2 * index + 1;
    if (child >= length) break;
    if (child + 1 < length && earlier(heap[child + 1]!, heap[child]!)) {
      child++;
    }
    const next = heap[child]!;
    if (!earlier(next, waiter)) break;
    heap[index] = next;
    next[slot] = index;
    index = child;
  }
  heap[index] = waiter;
  waiter[slot] = index;
}
