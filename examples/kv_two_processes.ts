// Copyright 2026 the @seed/event authors. MIT license.
/**
 * One KvEvent, two processes: start the waiter, then the sender, in two
 * terminals of one project (both open its local database):
 *
 *     deno run --unstable-kv examples/kv_two_processes.ts wait
 *     deno run --unstable-kv examples/kv_two_processes.ts send "hello"
 *
 * On a local file, `watch()` never sees another process's commits, so the
 * waiter is woken by its poll: within about a second with the default
 * `pollInterval: "auto"`. `kv_quickstart_test.ts` runs the two.
 *
 * @module
 */
import { KvEvent } from "@seed/event/kv";

const [role = "wait", message = "hello"] = Deno.args;
const kv = await Deno.openKv();
{
  await using evt = new KvEvent<string>(kv, ["two processes"], {
    expireIn: 60_000,
  });
  if (role === "wait") {
    // A round that an earlier run finished starts afresh.
    if (await evt.ready()) await evt.reset();
    const waiting = evt.wait({ timeout: 60_000 });
    console.log("waiting");
    console.log(`got: ${await waiting}`);
  } else {
    await evt.send(message);
    console.log("sent");
  }
}
kv.close();
