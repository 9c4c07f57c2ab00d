// Copyright 2026 the @seed/event authors. MIT license.
/**
 * The README's KvEvent quick-start, as is: `deno run --unstable-kv
 * examples/kv_quickstart.ts`. It runs any number of times in a row: the
 * event's state outlives the process (for `expireIn`), so a run that finds
 * it sent by the last one resets it first. `kv_quickstart_test.ts` runs it
 * twice.
 *
 * @module
 */
import { KvEvent } from "@seed/event/kv";

const kv = await Deno.openKv(); // this project's local database
{
  await using evt = new KvEvent<string>(kv, ["quickstart"], {
    expireIn: 60_000, // state kept a minute
  });
  // Sent by an earlier run? Then this is a new round: start afresh.
  if (await evt.ready()) await evt.reset();

  const waiting = evt.wait({ timeout: 5_000 }); // in any isolate or process
  await evt.send("hello, cluster"); // exactly one send per generation
  console.log(await waiting); // "hello, cluster"
}
kv.close();
