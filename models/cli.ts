// `switchboard models ...`: list, install, verify and remove model bundles. Output goes through `out` so the
// lead's CLI (and tests) decide where it lands; the return value is the exit code (0 ok, 1 failed, 2 usage).
import { parseArgs } from "node:util";
import type { Log } from "../daemon/ops/log.ts";
import { ModelStore, type ModelStoreOptions, type ProgressEvent } from "./store.ts";

export const modelsUsage = `usage:
  switchboard models list                          installed models (active version) and search-path models
  switchboard models install PATH [--manifest FILE] install a bundle directory or .tar and activate it
  switchboard models verify [NAME]                 re-hash installed and search-path models
  switchboard models remove NAME                   remove every installed version of NAME`;

export interface ModelsCommandOptions {
  dataDir: string;
  searchPaths: string[];
  out: (line: string) => void;
  log?: Log;
  /** Files at least this big get percent lines while copying/hashing (default 32 MiB). */
  progressMinBytes?: number;
  verifySignature?: ModelStoreOptions["verifySignature"];
  requireSignature?: boolean;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Prints "file: 40% (x/y MiB)" at each 10% step, only for files (or archives) of at least `min` bytes. */
function progressPrinter(out: (line: string) => void, min: number): (e: ProgressEvent) => void {
  let key = "";
  let lastStep = -1;
  return (e) => {
    if (e.fileBytesTotal < min || e.fileBytesTotal === 0) return;
    const k = `${e.phase}:${e.file ?? "archive"}`;
    if (k !== key) {
      key = k;
      lastStep = -1;
    }
    const step = Math.floor((e.fileBytesDone / e.fileBytesTotal) * 10);
    if (step <= lastStep) return;
    lastStep = step;
    out(`  ${e.phase} ${e.file ?? "archive"}: ${step * 10}% (${mib(e.fileBytesDone)}/${mib(e.fileBytesTotal)})`);
  };
}

export async function modelsCommand(args: string[], opts: ModelsCommandOptions): Promise<number> {
  const { out } = opts;
  const parse = (a: string[]) =>
    parseArgs({ args: a, allowPositionals: true, options: { manifest: { type: "string" } }, strict: true });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (e) {
    out(`${(e as Error).message}\n${modelsUsage}`);
    return 2;
  }
  const [cmd, ...pos] = parsed.positionals;
  const store = new ModelStore({
    dataDir: opts.dataDir,
    searchPaths: opts.searchPaths,
    log: opts.log,
    verifySignature: opts.verifySignature,
    requireSignature: opts.requireSignature,
  });
  const onProgress = progressPrinter(out, opts.progressMinBytes ?? 32 * 2 ** 20);
  const usage = () => {
    out(modelsUsage);
    return 2;
  };
  if (parsed.values.manifest !== undefined && cmd !== "install") return usage();

  try {
    switch (cmd) {
      case "list": {
        if (pos.length) return usage();
        const rows = await store.list();
        if (rows.length === 0) out("no models installed and none found on the search paths");
        for (const r of rows) {
          if (!r.bundle) {
            out(`${r.name}  [${r.source}]  UNUSABLE: ${r.error ?? "?"}  (${r.dir})`);
            continue;
          }
          const m = r.bundle.manifest;
          const others = r.bundle.versions.filter((v) => v !== m.version);
          out(
            `${m.name}  ${m.version}  ${m.task}  ${m.engine}  ${m.languages.join(",")}  ${m.sampleRate} Hz  ` +
              `${m.licence}  [${r.source}${others.length ? `; also on disk: ${others.join(", ")}` : ""}]  ${r.dir}`,
          );
        }
        return 0;
      }
      case "install": {
        if (pos.length !== 1) return usage();
        const r = await store.install(pos[0], { manifestPath: parsed.values.manifest, onProgress });
        for (const w of r.warnings) out(`warning: ${w}`);
        out(
          r.reused
            ? `${r.name} ${r.version} was already installed and intact; it is active`
            : `installed ${r.name} ${r.version}${r.previous && r.previous !== r.version ? ` (was ${r.previous})` : ""}; it is active`,
        );
        return 0;
      }
      case "verify": {
        if (pos.length > 1) return usage();
        const results = await store.verify(pos[0], onProgress);
        if (results.length === 0) out("nothing to verify");
        let bad = 0;
        for (const r of results) {
          if (r.problems.length === 0) out(`ok      ${r.name} ${r.version}  [${r.source}]`);
          else {
            bad++;
            out(`FAILED  ${r.name} ${r.version}  [${r.source}]  ${r.dir}`);
            for (const p of r.problems) out(`        ${p}`);
          }
        }
        return bad ? 1 : 0;
      }
      case "remove": {
        if (pos.length !== 1) return usage();
        const r = await store.remove(pos[0]);
        out(`removed ${pos[0]} (${r.versions.join(", ") || "no versions"})`);
        return 0;
      }
      default:
        return usage();
    }
  } catch (e) {
    // Expected failures (bad bundle, not found) and I/O errors alike end as one readable line and exit 1.
    if (e instanceof Error) {
      out(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
