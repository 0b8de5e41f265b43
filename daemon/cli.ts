// The `switchboard` command: start the daemon, check a config file, print the version.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config/load.ts";
import { createLog } from "./ops/log.ts";
import { SystemdNotifier } from "./ops/sd-notify.ts";

const usage = `usage:
  switchboard start --config FILE [--data DIR]   run the daemon
  switchboard check-config FILE                  validate a config file (exit 1 and list every problem)
  switchboard models list|install PATH|verify [NAME]|remove NAME [--config FILE] [--data DIR]
  switchboard simulate --config FILE --script FILE [--json]
                                                 run one call from a script without audio; exit 1 when an
                                                 expectation fails
  switchboard provision keygen|make-bundle|verify|apply|rollback|status ...
                                                 signed USB provisioning bundles (provision help for options)
  switchboard backup --config FILE [--data DIR] --out FILE [--no-audio] [--passphrase-file FILE]
                                                 encrypted backup of config, database, keys and audio
  switchboard restore FILE --config FILE [--data DIR] [--force] [--passphrase-file FILE]
                                                 restore a backup (daemon stopped); the passphrase comes from
                                                 $SWITCHBOARD_BACKUP_PASSPHRASE or the file, never from arguments
  switchboard version                            print the version`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "version":
    case "--version":
      console.log(`switchboard ${version()}`);
      return 0;
    case "check-config":
      return checkConfig(rest);
    case "start":
      return start(rest);
    case "models":
      return models(rest);
    case "simulate":
      return simulateCommand(rest);
    case "provision": {
      const { provisionCommand } = await import("../provisioning/cli.ts");
      return provisionCommand(rest);
    }
    case "backup": {
      const { backupCommand } = await import("./ops/backup-cli.ts");
      return backupCommand(rest);
    }
    case "restore": {
      const { restoreCommand } = await import("./ops/backup-cli.ts");
      return restoreCommand(rest);
    }
    default:
      console.error(
        command && command !== "help" && command !== "--help" ? `unknown command "${command}"\n${usage}` : usage,
      );
      return command === "help" || command === "--help" ? 0 : 2;
  }
}

function checkConfig(args: string[]): number {
  const file = args[0];
  if (!file) {
    console.error(usage);
    return 2;
  }
  try {
    const config = loadConfig(file);
    console.log(`${file}: ok (${config.trunks.length} trunk(s), ${config.sip.listen.length} SIP listener(s))`);
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    return 1;
  }
}

async function simulateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: "string" }, script: { type: "string", multiple: true }, json: { type: "boolean" } },
  });
  if (!values.config || !values.script?.length) {
    console.error(usage);
    return 2;
  }
  const { loadScript, simulate } = await import("./flow/simulator.ts");
  let failed = 0;
  try {
    const config = loadConfig(values.config);
    if (!config.routing) throw new Error(`${values.config}: no routing (time windows and agents) to simulate`);
    for (const file of values.script) {
      const r = await simulate(config, loadScript(file));
      const outcome = {
        script: file,
        window: r.ctx.window?.id,
        agents: r.ctx.agents,
        intent: r.ctx.intent,
        slots: r.ctx.vars,
        actions: r.ctx.actions,
        transferred: r.ctx.transferred,
        escalation: r.ctx.escalation,
        consent: r.ctx.consent?.recording,
        outcome: r.ctx.outcome,
        failures: r.failures,
      };
      if (!values.json) console.log(`# ${file}\n${r.transcript}\n`);
      console.log(JSON.stringify(outcome, null, values.json ? undefined : 2));
      for (const f of r.failures) console.error(`${file}: ${f}`);
      if (r.failures.length) failed++;
    }
  } catch (e) {
    if (e instanceof ConfigError) console.error(e.message);
    else console.error(`switchboard simulate: ${(e as Error).message}`);
    return 1;
  }
  return failed ? 1 : 0;
}

/** Model commands take the data dir and search paths from --config (when given) and --data. */
async function models(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: "string" }, data: { type: "string" }, manifest: { type: "string" } },
    allowPositionals: true,
  });
  let dataDir = values.data ?? "./data";
  let searchPaths: string[] = [];
  if (values.config) {
    try {
      const config = loadConfig(values.config);
      dataDir = values.data ?? config.dataDir;
      searchPaths = config.models.searchPaths;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      console.error(e.message);
      return 1;
    }
  }
  const { modelsCommand } = await import("../models/cli.ts");
  const rest = values.manifest ? [...positionals, "--manifest", values.manifest] : positionals;
  return modelsCommand(rest, { dataDir, searchPaths, out: (line) => console.log(line) });
}

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: "string" }, data: { type: "string" } } });
  if (!values.config) {
    console.error(usage);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(values.config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    return 1;
  }
  const log = createLog(config.log.level);
  // A bug in one call must not take the box down: log it loudly and keep serving the others.
  process.on("uncaughtException", (e) => log.error({ err: e.message, stack: e.stack }, "uncaught exception"));
  process.on("unhandledRejection", (e) => log.error({ err: String(e) }, "unhandled rejection"));
  const { startDaemon } = await import("./main.ts");
  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    daemon = await startDaemon(config, { dataDir: values.data ?? config.dataDir, log, configFile: values.config });
  } catch (e) {
    log.fatal({ err: (e as Error).message }, "start failed");
    console.error(`switchboard: ${(e as Error).message}`);
    return 1;
  }
  // Under systemd (Type=notify): ready once serving, watchdog pings while the media clock answers. Nothing is awaited
  // between start and the signal handlers below: a SIGTERM right after "ready" must drain, not kill.
  const notifier = new SystemdNotifier({ log: log.child({ part: "systemd" }) });
  void notifier.ready("serving calls");
  notifier.startWatchdog(() => daemon.healthy());
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      log.info({ signal }, "signal received");
      notifier.stopWatchdog();
      void notifier.stopping("draining calls");
      daemon.stop().then(resolve, (e: Error) => {
        log.error({ err: e.message }, "shutdown failed");
        resolve();
      });
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    // SIGHUP: read the config file again; new calls get it, running calls keep theirs, a bad file changes nothing.
    process.on("SIGHUP", () => {
      try {
        const next = loadConfig(values.config as string);
        daemon.reload(next);
      } catch (e) {
        const problems = e instanceof ConfigError ? e.message.split("\n") : [(e as Error).message];
        log.error({ file: values.config, problems }, "configuration not reloaded: the running one stays");
      }
    });
  });
  return 0;
}
