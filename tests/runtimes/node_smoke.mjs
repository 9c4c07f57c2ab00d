// Copyright 2026 the @seed/event authors. MIT license.
// The smoke checks in Node, on the bundle:
//   node --test --test-reporter=tap tests/runtimes/node_smoke.mjs
import { test } from "node:test";
import * as mod from "../../dist/event.mjs";
import { checks } from "./smoke.mjs";

for (const [name, fn] of checks) {
  test(name, () => fn(mod));
}
