// Kamailio 5.6 as a registrar (digest, qop=auth, in-memory usrloc) and proxy in front of the endpoint, for peer
// tests. Runs in the foreground in a scratch directory; stop() kills it and removes the directory.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function kamailioSkipReason(): string | undefined {
  const r = spawnSync("kamailio", ["-v"], { encoding: "utf8" });
  if (!r.error) return undefined;
  if (process.env.CI === "true") throw new Error("kamailio is required on CI (apt-get install kamailio)");
  return "kamailio not on PATH (install Debian package kamailio)";
}

export interface KamailioOptions {
  port: number;
  user: string;
  password: string;
  /** Longest registration the registrar grants (seconds); short values exercise refresh. */
  maxExpires: number;
}

export function kamailioConfig(o: KamailioOptions): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=2
tcp_children=2
auto_aliases=no
listen=udp:127.0.0.1:${o.port}
listen=tcp:127.0.0.1:${o.port}
alias="127.0.0.1:${o.port}"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", 1)
modparam("registrar", "max_expires", ${o.maxExpires})
modparam("rr", "enable_full_lr", 1)
modparam("auth", "nonce_count", 1)
modparam("auth", "qop", "auth")

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483","Too Many Hops"); exit; }
  xlog("L_INFO", "REQ $rm $ru from $si:$sp\\n");
  force_rport();
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
    # sipp's built-in uac ignores Record-Route: route its in-dialog requests to the AOR via usrloc
    if (uri == myself && lookup("location")) { t_relay(); exit; }
    if (is_method("ACK")) exit;
    sl_send_reply("404","Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  if (is_method("REGISTER")) {
    if (!pv_www_authenticate("$td", "${o.password}", "0")) {
      www_challenge("$td", "1");
      exit;
    }
    if ($au != "${o.user}") { sl_send_reply("403","Forbidden user"); exit; }
    consume_credentials();
    if (!save("location")) { sl_reply_error(); }
    xlog("L_INFO", "REGISTERED $tu contact=$ct\\n");
    exit;
  }
  if (is_method("OPTIONS") && uri == myself && $rU == $null) { sl_send_reply("200","OK"); exit; }
  if (is_method("INVITE")) record_route();
  if (!lookup("location")) { sl_send_reply("404","Not Found"); exit; }
  t_relay();
}
`;
}

export interface Kamailio {
  readonly port: number;
  log(): string;
  stop(): Promise<void>;
}

/** Start Kamailio and wait until it listens (its log says so) or fail after `timeoutMs`. */
export async function startKamailio(o: KamailioOptions, timeoutMs = 10_000): Promise<Kamailio> {
  const dir = mkdtempSync(join(tmpdir(), "kamailio-"));
  const cfg = join(dir, "kamailio.cfg");
  writeFileSync(cfg, kamailioConfig(o));
  const child: ChildProcess = spawn(
    "kamailio",
    ["-f", cfg, "-DD", "-E", "-P", join(dir, "kamailio.pid"), "-Y", dir, "-w", dir, "-m", "64", "-M", "8"],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (d: Buffer) => {
    if (output.length < 500_000) output += d.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!/listening on|Listening on/.test(output) || !/INFO: .*(init|child)/i.test(output)) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`kamailio exited: ${output.slice(-2000)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kamailio did not start: ${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300)); // children finish forking
  return { port: o.port, log: () => output, stop };
}
