// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Offline stand-in for the parts of `jsr:@std/assert` that this project's
 * tests use, with the same signatures. Used only when jsr.io is unreachable
 * (see `tools/with_std.ts`); never published.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";

/** Error thrown when an assertion fails. */
export class AssertionError extends Error {
  /**
   * Constructs a new instance.
   *
   * @param message The error message.
   * @param options Additional options, such as the cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionError";
  }
}

/** Any constructor. */
// deno-lint-ignore no-explicit-any
export type AnyConstructor = new (...args: any[]) => any;
/** Gets the instance type of a constructor. */
export type GetConstructorType<T extends AnyConstructor> = InstanceType<T>;
/** Falsy values. */
export type Falsy = false | 0 | 0n | "" | null | undefined;

function show(value: unknown): string {
  return Deno.inspect(value, { depth: Infinity, sorted: true });
}

/**
 * Asserts that `expr` is truthy.
 *
 * @param expr The expression to test.
 * @param msg The message to throw on failure.
 */
export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg);
}

/**
 * Asserts that `expr` is falsy.
 *
 * @param expr The expression to test.
 * @param msg The message to throw on failure.
 */
export function assertFalse(expr: unknown, msg = ""): asserts expr is Falsy {
  if (expr) throw new AssertionError(msg);
}

/**
 * Asserts that `actual` and `expected` are deeply equal.
 *
 * @typeParam T The type of the values.
 * @param actual The actual value.
 * @param expected The expected value.
 * @param msg The message to throw on failure.
 */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (isDeepStrictEqual(actual, expected)) return;
  const suffix = msg ? `: ${msg}` : ".";
  throw new AssertionError(
    `Values are not equal${suffix}\n\n    [Actual]   ${
      show(actual)
    }\n    [Expected] ${show(expected)}`,
  );
}

/**
 * Asserts that `actual` and `expected` are strictly equal (`Object.is`).
 *
 * @typeParam T The type of the expected value.
 * @param actual The actual value.
 * @param expected The expected value.
 * @param msg The message to throw on failure.
 */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  if (Object.is(actual, expected)) return;
  const suffix = msg ? `: ${msg}` : ".";
  throw new AssertionError(
    `Values are not strictly equal${suffix}\n\n    [Actual]   ${
      show(actual)
    }\n    [Expected] ${show(expected)}`,
  );
}

/**
 * Asserts that `actual` is an instance of `expectedType`.
 *
 * @typeParam T The constructor type.
 * @param actual The value to test.
 * @param expectedType The expected class.
 * @param msg The message to throw on failure.
 */
export function assertInstanceOf<
  // deno-lint-ignore no-explicit-any
  T extends abstract new (...args: any[]) => any,
>(
  actual: unknown,
  expectedType: T,
  msg = "",
): asserts actual is InstanceType<T> {
  if (actual instanceof expectedType) return;
  throw new AssertionError(
    msg ||
      `Expected object to be an instance of "${expectedType.name}" but was ${
        show(actual)
      }.`,
  );
}

/**
 * Asserts that `actual` includes `expected`.
 *
 * @param actual The string to search.
 * @param expected The substring to find.
 * @param msg The message to throw on failure.
 */
export function assertStringIncludes(
  actual: string,
  expected: string,
  msg?: string,
): void {
  if (actual.includes(expected)) return;
  throw new AssertionError(
    msg ?? `Expected actual: "${actual}" to contain: "${expected}".`,
  );
}

/**
 * Asserts that `actual` is less than `expected`.
 *
 * @typeParam T The type of the values.
 * @param actual The actual value.
 * @param expected The bound.
 * @param msg The message to throw on failure.
 */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (actual < expected) return;
  throw new AssertionError(
    msg ?? `Expect ${show(actual)} < ${show(expected)}`,
  );
}

function checkError(
  error: unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: abstract new (...args: any[]) => Error,
  msgIncludes?: string,
  msg?: string,
): void {
  const suffix = msg ? `: ${msg}` : ".";
  if (ErrorClass === undefined) return;
  if (!(error instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was ${
        show(error)
      }${suffix}`,
    );
  }
  if (msgIncludes !== undefined && !error.message.includes(msgIncludes)) {
    throw new AssertionError(
      `Expected error message to include ${
        JSON.stringify(msgIncludes)
      }, but got ${JSON.stringify(error.message)}${suffix}`,
    );
  }
}

/**
 * Executes a function, expecting it to throw.
 *
 * @param fn The function to execute.
 * @param msg The message to throw on failure.
 * @returns The error that was thrown.
 */
export function assertThrows(fn: () => unknown, msg?: string): unknown;
/**
 * Executes a function, expecting it to throw an instance of `ErrorClass`.
 *
 * @typeParam E The error class.
 * @param fn The function to execute.
 * @param ErrorClass The expected error class.
 * @param msgIncludes A string the error message must include.
 * @param msg The message to throw on failure.
 * @returns The error that was thrown.
 */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: abstract new (...args: any[]) => E,
  msgIncludes?: string,
  msg?: string,
): E;
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  errorClassOrMsg?: (abstract new (...args: any[]) => E) | string,
  msgIncludes?: string,
  msg?: string,
): E | unknown {
  const ErrorClass = typeof errorClassOrMsg === "string"
    ? undefined
    : errorClassOrMsg;
  if (typeof errorClassOrMsg === "string") msg = errorClassOrMsg;
  try {
    fn();
  } catch (error) {
    checkError(error, ErrorClass, msgIncludes, msg);
    return error;
  }
  throw new AssertionError(
    `Expected function to throw${msg ? `: ${msg}` : "."}`,
  );
}

/**
 * Executes a function which returns a promise, expecting it to reject.
 *
 * @param fn The function to execute.
 * @param msg The message to throw on failure.
 * @returns The reason of the rejection.
 */
export function assertRejects(
  fn: () => PromiseLike<unknown>,
  msg?: string,
): Promise<unknown>;
/**
 * Executes a function which returns a promise, expecting it to reject with an
 * instance of `ErrorClass`.
 *
 * @typeParam E The error class.
 * @param fn The function to execute.
 * @param ErrorClass The expected error class.
 * @param msgIncludes A string the error message must include.
 * @param msg The message to throw on failure.
 * @returns The reason of the rejection.
 */
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass: abstract new (...args: any[]) => E,
  msgIncludes?: string,
  msg?: string,
): Promise<E>;
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  // deno-lint-ignore no-explicit-any
  errorClassOrMsg?: (abstract new (...args: any[]) => E) | string,
  msgIncludes?: string,
  msg?: string,
): Promise<E | unknown> {
  const ErrorClass = typeof errorClassOrMsg === "string"
    ? undefined
    : errorClassOrMsg;
  if (typeof errorClassOrMsg === "string") msg = errorClassOrMsg;
  const promise = fn();
  if (
    promise === null || typeof promise !== "object" ||
    typeof promise.then !== "function"
  ) {
    throw new AssertionError(
      `Function throws when expected to reject${msg ? `: ${msg}` : "."}`,
    );
  }
  try {
    await promise;
  } catch (error) {
    checkError(error, ErrorClass, msgIncludes, msg);
    return error;
  }
  throw new AssertionError(
    `Expected function to reject${msg ? `: ${msg}` : "."}`,
  );
}
