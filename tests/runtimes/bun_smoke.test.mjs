// Copyright 2026 the @seed/event authors. MIT license.
// The smoke checks in Bun, on the bundle and on the TypeScript source:
//   bun test ./tests/runtimes/bun_smoke.test.mjs
import { describe, test } from "bun:test";
import * as bundle from "../../dist/event.mjs";
import * as source from "../../mod.ts";
import { checks } from "./smoke.mjs";

for (const [label, mod] of [["bundle", bundle], ["mod.ts", source]]) {
  describe(label, () => {
    for (const [name, fn] of checks) test(name, () => fn(mod));
  });
}

// Bun's node:v8 writes JavaScriptCore's format, which Deno and Node cannot
// read (nor Bun theirs): the PostgreSQL store refuses to be made, saying
// why, before it could share a value with them.
describe("PostgresStore", () => {
  for (
    const [label, load] of [
      ["bundle", () => import("../../dist/postgres.mjs")],
      ["postgres.ts", () => import("../../postgres.ts")],
    ]
  ) {
    test(`${label}: refused in Bun, naming the format`, async () => {
      const { PostgresStore } = await load();
      const client = { unsafe() {}, begin() {}, listen() {} };
      let error;
      try {
        new PostgresStore(client);
      } catch (thrown) {
        error = thrown;
      }
      if (
        !(error instanceof TypeError) ||
        !error.message.includes("Bun writes JavaScriptCore's")
      ) {
        throw new Error(`expected the refusal, got ${error}`);
      }
    });
  }
});
