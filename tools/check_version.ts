// Copyright 2026 the @seed/event authors. MIT license.
/**
 * Part of `deno task check`: the version in `deno.json` is the newest
 * released section of `CHANGELOG.md`, and every section has its link.
 *
 * @module
 */
const root = new URL("..", import.meta.url);
const { version } = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", root)),
) as { version: string };
const changelog = await Deno.readTextFile(new URL("CHANGELOG.md", root));
const sections = [...changelog.matchAll(/^## \[([^\]]+)\](?: - (\S+))?$/gm)]
  .map(([, name, date]) => ({ name: name!, date }));
const released = sections.filter((section) => section.name !== "Unreleased");
const problems: string[] = [];
if (released[0]?.name !== version) {
  problems.push(
    `deno.json says ${version}, the newest CHANGELOG section is ${
      released[0]?.name ?? "none"
    }`,
  );
}
for (const section of released) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(section.date ?? "")) {
    problems.push(`CHANGELOG section ${section.name} has no date`);
  }
}
for (const section of sections) {
  if (!new RegExp(`^\\[${section.name}\\]: \\S+$`, "m").test(changelog)) {
    problems.push(`CHANGELOG section ${section.name} has no link definition`);
  }
}
if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  Deno.exit(1);
}
console.log(`version ${version} matches CHANGELOG.md`);
