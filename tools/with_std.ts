// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Runs a deno subcommand (`test`, `check`, `bench`, ...) with `@std/assert`
 * and `@std/testing` from jsr.io when it is reachable, and otherwise with the
 * offline stand-ins in `tools/std/`, which have the same signatures:
 *
 *     deno run --allow-net=jsr.io --allow-run --allow-read --allow-env \
 *       tools/with_std.ts test --doc
 *
 * Set `STD_SOURCE=jsr` or `STD_SOURCE=standin` to skip the probe.
 *
 * @module
 */

const IMPORT_MAP = new URL("./std/import_map.json", import.meta.url);

async function jsrReachable(): Promise<boolean> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const response = await fetch("https://jsr.io/@std/assert/meta.json", {
      signal: controller.signal,
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

const [subcommand, ...rest] = Deno.args;
if (subcommand === undefined) {
  console.error("usage: with_std.ts <deno subcommand> [args...]");
  Deno.exit(2);
}

const source = Deno.env.get("STD_SOURCE") ??
  (await jsrReachable() ? "jsr" : "standin");
const args = [subcommand];
if (source === "standin") {
  console.error(
    "jsr.io is unreachable: using the offline stand-ins for @std/assert and @std/testing (tools/std/)",
  );
  args.push(`--import-map=${IMPORT_MAP.pathname}`);
} else if (source !== "jsr") {
  console.error(`STD_SOURCE must be "jsr" or "standin", got "${source}"`);
  Deno.exit(2);
}
args.push(...rest);

const { code } = await new Deno.Command(Deno.execPath(), {
  args,
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn().status;
Deno.exit(code);
