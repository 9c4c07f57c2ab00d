// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Offline stand-in for the parts of `jsr:@std/testing/mock` that this
 * project's tests use (method spies), with the same signatures.
 * Used only when jsr.io is unreachable; never published.
 *
 * @module
 */
import { AssertionError } from "../assert.ts";

/** An error related to spying on a function or instance method. */
export class MockError extends Error {
  /**
   * Constructs a new instance.
   *
   * @param message The error message.
   */
  constructor(message: string) {
    super(message);
    this.name = "MockError";
  }
}

/** Call information recorded by a spy. */
export interface SpyCall<
  // deno-lint-ignore no-explicit-any
  Self = any,
  // deno-lint-ignore no-explicit-any
  Args extends unknown[] = any[],
  // deno-lint-ignore no-explicit-any
  Return = any,
> {
  /** Arguments passed to a function when called. */
  args: Args;
  /** The value that was returned by a function. */
  returned?: Return;
  /** The error value that was thrown by a function. */
  error?: Error;
  /** The instance that a method was called on. */
  self?: Self;
}

/** A function or instance method wrapper that records all calls made to it. */
export interface Spy<
  // deno-lint-ignore no-explicit-any
  Self = any,
  // deno-lint-ignore no-explicit-any
  Args extends unknown[] = any[],
  // deno-lint-ignore no-explicit-any
  Return = any,
> {
  (this: Self, ...args: Args): Return;
  /** The function that is being spied on. */
  original: (this: Self, ...args: Args) => Return;
  /** Information about calls made to the function or instance method. */
  calls: SpyCall<Self, Args, Return>[];
  /** Whether or not the original instance method has been restored. */
  restored: boolean;
  /** If spying on an instance method, this restores the original instance method. */
  restore(): void;
}

/** An instance method wrapper that records all calls made to it. */
export interface MethodSpy<
  // deno-lint-ignore no-explicit-any
  Self = any,
  // deno-lint-ignore no-explicit-any
  Args extends unknown[] = any[],
  // deno-lint-ignore no-explicit-any
  Return = any,
> extends Spy<Self, Args, Return>, Disposable {}

/** Utility for extracting the arguments type from a property. */
export type GetParametersFromProp<Self, Prop extends keyof Self> =
  Self[Prop] extends (...args: infer Args) => unknown ? Args : unknown[];

/** Utility for extracting the return type from a property. */
export type GetReturnFromProp<Self, Prop extends keyof Self> =
  // deno-lint-ignore no-explicit-any
  Self[Prop] extends (...args: any[]) => infer Return ? Return : unknown;

function record<Self, Args extends unknown[], Return>(
  original: (this: Self, ...args: Args) => Return,
  calls: SpyCall<Self, Args, Return>[],
): (this: Self, ...args: Args) => Return {
  return function (this: Self, ...args: Args): Return {
    const call: SpyCall<Self, Args, Return> = { args };
    if (this) call.self = this;
    try {
      call.returned = original.apply(this, args);
    } catch (error) {
      call.error = error as Error;
      calls.push(call);
      throw error;
    }
    calls.push(call);
    return call.returned;
  };
}

/**
 * Wraps an instance method with a spy.
 *
 * @param self The instance to spy on.
 * @param property The property of the method to spy on.
 * @returns The spy function.
 */
export function spy<Self, Prop extends keyof Self>(
  self: Self,
  property: Prop,
): MethodSpy<
  Self,
  GetParametersFromProp<Self, Prop>,
  GetReturnFromProp<Self, Prop>
>;
export function spy<Self, Args extends unknown[], Return>(
  self: Self,
  property: keyof Self,
): MethodSpy<Self, Args, Return> {
  const calls: SpyCall<Self, Args, Return>[] = [];
  if (typeof self[property] !== "function") {
    throw new MockError("Cannot spy: property is not an instance method");
  }
  const descriptor = Object.getOwnPropertyDescriptor(self, property);
  const original = self[property] as unknown as (
    this: Self,
    ...args: Args
  ) => Return;
  let restored = false;
  const fn = record(original, calls) as MethodSpy<Self, Args, Return>;
  Object.defineProperties(fn, {
    original: { enumerable: true, value: original },
    calls: { enumerable: true, value: calls },
    restored: { enumerable: true, get: () => restored },
    restore: {
      enumerable: true,
      value: () => {
        if (restored) {
          throw new MockError(
            "Cannot restore: instance method already restored",
          );
        }
        if (descriptor) Object.defineProperty(self, property, descriptor);
        else delete self[property];
        restored = true;
      },
    },
    [Symbol.dispose]: { value: () => fn.restore() },
  });
  Object.defineProperty(self, property, {
    configurable: true,
    enumerable: descriptor?.enumerable ?? false,
    writable: descriptor?.writable ?? false,
    value: fn,
  });
  return fn;
}

/**
 * Asserts that a spy is called as much as expected and no more.
 *
 * @param spy The spy to check.
 * @param expectedCalls The number of the expected calls.
 */
export function assertSpyCalls<Self, Args extends unknown[], Return>(
  spy: Spy<Self, Args, Return>,
  expectedCalls: number,
): void {
  if (spy.calls.length !== expectedCalls) {
    throw new AssertionError(
      `Spy not called as much as expected:\n\n    [Actual]   ${spy.calls.length}\n    [Expected] ${expectedCalls}`,
    );
  }
}
