// Copyright 2026 the @seed/event authors. MIT license.
// The smoke checks in Node, on the bundle:
//   node --test --test-reporter=tap tests/runtimes/node_smoke.mjs
import { test } from "node:test";
import * as mod from "../../dist/event.mjs";
import { checks } from "./smoke.mjs";

for (const [name, fn] of checks) {
  test(name, () => fn(mod));
}

// Node's own inspect, in its own context: depth holds, cycles show.
test("util.inspect shows a cycle as [Circular *1], and honours depth", async () => {
  const { inspect } = await import("node:util");
  const { strictEqual } = await import("node:assert/strict");
  const conn = new mod.Event({ name: "conn" });
  conn.send(conn);
  strictEqual(
    inspect(conn),
    "<ref *1> Event { name: 'conn', ready: true, value: [Circular *1] }",
  );
  const chain = Array.from({ length: 100 }, () => new mod.Event());
  chain.forEach((evt, i) => evt.send(chain[i + 1] ?? "end"));
  strictEqual(
    inspect(chain[0], { depth: 1 }),
    "Event { ready: true, value: Event { ready: true, value: [Event] } }",
  );
});
