// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Mutation testing of the engine (`event.ts`, `event/waiters.ts`,
 * `event/host.ts`) with StrykerJS: `deno task test:mutants`.
 *
 * Installs StrykerJS from npm into `tools/mutants/` on first use, then runs
 * it with its `command` test runner: every mutant is switched on in turn
 * through `__STRYKER_ACTIVE_MUTANT__` and the fast `deno test` command line
 * below (no type check) must fail for it. Slow (minutes): not part of CI.
 * Surviving mutants known to be equivalent are listed, with the reason, in
 * `docs/mutants.md`. Extra arguments go to `stryker run`.
 *
 * @module
 */

const root = new URL("..", import.meta.url).pathname;
const dir = new URL("./mutants/", import.meta.url).pathname;
const stryker = `${dir}node_modules/@stryker-mutator/core/bin/stryker.js`;

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
) {
  const { code } = await new Deno.Command(cmd, {
    args,
    cwd: root,
    env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (code !== 0) Deno.exit(code);
}

try {
  await Deno.stat(stryker);
} catch {
  await run("npm", [
    "install",
    "--prefix",
    dir,
    "--no-fund",
    "--no-audit",
  ]);
}

// The tests' command runs in Stryker's sandbox, through a shell: put this
// very Deno first on its PATH.
const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
await run("node", [stryker, "run", "tools/stryker.config.json", ...Deno.args], {
  PATH: `${denoDir}:${Deno.env.get("PATH") ?? ""}`,
});
