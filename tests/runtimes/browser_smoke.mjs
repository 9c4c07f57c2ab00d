// Copyright 2026 the @seed/event authors. MIT license.
// The smoke checks in a headless browser, on the bundle:
//   node tests/runtimes/browser_smoke.mjs chrome /usr/bin/chromium
//   node tests/runtimes/browser_smoke.mjs firefox /usr/bin/firefox-esr
// Serves the repository on 127.0.0.1, opens a page that imports
// dist/event.mjs and smoke.mjs, and reports each check. puppeteer-core
// drives Chromium over CDP and Firefox over WebDriver BiDi.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const root = fileURLToPath(new URL("../..", import.meta.url));
const [browserName = "chrome", executablePath = "/usr/bin/chromium"] = process
  .argv.slice(2);
const types = { ".js": "text/javascript", ".mjs": "text/javascript" };
const page = `<!doctype html><script type="module">
  import * as mod from "/dist/event.mjs";
  import { runAll } from "/tests/runtimes/smoke.mjs";
  window.results = await runAll(mod);
</script>`;

const server = createServer(async (request, response) => {
  const path = normalize(new URL(request.url, "http://x").pathname);
  if (path === "/") {
    response.writeHead(200, { "content-type": "text/html" }).end(page);
    return;
  }
  try {
    const body = await readFile(join(root, path));
    response.writeHead(200, {
      "content-type": types[extname(path)] ?? "text/plain",
    })
      .end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();

const browser = await puppeteer.launch({
  browser: browserName,
  executablePath,
  headless: true,
  // Chromium's own flags; puppeteer sets up Firefox's profile itself.
  args: browserName === "chrome"
    ? [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ]
    : [],
});
let failed = 0;
let passed = 0;
try {
  const tab = await browser.newPage();
  tab.on("pageerror", (error) => console.error("page error:", error));
  await tab.goto(`http://127.0.0.1:${port}/`);
  // Runs in the page, where window is the global.
  // deno-lint-ignore no-window
  const results = await tab.waitForFunction(() => window.results, {
    timeout: 30_000,
  }).then((handle) => handle.jsonValue());
  const version = await browser.version();
  for (const [name, error] of results) {
    if (error === null || error === undefined) {
      passed++;
      console.log(`ok - ${name}`);
    } else {
      failed++;
      console.log(`not ok - ${name}\n  ${error}`);
    }
  }
  console.log(version);
} finally {
  await browser.close();
  server.close();
}
console.log(`${browserName}: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
