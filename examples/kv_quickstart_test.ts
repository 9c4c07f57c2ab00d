// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The KvEvent examples a user pastes, run as a user runs them: the
 * quick-start twice in a row, and the two-process version, each in a
 * process of its own with the project's config, on a database of their own
 * (a fresh `DENO_DIR`, so `Deno.openKv()` opens a new local file).
 */
import { assertEquals } from "@std/assert";

/** `deno run` of an example, with its own DENO_DIR. */
function example(dir: string, ...args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${new URL("../deno.json", import.meta.url).pathname}`,
      "--no-lock",
      ...args,
    ],
    env: { DENO_DIR: dir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
}

async function output(command: Deno.Command): Promise<string> {
  const { code, stdout, stderr } = await command.output();
  const err = new TextDecoder().decode(stderr);
  assertEquals(code, 0, err);
  return new TextDecoder().decode(stdout);
}

Deno.test("examples/kv_quickstart.ts runs as is, twice in a row", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kv_quickstart_" });
  try {
    const path = new URL("./kv_quickstart.ts", import.meta.url).pathname;
    assertEquals(await output(example(dir, path)), "hello, cluster\n");
    assertEquals(await output(example(dir, path)), "hello, cluster\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/kv_two_processes.ts sends in one process and wakes the other", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kv_two_" });
  try {
    const path = new URL("./kv_two_processes.ts", import.meta.url).pathname;
    for (const message of ["first round", "second round"]) {
      const waiter = example(dir, path, "wait").spawn();
      const lines = waiter.stdout.pipeThrough(new TextDecoderStream())
        .getReader();
      let text = "";
      while (!text.includes("waiting\n")) {
        const { done, value } = await lines.read();
        if (done) break;
        text += value;
      }
      assertEquals(await output(example(dir, path, "send", message)), "sent\n");
      for (;;) {
        const { done, value } = await lines.read();
        if (done) break;
        text += value;
      }
      assertEquals(text, `waiting\ngot: ${message}\n`);
      await waiter.stderr.cancel();
      assertEquals((await waiter.status).code, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
