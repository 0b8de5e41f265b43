// `switchboard backup` and `switchboard restore`. The passphrase comes from $SWITCHBOARD_BACKUP_PASSPHRASE or a file
// (--passphrase-file), never from the command line, where every user of the box could read it in the process list.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config/load.ts";
import { BackupError, createBackup, restoreBackup } from "./backup.ts";

export const backupUsage = `usage:
  switchboard backup --config FILE [--data DIR] --out FILE [--no-audio] [--passphrase-file FILE]
  switchboard restore FILE --config FILE [--data DIR] [--force] [--passphrase-file FILE]
the passphrase is read from $SWITCHBOARD_BACKUP_PASSPHRASE or from --passphrase-file`;

function passphrase(file: string | undefined): string {
  if (file) {
    try {
      // One trailing newline is what `echo ... > file` adds; it is not part of the passphrase.
      return readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw new BackupError("bad-input", `${file}: cannot read the passphrase file (${(e as Error).message})`);
    }
  }
  const env = process.env.SWITCHBOARD_BACKUP_PASSPHRASE;
  if (!env) throw new BackupError("bad-input", "no passphrase: set SWITCHBOARD_BACKUP_PASSPHRASE or --passphrase-file");
  return env;
}

/** dataDir and recording.dir from the config file, --data winning; a config that does not load is an error. */
function fromConfig(configFile: string, data: string | undefined) {
  const config = loadConfig(configFile);
  return { dataDir: data ?? config.dataDir, recordingsDir: config.recording.dir };
}

function fail(e: unknown, out: (line: string) => void): number {
  if (e instanceof ConfigError || e instanceof BackupError) {
    out(e.message);
    return 1;
  }
  throw e;
}

/** parseArgs, with an unknown option (say --passphrase) answered by the usage instead of a stack trace. */
function parse<T>(f: () => T, out: (line: string) => void): T | undefined {
  try {
    return f();
  } catch (e) {
    out(`${(e as Error).message}\n${backupUsage}`);
    return undefined;
  }
}

export async function backupCommand(args: string[], out: (line: string) => void = console.error): Promise<number> {
  const parsed = parse(
    () =>
      parseArgs({
        args,
        options: {
          config: { type: "string" },
          data: { type: "string" },
          out: { type: "string" },
          "no-audio": { type: "boolean" },
          "passphrase-file": { type: "string" },
        },
      }),
    out,
  );
  if (!parsed) return 2;
  const { values } = parsed;
  if (!values.config || !values.out) {
    out(backupUsage);
    return 2;
  }
  try {
    const where = fromConfig(values.config, values.data);
    const r = await createBackup({
      configFile: values.config,
      dataDir: where.dataDir,
      recordingsDir: where.recordingsDir,
      out: values.out,
      noAudio: values["no-audio"],
      passphrase: passphrase(values["passphrase-file"]),
    });
    for (const s of r.skipped) out(`skipped (not a regular file): ${s}`);
    console.log(
      `${r.out}: ${r.files} files, ${r.bytes} bytes${r.includesAudio ? "" : " (without recordings and voicemail)"}`,
    );
    return 0;
  } catch (e) {
    return fail(e, out);
  }
}

export async function restoreCommand(args: string[], out: (line: string) => void = console.error): Promise<number> {
  const parsed = parse(
    () =>
      parseArgs({
        args,
        options: {
          config: { type: "string" },
          data: { type: "string" },
          force: { type: "boolean" },
          "passphrase-file": { type: "string" },
        },
        allowPositionals: true,
      }),
    out,
  );
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const file = positionals[0];
  if (!file || positionals.length > 1 || !values.config) {
    out(backupUsage);
    return 2;
  }
  try {
    // The config being replaced may be broken or missing (that may be why we restore): then --data is needed.
    let dataDir = values.data;
    if (!dataDir) {
      try {
        dataDir = fromConfig(values.config, undefined).dataDir;
      } catch (e) {
        if (!(e instanceof ConfigError) && (e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        throw new BackupError("bad-input", `${values.config} cannot be read, so give the data dir with --data DIR`);
      }
    }
    const r = await restoreBackup({
      file,
      passphrase: passphrase(values["passphrase-file"]),
      dataDir,
      configFile: values.config,
      force: values.force,
    });
    console.log(`restored the backup of ${r.createdAt}: ${r.files} files into ${dataDir} and ${values.config}`);
    for (const [what, path] of Object.entries(r.previous))
      console.log(`the replaced ${what} was kept as ${path} (delete it once all is well)`);
    return 0;
  } catch (e) {
    return fail(e, out);
  }
}
