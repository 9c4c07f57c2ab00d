// Copyright 2026 the @seed/event authors. MIT license.
// The one Node module kv/protocol.ts uses (to name a refused value's size),
// for tsc in tools/build.ts, which has no @types/node.
declare module "node:v8" {
  export function serialize(value: unknown): Uint8Array;
}
