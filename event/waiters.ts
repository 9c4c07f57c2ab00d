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
 *   and in its turn's heap until it is popped from each. One that left
 *   early stays in both as a tombstone, as in the queue, counted by each
 *   heap's `dead`; a heap is compacted when more than half of it and 32
 *   are tombstones, and dropped whole once none of it is live. So a waiter
 *   keeps no place of its own in either (no index to update), and a
 *   tombstone is kept no longer than the queue keeps it.
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
  /** Tombstones in the heap. */
  heapDead = 0;
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
    for (const waiter of this.heap) disarm(waiter.turn?.take());
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
      heapPush(this.heap, waiter);
      let turn = this.turn;
      if (turn === undefined) {
        const made: TurnTimer = new TurnTimer(
          (now) => this.#expire(made, now),
          () => this.current && made.live > 0,
        );
        turn = this.turn = made;
      }
      heapPush(turn.heap, waiter);
      turn.live++;
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
        waiter.resolve !== undefined && waiter.deadline < turn.deadline
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
   * Makes a waiter that leaves early a tombstone, in the queue and in the
   * heaps it is still in, holding neither its promise nor its value. What
   * must be taken back from the host goes on `cleanup`, for the caller to
   * run once the state is whole.
   *
   * @param popped Whether it was popped from the send's heap already.
   */
  #drop(
    waiter: Waiter<T>,
    cleanup: (() => void)[],
    popped: boolean,
  ): (reason: unknown) => void {
    const reject = waiter.reject!;
    waiter.resolve = waiter.reject = undefined;
    this.departed++;
    const turn = waiter.turn;
    if (turn !== undefined) {
      // A tombstone keeps no turn: it would keep the turn's heap.
      waiter.turn = undefined;
      if (--turn.live === 0) {
        turn.heap = [];
        turn.dead = 0;
        const timer = turn.take();
        cleanup.push(() => disarm(timer));
      } else if (++turn.dead > 32 && turn.dead * 2 > turn.heap.length) {
        turn.heap = compacted(turn.heap);
        turn.dead = 0;
      }
    }
    if (++this.dead > 32 && this.dead * 2 > this.queue.length) {
      this.queue = this.queue.filter((entry) => entry.resolve !== undefined);
      this.dead = 0;
    }
    if (waiter.deadline !== Infinity && !popped) this.heapDead++;
    if (this.heap.length > 0 && this.heapDead === this.heap.length) {
      // None of it is live: let go of its room, tombstones and peak alike.
      this.heap = [];
      this.heapDead = 0;
    } else if (this.heapDead > 32 && this.heapDead * 2 > this.heap.length) {
      this.heap = compacted(this.heap);
      this.heapDead = 0;
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
    popped = false,
  ): (reason: unknown) => void {
    const reject = this.#drop(waiter, cleanup, popped);
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
        rejects.push(this.#drop(waiter, cleanup, false));
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
    const expired: Waiter<T>[] = [];
    const rejects: ((reason: unknown) => void)[] = [];
    const cleanup: (() => void)[] = [];
    // Read anew each time: leaving may compact or drop it.
    while (this.heap.length > 0 && this.heap[0]!.deadline <= now) {
      const waiter = heapPop(this.heap);
      if (waiter.resolve === undefined) {
        this.heapDead--; // a tombstone
        continue;
      }
      expired.push(waiter);
      rejects.push(this.#leave(waiter, cleanup, true));
    }
    // Its own next deadline: tombstones at the top go first.
    while (turn.heap.length > 0 && turn.heap[0]!.resolve === undefined) {
      heapPop(turn.heap);
      turn.dead--;
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
          // Leaving replaces the turn's heap, never changes it in place.
          for (const waiter of turn.heap) {
            if (waiter.resolve !== undefined) {
              failed.push(this.#leave(waiter, cleanup));
            }
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
   * Its waiters, a min-heap by (deadline, order), tombstones included: it
   * re-arms for the earliest of its own, so each timer call is for a
   * deadline of its own and their number stays linear in the waiters.
   */
  heap: Waiter<unknown>[] = [];
  /** Its waiters still pending, and the tombstones in its heap. */
  live = 0;
  dead = 0;
  /** Set once the end of its turn is scheduled. */
  closing = false;
}

function earlier<T>(a: Waiter<T>, b: Waiter<T>): boolean {
  return a.deadline < b.deadline ||
    (a.deadline === b.deadline && a.order < b.order);
}

function heapPush<T>(heap: Waiter<T>[], waiter: Waiter<T>): void {
  heap.push(waiter);
  let index = heap.length - 1;
  while (index > 0) {
    const parentIndex = (index - 1) >> 1;
    const parent = heap[parentIndex]!;
    if (!earlier(waiter, parent)) break;
    heap[index] = parent;
    index = parentIndex;
  }
  heap[index] = waiter;
}

/** Takes the earliest out of a heap that is not empty. */
function heapPop<T>(heap: Waiter<T>[]): Waiter<T> {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) siftDown(heap, 0, last);
  return top;
}

/** Puts `waiter` at `index`, or below it, where it belongs. */
function siftDown<T>(heap: Waiter<T>[], index: number, waiter: Waiter<T>) {
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
    index = child;
  }
  heap[index] = waiter;
}

/** A heap without its tombstones, as a heap again. */
function compacted<T>(heap: Waiter<T>[]): Waiter<T>[] {
  const live = heap.filter((waiter) => waiter.resolve !== undefined);
  for (let i = (live.length >> 1) - 1; i >= 0; i--) siftDown(live, i, live[i]!);
  return live;
}
