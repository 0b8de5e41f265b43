// The reference master server's command line (tests and development; not part of the daemon):
//   main.ts [serve] --data DIR [--port N] [--host ADDR]      run the HTTPS API
//   main.ts token --data DIR --url URL [--device ID] [--ttl-hours H] [--out FILE]
//       a one-time enrollment token, printed (or written, 0600) as the `master` file of a provisioning bundle
//   main.ts publish --data DIR --device ID --config FILE [--unchecked]
//       signs FILE (the daemon's YAML) as the device's next config version; checked with the daemon's loader first
//   main.ts devices --data DIR                                enrolled devices, published versions, last status
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, parseConfig } from "../../daemon/config/load.ts";
import { startMasterServer } from "./server.ts";
import { MasterStore } from "./store.ts";

const usage = `usage: main.ts [serve] --data DIR [--port N] [--host ADDR]
       main.ts token --data DIR --url URL [--device ID] [--ttl-hours H] [--out FILE]
       main.ts publish --data DIR --device ID --config FILE [--unchecked]
       main.ts devices --data DIR`;

class UsageError extends Error {}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      data: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      url: { type: "string" },
      device: { type: "string" },
      "ttl-hours": { type: "string" },
      out: { type: "string" },
      config: { type: "string" },
      unchecked: { type: "boolean" },
    },
  });
  const cmd = positionals[0] ?? "serve";
  const need = (name: keyof typeof values): string => {
    const v = values[name];
    if (typeof v !== "string" || !v) throw new UsageError(`--${name} is required for "${cmd}"`);
    return v;
  };
  const store = await MasterStore.open(need("data"));
  switch (cmd) {
    case "serve": {
      const port = Number(values.port ?? 8443);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`--port ${values.port}: not a port`);
      const m = await startMasterServer({ store, port, host: values.host });
      console.log(JSON.stringify({ msg: "master listening", url: m.url, certFingerprint: store.tls.fingerprint }));
      const stop = () => void m.close().then(() => process.exit(0));
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      return new Promise<number>(() => {});
    }
    case "token": {
      const hours = values["ttl-hours"] === undefined ? 168 : Number(values["ttl-hours"]);
      if (!(hours > 0)) throw new UsageError(`--ttl-hours ${values["ttl-hours"]}: not a positive number`);
      const url = need("url");
      if (!url.startsWith("https://")) throw new UsageError(`--url ${url}: must be https://`);
      const token = store.addToken({ deviceId: values.device, ttlMs: hours * 3_600_000 });
      const text = `${JSON.stringify(store.bundleFile(url, token), null, 2)}\n`;
      if (values.out) writeFileSync(values.out, text, { mode: 0o600 });
      else process.stdout.write(text);
      return 0;
    }
    case "publish": {
      const file = need("config");
      const text = readFileSync(file, "utf8");
      if (!values.unchecked) {
        try {
          parseConfig(text, file);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          console.error(e.message);
          return 1;
        }
      }
      const p = store.publish(need("device"), text);
      console.log(JSON.stringify({ device: values.device, ...p }));
      return 0;
    }
    case "devices": {
      const out = Object.entries(store.devices()).map(([id, d]) => ({
        id,
        enrolledAt: d.enrolledAt,
        published: store.published(id),
        lastStatus: store.lastStatus(id),
      }));
      console.log(JSON.stringify(out, null, 2));
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e instanceof UsageError || e instanceof TypeError ? `${e.message}\n${usage}` : e.message);
    process.exit(e instanceof UsageError || e instanceof TypeError ? 2 : 1);
  },
);
