// Copyright 2026 the @seed/event authors. MIT license.
/**
 * A Worker of the KvEvent tests: opens the KV file it is told, waits on the
 * event, and posts back the value (the watch path: no polling).
 *
 * @module
 */
import { KvEvent } from "../kv.ts";

declare const self: Worker;
self.onmessage = async (message: MessageEvent<{ file: string }>) => {
  const kv = await Deno.openKv(message.data.file);
  {
    await using evt = new KvEvent<string>(kv, ["watched"], {
      pollInterval: Infinity,
    });
    const waiting = evt.wait({ timeout: 30_000 });
    self.postMessage({ ready: true });
    self.postMessage({ value: await waiting });
  }
  kv.close();
};
