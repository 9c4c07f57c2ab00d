// Copyright 2026 the @seed/event authors. MIT license.
/**
 * A throwaway PostgreSQL server for the tests, from the machine's binaries:
 * `initdb` in a temporary folder, listening on 127.0.0.1 and a free port
 * (no socket file elsewhere), stopped and removed by `stopSync()`. As root,
 * `initdb` and `pg_ctl` run as user `postgres` (initdb refuses root).
 *
 * `findPostgres()` says where the binaries are, or why the tests skip:
 * `PG_BIN` names their folder; otherwise `pg_config --bindir`, then
 * Debian's `/usr/lib/postgresql/<n>/bin`.
 */
// Inline, as in model_test.ts: `deno task demo` must run with no npm registry.
// deno-lint-ignore no-import-prefix
import postgres from "npm:postgres@^3.4.9";

/** Where the server binaries are, or why there are none. */
export type Found = { bin: string } | { missing: string };

const SKIP_HINT =
  "install PostgreSQL's server (Debian: apt-get install postgresql) or set PG_BIN to the folder of its initdb and pg_ctl";

/** Finds initdb and pg_ctl. */
export async function findPostgres(): Promise<Found> {
  const candidates: string[] = [];
  const named = Deno.env.get("PG_BIN");
  if (named) candidates.push(named);
  try {
    const { stdout, success } = await new Deno.Command("pg_config", {
      args: ["--bindir"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (success) candidates.push(new TextDecoder().decode(stdout).trim());
  } catch {
    // No pg_config on the PATH.
  }
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((entry) => entry.name).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      candidates.push(`/usr/lib/postgresql/${version}/bin`);
    }
  } catch {
    // Not Debian's layout.
  }
  for (const bin of candidates) {
    try {
      Deno.statSync(`${bin}/initdb`);
      Deno.statSync(`${bin}/pg_ctl`);
      return { bin };
    } catch {
      // Not here.
    }
  }
  return { missing: `no PostgreSQL server binaries found: ${SKIP_HINT}` };
}

/** A running throwaway server. */
export interface Server {
  readonly port: number;
  readonly url: string;
  /** A postgres.js client on it: end it (`sql.end()`) before the test ends. */
  client(options?: postgres.Options<Record<string, never>>): postgres.Sql;
  /** Runs SQL as the superuser on a client of its own. */
  admin(query: string): Promise<postgres.Row[]>;
  /** `pg_ctl restart`: every connection drops; back about 0.2 s later. */
  restart(): Promise<void>;
  /** Stops it and removes its folder: at once, for an `unload` handler. */
  stopSync(): void;
}

/** Whether this runs as root: `id -u`, needing no --allow-sys. */
const asRoot = new TextDecoder().decode(
  (await new Deno.Command("id", { args: ["-u"], stdout: "piped" }).output())
    .stdout,
).trim() === "0";

/** A command line, as user postgres when this runs as root. */
function command(program: string, args: string[]): [string, string[]] {
  return asRoot
    ? ["runuser", ["-u", "postgres", "--", program, ...args]]
    : [program, args];
}

async function run(
  program: string,
  args: string[],
  what: string,
): Promise<string> {
  const [cmd, argv] = command(program, args);
  const { success, stdout, stderr } = await new Deno.Command(cmd, {
    args: argv,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout) +
    new TextDecoder().decode(stderr);
  if (!success) throw new Error(`${what} failed: ${text}`);
  return text;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts a server; `stopSync()` it (its clients ended first). */
export async function startPostgres(bin: string): Promise<Server> {
  const dir = asRoot
    ? (await run("mktemp", ["-d", "/tmp/seed-event-pg.XXXXXX"], "mktemp"))
      .trim()
    : await Deno.makeTempDir({ prefix: "seed-event-pg." });
  const data = `${dir}/data`;
  await run(
    `${bin}/initdb`,
    ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"],
    "initdb",
  );
  let port = 0;
  const options = () =>
    `-p ${port} -h 127.0.0.1 -k ${dir} -F -c max_connections=200`;
  for (let tries = 0;; tries++) {
    port = freePort(); // another process may take it first: try another
    try {
      await run(`${bin}/pg_ctl`, [
        "-D",
        data,
        "-l",
        `${dir}/log`,
        "-w",
        "-o",
        options(),
        "start",
      ], "pg_ctl start");
      break;
    } catch (error) {
      if (tries >= 3) throw error;
    }
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const client = (options = {}) => {
    return postgres(url, {
      onnotice: () => {},
      pass: "trust",
      max: 4,
      ...options,
    });
  };
  return {
    port,
    url,
    client,
    async admin(query) {
      const sql = postgres(url, { onnotice: () => {}, pass: "trust", max: 1 });
      try {
        return await sql.unsafe(query);
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
    async restart() {
      await run(`${bin}/pg_ctl`, [
        "-D",
        data,
        "-w",
        "-m",
        "fast",
        "-l",
        `${dir}/log`,
        "-o",
        options(),
        "restart",
      ], "pg_ctl restart");
    },
    stopSync() {
      const [cmd, argv] = command(`${bin}/pg_ctl`, [
        "-D",
        data,
        "-m",
        "immediate",
        "stop",
      ]);
      new Deno.Command(cmd, { args: argv, stdout: "null", stderr: "null" })
        .outputSync();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}
