// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Part of `deno task check`: every relative link in a published Markdown
 * file resolves to a file the package publishes (on jsr.io the rest of the
 * repository is not there). What is published is `deno.json`'s
 * `publish.exclude` taken away from the files git tracks.
 *
 * @module
 */
import { globToRegExp } from "@std/path/glob-to-regexp";

const root = new URL("..", import.meta.url).pathname;
const { publish } = JSON.parse(await Deno.readTextFile(`${root}deno.json`)) as {
  publish: { exclude: string[] };
};
const excluded = publish.exclude.map((pattern) =>
  pattern.endsWith("/")
    ? (path: string) => path.startsWith(pattern)
    : ((re) => (path: string) =>
      re.test(path) || re.test(path.split("/").pop()!))(
        globToRegExp(pattern, { extended: true, globstar: true }),
      )
);
const { stdout } = await new Deno.Command("git", {
  args: ["ls-files"],
  cwd: root,
}).output();
const published = new Set(
  new TextDecoder().decode(stdout).split("\n").filter(Boolean)
    .filter((path) => !excluded.some((isExcluded) => isExcluded(path))),
);
const problems: string[] = [];
for (const file of [...published].filter((path) => path.endsWith(".md"))) {
  const text = await Deno.readTextFile(`${root}${file}`);
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:|^#/.test(target!)) continue; // absolute, or an anchor
    const path = new URL(target!.split("#")[0]!, `file:///${file}`).pathname
      .slice(1);
    if (!published.has(path)) {
      problems.push(`${file}: ${target} is not in the published package`);
    }
  }
}
if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  Deno.exit(1);
}
console.log(
  `every relative link in ${published.size} published files resolves`,
);
