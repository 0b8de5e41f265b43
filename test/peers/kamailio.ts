// Kamailio 5.6 as a registrar (digest, qop=auth, in-memory usrloc) and proxy in front of the endpoint, for peer
// tests. Runs in the foreground in a scratch directory; stop() kills it and removes the directory.
// With `tlsPort` it also listens for SIP over TLS (Debian package kamailio-tls-modules) with a self-signed server
// certificate made in the scratch directory, and relays requests for a contact registered over TLS through the
// connection that REGISTER came in on (the registrant's Contact port need not accept connections). Facts checked
// against 5.6.3 that shape the config below:
//  - fix_nated_register() on a REGISTER over TLS stores received=SRC_IP:SRC_PORT;transport=tls, and lookup() makes
//    that the destination, i.e. the open connection; set_forward_no_connect() forbids opening a new one.
//  - In-dialog requests from UAs that follow Record-Route: set_contact_alias() tags the Contact with the connection
//    and handle_ruri_alias() after loose_route() routes back over it.
//  - usrloc handle_lost_tcp=1: without it the contact of a closed TLS connection stayed first in lookup(), and the
//    ACK went to the dead one. tcp_connection_lifetime=3605 (default 120 s) so an idle flow outlives a registration.
//  - registrar's tcp_persistent_flag does not exist in 5.6 (config refused); force_tcp_alias() only aliases the Via
//    port, so it depends on the UA naming its Contact port in Via.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeSelfSignedCertificate } from "./tls-cert.ts";

export function kamailioSkipReason(): string | undefined {
  const r = spawnSync("kamailio", ["-v"], { encoding: "utf8" });
  if (!r.error) return undefined;
  if (process.env.CI === "true") throw new Error("kamailio is required on CI (apt-get install kamailio)");
  return "kamailio not on PATH (install Debian package kamailio)";
}

const MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/";

/** Like kamailioSkipReason, for tests that need `tlsPort` (tls.so comes in a separate package). */
export function kamailioTlsSkipReason(): string | undefined {
  const base = kamailioSkipReason();
  if (base || existsSync(join(MODULES, "tls.so"))) return base;
  if (process.env.CI === "true")
    throw new Error("kamailio tls.so is required on CI (apt-get install kamailio-tls-modules)");
  return "kamailio tls.so missing (install Debian package kamailio-tls-modules)";
}

export interface KamailioOptions {
  port: number;
  user: string;
  password: string;
  /** Longest registration the registrar grants (seconds); short values exercise refresh. */
  maxExpires: number;
  /** Also listen for SIP over TLS on 127.0.0.1:tlsPort. */
  tlsPort?: number;
}

/** Files the TLS listener needs; startKamailio makes them in its scratch directory. */
export interface KamailioTlsFiles {
  /** tls module config (tls.cfg). */
  config: string;
  certificate: string;
  privateKey: string;
}

/**
 * tls.cfg: no client certificates asked for or checked (SIP clients authenticate with digest), and no server
 * check when Kamailio itself connects out (test peers use self-signed certificates).
 */
export function kamailioTlsConfig(f: Omit<KamailioTlsFiles, "config">): string {
  return `[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = ${f.certificate}
private_key = ${f.privateKey}

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
`;
}

export function kamailioConfig(o: KamailioOptions, tls?: KamailioTlsFiles): string {
  if (o.tlsPort !== undefined && !tls) throw new Error("kamailioConfig: tlsPort needs the TLS files");
  const withTls = o.tlsPort !== undefined && tls !== undefined;
  // An idle connection must outlive the registration it carries (default 120 s), or the contact becomes unreachable.
  const tlsGlobals = withTls
    ? `enable_tls=yes
listen=tls:127.0.0.1:${o.tlsPort}
alias="127.0.0.1:${o.tlsPort}"
tcp_connection_lifetime=3605
`
    : "";
  const tlsModule = withTls ? `loadmodule "tls.so"\nmodparam("tls", "config", "${tls.config}")\n` : "";
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
${tlsGlobals}mpath="${MODULES}"
${tlsModule}loadmodule "kex.so"
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
loadmodule "nathelper.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", 1)
modparam("registrar", "max_expires", ${o.maxExpires})
modparam("rr", "enable_full_lr", 1)
modparam("auth", "nonce_count", 1)
modparam("auth", "qop", "auth")
# A UA on TLS is reached only through the connection it opened, never at its Contact's port (which may not
# accept connections): REGISTER stores the source address as "received" and lookup() routes to it; Contacts in
# dialogs get ;alias=ip~port~proto of the connection, which handle_ruri_alias() turns back into the destination.
modparam("registrar", "received_avp", "$avp(received)")
modparam("nathelper", "received_avp", "$avp(received)")
# Drop a contact whose connection is gone: lookup() may otherwise prefer it to the live one, and fail.
modparam("usrloc", "handle_lost_tcp", 1)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483","Too Many Hops"); exit; }
  xlog("L_INFO", "REQ $rm $ru from $si:$sp\\n");
  force_rport();
  if (has_totag()) {
    if (loose_route()) {
      if (!isdsturiset()) handle_ruri_alias();
      route(RELAY);
    }
    if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
    # sipp's built-in uac ignores Record-Route: route its in-dialog requests to the AOR via usrloc
    if (uri == myself && lookup("location")) route(RELAY);
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
    if ($pr == "tls") fix_nated_register();
    if (!save("location")) { sl_reply_error(); }
    xlog("L_INFO", "REGISTERED $tu contact=$ct\\n");
    exit;
  }
  if (is_method("OPTIONS") && uri == myself && $rU == $null) { sl_send_reply("200","OK"); exit; }
  if (is_method("INVITE")) {
    record_route();
    if ($pr == "tls") set_contact_alias();
  }
  if (!lookup("location")) { sl_send_reply("404","Not Found"); exit; }
  route(RELAY);
}

route[RELAY] {
  if ($du =~ "transport=tls") {
    # Toward a TLS flow only the existing connection will do: when it is gone the UA must register again.
    set_forward_no_connect();
  }
  t_on_reply("FROM_UA");
  if (!t_relay()) sl_reply_error();
  exit;
}

onreply_route[FROM_UA] {
  if ($pr == "tls" && is_present_hf("Contact")) set_contact_alias();
}
`;
}

export interface Kamailio {
  readonly port: number;
  /** Present when started with `tlsPort`: `caFile` is the PEM a client trusts (the self-signed server cert). */
  readonly tls?: { port: number; caFile: string };
  log(): string;
  stop(): Promise<void>;
}

/** Start Kamailio and wait until it listens (its log says so) or fail after `timeoutMs`. */
export async function startKamailio(o: KamailioOptions, timeoutMs = 10_000): Promise<Kamailio> {
  const dir = mkdtempSync(join(tmpdir(), "kamailio-"));
  const cfg = join(dir, "kamailio.cfg");
  let tls: KamailioTlsFiles | undefined;
  if (o.tlsPort !== undefined) {
    try {
      const cert = await makeSelfSignedCertificate(dir);
      tls = { config: join(dir, "tls.cfg"), ...cert };
      writeFileSync(tls.config, kamailioTlsConfig(cert));
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }
  writeFileSync(cfg, kamailioConfig(o, tls));
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
  return {
    port: o.port,
    tls: o.tlsPort !== undefined && tls ? { port: o.tlsPort, caFile: tls.certificate } : undefined,
    log: () => output,
    stop,
  };
}
