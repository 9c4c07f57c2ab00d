// Copyright 2026 the @seed/event authors. MIT license.
// The smoke checks in any Deno from 1.46 on, on the TypeScript source, as a
// JSR user imports it, without the project's deno.json:
//   deno test --no-config --no-lock tests/runtimes/deno_smoke.mjs
import * as mod from "../../mod.ts";
import { checks } from "./smoke.mjs";

for (const [name, fn] of checks) Deno.test(name, () => fn(mod));
