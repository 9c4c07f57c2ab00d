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
