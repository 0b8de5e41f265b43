// `switchboard provision keygen | make-bundle | verify | apply | rollback` for installers.
import { parseArgs } from "node:util";
import { ModelStore } from "../models/store.ts";
import { ApplyBusyError, withApplyLock } from "./apply-lock.ts";
import { applyBundle, currentDir, deviceIdentity, readState, reportText, rollback, trustedKeyFile } from "./apply.ts";
import { BundleRejected, type BundleProgress, type DeviceIdentity } from "./bundle.ts";
import { generateKeys, loadPrivateKey, loadPublicKey } from "./keys.ts";
import { type BundleInput, makeBundle } from "./make-bundle.ts";
import { ROLES, type Role, parseTarget } from "./manifest.ts";
import type { ApplyProgress } from "./model-bundles.ts";
import { verifyBundle } from "./bundle.ts";

export const provisionUsage = `usage:
  switchboard provision keygen --out DIR
  switchboard provision make-bundle --key PRIV --target device:ID|fleet:ID --version N --expires ISO
                                    --config FILE [--secret FILE] [--file ROLE=PATH ...] --out BUNDLE.tar
  switchboard provision verify --pub PUB [--device ID] [--fleet ID] [--installed N] BUNDLE
  switchboard provision apply [--pub PUB] --data DIR [--device ID] [--fleet ID] BUNDLE
                            (installs its model bundles into DIR's model store; one apply at a time per DIR)
  switchboard provision rollback --data DIR
  switchboard provision status --data DIR
roles for --file: ${ROLES.join(", ")}`;

export interface ProvisionIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const console_: ProvisionIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

class UsageError extends Error {}

function need(v: string | undefined, flag: string): string {
  if (!v) throw new UsageError(`missing ${flag}`);
  return v;
}

function identity(values: { device?: string; fleet?: string; data?: string }): DeviceIdentity {
  if (values.device) return { deviceId: values.device, ...(values.fleet ? { fleetId: values.fleet } : {}) };
  const d = deviceIdentity(values.data ?? "./data");
  return values.fleet ? { ...d, fleetId: values.fleet } : d;
}

function progressPrinter(io: ProvisionIo): (p: BundleProgress | ApplyProgress) => void {
  let last = "";
  // One line per finished file or per 10 % of the bytes, so a big model bundle shows it is moving.
  return (p) => {
    const tenth = p.totalBytes ? Math.floor((p.bytes * 10) / p.totalBytes) : 10;
    const models = "stage" in p && p.stage === "models";
    const key = `${models}:${p.files}:${tenth}`;
    if (key === last) return;
    last = key;
    io.out(
      models
        ? `checking model bundles: ${p.files}/${p.totalFiles}, ${p.bytes}/${p.totalBytes} bytes`
        : `progress: ${p.files}/${p.totalFiles} files, ${p.bytes}/${p.totalBytes} bytes`,
    );
  };
}

/** Holds the data dir's apply lock around `job` (the daemon's USB provisioner takes the same one). */
function locked<T>(io: ProvisionIo, dataDir: string, what: string, job: () => Promise<T>): Promise<T> {
  return withApplyLock(
    dataDir,
    {
      by: `switchboard provision ${what}`,
      onTakeOver: ({ holder, reason }) =>
        io.err(`took over a stale apply lock (pid ${holder.pid}, since ${holder.since}): ${reason}`),
    },
    job,
  );
}

export async function provisionCommand(args: string[], io: ProvisionIo = console_): Promise<number> {
  const [sub, ...rest] = args;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        key: { type: "string" },
        pub: { type: "string" },
        target: { type: "string" },
        version: { type: "string" },
        expires: { type: "string" },
        config: { type: "string" },
        secret: { type: "string" },
        file: { type: "string", multiple: true },
        data: { type: "string" },
        device: { type: "string" },
        fleet: { type: "string" },
        installed: { type: "string" },
      },
    });
    switch (sub) {
      case "keygen": {
        const k = generateKeys(need(values.out, "--out DIR"));
        io.out(`private key: ${k.privateKey} (keep it off the devices)\npublic key:  ${k.publicKey}`);
        return 0;
      }
      case "make-bundle": {
        const version = Number(need(values.version, "--version N"));
        if (!Number.isSafeInteger(version) || version < 1) throw new UsageError("--version: a positive integer");
        const expires = new Date(need(values.expires, "--expires ISO"));
        if (Number.isNaN(expires.getTime())) throw new UsageError(`--expires: not a date: ${values.expires}`);
        const files: BundleInput[] = [{ role: "site-config", source: need(values.config, "--config FILE") }];
        if (values.secret) files.push({ role: "first-boot-secret", source: values.secret });
        for (const f of values.file ?? []) {
          const eq = f.indexOf("=");
          const role = f.slice(0, eq) as Role;
          if (eq < 1 || !ROLES.includes(role)) throw new UsageError(`--file ${f}: expected ROLE=PATH`);
          files.push({ role, source: f.slice(eq + 1) });
        }
        const out = need(values.out, "--out BUNDLE.tar");
        const m = await makeBundle(out, {
          privateKey: loadPrivateKey(need(values.key, "--key PRIV")),
          target: parseTarget(need(values.target, "--target device:ID|fleet:ID")),
          version,
          expiresAt: expires,
          files,
        });
        io.out(`${out}: bundle ${m.id}, version ${m.version}, ${m.contents.length} file(s), expires ${m.expiresAt}`);
        return 0;
      }
      case "verify": {
        const bundle = need(positionals[0], "BUNDLE");
        const installed = values.installed ? Number(values.installed) : 0;
        const v = await verifyBundle(bundle, {
          publicKey: loadPublicKey(need(values.pub, "--pub PUB")),
          device: identity(values),
          installedVersion: Number.isSafeInteger(installed) ? installed : 0,
          onProgress: progressPrinter(io),
        });
        io.out(
          `${bundle}: ok (bundle ${v.manifest.id}, version ${v.manifest.version}, ${v.manifest.contents.length} file(s))`,
        );
        return 0;
      }
      case "apply": {
        const bundle = need(positionals[0], "BUNDLE");
        const dataDir = need(values.data, "--data DIR");
        const publicKey = loadPublicKey(values.pub ?? trustedKeyFile(dataDir));
        const device = identity(values);
        const report = await locked(io, dataDir, "apply", () =>
          applyBundle(bundle, {
            dataDir,
            publicKey,
            device,
            onProgress: progressPrinter(io),
            models: new ModelStore({ dataDir }),
          }),
        );
        (report.ok ? io.out : io.err)(reportText(report).trimEnd());
        if (report.reportError) io.err(`report not written next to the bundle: ${report.reportError}`);
        for (const m of report.modelErrors ?? [])
          io.err(
            `model bundle not installed: ${m} (the file is in ${currentDir(dataDir)}: switchboard models install)`,
          );
        return report.ok && !report.modelErrors ? 0 : 1;
      }
      case "rollback": {
        const dataDir = need(values.data, "--data DIR");
        const s = await locked(io, dataDir, "rollback", () => rollback(dataDir));
        io.out(
          `rolled back to version ${s.installedVersion} (bundle ${s.bundleId}); highest applied ${s.highestVersion}`,
        );
        return 0;
      }
      case "status": {
        const s = await readState(need(values.data, "--data DIR"));
        io.out(JSON.stringify(s, null, 2));
        return 0;
      }
      default:
        io.err(provisionUsage);
        return sub === undefined || sub === "help" ? 0 : 2;
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`switchboard provision ${sub}: ${(e as Error).message}\n${provisionUsage}`);
      return 2;
    }
    if (e instanceof BundleRejected) {
      io.err(`REJECTED (${e.code}): ${e.message}`);
      return 1;
    }
    if (e instanceof ApplyBusyError) {
      io.err(`switchboard provision ${sub}: ${e.message}; nothing was changed`);
      return 1;
    }
    io.err(`switchboard provision ${sub}: ${(e as Error).message}`);
    return 1;
  }
}
