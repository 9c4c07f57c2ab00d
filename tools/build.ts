// Copyright 2026 the @seed/event authors. MIT license.
/**
 * `deno task build`: what Node, Bun, workerd and browsers load.
 *
 * - `dist/event.mjs`: `mod.ts` bundled, with `dist/event.d.mts`;
 * - `dist/kv.mjs`: `kv.ts` bundled without `event.ts`, which it imports from
 *   `./event.mjs`, so that both bundles share one `Event` and one
 *   `EventStateError` (an `instanceof` holds whichever bundle made the
 *   error); with `dist/kv.d.mts` and the `dist/kv/` declarations it names.
 *
 * Declarations come from the source, by `tsc`, without Deno's global types:
 * what type-checks here type-checks in Node.
 *
 * @module
 */
const root = new URL("..", import.meta.url);
const dist = new URL("dist/", root);

async function run(...args: string[]): Promise<void> {
  const { code } = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    cwd: root,
  }).spawn().status;
  if (code !== 0) throw new Error(`${args.join(" ")} failed (${code})`);
}

/**
 * Rewrites the relative `.ts` imports of a built file: the engine's to
 * `event.mjs` (the bundle's own module), the others to `.js` (their
 * declarations, under NodeNext resolution).
 */
async function relink(file: URL): Promise<void> {
  const text = await Deno.readTextFile(file);
  await Deno.writeTextFile(
    file,
    text.replace(/"(\.\.?\/)event\.ts"/g, '"$1event.mjs"')
      .replace(/"(\.\.?\/[\w/]+)\.ts"/g, '"$1.js"'),
  );
}

const deno = Deno.execPath();
await Deno.remove(dist, { recursive: true }).catch(() => {});
await run(
  deno,
  "bundle",
  "--platform=browser",
  "--output=dist/event.mjs",
  "mod.ts",
);
await run(
  deno,
  "bundle",
  "--platform=deno",
  "--external=./event.ts",
  "--external=../event.ts",
  "--output=dist/kv.mjs",
  "kv.ts",
);
// kv.mjs has the engine as two externals: both are ./event.mjs.
const kvUrl = new URL("kv.mjs", dist);
await Deno.writeTextFile(
  kvUrl,
  (await Deno.readTextFile(kvUrl)).replace(
    /"[^"]*\bevent\.ts"/g,
    '"./event.mjs"',
  ),
);
const kvBundle = await Deno.readTextFile(new URL("kv.mjs", dist));
if (/class Event\b/.test(kvBundle) || /"[^"]*\.ts"/.test(kvBundle)) {
  throw new Error("dist/kv.mjs must import the engine from ./event.mjs");
}

// The PostgreSQL store imports only types of the storage protocol.
await run(
  deno,
  "bundle",
  "--platform=deno",
  "--output=dist/postgres.mjs",
  "postgres.ts",
);
const pgBundle = await Deno.readTextFile(new URL("postgres.mjs", dist));
if (/^\s*(?:import|export)\b.*\bfrom\s*"(?!node:v8")/m.test(pgBundle)) {
  throw new Error("dist/postgres.mjs must import nothing but node:v8");
}

await run(
  deno,
  "run",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "npm:typescript@5.9.3/tsc",
  "-p",
  "tools/declarations.json",
);
for (const name of ["event", "kv", "postgres"]) {
  await Deno.rename(
    new URL(`${name}.d.ts`, dist),
    new URL(`${name}.d.mts`, dist),
  );
}
// The declarations import each other as the bundles do.
for (
  const file of [
    "kv.d.mts",
    "postgres.d.mts",
    "kv/protocol.d.ts",
    "kv/watcher.d.ts",
  ]
) {
  await relink(new URL(file, dist));
}
console.log(
  "dist/: event.mjs, event.d.mts, kv.mjs, kv.d.mts, postgres.mjs, postgres.d.mts",
);
