// Copyright 2026 the @seed/event authors. MIT license.
import type { FakeTime } from "@std/testing/time";

/**
 * Whether a promise has settled once every pending promise job has run,
 * under fake time, without moving the fake clock.
 */
export async function settledUnderFakeTime(
  time: FakeTime,
  promise: Promise<unknown>,
): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  await time.runMicrotasks();
  return settled;
}
