// Copyright 2026 the @seed/event authors. MIT license.
/** Helpers shared by the test files. */

/** A real signal that counts the abort listeners added and not removed. */
export function countedSignal(
  controller: AbortController = new AbortController(),
): {
  controller: AbortController;
  signal: AbortSignal;
  listeners: () => number;
} {
  const signal = controller.signal;
  const live = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    if (args[0] === "abort") live.add(args[1]);
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    if (args[0] === "abort") live.delete(args[1]);
    remove(...args);
  };
  return { controller, signal, listeners: () => live.size };
}

/** Compile-time equality of two types. */
export type Exact<A, B> = (<G>() => G extends A ? 1 : 2) extends
  (<G>() => G extends B ? 1 : 2) ? true : false;

/** Fails to type-check unless `T` is `true`. */
export function assertType<_T extends true>(): void {}
