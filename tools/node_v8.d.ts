// Copyright 2026 the @seed/event authors. MIT license.
// The one Node module the stores use (kv/protocol.ts to name a refused
// value's size, postgres.ts to store values as Deno KV does), for tsc in
// tools/build.ts, which has no @types/node.
declare module "node:v8" {
  export function serialize(value: unknown): Uint8Array;
  export function deserialize(bytes: Uint8Array): unknown;
}
